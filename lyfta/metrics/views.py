"""/metrics: the request series and the database's gauges in Prometheus' text format."""

from __future__ import annotations

import logging
import os

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from lyfta.audit.middleware import client_address
from lyfta.metrics import access, series
from lyfta.metrics.gauges import DatabaseGauges

logger = logging.getLogger(__name__)


def registry() -> CollectorRegistry:
    """Under gunicorn with PROMETHEUS_MULTIPROC_DIR every worker's files, added up; else this
    process's own series. The database's gauges either way."""
    scrape = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
    else:
        scrape.register(series.REGISTRY)
    scrape.register(DatabaseGauges())
    return scrape


@login_not_required
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """For Prometheus, from an allowed address or with the token; anyone else gets an empty 403.
    No session, no actor, no patient: nothing here is recorded in the audit trail."""
    if not access.allowed(request):
        logger.warning("metrics: refused a scrape from %s", client_address(request))
        return HttpResponse(status=403, content_type="text/plain; charset=utf-8")
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
