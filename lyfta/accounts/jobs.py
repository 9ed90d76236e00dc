"""Scheduled account jobs (called by the scheduler as a system actor)."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.accounts.services import accounts_suspend_dormant
from lyfta.core.scheduler import Job


def scheduled() -> list[Job]:
    return [Job("suspend_dormant_accounts", 24 * 3600, "lyfta.accounts.jobs:suspend_dormant")]


def suspend_dormant(*, actor: Actor) -> None:
    """Daily: suspend dormant accounts and assignments (R7)."""
    accounts_suspend_dormant(actor=actor)
