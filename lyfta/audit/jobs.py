"""Scheduled audit jobs (called by the scheduler as a system actor)."""

from __future__ import annotations

import datetime as dt

from lyfta.audit.actor import AuditActor
from lyfta.audit.sealing import audit_seal


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
