"""Demo campaigns for the quality desk."""

from __future__ import annotations

from lyfta.access.actor import Actor


def seed(actor: Actor) -> None:
    """Nothing yet."""
