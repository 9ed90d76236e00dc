"""The WSGI entry point (what gunicorn's workers load) takes what a worker keeps for its life out
of the garbage collector's full collections: at load and after its first requests (issue 19: a
full collection over ~120,000 long-lived objects took 30-60 ms and made the pages' p95).

Run in a process of its own: freezing is for the whole interpreter, and a test process should
keep its usual collector."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import gc
import lyfta.wsgi as wsgi
from django.core.signals import request_finished

loaded = gc.get_freeze_count()
assert loaded > 50_000, loaded  # Django, the URLs and what the worker loads at start

kept = [[n] for n in range(5_000)]  # as a first request's compiled templates, kept for life
request_finished.send(sender=None)
after_first = gc.get_freeze_count()
assert after_first >= loaded + 5_000, (loaded, after_first)

more = [[n] for n in range(5_000)]
for _ in range(8):
    request_finished.send(sender=None)  # requests 2-9: not a settling point
assert gc.get_freeze_count() == after_first, (after_first, gc.get_freeze_count())
request_finished.send(sender=None)  # the tenth
assert gc.get_freeze_count() >= after_first + 5_000
print("ok", loaded, after_first, gc.get_freeze_count())
"""


def test_wsgi_worker_freezes_what_it_keeps_for_life() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lyfta.settings"}
    result = subprocess.run(  # noqa: S603 - this interpreter on a fixed script
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok ")
