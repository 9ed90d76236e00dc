"""Capability checks. `can` answers; `require` answers or records the denial (R38) and raises."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models

from lyfta.access.actor import Actor
from lyfta.access.roles import ROLE_CAPABILITIES


def capabilities(actor: Actor) -> frozenset[str]:
    if actor.assignment is None:
        return frozenset()
    return ROLE_CAPABILITIES.get(actor.assignment.role, frozenset())


def can(actor: Actor, capability: str) -> bool:
    """Whether `actor` holds `capability` in its active assignment. System actors (management
    commands and scheduled jobs) run trusted code and hold every capability that is not about a
    patient; patient data is never reached through a capability alone."""
    if actor.is_system:
        return True
    return capability in capabilities(actor)


def require(
    actor: Actor,
    capability: str,
    *,
    target: models.Model | None = None,
    patient_id: int | None = None,
) -> None:
    """Raise PermissionDenied unless `actor` holds `capability`, recording the denial first. Call it
    before opening a transaction, so that the denial's record is not rolled back with it."""
    if can(actor, capability):
        return
    from lyfta.audit.actions import Action
    from lyfta.audit.models import Outcome
    from lyfta.audit.services import record

    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        target=target,
        patient_id=patient_id,
        detail={"capability": capability, "reason": "capability"},
    )
    raise PermissionDenied(capability)
