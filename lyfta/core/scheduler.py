"""Scheduled jobs: each is a service call run at a fixed interval by `manage.py run_scheduler`.
Each app names its own jobs in its `jobs.py` (`scheduled()`), so this loop knows none of them;
the command gives each run its system actor and audit context (`lyfta.access.commands.run_once`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.db import close_old_connections
from django.utils.module_loading import module_has_submodule

log = logging.getLogger("lyfta.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    interval: float  # seconds
    target: str  # "module:function", called with actor=<system actor>


def jobs() -> list[Job]:
    """Every installed app's jobs (`<app>.jobs.scheduled()`), in the order of INSTALLED_APPS: the
    audit trail's sealing and shipping first. Asked anew on every round, so that the intervals
    follow the settings."""
    found: list[Job] = []
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "jobs"):
            scheduled = getattr(import_module(f"{config.name}.jobs"), "scheduled", None)
            if scheduled is not None:
                found += scheduled()
    return found


def resolve(target: str) -> Callable[..., object]:
    module, _, name = target.partition(":")
    func: Callable[..., object] = getattr(import_module(module), name)
    return func


def run_forever(stop: Callable[[], bool], run: Callable[[Job], None], tick: float = 0.5) -> None:
    """Run every job with `run` when due until `stop()` is true; a failing job is logged and
    retried at its next interval, never stopping the others."""
    next_run = {job.name: 0.0 for job in jobs()}
    while not stop():
        now = time.monotonic()
        for job in jobs():
            if now >= next_run[job.name]:
                next_run[job.name] = now + job.interval
                try:
                    run(job)
                except Exception:
                    log.exception("scheduled job %s failed", job.name)
                finally:
                    close_old_connections()
        time.sleep(tick)
