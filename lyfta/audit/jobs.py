"""Scheduled audit jobs (called by the scheduler as a system actor)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings

from lyfta.audit import partitions
from lyfta.audit.actor import AuditActor
from lyfta.audit.sealing import audit_seal
from lyfta.core.scheduler import Job

log = logging.getLogger(__name__)


def scheduled() -> list[Job]:
    return [
        # Seals, and checkpoints the head whenever it has moved since the last checkpoint, on
        # every run: also when no events arrive, so an idle system's tail is covered too (R67).
        Job("seal_audit", settings.LYFTA_AUDIT_SEAL_INTERVAL, "lyfta.audit.jobs:seal"),
        Job("seal_audit_full", 3600, "lyfta.audit.jobs:seal_full"),
        Job("ship_audit", settings.LYFTA_AUDIT_SEAL_INTERVAL, "lyfta.audit.shipping:ship"),
        # PostgreSQL: the coming months' partitions exist before their first event (decision
        # 0023); daily, so that a failed run (a busy table) has months to be retried.
        Job("add_audit_partitions", 24 * 3600, "lyfta.audit.jobs:add_partitions"),
    ]


def seal(*, actor: AuditActor) -> None:
    """Seal new events and, whether or not there were any, checkpoint the head when it has moved
    since the last checkpoint (every few seconds; a checkpoint at most about once per
    LYFTA_AUDIT_CHECKPOINT_INTERVAL), so that no sealed tail stays uncovered on an idle system."""
    audit_seal()


def seal_full(*, actor: AuditActor) -> None:
    """Seal stragglers anywhere in the table and write a checkpoint (hourly)."""
    audit_seal(full=True, checkpoint=True)


def seal_on_shutdown(*, actor: AuditActor) -> None:
    """The scheduler's last run: seal what is left and checkpoint the head at once if it has moved,
    so that the tail is not left uncovered while the scheduler is down."""
    audit_seal(checkpoint_spacing=dt.timedelta(0))


def add_partitions(*, actor: AuditActor) -> None:
    """Create the partitions of the previous month to MONTHS_AHEAD months ahead that are missing
    (PostgreSQL; idempotent; nothing on SQLite)."""
    created = partitions.add_partitions_ahead()
    if created:
        log.info("created %d audit partitions", created)
