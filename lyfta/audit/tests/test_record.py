"""What an audit event holds and when it is written (R57–R62, R71)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LegalBasis, Outcome
from lyfta.audit.services import record
from lyfta.organisations import services as org_services


def make_audit_fail() -> None:
    """The database refuses audit inserts (rolled back with the test): a real failure, no mocks."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_audit_down() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_auditevent "
                "FOR EACH ROW EXECUTE FUNCTION test_audit_down()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
            )


@pytest.mark.django_db
def test_r57_every_registration_is_recorded(sigge: Persona, county: County) -> None:
    """Creating and changing organisation data each leave one event naming the object."""
    unit = org_services.unit_create(
        actor=sigge.actor,
        provider=county.region,
        name="Ny avdelning",
        kind="ward",
        customer_number="K99999",
        cost_centre="1234",
    )
    org_services.unit_update(actor=sigge.actor, unit=unit, cost_centre="4321")
    events = AuditEvent.objects.filter(resource_type="organisations.unit", resource_id=str(unit.pk))
    assert list(events.order_by("id").values_list("action", flat=True)) == [
        Action.UNIT_CREATED,
        Action.UNIT_UPDATED,
    ]


@pytest.mark.django_db
def test_r58_an_event_holds_every_required_field(
    client: Client, sigge: Persona, county: County
) -> None:
    signed_in(client, sigge)
    response = client.get(
        reverse("organisations:unit_history", args=[county.unit_a.pk]),
        HTTP_X_REQUEST_ID="req-0123456789abcdef",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=Action.HISTORY_VIEWED)
    assert event.pk and event.occurred_at.tzinfo is not None
    assert (event.actor_id, event.actor_username, event.actor_name, event.actor_title) == (
        sigge.user.pk,
        "sigge",
        "Sigge Sys",
        "Arbetsterapeut",
    )
    assert event.actor_role == "system_admin"
    assert event.assignment_id == sigge.assignment.pk
    assert event.actor_provider_id == county.region.pk
    assert event.actor_provider_orgno == county.region.organisation_number
    assert (event.actor_unit_id, event.actor_unit_name) == (county.centre.pk, county.centre.name)
    assert (event.resource_type, event.resource_id) == ("organisations.unit", str(county.unit_a.pk))
    assert event.outcome == Outcome.GRANTED
    assert event.purpose == "system"
    assert event.source_system == "lyfta-web"
    assert event.client_address == "10.1.2.3"
    assert event.request_id == "req-0123456789abcdef"
    session_key = client.session.session_key
    assert session_key is not None
    assert event.session_hash == hashlib.sha256(session_key.encode()).hexdigest()
    assert response["X-Request-Id"] == "req-0123456789abcdef"


@pytest.mark.django_db
def test_r58_patient_owner_and_legal_basis_fields(alice: Persona, county: County) -> None:
    event = record(
        action="patient.read",
        actor=alice.actor,
        patient_id=4711,
        owner_provider_id=county.region.pk,
        owner_unit_id=county.unit_b.pk,
        resource_type="patients.patient",
        resource_id=4711,
        legal_basis=LegalBasis.CONSENT,
        legal_basis_ref="consent:12",
    )
    event.refresh_from_db()
    assert (event.patient_id, event.owner_provider_id, event.owner_unit_id) == (
        4711,
        county.region.pk,
        county.unit_b.pk,
    )
    assert (event.legal_basis, event.legal_basis_ref) == ("consent", "consent:12")
    assert event.purpose == "care"


@pytest.mark.django_db
def test_r58_a_system_job_acts_as_a_named_system_actor(db: None) -> None:
    from django.core.management import call_command

    from lyfta.audit.sealing import audit_seal

    call_command("seed_demo", stdout=__import__("io").StringIO())
    audit_seal()
    event = AuditEvent.objects.filter(action=Action.UNIT_CREATED).first()
    assert event is not None
    assert event.actor_id is None
    assert event.actor_username == "system:seed_demo"
    assert event.source_system == "lyfta-cli"


@pytest.mark.django_db
def test_r59_stored_in_utc_and_shown_in_swedish_time(
    client: Client, sigge: Persona, county: County
) -> None:
    when = dt.datetime(2026, 7, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)
    AuditEvent.objects.create(
        occurred_at=when,
        action=Action.UNIT_UPDATED,
        outcome="granted",
        source_system="lyfta",
        resource_type="organisations.unit",
        resource_id=str(county.unit_a.pk),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT occurred_at FROM audit_auditevent WHERE action = %s", [Action.UNIT_UPDATED]
        )
        stored = cursor.fetchone()[0]
    text = str(stored)
    assert text.startswith("2026-07-01 12:00:00.123"), text  # UTC, milliseconds kept
    signed_in(client, sigge)
    html = client.get(
        reverse("organisations:unit_history", args=[county.unit_a.pk])
    ).content.decode()
    assert "2026-07-01 14:00:00" in html  # Europe/Stockholm, summer time


@pytest.mark.django_db
def test_r60_no_password_or_session_token_reaches_the_log(client: Client, alice: Persona) -> None:
    client.post(reverse("accounts:login"), {"username": "alice", "password": "fel lösenord 123"})
    client.post(reverse("accounts:login"), {"username": "alice", "password": TEST_PASSWORD})
    session_key = client.session.session_key
    assert session_key is not None
    dump = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).exists()
    assert AuditEvent.objects.filter(action=Action.LOGIN).exists()
    assert "fel lösenord" not in dump
    assert TEST_PASSWORD not in dump
    assert session_key not in dump


@pytest.mark.django_db
def test_r61_a_change_fails_when_its_audit_record_cannot_be_written(
    sigge: Persona, county: County
) -> None:
    make_audit_fail()
    with pytest.raises(DatabaseError, match="audit store unavailable"):
        org_services.unit_update(actor=sigge.actor, unit=county.unit_a, cost_centre="13579")
    county.unit_a.refresh_from_db()
    assert county.unit_a.cost_centre != "13579"


@pytest.mark.django_db
def test_r61_a_read_is_not_returned_when_its_audit_record_fails(
    client: Client, sigge: Persona, county: County
) -> None:
    signed_in(client, sigge)
    make_audit_fail()
    with pytest.raises(DatabaseError):
        client.get(reverse("organisations:unit_history", args=[county.unit_a.pk]))


@pytest.mark.django_db
def test_r61_change_and_record_commit_together(sigge: Persona, county: County) -> None:
    org_services.unit_update(actor=sigge.actor, unit=county.unit_a, cost_centre="24680")
    event = AuditEvent.objects.get(action=Action.UNIT_UPDATED)
    county.unit_a.refresh_from_db()
    assert county.unit_a.cost_centre == "24680"
    assert event.changes["cost_centre"][1] == "24680"


def test_r62_no_setting_switches_recording_off() -> None:
    """The audit configuration holds keys, intervals and destinations; none of them turns recording
    off or reduces it, so there is nothing for anyone to switch off (R62)."""
    from lyfta import settings as lyfta_settings

    names = [n for n in dir(lyfta_settings) if n.startswith("LYFTA_AUDIT")]
    assert names
    for name in names:
        assert not isinstance(getattr(lyfta_settings, name), bool), name
        assert not any(word in name for word in ("ENABLE", "DISABLE", "OFF", "LEVEL", "SKIP")), name


@pytest.mark.django_db
def test_r62_recording_happens_whatever_the_audit_settings(
    settings: Any, sigge: Persona, county: County
) -> None:
    settings.LYFTA_AUDIT_SEAL_INTERVAL = 0
    settings.LYFTA_AUDIT_CHECKPOINT_INTERVAL = 10**9
    settings.LYFTA_AUDIT_SHIP_URL = ""
    settings.LYFTA_AUDIT_CHECKPOINT_FILE = ""
    org_services.unit_update(actor=sigge.actor, unit=county.unit_a, phone="010-1")
    assert AuditEvent.objects.filter(action=Action.UNIT_UPDATED).count() == 1


@pytest.mark.django_db
def test_r71_control_characters_cannot_forge_log_lines(client: Client) -> None:
    client.post(
        reverse("accounts:login"),
        {"username": "mallory\n2026-01-01 auth.login granted admin", "password": "x"},
    )
    event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert "\n" not in event.actor_username
    assert event.actor_username.startswith("mallory\N{REPLACEMENT CHARACTER}2026")


@pytest.mark.django_db
def test_r71_forged_request_ids_are_replaced(as_alice: Client) -> None:
    as_alice.get(reverse("start"), HTTP_X_REQUEST_ID="bad id\nwith newline")
    response = as_alice.get(reverse("start"), HTTP_X_REQUEST_ID="x\r\ny")
    assert "\n" not in response["X-Request-Id"]


@pytest.mark.django_db
def test_r70_reading_history_needs_the_capability_and_is_itself_recorded(
    client: Client, alice: Persona, lena: Persona, county: County
) -> None:
    signed_in(client, alice)
    url = reverse("organisations:unit_history", args=[county.unit_a.pk])
    assert client.get(url).status_code == 403
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert denied.actor_username == "alice"
    client.logout()
    signed_in(client, lena)
    assert client.get(url).status_code == 200
    viewed = AuditEvent.objects.get(action=Action.HISTORY_VIEWED)
    assert viewed.actor_username == "lena"
    assert viewed.purpose == "log_review"
    assert viewed.occurred_at <= timezone.now()


@pytest.mark.django_db
def test_r62_a_change_of_audit_settings_is_recorded(settings: Any) -> None:
    from lyfta.access.actor import Actor
    from lyfta.audit.services import audit_settings_recorded

    system = Actor.system("run_scheduler")
    settings.LYFTA_AUDIT_SHIP_URL = "syslog+tls://logs.example:6514"
    assert audit_settings_recorded(actor=system) is not None
    assert audit_settings_recorded(actor=system) is None, "unchanged settings are not repeated"
    settings.LYFTA_AUDIT_SHIP_URL = ""
    changed = audit_settings_recorded(actor=system)
    assert changed is not None
    assert changed.changes["ship_to"] == ["syslog+tls", ""]
    assert changed.actor_username == "system:run_scheduler"
    assert "key" not in json.dumps(changed.detail).lower().replace("retired_keys", "")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"patient_id": None, "actor_id": None, "detail": {}, "changes": {}},
        # Values of other types than `event_for` gives: prepared by their fields, as before.
        {"patient_id": "42", "resource_id": 7, "action": Outcome.GRANTED, "purpose": None},
        {"owner_unit_id": True, "actor_name": "Åsa\u00a0Öberg", "detail": {"a": [1, "två"]}},
    ],
)
def test_insert_params_equal_the_fields_own(
    sigge: Persona, county: County, overrides: dict[str, Any]
) -> None:
    """The audit INSERT's parameters, prepared without the fields' per-value chain for text and
    integers, are what `Field.get_db_prep_save` gives for every column (R58: the event written
    is the event built), and the row written reads back as built."""
    from lyfta.audit.services import _INSERT_FIELDS, event_for, insert_params

    event = event_for(
        action=Action.PATIENT_READ,
        actor=sigge.actor,
        patient_id=12345,
        owner_provider_id=county.region.pk,
        legal_basis=LegalBasis.RELATIONSHIP,
        detail={"kind": "name", "query": "ek"},
    )
    for name, value in overrides.items():
        setattr(event, name, value)
    fast = insert_params(event, connection)
    slow = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _INSERT_FIELDS]
    assert len(fast) == len(slow) == len(_INSERT_FIELDS)
    for field, mine, theirs in zip(_INSERT_FIELDS, fast, slow, strict=True):
        assert type(mine) is type(theirs), field.name
        if field.get_internal_type() == "JSONField":
            assert getattr(mine, "obj", mine) == getattr(theirs, "obj", theirs), field.name
        else:
            assert mine == theirs, field.name
