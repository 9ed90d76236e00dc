"""Who may see a patient and which data (R32–R56)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.patients import Denial, PatientGrant, grant_for
from lyfta.access.refusals import Refused
from lyfta.access.roles import Role
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.messages.models import Message
from lyfta.patients import services
from lyfta.patients.models import (
    Block,
    BlockLift,
    CareRelationship,
    Consent,
    DocumentedNeed,
    EmergencyAccess,
    Patient,
    ProtectedStaff,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def last(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} event"
    return event


@pytest.fixture
def patient(county: County) -> Patient:
    """Related to unit A (the municipality) and to unit B (the region)."""
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
    CareRelationship.objects.create(
        unit=county.unit_a, patient=p, origin="order", valid_from=TODAY()
    )
    CareRelationship.objects.create(
        unit=county.unit_b,
        patient=p,
        origin="prescription",
        valid_from=TODAY() - dt.timedelta(days=10),
    )
    return p


@pytest.fixture
def stranger(county: County) -> Patient:
    """Known to Lyfta, related to no unit of the personas."""
    return Patient.objects.create(
        identifier="195503039819", id_kind="personnummer", first_name="Sten", last_name="Främling"
    )


def page(client: Client, patient: Patient) -> Any:
    return client.get(reverse("patients:detail", args=[patient.pk]))


def grant(persona: Persona, patient: Patient, session: str = "s1") -> PatientGrant:
    result = grant_for(persona.actor, patient, session)
    assert isinstance(result, PatientGrant), result
    return result


# --- R32, R33: relationship or documented need; search scope -----------------------------------


def test_r32_a_care_relationship_opens_the_patient(as_alice: Client, patient: Patient) -> None:
    response = page(as_alice, patient)
    assert response.status_code == 200
    read = last(Action.PATIENT_READ)
    assert (read.patient_id, read.legal_basis, read.purpose) == (patient.pk, "relationship", "care")


def test_r32_without_a_relationship_the_patient_is_not_found_and_the_attempt_logged(
    as_alice: Client, stranger: Patient
) -> None:
    assert page(as_alice, stranger).status_code == 404
    denied = last(Action.PATIENT_ACCESS_DENIED)
    assert (denied.patient_id, denied.detail["reason"], denied.outcome) == (
        stranger.pk,
        "no_relationship",
        "denied",
    )


def test_r32_a_documented_need_opens_one_patient_for_the_session_and_is_flagged(
    client: Client, alice: Persona, stranger: Patient
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19550303-9819"})
    outside = client.get(reverse("patients:outside"))
    assert "Främling" not in outside.content.decode(), "nothing shown before the need"
    response = client.post(
        reverse("patients:outside"),
        {"reason_code": "new_contact", "reason_text": "Ny hemsjukvårdspatient"},
    )
    assert response["Location"] == reverse("patients:detail", args=[stranger.pk])
    assert page(client, stranger).status_code == 200
    assert last(Action.PATIENT_READ).legal_basis == "need"
    need = last(Action.NEED_DOCUMENTED)
    assert need.detail["review"] is True
    # Another session (the same person signed in elsewhere) has no documented need.
    other = Client()
    signed_in(other, alice)
    assert page(other, stranger).status_code == 404


def test_r32_a_need_needs_a_reason(client: Client, alice: Persona, stranger: Patient) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19550303-9819"})
    response = client.post(reverse("patients:outside"), {"reason_code": "other", "reason_text": ""})
    assert response.status_code == 400
    assert not DocumentedNeed.objects.exists()


def test_r33_search_finds_only_the_units_own_patients(
    as_alice: Client, patient: Patient, stranger: Patient
) -> None:
    html = as_alice.get(reverse("patients:search"), {"q": "Främling"}).content.decode()
    assert "Sten Främling" not in html
    html = as_alice.get(reverse("patients:search"), {"q": "Apel"}).content.decode()
    assert "Aina Apel" in html
    searched = last(Action.PATIENT_SEARCHED)
    assert searched.detail["shown"] == [patient.pk]
    assert "Aina" not in str(searched.detail), "search results are not logged (R60)"
    assert last(Action.PATIENT_LISTED).patient_id == patient.pk


def test_r33_a_number_outside_the_scope_shows_the_same_page_whether_or_not_it_exists(
    client: Client, alice: Persona, stranger: Patient
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19550303-9819"})
    known = client.get(reverse("patients:outside")).content.decode()
    client.post(reverse("patients:search"), {"identifier": "19400101-9803"})  # not in Lyfta
    unknown = client.get(reverse("patients:outside")).content.decode()
    assert known.replace("19550303-9819", "X").count("Främling") == unknown.count("Främling") == 0
    assert len(known.replace("19550303-9819", "N")) == len(unknown.replace("19400101-9803", "N"))
    assert last(Action.PATIENT_SEARCH_OUTSIDE).detail["exists"] is False


def test_r33_there_is_no_name_search_outside_the_units_patients(as_alice: Client) -> None:
    response = as_alice.post(reverse("patients:search"), {"identifier": "Främling"})
    assert response.status_code == 400


# --- R34: minimisation per role ---------------------------------------------------------------


@pytest.mark.parametrize("persona", ["tekla", "logan"])
def test_r34_technicians_and_logistics_see_contact_but_not_administration(
    client: Client, county: County, patient: Patient, persona: str, request: Any
) -> None:
    person: Persona = request.getfixturevalue(persona)
    CareRelationship.objects.create(
        unit=county.centre, patient=patient, origin="order", valid_from=TODAY()
    )
    Consent.objects.create(
        patient=patient,
        grantee_unit=county.centre,
        registered_by=person.user,
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    signed_in(client, person)
    response = page(client, patient)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Storgatan 1" in html and "070-111 22 33" in html
    for administrative in (
        "Vårdrelationer",
        "Samtycke till uppgifter",
        "Spärrar",
        "Rätta uppgifter",
    ):
        assert administrative not in html, administrative
    assert county.unit_b.name not in html and county.centre.name not in html.split("<main")[-1]
    assert last(Action.PATIENT_READ).detail["fields"] == ["contact", "identity"]
    correct = client.get(reverse("patients:correct", args=[patient.pk]))
    assert correct.status_code == 404, "no administrative fields, no correction page"
    assert last(Action.ACCESS_DENIED).detail["reason"] == "role"


@pytest.mark.parametrize(
    "role",
    [Role.BILLING, Role.USER_ADMIN, Role.LOG_REVIEWER, Role.SYSTEM_ADMIN, Role.CATALOGUE_MANAGER],
)
def test_r34_roles_without_patient_data_never_open_a_patient(
    county: County, patient: Patient, role: str
) -> None:
    person = make_persona(county.unit_a, role, f"x-{role}")
    CareRelationship.objects.create(
        unit=county.unit_a, patient=patient, origin="order", valid_from=TODAY()
    )
    assert grant_for(person.actor, patient, "s") == Denial("role")


# --- R36–R38 ------------------------------------------------------------------------------


def test_r36_every_read_records_its_purpose(as_alice: Client, patient: Patient) -> None:
    page(as_alice, patient)
    assert last(Action.PATIENT_READ).purpose == "care"


def test_r37_an_ended_relationship_closes_the_patient_at_the_next_request(
    as_alice: Client, alice: Persona, patient: Patient
) -> None:
    assert page(as_alice, patient).status_code == 200
    CareRelationship.objects.filter(unit=alice.assignment.unit, patient=patient).update(
        ended_at=timezone.now()
    )
    assert page(as_alice, patient).status_code == 404


def test_r38_a_denial_names_user_patient_resource_and_reason(
    as_alice: Client, stranger: Patient
) -> None:
    page(as_alice, stranger)
    denied = last(Action.PATIENT_ACCESS_DENIED)
    assert denied.actor_username == "alice"
    assert (denied.resource_type, denied.resource_id) == ("patients.patient", str(stranger.pk))
    assert denied.detail["reason"] == "no_relationship"


# --- R39–R43: other providers' data ---------------------------------------------------------


def test_r39_another_providers_data_is_only_announced_until_consent(
    as_alice: Client, alice: Persona, patient: Patient, county: County
) -> None:
    html = page(as_alice, patient).content.decode()
    assert county.unit_b.name not in html
    assert 'id="other-providers"' in html
    services.consent_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    html = page(as_alice, patient).content.decode()
    assert county.unit_b.name in html
    assert 'id="other-providers"' not in html


def test_r39_open_access_when_the_deployment_says_so(
    as_alice: Client, patient: Patient, county: County, settings: Any
) -> None:
    settings.LYFTA_CROSS_PROVIDER_ACCESS = "open"
    assert county.unit_b.name in page(as_alice, patient).content.decode()
    assert last(Action.PATIENT_CROSS_PROVIDER_READ).legal_basis == "open"


def test_r40_consent_records_its_grantee_registrar_and_window_and_only_a_valid_one_counts(
    as_alice: Client, alice: Persona, bob: Persona, patient: Patient, county: County
) -> None:
    consent = services.consent_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=5),
        for_me_only=True,
        representative="God man Gun",
    )
    assert (consent.grantee_unit, consent.grantee_user, consent.registered_by) == (
        alice.assignment.unit,
        alice.user,
        alice.user,
    )
    assert consent.representative == "God man Gun"
    bob_client = Client()
    signed_in(bob_client, bob)
    assert county.unit_b.name not in page(bob_client, patient).content.decode(), "personal consent"
    services.consent_close(
        actor=alice.actor, grant=grant(alice, patient), consent=consent, cancel=True, reason="fel"
    )
    consent.refresh_from_db()
    assert consent.status == Consent.Status.CANCELLED
    assert county.unit_b.name not in page(as_alice, patient).content.decode()
    Consent.objects.create(
        patient=patient,
        grantee_unit=alice.assignment.unit,
        registered_by=alice.user,
        valid_from=TODAY() - dt.timedelta(days=9),
        valid_until=TODAY() - dt.timedelta(days=1),
    )
    assert county.unit_b.name not in page(as_alice, patient).content.decode(), "expired"


def test_r41_an_emergency_assertion_records_who_why_and_how_long(
    alice: Persona, stranger: Patient
) -> None:
    emergency = services.emergency_open(
        actor=alice.actor,
        patient=stranger,
        reason_code="acute_care",
        reason_text="Medvetslös patient i hemmet",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )
    assert emergency.user == alice.user
    assert emergency.reason_text == "Medvetslös patient i hemmet"
    assert emergency.expires_at - emergency.started_at == dt.timedelta(hours=2)


def test_r42_a_cross_provider_read_logs_both_providers_and_units(
    as_alice: Client, alice: Persona, patient: Patient, county: County
) -> None:
    services.consent_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    page(as_alice, patient)
    event = last(Action.PATIENT_CROSS_PROVIDER_READ)
    assert (event.actor_provider_id, event.actor_unit_id) == (
        county.municipality.pk,
        county.unit_a.pk,
    )
    assert (event.owner_provider_id, event.owner_unit_id) == (county.region.pk, county.unit_b.pk)
    assert event.legal_basis == "consent"
    assert event.legal_basis_ref.startswith("consent:")


def test_r43_each_provider_sees_who_read_its_data_and_where_its_users_read(
    as_alice: Client, alice: Persona, patient: Patient, county: County
) -> None:
    from lyfta.logreview.reports import cross_provider_report

    services.consent_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    page(as_alice, patient)
    region_reviewer = make_persona(county.region_admin, Role.LOG_REVIEWER, "regina")
    municipal_reviewer = make_persona(county.unit_a2, Role.LOG_REVIEWER, "mona")
    into_region = cross_provider_report(actor=region_reviewer.actor)
    assert [(r.other_provider, r.count) for r in into_region.into_ours] == [
        (county.municipality.name, 1)
    ]
    out_of_municipality = cross_provider_report(actor=municipal_reviewer.actor)
    assert [(r.other_provider, r.count) for r in out_of_municipality.ours_out] == [
        (county.region.name, 1)
    ]
    assert last(Action.AUDIT_CROSS_PROVIDER_REPORT).actor_username == "mona"


# --- R44–R49: blocks --------------------------------------------------------------------------


def test_r44_an_internal_block_hides_a_units_data_from_the_providers_other_units(
    county: County, alice: Persona, patient: Patient, client: Client
) -> None:
    colleague = make_persona(county.unit_a2, Role.PRESCRIBER, "annika")
    CareRelationship.objects.create(
        unit=county.unit_a2, patient=patient, origin="order", valid_from=TODAY()
    )
    services.block_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        scope="internal",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
    )
    signed_in(client, colleague)
    html = page(client, patient).content.decode()
    # Anywhere on the page: the relationships, and the list of blocks, which must not show the
    # block against the colleague's unit (nor let it be lifted from there).
    assert county.unit_a.name not in html
    assert "Inga spärrar." in html
    assert "spärrat för din enhet" in html
    own = Client()
    signed_in(own, alice)
    assert county.unit_a.name in page(own, patient).content.decode()


def test_r44_a_block_towards_other_providers_holds_even_with_consent(
    county: County, alice: Persona, charlie: Persona, patient: Patient, as_alice: Client
) -> None:
    services.block_register(
        actor=charlie.actor,
        grant=grant(charlie, patient),
        scope="external",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
    )
    services.consent_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    html = page(as_alice, patient).content.decode()
    assert county.unit_b.name not in html
    assert 'id="blocked-elsewhere"' in html


def test_r45_a_block_keeps_its_history_when_lifted_or_cancelled(
    alice: Persona, patient: Patient
) -> None:
    block = services.block_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        scope="internal",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
        info_from=TODAY() - dt.timedelta(days=90),
        reason="Vill inte",
    )
    assert (block.owner_provider, block.registered_by, block.requested_by) == (
        alice.assignment.unit.provider,
        alice.user,
        "Patienten",
    )
    services.block_close(
        actor=alice.actor,
        grant=grant(alice, patient),
        block=block,
        cancel=False,
        reason="Patienten häver",
    )
    block.refresh_from_db()
    assert (block.status, block.status_changed_by, block.status_reason) == (
        "lifted",
        alice.user,
        "Patienten häver",
    )
    assert Block.objects.filter(pk=block.pk).exists()
    assert last(Action.BLOCK_LIFTED).changes == {"status": ["active", "lifted"]}


def test_r46_a_temporary_lift_is_for_one_unit_and_expires(
    county: County, alice: Persona, patient: Patient
) -> None:
    colleague = make_persona(county.unit_a2, Role.PRESCRIBER, "annika")
    CareRelationship.objects.create(
        unit=county.unit_a2, patient=patient, origin="order", valid_from=TODAY()
    )
    block = services.block_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        scope="internal",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
    )
    from lyfta.access.patients import data_scope

    assert not data_scope(colleague.actor, grant(colleague, patient)).visible(
        county.municipality.pk, county.unit_a.pk
    )
    lift = services.block_lift_temporarily(
        actor=colleague.actor,
        grant=grant(colleague, patient),
        block=block,
        basis="consent",
        reason="Patienten samtycker",
        hours=2,
    )
    assert data_scope(colleague.actor, grant(colleague, patient)).visible(
        county.municipality.pk, county.unit_a.pk
    )
    BlockLift.objects.filter(pk=lift.pk).update(
        starts_at=timezone.now() - dt.timedelta(hours=3),
        ends_at=timezone.now() - dt.timedelta(seconds=1),
    )
    assert not data_scope(colleague.actor, grant(colleague, patient)).visible(
        county.municipality.pk, county.unit_a.pk
    )
    assert last(Action.BLOCK_TEMPORARILY_LIFTED).detail["block"] == block.pk


def test_r47_a_guardian_cannot_block_a_childs_information(alice: Persona, patient: Patient) -> None:
    with pytest.raises(ValidationError, match="vårdnadshavare"):
        services.block_register(
            actor=alice.actor,
            grant=grant(alice, patient),
            scope="internal",
            requested_at=TODAY(),
            requested_by="Förälder",
            requester_kind="guardian",
        )
    assert not Block.objects.exists()
    assert last(Action.BLOCK_REFUSED).detail["reason"] == "guardian_request"


def test_r48_revealing_blocked_data_elsewhere_takes_two_recorded_steps(
    county: County, alice: Persona, charlie: Persona, patient: Patient, as_alice: Client
) -> None:
    block = services.block_register(
        actor=charlie.actor,
        grant=grant(charlie, patient),
        scope="external",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
    )
    services.consent_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
    )
    with pytest.raises(ValidationError, match="Visa först"):
        services.block_lift_temporarily(
            actor=alice.actor,
            grant=grant(alice, patient),
            block=block,
            basis="consent",
            reason="Patienten samtycker",
        )
    html = page(as_alice, patient).content.decode()
    assert county.region.name not in html
    as_alice.post(
        reverse("patients:block_reveal", args=[patient.pk]),
        {"basis": "consent", "reason": "Patienten samtycker muntligt"},
    )
    html = page(as_alice, patient).content.decode()
    assert county.region.name in html, "step 1 names the provider"
    assert county.unit_b.name not in html.split("Vårdrelationer")[1].split("</table>")[0]
    as_alice.post(
        reverse("patients:block_lift", args=[patient.pk, block.pk]),
        {"basis": "consent", "reason": "Patienten samtycker", "hours": 2},
    )
    assert county.unit_b.name in page(as_alice, patient).content.decode(), "step 2 shows the data"
    assert last(Action.BLOCK_PROVIDERS_REVEALED).detail["providers"] == [county.region.pk]


def test_r49_breaking_an_internal_block_in_an_emergency_needs_emergency_access(
    county: County, alice: Persona, patient: Patient
) -> None:
    colleague = make_persona(county.unit_a2, Role.PRESCRIBER, "annika")
    CareRelationship.objects.create(
        unit=county.unit_a2, patient=patient, origin="order", valid_from=TODAY()
    )
    block = services.block_register(
        actor=alice.actor,
        grant=grant(alice, patient),
        scope="internal",
        requested_at=TODAY(),
        requested_by="Patienten",
        requester_kind="patient",
    )
    with pytest.raises(ValidationError, match="nödåtkomst"):
        services.block_lift_temporarily(
            actor=colleague.actor,
            grant=grant(colleague, patient),
            block=block,
            basis="emergency",
            reason="Akut läge",
        )
    emergency = services.emergency_open(
        actor=colleague.actor,
        patient=patient,
        reason_code="acute_care",
        reason_text="Akut, patienten medvetslös",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )
    # The unit's relationship stays the grant's basis; the emergency in force travels with it.
    with_emergency = grant(colleague, patient)
    assert (with_emergency.basis, with_emergency.read_only) == ("relationship", False)
    assert with_emergency.emergency_ref == f"emergency:{emergency.pk}"
    services.block_lift_temporarily(
        actor=colleague.actor,
        grant=with_emergency,
        block=block,
        basis="emergency",
        reason="Akut läge",
    )
    lifted = last(Action.BLOCK_TEMPORARILY_LIFTED)
    assert (lifted.legal_basis, lifted.legal_basis_ref) == (
        "emergency",
        f"emergency:{emergency.pk}",
    )
    from lyfta.access.patients import data_scope

    assert data_scope(colleague.actor, grant(colleague, patient)).visible(
        county.municipality.pk, county.unit_a.pk
    )


# --- R50–R52: emergency access ------------------------------------------------------------


def test_r50_emergency_access_requires_password_reason_and_confirmation(
    alice: Persona, stranger: Patient
) -> None:
    with pytest.raises(ValidationError) as raised:
        services.emergency_open(
            actor=alice.actor,
            patient=stranger,
            reason_code="acute_care",
            reason_text="kort",
            patient_cannot_consent=False,
            password="fel",
        )
    assert set(raised.value.message_dict) == {"reason_text", "patient_cannot_consent", "password"}
    assert not EmergencyAccess.objects.exists()


def test_r50_emergency_access_reads_only_one_patient_for_two_hours(
    client: Client, alice: Persona, stranger: Patient, patient: Patient
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19550303-9819"})
    response = client.post(
        reverse("patients:emergency"),
        {
            "reason_code": "acute_care",
            "reason_text": "Medvetslös i hemmet, behöver veta hjälpmedel",
            "patient_cannot_consent": "on",
            "password": TEST_PASSWORD,
        },
    )
    assert response["Location"] == reverse("patients:detail", args=[stranger.pk])
    html = page(client, stranger).content.decode()
    assert "bara läsa" in html
    assert last(Action.PATIENT_READ).legal_basis == "emergency"
    with pytest.raises(PermissionDenied):
        services.consent_register(
            actor=alice.actor, grant=grant(alice, stranger), valid_from=TODAY(), valid_until=TODAY()
        )
    EmergencyAccess.objects.update(
        expires_at=timezone.now() - dt.timedelta(seconds=1),
        started_at=timezone.now() - dt.timedelta(hours=2),
    )
    assert page(client, stranger).status_code == 404, "it ends by itself and is not extended"


def test_r51_start_and_end_are_flagged_events(alice: Persona, stranger: Patient) -> None:
    emergency = services.emergency_open(
        actor=alice.actor,
        patient=stranger,
        reason_code="acute_care",
        reason_text="Medvetslös patient i hemmet",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )
    started = last(Action.EMERGENCY_STARTED)
    assert started.detail["dicom"] == ["110113", "110127"]
    EmergencyAccess.objects.filter(pk=emergency.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1),
        started_at=timezone.now() - dt.timedelta(hours=2),
    )
    call_command("run_scheduler", "--once", stdout=__import__("io").StringIO())
    ended = last(Action.EMERGENCY_ENDED)
    assert (ended.patient_id, ended.detail["reason"]) == (stranger.pk, "expired")
    assert ended.actor_username == "system:end_expired_emergency_access"


def test_r52_reviewers_are_told_at_once_and_the_access_waits_for_a_verdict(
    client: Client, alice: Persona, lena: Persona, stranger: Patient
) -> None:
    services.emergency_open(
        actor=alice.actor,
        patient=stranger,
        reason_code="acute_care",
        reason_text="Medvetslös patient i hemmet",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )
    message = Message.objects.get(recipient=lena.user)
    assert message.kind == "emergency_access" and "Alice Ask" in message.subject
    signed_in(client, lena)
    queue = client.get(reverse("patients:emergency_queue")).content.decode()
    assert "Medvetslös patient i hemmet" in queue
    emergency = EmergencyAccess.objects.get()
    client.post(
        reverse("patients:emergency_queue"),
        {"emergency": emergency.pk, "verdict": "justified", "note": "Ok"},
    )
    emergency.refresh_from_db()
    assert (emergency.verdict, emergency.reviewed_by) == ("justified", lena.user)
    assert (
        "Medvetslös patient i hemmet"
        not in client.get(reverse("patients:emergency_queue")).content.decode()
    )


# --- R53–R56: protected identity ----------------------------------------------------------


@pytest.fixture
def protected(patient: Patient, alice: Persona) -> Patient:
    patient.protection = Patient.Protection.PROTECTED_REGISTRATION
    patient.approved_delivery_address = "Box 1, 651 01 Karlstad"
    patient.save()
    ProtectedStaff.objects.create(patient=patient, user=alice.user, named_by=alice.user)
    return patient


def _emergency(persona: Persona, patient: Patient) -> None:
    services.emergency_open(
        actor=persona.actor,
        patient=patient,
        reason_code="acute_care",
        reason_text="Akut situation i hemmet",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )


def test_r53_the_flag_shows_and_the_address_is_for_named_staff(
    as_alice: Client, protected: Patient, alice: Persona, bob: Persona
) -> None:
    html = page(as_alice, protected).content.decode()
    assert "Skyddad identitet" in html and "Storgatan 1" in html
    from lyfta.patients.selectors import patient_view

    # Anyone not named does not reach the patient at all, in an emergency neither (R54): the
    # address cannot be shown to him.
    with pytest.raises(Refused):
        _emergency(bob, protected)
    assert grant_for(bob.actor, protected, "s") == Denial("protected_identity")
    named = patient_view(actor=alice.actor, grant=grant(alice, protected))
    assert named.approved_delivery_address == "Box 1, 651 01 Karlstad"


def test_r54_anyone_not_named_is_denied_logged_and_flagged(
    client: Client, bob: Persona, protected: Patient
) -> None:
    signed_in(client, bob)
    assert page(client, protected).status_code == 404
    denied = last(Action.PATIENT_ACCESS_DENIED)
    assert denied.detail == {"reason": "protected_identity", "review": True}


def test_r54_a_unit_manager_names_the_staff(
    county: County, bob: Persona, protected: Patient
) -> None:
    manager = make_persona(county.unit_a, Role.UNIT_MANAGER, "maja")
    ProtectedStaff.objects.create(patient=protected, user=manager.user, named_by=manager.user)
    services.protected_staff_add(
        actor=manager.actor, grant=grant(manager, protected), user=bob.user
    )
    assert isinstance(grant_for(bob.actor, protected, "s"), PatientGrant)
    with pytest.raises(PermissionDenied):
        services.protected_staff_add(actor=bob.actor, grant=grant(bob, protected), user=bob.user)
    assert last(Action.PROTECTED_STAFF_NAMED).changes == {"user": [None, bob.user.pk]}


def test_r55_protected_patients_stay_out_of_other_users_lists(
    client: Client, bob: Persona, protected: Patient
) -> None:
    signed_in(client, bob)
    html = client.get(reverse("patients:search"), {"q": "Apel"}).content.decode()
    assert "Aina Apel" not in html


def _all_routes() -> list[tuple[str, str]]:
    """Every route of the URL conf, nested ones included: (full pattern, namespaced name)."""
    from django.urls import URLPattern, URLResolver

    found: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern):
                found.append((prefix + str(pattern.pattern), namespace + (pattern.name or "")))

    walk(get_resolver().url_patterns, "", "")
    return found


def test_r56_there_is_no_proxy_or_guardian_channel() -> None:
    routes = _all_routes()
    assert len(routes) > 50, "the walk reaches the nested routes"
    assert any(path.startswith("patienter/") for path, _name in routes)
    words = ("ombud", "proxy", "fullmakt", "vardnadshavare", "guardian", "1177", "invanare")
    for path, name in routes:
        for word in words:
            assert word not in path.lower() and word not in name.lower(), (path, name)


def test_r57_every_patient_page_records_exactly_one_read(
    as_alice: Client, patient: Patient
) -> None:
    before = AuditEvent.objects.filter(action=Action.PATIENT_READ).count()
    page(as_alice, patient)
    assert AuditEvent.objects.filter(action=Action.PATIENT_READ).count() == before + 1


def test_r54_neither_a_relationship_nor_an_emergency_opens_a_protected_patient_to_staff_not_named(
    bob: Persona, protected: Patient
) -> None:
    with pytest.raises(Refused):
        _emergency(bob, protected)
    # An emergency access opened before the rule opens nothing either.
    EmergencyAccess.objects.create(
        user=bob.user,
        assignment=bob.assignment,
        patient=protected,
        reason_code="acute_care",
        reason_text="Öppnad före regeln",
        patient_cannot_consent=True,
        started_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(hours=2),
    )
    assert grant_for(bob.actor, protected, "s") == Denial("protected_identity")
