"""The quality desk's demo data: deviations with their reports and complaints, and a safety
campaign (each part seeds its own)."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.quality import seed_campaigns, seed_deviations


def seed(actor: Actor) -> None:
    seed_deviations.seed(actor)
    seed_campaigns.seed(actor)
