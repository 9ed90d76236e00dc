"""Scheduled patient jobs (called by the scheduler as a system actor)."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.patients.services import emergencies_expire


def end_expired_emergencies(*, actor: Actor) -> None:
    """Every minute: record the end of each emergency access whose time is up (R51)."""
    emergencies_expire(actor=actor)
