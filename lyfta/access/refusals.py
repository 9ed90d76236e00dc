"""The answer to a refused patient- or provider-linked object (R38): recorded, and the same 404
as for one that does not exist. Every app's selectors raise it; it sits with the access layer so
that none of them imports another's selectors for it. The refusal of a write on a grant that gives
read access only (R50), the same in every app. And the answer to a post refused for its CSRF token
(Django's CSRF_FAILURE_VIEW), recorded too."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant, write_denial
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


class Refused(PermissionDenied):
    """A refused step, already recorded (R38). `user_message` is safe to show: Swedish, and
    saying no more than the user may know."""

    def __init__(self, reason: str, user_message: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_message = user_message or _("Du har inte behörighet att göra det här.")


def read_only_refusal(actor: Actor, grant: PatientGrant, step: str) -> Refused | None:
    """The recorded refusal (R38) of the write `step` on `grant`, when the grant gives read access
    only (an emergency access, R50), to raise; None when the grant lets its holder write. Every
    write taken on a patient grant, in every app, asks this."""
    if write_denial(grant) is None:
        return None
    return read_only_refused(
        actor,
        step=step,
        patient_id=grant.patient.pk,
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
        resource_type="patients.patient",
        resource_id=grant.patient.pk,
    )


def read_only_refused(
    actor: Actor,
    *,
    step: str,
    patient_id: int | None,
    legal_basis: str,
    legal_basis_ref: str,
    resource_type: str = "",
    resource_id: object = "",
) -> Refused:
    """Record the refusal (R38) of the write `step` about data the actor sees on a basis that
    gives read access only (R50), and return the error to raise."""
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=str(resource_id)[:64],
        legal_basis=legal_basis,
        legal_basis_ref=legal_basis_ref,
        detail={"step": step, "reason": "read_only"},
    )
    return Refused("read_only", _("Nödåtkomst ger bara läsbehörighet."))


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
