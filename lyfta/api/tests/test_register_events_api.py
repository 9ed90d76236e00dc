"""Population-register events over the API (issue 18 point 4): a client with the scope posts a
death; the pick-ups are proposed and the units told, as by the command; without the scope the
call is refused and recorded; a malformed event is a per-event rejection, not an error."""

from __future__ import annotations

import pytest

from conftest import County, Persona
from lyfta.accounts.models import ApiScope
from lyfta.api.tests.conftest import Api, register
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.patients.models import Patient

pytestmark = pytest.mark.django_db


def _api(client: object, county: County, sigge: Persona, scopes: list[str]) -> Api:
    made = register(sigge, county.unit_a, name="Navet-flödet", role="customer_service",
                    scopes=scopes)  # fmt: skip
    return Api(client, made.token)  # type: ignore[arg-type]


def _death(patient: Patient, event_id: str = "navet-1") -> dict[str, object]:
    return {"id": event_id, "kind": "death", "identifier": patient.identifier,
            "date": "2026-11-30"}  # fmt: skip


def test_a_death_posted_is_applied_in_the_clients_name(
    client: object, county: County, sigge: Persona
) -> None:
    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Test", last_name="Apel"
    )
    api = _api(client, county, sigge, [ApiScope.REGISTER_EVENTS])
    response = api.post("/api/v1/register-events", {"events": [_death(patient)]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["events"][0]["outcome"] == "applied"
    patient.refresh_from_db()
    assert patient.deceased_date is not None
    event = AuditEvent.objects.filter(patient_id=patient.pk).order_by("-pk").first()
    assert event is not None
    assert "Navet-flödet" in event.actor_username or "population-register" in event.actor_username
    again = api.post("/api/v1/register-events", {"events": [_death(patient)]})
    assert again.json()["events"][0]["outcome"] != "applied"


def test_without_the_scope_the_call_is_refused_and_recorded(
    client: object, county: County, sigge: Persona
) -> None:
    api = _api(client, county, sigge, [ApiScope.CATALOGUE_READ])
    response = api.post("/api/v1/register-events", {"events": []})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, detail__scope="register:write")


def test_a_malformed_event_is_rejected_on_its_own(
    client: object, county: County, sigge: Persona
) -> None:
    api = _api(client, county, sigge, [ApiScope.REGISTER_EVENTS])
    response = api.post("/api/v1/register-events", {"events": [{"kind": "nonsense"}, {}]})
    assert response.status_code == 200
    assert [e["outcome"] for e in response.json()["events"]] == ["rejected", "rejected"]
    assert api.post("/api/v1/register-events", {"events": "x"}).status_code == 422


def test_a_method_the_api_does_not_take_is_a_problem(client: object) -> None:
    from django.test import Client

    assert isinstance(client, Client)
    response = client.delete("/api/v1/articles")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/problem+json")


def test_the_feeds_scope_is_a_client_of_its_own(sigge: Persona, county: County) -> None:
    """The attack found that a care system given the feed's scope could lift a patient's
    protected identity and then read her name, and learn who is a patient: the scope is
    registered alone."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        register(sigge, county.unit_a, name="Vårdsystem med flöde",
                 scopes=[ApiScope.REGISTER_EVENTS, ApiScope.HOLDINGS_READ])  # fmt: skip
    assert "egen klient" in str(refused.value)


def test_a_client_registered_with_the_feed_and_more_is_refused_the_feed(
    client: object, county: County, sigge: Persona
) -> None:
    """One registered before the rule (made here by changing the scopes in the database)."""
    from lyfta.accounts.models import ApiClient

    protected = Patient.objects.create(
        identifier="194001029802", id_kind="personnummer", first_name="Test", last_name="Björk"
    )
    api = _api(client, county, sigge, [ApiScope.REGISTER_EVENTS])
    ApiClient.objects.filter(name="Navet-flödet").update(
        scopes=[ApiScope.REGISTER_EVENTS, ApiScope.HOLDINGS_READ]
    )
    lift = {"id": "n-9", "kind": "protection_lifted", "identifier": protected.identifier,
            "date": "2026-11-30"}  # fmt: skip
    response = api.post("/api/v1/register-events", {"events": [lift]})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, detail__reason="register_scope_not_alone"
    ).exists()
