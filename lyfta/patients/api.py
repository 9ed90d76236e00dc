"""Finding a patient in the API (issue 18): by number in a POST body, never in a URL (a query
string ends up in access logs and browser histories; R60). The answer is Lyfta's id of a patient
the client may open, for the holdings, order and pick-up operations."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting, session_ref
from lyfta.api.schema import Identifier
from lyfta.patients import selectors

router = Router(tags=["Patienter"])


class LookupIn(Schema):
    identifier: Identifier


class LookupOut(Schema):
    """The patient's id and the legal route the client opens the patient on (R32)."""

    id: int
    legal_basis: str


@router.post(
    "/patients/lookup",
    response=LookupOut,
    url_name="patient_lookup",
    summary="Hitta en patient på personnummer",
)
def lookup(request: HttpRequest, body: LookupIn) -> LookupOut:
    """A patient the client's unit has a care relationship with; 404 for any other number,
    known or not (recorded)."""
    actor = acting(request, ApiScope.HOLDINGS_READ)
    grant = selectors.grant_by_identifier(
        actor=actor, identifier=body.identifier, session_ref=session_ref(request)
    )
    return LookupOut(id=grant.patient.pk, legal_basis=grant.basis)
