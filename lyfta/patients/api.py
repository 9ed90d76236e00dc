"""Finding a patient in the API (issue 18): by number in a POST body, never in a URL (a query
string ends up in access logs and browser histories; R60). The answer is Lyfta's id of a patient
the client may open, for the holdings, order and pick-up operations."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting, session_ref
from lyfta.api.errors import ScopeMissing
from lyfta.api.schema import Identifier
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record
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


# --- Population-register events (issue 18 point 4) ----------------------------------------------


class RegisterEventsIn(Schema):
    """Events in the form docs/operations.md describes ("Folkbokföringshändelser"), at most
    1,000 a call; each is checked on its own."""

    events: list[dict[str, Any]] = Field(..., max_length=1000)


class RegisterEventOut(Schema):
    index: int
    event_id: str
    kind: str
    outcome: str
    error: str
    message: str


class RegisterEventsOut(Schema):
    counts: dict[str, int]
    events: list[RegisterEventOut]


@router.post(
    "/register-events",
    response=RegisterEventsOut,
    url_name="register_events",
    summary="Lämna folkbokföringshändelser",
)
def register_events(request: HttpRequest, body: RegisterEventsIn) -> RegisterEventsOut:
    """Apply deaths, moves and protected identity set or lifted, each in a transaction of its own
    (a rejected event does not stop the rest; an event id already applied changes nothing).
    The events are applied by the population-register job in the client's name."""
    from lyfta.access.actor import Actor
    from lyfta.patients.register_events import register_events_apply

    client = acting(request, ApiScope.REGISTER_EVENTS)
    caller: Any = getattr(request, "auth", None)
    if set(getattr(caller, "scopes", [])) != {ApiScope.REGISTER_EVENTS}:
        # Registered before the rule that the feed is a client of its own: refused, recorded.
        record(
            action=Action.ACCESS_DENIED,
            actor=client,
            outcome=Outcome.DENIED,
            target=caller,
            detail={"reason": "register_scope_not_alone", "path": request.path[:200]},
        )
        raise ScopeMissing(ApiScope.REGISTER_EVENTS)
    applier = Actor.system(f"population-register ({client.username})")
    result = register_events_apply(actor=applier, events=body.events)
    return RegisterEventsOut(
        counts=result.counts,
        events=[
            RegisterEventOut(
                index=e.index, event_id=e.event_id, kind=e.kind, outcome=e.outcome,
                error=e.error, message=str(e.message),
            )
            for e in result.events
        ],
    )  # fmt: skip
