"""Scheduled audit jobs (called by the scheduler as a system actor)."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.audit.sealing import audit_seal


def seal(*, actor: Actor) -> None:
    """Seal new events (every few seconds)."""
    audit_seal()


def seal_full(*, actor: Actor) -> None:
    """Seal stragglers anywhere in the table and write a checkpoint (hourly)."""
    audit_seal(full=True, checkpoint=True)
