"""The answer to a refused patient- or provider-linked object (R38): recorded, and the same 404
as for one that does not exist. Every app's selectors raise it; it sits with the access layer so
that none of them imports another's selectors for it."""

from __future__ import annotations

from django.http import Http404

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record


def denied(
    actor: Actor, resource_type: str, resource_id: object, *, patient_id: int | None = None
) -> Http404:
    """Record a refusal of a patient- or provider-linked object (R38) and return the 404 to
    raise: the same answer for "missing" and "not yours"."""
    owner_provider_id = owner_unit_id = None
    if patient_id is None:
        patient_id, owner_provider_id, owner_unit_id = rows.owner_of_refused(
            resource_type, resource_id
        )
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        patient_id=patient_id,
        owner_provider_id=owner_provider_id,
        owner_unit_id=owner_unit_id,
        resource_type=resource_type,
        resource_id=str(resource_id)[:64],
        detail={"reason": "not_found_or_not_allowed"},
    )
    return Http404()
