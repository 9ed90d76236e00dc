"""WSGI entry point, served by gunicorn."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lyfta.settings")
application = get_wsgi_application()

# The statistics charts draw with matplotlib: each worker loads it and finds its font before
# its first request rather than during one (about 0.3-0.7 s; docs/decisions/0016-charts.md).
from lyfta.reports.charts import warm  # noqa: E402

warm()


# After these many requests the objects that survived them (compiled templates, the prepared
# reads, caches) are frozen too: they live as long as the worker.
SETTLE_AFTER = frozenset({1, 10, 100, 1000})


def settle_garbage_collector() -> None:
    """Move what a worker keeps for its whole life out of the garbage collector's sight: what it
    loads once (Django, the URLs, matplotlib: ~120,000 objects) now, and what its first requests
    compile and keep (templates, prepared reads) after them. A full collection walks every
    tracked object: with them in it took 30-60 ms and landed on about one request in seven that
    allocates much (an order placed, a list), which made the pages' p95 (docs/performance.md,
    issue 19). Frozen objects are never freed, which is right for what lives as long as the
    worker; what a request leaves behind is collected before each freeze."""
    from django.core.signals import request_finished
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the URLs load here, not in the first request
    gc.collect()
    gc.freeze()
    served = 0

    def after_request(**kwargs: object) -> None:
        # Django sends this when the server closes the response, after the body has gone out.
        nonlocal served
        served += 1
        if served in SETTLE_AFTER:
            gc.collect()
            gc.freeze()

    request_finished.connect(after_request, weak=False, dispatch_uid="lyfta.wsgi.settle")


settle_garbage_collector()
