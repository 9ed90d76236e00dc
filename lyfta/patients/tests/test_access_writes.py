"""Writes about a patient and the pages around them, as review found them: refusals recorded
(R38), other units' and providers' objects answered like missing ones (R35), fields per role
(R34), protected identity (R53, R54), blocks and emergencies (R44–R52), and bad input never a
500. Each test names the requirement it protects."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.patients import PatientGrant, correctable_fields, data_scope, grant_for
from lyfta.access.roles import Role
from lyfta.accounts.models import FailedSignIn
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.messages.models import Message
from lyfta.patients import services
from lyfta.patients.models import (
    Block,
    CareRelationship,
    Consent,
    EmergencyAccess,
    Patient,
    PatientCorrection,
    ProtectedStaff,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def last(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} event"
    return event


def count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def grant(persona: Persona, patient: Patient, session: str = "s1") -> PatientGrant:
    result = grant_for(persona.actor, patient, session)
    assert isinstance(result, PatientGrant), result
    return result


def emergency(persona: Persona, patient: Patient) -> EmergencyAccess:
    return services.emergency_open(
        actor=persona.actor,
        patient=patient,
        reason_code="acute_care",
        reason_text="Akut läge, patienten kan inte svara",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )


@pytest.fixture
def patient(county: County) -> Patient:
    """Related to unit A (the municipality) and unit B (the region)."""
    p = Patient.objects.create(
        identifier="194001019803",
        id_kind="personnummer",
        first_name="Aina",
        last_name="Apel",
        street="Storgatan 1",
        postal_code="652 25",
        city="Karlstad",
        phone="070-111 22 33",
    )
    for unit in (county.unit_a, county.unit_b):
        CareRelationship.objects.create(unit=unit, patient=p, origin="order", valid_from=TODAY())
    return p


@pytest.fixture
def stranger(county: County) -> Patient:
    return Patient.objects.create(
        identifier="195503039819", id_kind="personnummer", first_name="Sten", last_name="Främling"
    )


@pytest.fixture
def manager(county: County) -> Persona:
    """The unit manager of unit A."""
    return make_persona(county.unit_a, Role.UNIT_MANAGER, "maja", first_name="Maja")


@pytest.fixture
def protected(patient: Patient, manager: Persona) -> Patient:
    patient.protection = Patient.Protection.PROTECTED_REGISTRATION
    patient.approved_delivery_address = "Box 1, 651 01 Karlstad"
    patient.save()
    ProtectedStaff.objects.create(patient=patient, user=manager.user, named_by=manager.user)
    return patient


@pytest.fixture
def colleague(county: County, patient: Patient) -> Persona:
    """A prescriber in unit A2 (the municipality's other unit), related to the patient."""
    CareRelationship.objects.create(
        unit=county.unit_a2, patient=patient, origin="order", valid_from=TODAY()
    )
    return make_persona(county.unit_a2, Role.PRESCRIBER, "annika")


def internal_block(alice: Persona, patient: Patient) -> Block:
    return services.block_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        scope="internal",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
    )


# --- R34, R57: the correction page --------------------------------------------------------------


def test_r57_opening_the_correction_form_records_a_read(as_alice: Client, patient: Patient) -> None:
    response = as_alice.get(reverse("patients:correct", args=[patient.pk]))
    assert response.status_code == 200
    read = last(Action.PATIENT_READ)
    assert (read.patient_id, read.detail["page"], read.legal_basis) == (
        patient.pk,
        "correct",
        "relationship",
    )


def test_r34_the_correction_page_is_refused_under_a_read_only_grant(
    client: Client, alice: Persona, stranger: Patient
) -> None:
    emergency(alice, stranger)
    signed_in(client, alice)
    response = client.get(reverse("patients:correct", args=[stranger.pk]))
    assert response.status_code == 404
    denied = last(Action.ACCESS_DENIED)
    assert (denied.patient_id, denied.detail["reason"], denied.outcome) == (
        stranger.pk,
        "read_only",
        "denied",
    )
    response = client.post(
        reverse("patients:correct", args=[stranger.pk]), {"first_name": "X", "reason": "Fel"}
    )
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.first_name == "Sten"


def test_r34_the_correction_form_offers_only_the_fields_the_grant_shows(
    alice: Persona, patient: Patient
) -> None:
    from lyfta.patients.forms import CorrectForm

    full = grant(alice, patient)
    assert "street" in correctable_fields(full)
    without_contact = dataclasses.replace(full, show_contact=False)
    fields = correctable_fields(without_contact)
    assert fields == {"first_name", "last_name", "deceased_date", "home_municipality"}
    form = CorrectForm(instance=patient, fields_allowed=fields)
    assert "street" not in form.fields and "phone" not in form.fields
    with pytest.raises(PermissionDenied):
        services.patient_correct(
            actor=alice.actor, grant=without_contact, reason="Flyttat", street="Nygatan 2"
        )
    patient.refresh_from_db()
    assert patient.street == "Storgatan 1"
    assert last(Action.ACCESS_DENIED).detail == {
        "step": "patient_correct",
        "reason": "fields",
        "review": False,
    }


def test_r34_fields_outside_the_form_are_not_taken_from_the_request(
    as_alice: Client, alice: Persona, patient: Patient
) -> None:
    from lyfta.patients.forms import CorrectForm

    form = CorrectForm(
        {"first_name": "Aina", "last_name": "Apel", "street": "Nygatan 2", "reason": "Fel"},
        instance=patient,
        fields_allowed=frozenset({"first_name", "last_name"}),
    )
    assert form.is_valid()
    assert "street" not in form.cleaned_data


def test_r53_a_protected_patients_corrected_address_stays_out_of_the_log(
    client: Client, manager: Persona, protected: Patient
) -> None:
    signed_in(client, manager)
    response = client.post(
        reverse("patients:correct", args=[protected.pk]),
        {
            "first_name": "Aina",
            "last_name": "Apel",
            "street": "Hemligvägen 7",
            "postal_code": "652 26",
            "city": "Karlstad",
            "phone": "070-999 88 77",
            "reason": "Ny adress enligt Navet",
        },
    )
    assert response.status_code == 302
    corrected = last(Action.PATIENT_CORRECTED)
    assert corrected.changes["street"] == ["***", "***"]
    assert corrected.changes["phone"] == ["***", "***"]
    for secret in ("Hemligvägen", "Storgatan", "070-999", "Ny adress"):
        assert secret not in str(corrected.changes) + str(corrected.detail)
    assert PatientCorrection.objects.get(patient=protected, field="street").new_value == (
        "Hemligvägen 7"
    ), "the correction itself keeps the values"


# --- R54: the protection page -------------------------------------------------------------------


def test_r54_a_unit_manager_under_emergency_access_cannot_name_anyone(
    client: Client, county: County, manager: Persona, protected: Patient
) -> None:
    # Named staff from a unit without a relationship: only an emergency opens the patient to her
    # (staff not named open none at all, R54), and it is read only (R50).
    other = make_persona(county.unit_a2, Role.UNIT_MANAGER, "majken")
    ProtectedStaff.objects.create(patient=protected, user=other.user, named_by=manager.user)
    emergency(other, protected)
    emergency_grant = grant(other, protected)
    assert emergency_grant.read_only
    with pytest.raises(PermissionDenied):
        services.protected_staff_add(actor=other.actor, grant=emergency_grant, user=other.user)
    assert last(Action.ACCESS_DENIED).detail["reason"] == "read_only"
    signed_in(client, other)
    url = reverse("patients:protection", args=[protected.pk])
    assert client.get(url).status_code == 404
    response = client.post(url, {"action": "name", "username": "maja"})
    assert response.status_code == 404
    assert ProtectedStaff.objects.filter(patient=protected).count() == 2
    assert last(Action.ACCESS_DENIED).patient_id == protected.pk


def test_r54_a_unit_manager_cannot_name_themselves(
    client: Client, county: County, manager: Persona, protected: Patient
) -> None:
    other = make_persona(county.unit_a, Role.UNIT_MANAGER, "majken")
    with pytest.raises(PermissionDenied):
        services.protected_staff_add(
            actor=manager.actor, grant=grant(manager, protected), user=manager.user
        )
    denied = last(Action.ACCESS_DENIED)
    assert denied.detail == {
        "step": "protected_staff_add",
        "reason": "self_naming",
        "review": False,
    }
    signed_in(client, manager)
    url = reverse("patients:protection", args=[protected.pk])
    response = client.post(url, {"action": "name", "username": "maja"}, follow=True)
    assert "Du kan inte namnge dig själv" in response.content.decode()
    client.post(url, {"action": "name", "username": "majken"})
    assert ProtectedStaff.objects.filter(user=other.user, ended_at__isnull=True).exists()


def test_r54_the_protection_page_is_for_named_managers_and_records_a_read(
    client: Client, county: County, manager: Persona, protected: Patient
) -> None:
    signed_in(client, manager)
    url = reverse("patients:protection", args=[protected.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "Box 1, 651 01 Karlstad" in response.content.decode()
    assert last(Action.PATIENT_READ).detail["page"] == "protection"
    # Another manager of the same unit, not named: the patient is not there for them.
    other = make_persona(county.unit_a, Role.UNIT_MANAGER, "majken")
    other_client = Client()
    signed_in(other_client, other)
    assert other_client.get(url).status_code == 404
    assert last(Action.PATIENT_ACCESS_DENIED).detail["reason"] == "protected_identity"


def test_r54_removing_a_naming_of_another_patient_is_refused_and_logged(
    client: Client, manager: Persona, protected: Patient, stranger: Patient, alice: Persona
) -> None:
    elsewhere = ProtectedStaff.objects.create(
        patient=stranger, user=alice.user, named_by=alice.user
    )
    signed_in(client, manager)
    response = client.post(
        reverse("patients:protection", args=[protected.pk]),
        {"action": "remove", "naming": elsewhere.pk},
    )
    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.ended_at is None
    denied = last(Action.ACCESS_DENIED)
    assert (denied.resource_type, denied.resource_id) == (
        "patients.protectedstaff",
        str(elsewhere.pk),
    )


@pytest.mark.parametrize("naming", ["abc", "²", "9" * 5000, "", "-1"])
def test_r54_a_bad_naming_id_is_a_message_not_a_500(
    client: Client, manager: Persona, protected: Patient, naming: str
) -> None:
    signed_in(client, manager)
    response = client.post(
        reverse("patients:protection", args=[protected.pk]), {"action": "remove", "naming": naming}
    )
    assert response.status_code == 302
    assert ProtectedStaff.objects.filter(ended_at__isnull=True).count() == 1


def test_r50_an_emergency_is_for_the_roles_that_give_acute_care_only(
    client: Client, county: County, protected: Patient, tekla: Persona
) -> None:
    with pytest.raises(PermissionDenied):
        emergency(tekla, protected)
    assert not EmergencyAccess.objects.exists()
    denied = last(Action.ACCESS_DENIED)
    assert denied.detail == {"capability": "patients.emergency", "reason": "capability"}
    signed_in(client, tekla)
    response = client.post(
        f"{reverse('patients:emergency')}?patient={protected.pk}",
        {
            "reason_code": "acute_care",
            "reason_text": "Akut läge, patienten kan inte svara",
            "patient_cannot_consent": "on",
            "password": TEST_PASSWORD,
        },
    )
    # The role may open no emergency access at all: told so whatever the patient (R55).
    assert response.status_code == 403
    assert "Din roll kan inte öppna nödåtkomst" in response.content.decode()
    assert not EmergencyAccess.objects.exists()


# --- R40: consents --------------------------------------------------------------------------


def test_r40_consents_given_to_other_providers_are_not_listed(
    as_alice: Client, charlie: Persona, patient: Patient, county: County
) -> None:
    services.consent_register(
        actor=charlie.actor,
        grant=grant(charlie, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    html = as_alice.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert county.unit_b.name not in html
    assert "Inget samtycke registrerat." in html


def test_r38_refused_consent_close_is_audited(
    county: County, alice: Persona, patient: Patient, colleague: Persona
) -> None:
    consent = services.consent_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    with pytest.raises(PermissionDenied):
        services.consent_close(
            actor=colleague.actor,
            grant=grant(colleague, patient),
            consent=consent,
            cancel=True,
            reason="Felregistrerat",
        )
    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE
    denied = last(Action.ACCESS_DENIED)
    assert (denied.actor_username, denied.patient_id, denied.resource_type) == (
        "annika",
        patient.pk,
        "patients.consent",
    )
    assert denied.detail["reason"] == "not_grantee_unit"


def test_r40_a_consent_lasts_at_most_a_year(alice: Persona, patient: Patient) -> None:
    with pytest.raises(ValidationError, match="högst ett år"):
        services.consent_register(
            actor=alice.actor,
            grant=grant(alice, patient),
            valid_from=TODAY(),
            valid_until=TODAY() + dt.timedelta(days=400),
        )
    assert not Consent.objects.exists()


# --- R44, R45: blocks -------------------------------------------------------------------------


def test_r45_a_blocked_unit_can_neither_see_nor_lift_the_block_against_it(
    client: Client, alice: Persona, patient: Patient, colleague: Persona, county: County
) -> None:
    block = internal_block(alice, patient)
    with pytest.raises(PermissionDenied):
        services.block_close(
            actor=colleague.actor,
            grant=grant(colleague, patient),
            block=block,
            cancel=False,
            reason="Patienten häver",
        )
    assert last(Action.ACCESS_DENIED).detail["reason"] == "not_owner"
    signed_in(client, colleague)
    html = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert reverse("patients:block_close", args=[patient.pk, block.pk, "lift"]) not in html
    response = client.post(
        reverse("patients:block_close", args=[patient.pk, block.pk, "lift"]),
        {"reason": "Patientens begäran"},
    )
    assert response.status_code == 404
    block.refresh_from_db()
    assert block.status == Block.Status.ACTIVE
    assert count(Action.BLOCK_LIFTED) == 0


def test_r60_reasons_stay_out_of_the_audit_detail(alice: Persona, patient: Patient) -> None:
    block = internal_block(alice, patient)
    services.block_close(
        actor=alice.actor,
        grant=grant(alice, patient),
        block=block,
        cancel=False,
        reason="Patienten berättade om sin diagnos",
    )
    assert last(Action.BLOCK_LIFTED).detail == {"reason_given": True}
    block.refresh_from_db()
    assert block.status_reason == "Patienten berättade om sin diagnos"


def test_r48_a_reveal_needs_a_role_that_handles_consents_or_blocks(
    county: County, patient: Patient, tekla: Persona, charlie: Persona
) -> None:
    services.block_register(
        actor=charlie.actor,
        grant=grant(charlie, patient),
        scope="external",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
    )
    CareRelationship.objects.create(
        unit=county.centre, patient=patient, origin="order", valid_from=TODAY()
    )
    with pytest.raises(PermissionDenied):
        services.block_reveal_providers(
            actor=tekla.actor, grant=grant(tekla, patient), basis="consent", reason="Samtycker"
        )
    assert last(Action.ACCESS_DENIED).detail["capability"] == "patients.blocks"
    assert count(Action.BLOCK_PROVIDERS_REVEALED) == 0


# --- R39, R49: an emergency beside a relationship ------------------------------------------------


def test_r39_an_emergency_beside_a_relationship_opens_other_providers_data(
    alice: Persona, patient: Patient, county: County
) -> None:
    assert not data_scope(alice.actor, grant(alice, patient)).visible(
        county.region.pk, county.unit_b.pk
    )
    opened = emergency(alice, patient)
    scope = data_scope(alice.actor, grant(alice, patient))
    assert scope.visible(county.region.pk, county.unit_b.pk)
    assert (scope.cross_provider_basis, scope.cross_provider_ref) == (
        "emergency",
        f"emergency:{opened.pk}",
    )


def test_r49_the_patient_page_offers_the_emergency_basis_beside_a_relationship(
    client: Client, alice: Persona, patient: Patient, colleague: Persona
) -> None:
    block = internal_block(alice, patient)
    emergency(colleague, patient)
    signed_in(client, colleague)
    response = client.post(
        reverse("patients:block_lift", args=[patient.pk, block.pk]),
        {"basis": "emergency", "reason": "Akut läge", "hours": 2},
    )
    assert response.status_code == 302
    assert last(Action.BLOCK_TEMPORARILY_LIFTED).legal_basis == "emergency"


# --- R35, R38: other providers' objects on the same patient --------------------------------------


@pytest.fixture
def region_objects(county: County, charlie: Persona, patient: Patient) -> dict[str, Any]:
    """Charlie's (the region's) consent, block and relationship on a patient alice also has."""
    consent = Consent.objects.create(
        patient=patient,
        grantee_unit=county.unit_b,
        registered_by=charlie.user,
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    block = Block.objects.create(
        patient=patient,
        scope="external",
        owner_provider=county.region,
        requested_at=TODAY(),
        requested_by="Patienten",
        registered_by=charlie.user,
    )
    relationship = CareRelationship.objects.get(unit=county.unit_b, patient=patient)
    return {"consent": consent, "block": block, "relationship": relationship}


def _state(objects: dict[str, Any]) -> tuple[str, str, Any]:
    for obj in objects.values():
        obj.refresh_from_db()
    return objects["consent"].status, objects["block"].status, objects["relationship"].ended_at


@pytest.mark.parametrize(
    ("route", "key", "kind", "extra"),
    [
        ("patients:consent_close", "consent_id", "consent", {"how": "end"}),
        ("patients:consent_close", "consent_id", "consent", {"how": "cancel"}),
        ("patients:block_close", "block_id", "block", {"how": "lift"}),
        ("patients:block_close", "block_id", "block", {"how": "cancel"}),
        ("patients:relationship_end", "relationship_id", "relationship", {}),
    ],
)
def test_r35_another_providers_objects_are_404_unchanged_and_logged(
    as_alice: Client,
    patient: Patient,
    region_objects: dict[str, Any],
    route: str,
    key: str,
    kind: str,
    extra: dict[str, str],
) -> None:
    before = _state(region_objects)
    target = region_objects[kind]
    url = reverse(route, kwargs={"patient_id": patient.pk, key: target.pk, **extra})
    response = as_alice.post(url, {"reason": "Patientens begäran"})
    assert response.status_code == 404
    assert _state(region_objects) == before
    denied = last(Action.ACCESS_DENIED)
    assert (denied.actor_username, denied.outcome, denied.patient_id) == (
        "alice",
        "denied",
        patient.pk,
    )
    assert (denied.resource_type, denied.resource_id) == (
        target._meta.label_lower,
        str(target.pk),
    )
    # A missing id gets the same answer, recorded the same way.
    missing = reverse(route, kwargs={"patient_id": patient.pk, key: 999999, **extra})
    assert as_alice.post(missing, {"reason": "Patientens begäran"}).status_code == 404
    assert last(Action.ACCESS_DENIED).resource_id == "999999"


def test_r35_another_patients_block_is_404_for_a_temporary_lift(
    as_alice: Client, patient: Patient, stranger: Patient, county: County, charlie: Persona
) -> None:
    block = Block.objects.create(
        patient=stranger,
        scope="external",
        owner_provider=county.region,
        requested_at=TODAY(),
        requested_by="Patienten",
        registered_by=charlie.user,
    )
    response = as_alice.post(
        reverse("patients:block_lift", args=[patient.pk, block.pk]),
        {"basis": "consent", "reason": "Patienten samtycker", "hours": 2},
    )
    assert response.status_code == 404
    assert last(Action.ACCESS_DENIED).resource_id == str(block.pk)


def test_r38_a_write_under_a_read_only_grant_is_refused_logged_and_told_in_swedish(
    client: Client, alice: Persona, stranger: Patient
) -> None:
    emergency(alice, stranger)
    signed_in(client, alice)
    response = client.post(
        reverse("patients:consent_add", args=[stranger.pk]),
        {"valid_from": TODAY().isoformat(), "valid_until": TODAY().isoformat()},
        follow=True,
    )
    assert "Nödåtkomst ger bara läsbehörighet." in response.content.decode()
    assert not Consent.objects.exists()
    denied = last(Action.ACCESS_DENIED)
    assert (denied.patient_id, denied.detail["step"], denied.detail["reason"]) == (
        stranger.pk,
        "consent_register",
        "read_only",
    )


def test_r38_a_missing_capability_is_told_in_swedish_not_by_its_code(
    client: Client, county: County, patient: Patient, tekla: Persona
) -> None:
    CareRelationship.objects.create(
        unit=county.centre, patient=patient, origin="order", valid_from=TODAY()
    )
    signed_in(client, tekla)
    response = client.post(
        reverse("patients:consent_add", args=[patient.pk]),
        {"valid_from": TODAY().isoformat(), "valid_until": TODAY().isoformat()},
        follow=True,
    )
    html = response.content.decode()
    assert "Du har inte behörighet att göra det här." in html
    assert "patients.consents" not in html
    assert last(Action.ACCESS_DENIED).detail["capability"] == "patients.consents"


def test_r32_a_relationship_registered_under_a_need_is_flagged_for_review(
    client: Client, alice: Persona, stranger: Patient
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19550303-9819"})
    client.post(
        reverse("patients:outside"),
        {"reason_code": "new_contact", "reason_text": "Ny hemsjukvårdspatient"},
    )
    client.post(
        reverse("patients:relationship_add", args=[stranger.pk]),
        {"valid_from": TODAY().isoformat(), "reason": "Ny remiss"},
    )
    created = last(Action.RELATIONSHIP_CREATED)
    assert (created.legal_basis, created.detail["review"]) == ("need", True)


# --- Bad input is never a 500 --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "9" * 5000, "٣", "-1", "1e3", " 1"])
def test_r50_odd_patient_values_on_the_emergency_page_are_not_a_500(
    as_alice: Client, value: str
) -> None:
    response = as_alice.get(reverse("patients:emergency"), {"patient": value})
    assert response.status_code == 404, "no such patient and nothing pending"


def test_r50_a_long_patient_value_falls_back_to_the_pending_number(
    client: Client, alice: Persona, stranger: Patient
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19550303-9819"})
    response = client.get(reverse("patients:emergency"), {"patient": "9" * 5000})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["²", "99999999999", "-5", "abc", "٣"])
def test_r43_odd_day_counts_on_the_cross_provider_report_are_not_a_500(
    client: Client, lena: Persona, value: str
) -> None:
    signed_in(client, lena)
    response = client.get(reverse("audit:cross_provider"), {"dagar": value})
    assert response.status_code == 200


# --- R18, R22: the emergency's re-authentication --------------------------------------------------


def test_r18_wrong_passwords_at_emergency_access_are_logged_and_lock_out(
    client: Client, alice: Persona, stranger: Patient, settings: Any
) -> None:
    settings.LYFTA_LOCKOUT_ACCOUNT_FAILURES = 3
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19550303-9819"})
    data = {
        "reason_code": "acute_care",
        "reason_text": "Akut läge, patienten kan inte svara",
        "patient_cannot_consent": "on",
        "password": "fel lösenord",
    }
    for _attempt in range(3):
        assert client.post(reverse("patients:emergency"), data).status_code == 400
    assert FailedSignIn.objects.filter(username="alice").count() == 3
    failed = last(Action.REAUTH_FAILED)
    assert (failed.actor_username, failed.detail) == ("alice", {"step": "emergency_open"})
    client.post(reverse("patients:emergency"), {**data, "password": TEST_PASSWORD})
    assert not EmergencyAccess.objects.exists(), "locked out, even with the right password"
    assert last(Action.LOCKED_OUT).actor_username == "alice"


# --- R52: notification and escalation -------------------------------------------------------------


def test_r52_without_a_log_reviewer_the_unit_manager_is_told(
    alice: Persona, manager: Persona, stranger: Patient
) -> None:
    emergency(alice, stranger)
    assert Message.objects.get(kind="emergency_access").recipient == manager.user
    started = last(Action.EMERGENCY_STARTED)
    assert (started.detail["notified"], started.detail["notified_role"]) == (
        [manager.user.pk],
        "unit_manager",
    )


def test_r52_with_nobody_at_the_provider_the_system_administrators_are_told(
    alice: Persona, sigge: Persona, stranger: Patient
) -> None:
    emergency(alice, stranger)
    assert list(Message.objects.values_list("recipient__username", flat=True)) == ["sigge"]


def _age(opened: EmergencyAccess, days: int) -> None:
    started = timezone.now() - dt.timedelta(days=days)
    EmergencyAccess.objects.filter(pk=opened.pk).update(
        started_at=started, expires_at=started + dt.timedelta(hours=2)
    )


def test_r52_an_unreviewed_emergency_escalates_after_three_working_days_once(
    alice: Persona, lena: Persona, stranger: Patient
) -> None:
    opened = emergency(alice, stranger)
    Message.objects.all().delete()
    _age(opened, 10)
    call_command("run_scheduler", "--once", stdout=__import__("io").StringIO())
    message = Message.objects.get(recipient=lena.user)
    assert "ogranskad" in message.subject
    escalated = last(Action.EMERGENCY_ESCALATED)
    assert (escalated.patient_id, escalated.actor_username, escalated.detail["notified"]) == (
        stranger.pk,
        "system:escalate_overdue_emergency_reviews",
        [lena.user.pk],
    )
    opened.refresh_from_db()
    assert opened.escalated_at is not None
    assert services.emergencies_escalate(actor=alice.actor) == 0, "escalated once"
    assert Message.objects.count() == 1


def test_r52_a_recent_or_reviewed_emergency_does_not_escalate(
    alice: Persona, lena: Persona, stranger: Patient
) -> None:
    recent = emergency(alice, stranger)
    _age(recent, 1)
    reviewed = emergency(alice, stranger)
    _age(reviewed, 10)
    services.emergency_review(actor=lena.actor, emergency=reviewed, verdict="justified")
    assert services.emergencies_escalate(actor=alice.actor) == 0
    assert count(Action.EMERGENCY_ESCALATED) == 0


def test_r52_the_review_date_counts_working_days() -> None:
    friday = dt.datetime(2026, 4, 3, 10, tzinfo=dt.UTC)  # Good Friday
    opened = EmergencyAccess(started_at=friday)
    # Easter Monday is a holiday: Tuesday, Wednesday, Thursday.
    assert services.emergency_review_due(opened) == dt.date(2026, 4, 9)


def test_r52_a_second_verdict_does_not_overwrite_the_first(
    county: County, alice: Persona, lena: Persona, stranger: Patient
) -> None:
    opened = emergency(alice, stranger)
    second = make_persona(county.unit_a2, Role.LOG_REVIEWER, "lars")
    stale = EmergencyAccess.objects.get(pk=opened.pk)  # read before the first verdict
    services.emergency_review(actor=lena.actor, emergency=opened, verdict="justified")
    with pytest.raises(ValidationError, match="redan"):
        services.emergency_review(actor=second.actor, emergency=stale, verdict="unjustified")
    opened.refresh_from_db()
    assert (opened.verdict, opened.reviewed_by) == ("justified", lena.user)
    assert count(Action.EMERGENCY_REVIEWED) == 1


@pytest.mark.parametrize("postal_code", ["ABCDEF", "123456", "12 345"])
def test_a_corrected_postal_code_is_one_or_a_swedish_message(
    as_alice: Client, patient: Patient, postal_code: str
) -> None:
    """Found by an attack over HTTP (attack run 5): the correction took any text as the postal
    code, where registration takes only 123 45."""
    before = Patient.objects.values_list("postal_code", flat=True).get(pk=patient.pk)
    response = as_alice.post(
        reverse("patients:correct", args=[patient.pk]),
        {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "postal_code": postal_code,
            "reason": "Fel postnummer",
        },
    )
    assert response.status_code == 400
    assert "Skriv postnumret som 123 45." in response.content.decode()
    assert Patient.objects.values_list("postal_code", flat=True).get(pk=patient.pk) == before
