"""The answer to a refused patient- or provider-linked object (R38): recorded, and the same 404
as for one that does not exist. Every app's selectors raise it; it sits with the access layer so
that none of them imports another's selectors for it. And the answer to a post refused for its
CSRF token (Django's CSRF_FAILURE_VIEW), recorded too."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A post without a valid CSRF token is refused and recorded (R38): it may be a forged
    request riding on a signed-in session."""
    actor = getattr(request, "actor", None)
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        resource_type="csrf",
        resource_id=request.path[:64],
        detail={"reason": "csrf", "why": reason[:100]},
    )
    return render(request, "errors/403_csrf.html", status=403)
