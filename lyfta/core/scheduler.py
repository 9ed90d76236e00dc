"""Scheduled jobs: each is a service call run at a fixed interval by `manage.py run_scheduler`.
Later issues add their jobs to JOBS."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.db import close_old_connections

from lyfta.access.actor import Actor
from lyfta.audit.context import audit_context

log = logging.getLogger("lyfta.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    interval: float  # seconds
    target: str  # "module:function", called with actor=<system actor>


def jobs() -> list[Job]:
    return [
        # Seals, and checkpoints the head whenever it has moved since the last checkpoint, on
        # every run: also when no events arrive, so an idle system's tail is covered too (R67).
        Job("seal_audit", settings.LYFTA_AUDIT_SEAL_INTERVAL, "lyfta.audit.jobs:seal"),
        Job("seal_audit_full", 3600, "lyfta.audit.jobs:seal_full"),
        Job("ship_audit", settings.LYFTA_AUDIT_SEAL_INTERVAL, "lyfta.audit.shipping:ship"),
        Job("suspend_dormant_accounts", 24 * 3600, "lyfta.accounts.jobs:suspend_dormant"),
        Job("end_expired_emergency_access", 60, "lyfta.patients.jobs:end_expired_emergencies"),
        Job(
            "escalate_overdue_emergency_reviews",
            3600,
            "lyfta.patients.jobs:escalate_overdue_emergency_reviews",
        ),
        # The technicians' desk: due inspections become work orders (the holding unit is told),
        # and late work orders are reported once to the one who asked.
        Job("inspections_due", 24 * 3600, "lyfta.workorders.jobs:inspections_due"),
        Job("work_orders_overdue", 24 * 3600, "lyfta.workorders.jobs:work_orders_overdue"),
        # Reservations past their day are closed (they stopped holding the item already).
        Job("reservations_expire", 24 * 3600, "lyfta.inventory.jobs:reservations_expire"),
        # Statistics: the summary tables rebuilt (the month under way and the one before), and
        # due scheduled reports queued for the background worker.
        Job("statistics_refresh", 24 * 3600, "lyfta.reports.jobs:refresh"),
        Job("reports_due", 3600, "lyfta.reports.jobs:reports_due"),
    ]


def _resolve(target: str) -> Callable[..., object]:
    module, _, name = target.partition(":")
    func: Callable[..., object] = getattr(import_module(module), name)
    return func


def run_once(job: Job) -> None:
    with audit_context(source_system="lyfta-scheduler", actor=Actor.system(job.name), request=None):
        _resolve(job.target)(actor=Actor.system(job.name))


def run_forever(stop: Callable[[], bool], tick: float = 0.5) -> None:
    """Run every job when due until `stop()` is true; a failing job is logged and retried at its
    next interval, never stopping the others."""
    next_run = {job.name: 0.0 for job in jobs()}
    while not stop():
        now = time.monotonic()
        for job in jobs():
            if now >= next_run[job.name]:
                next_run[job.name] = now + job.interval
                try:
                    run_once(job)
                except Exception:
                    log.exception("scheduled job %s failed", job.name)
                finally:
                    close_old_connections()
        time.sleep(tick)
