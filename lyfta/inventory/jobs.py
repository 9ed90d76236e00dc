"""Scheduled jobs of stock (lyfta/core/scheduler.py runs them)."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.core.scheduler import Job
from lyfta.inventory import services


def scheduled() -> list[Job]:
    # Reservations past their day are closed (they stopped holding the item already).
    return [Job("reservations_expire", 24 * 3600, "lyfta.inventory.jobs:reservations_expire")]


def reservations_expire(*, actor: Actor) -> int:
    """Close the reservations whose day has passed (they stopped holding the item at midnight:
    the queries never count them as in force)."""
    return services.reservations_expire(actor=actor)
