"""Scheduled patient jobs (called by the scheduler as a system actor)."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.core.scheduler import Job
from lyfta.patients.services import emergencies_escalate, emergencies_expire


def scheduled() -> list[Job]:
    return [
        Job("end_expired_emergency_access", 60, "lyfta.patients.jobs:end_expired_emergencies"),
        Job(
            "escalate_overdue_emergency_reviews",
            3600,
            "lyfta.patients.jobs:escalate_overdue_emergency_reviews",
        ),
    ]


def end_expired_emergencies(*, actor: Actor) -> None:
    """Every minute: record the end of each emergency access whose time is up (R51)."""
    emergencies_expire(actor=actor)


def escalate_overdue_emergency_reviews(*, actor: Actor) -> None:
    """Every hour: escalate emergency accesses still unreviewed after the review period (R52)."""
    emergencies_escalate(actor=actor)
