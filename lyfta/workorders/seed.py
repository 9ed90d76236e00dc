"""Demo data of the technicians' desk (filled in by the demo issue): teams, inspection plans and
work orders in every status."""

from __future__ import annotations

from lyfta.access.actor import Actor


def seed(actor: Actor) -> None:
    return None
