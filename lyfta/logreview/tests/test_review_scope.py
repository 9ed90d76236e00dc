"""Whose patients and whose log a log reviewer sees (R38, R42, R43, R53, R70, R80), from the attack
run on the demo:

H1: a reviewer at one provider searched another provider's patient (or tried an extract, which
was refused); the search, or the recorded refusal, was an event of his provider naming the
patient, and the rule for "our patient" read exactly those events, so the next extract was taken
and listed every access to the patient by every provider, protected identity included.

M4: the search said "no patient with that number in Lyfta" for an unknown number and searched
for any other, and the reviewer's own search events then named the other provider's patient."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LegalBasis, LogExtractRequest, Outcome
from lyfta.audit.services import record
from lyfta.logreview import review
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
UNKNOWN = "19121212-1212"  # in no register of the test
CSRF = re.compile(r'(?:csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def period() -> dict[str, str]:
    return {
        "period_from": (TODAY() - dt.timedelta(days=30)).isoformat(),
        "period_until": TODAY().isoformat(),
    }


def extract_post(patient: str) -> dict[str, str]:
    return {
        **period(),
        "patient": patient,
        "kind": LogExtractRequest.Kind.PATIENT_REQUEST,
        "requested_at": TODAY().isoformat(),
    }


@pytest.fixture
def theirs(county: County) -> Patient:
    """A patient only of the region (unit B): nothing of the municipality's."""
    p = Patient.objects.create(
        identifier="193408109878", id_kind="personnummer", first_name="Per", last_name="Nordin"
    )
    CareRelationship.objects.create(
        unit=county.unit_b, patient=p, origin="order", valid_from=TODAY()
    )
    return p


@pytest.fixture
def olivia(county: County) -> Persona:
    """The region's log reviewer."""
    return make_persona(
        county.unit_b, Role.LOG_REVIEWER, "olivia", first_name="Olivia", last_name="Ort"
    )


def read(persona: Persona, patient: Patient, **kwargs: object) -> AuditEvent:
    return record(
        action=kwargs.pop("action", Action.PATIENT_READ),  # type: ignore[arg-type]
        actor=persona.actor,
        patient_id=patient.pk,
        legal_basis=kwargs.pop("basis", LegalBasis.RELATIONSHIP),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


# --- H1: the reviewer's own work never makes a patient his provider's ----------------------------


def test_r80_a_search_then_an_extract_for_another_providers_patient_is_refused(
    client: Client, county: County, lena: Persona, charlie: Persona, theirs: Patient
) -> None:
    """The attack's sequence: search the region's patient, then ask for the extract. Before the
    fix the search was an event of the municipality naming the patient, which made the patient
    the municipality's, and the extract listed the region's every access."""
    read(charlie, theirs, owner_provider_id=county.region.pk)
    signed_in(client, lena)
    number = "19340810-9878"
    searched = client.get(reverse("review:search"), {**period(), "patient": number})
    for _attempt in range(2):  # and again after the refused attempt was recorded
        response = client.post(reverse("review:extract_new"), extract_post(number))
        assert response.status_code == 400  # before the fix: 302 to the new extract
        assert str(review.NO_SUCH_PATIENT) in response.content.decode()
    assert not LogExtractRequest.objects.exists()
    assert searched.status_code == 400  # the search too tells nothing (M4)
    # Each refusal is on record with the patient and why (R38), and none of them counts.
    denied = AuditEvent.objects.filter(actor_id=lena.user.pk, outcome=Outcome.DENIED)
    assert denied.count() == 3
    assert set(denied.values_list("patient_id", flat=True)) == {theirs.pk}
    assert not review.patient_known_to(county.municipality, theirs)


def test_r80_the_reviewers_earlier_searches_and_reads_of_the_log_never_count(
    county: County, lena: Persona, charlie: Persona, theirs: Patient
) -> None:
    """A log that already holds a reviewer's search, opened entry, extract steps and refusals
    about the patient (as the demo's did before the fix): none of them links the patient to
    the reviewer's provider, and the extract is refused."""
    for action in (
        Action.AUDIT_SEARCHED,
        Action.AUDIT_ENTRY_VIEWED,
        Action.AUDIT_EXPORTED,
        Action.EXTRACT_REQUESTED,
        Action.EXTRACT_PRODUCED,
    ):
        record(action=action, actor=lena.actor, patient_id=theirs.pk, detail={"patient": theirs.pk})
    record(
        action=Action.ACCESS_DENIED,
        actor=lena.actor,
        outcome=Outcome.DENIED,
        patient_id=theirs.pk,
    )
    # Staff of the municipality refused the patient: no link either.
    record(
        action=Action.PATIENT_ACCESS_DENIED,
        actor=make_persona(county.unit_a, Role.PRESCRIBER, "arne").actor,
        outcome=Outcome.DENIED,
        patient_id=theirs.pk,
    )
    read(charlie, theirs, action=Action.EMERGENCY_STARTED, basis=LegalBasis.EMERGENCY)
    with pytest.raises(ValidationError) as refused:
        review.extract_register(
            actor=lena.actor,
            patient=theirs,
            kind=LogExtractRequest.Kind.PATIENT_REQUEST,
            requested_at=TODAY(),
            requester="",
            period_from=TODAY() - dt.timedelta(days=30),
            period_until=TODAY(),
        )
    assert refused.value.messages == [str(review.NO_SUCH_PATIENT)]


def test_r80_what_links_a_patient_to_a_provider(
    county: County, lena: Persona, alice: Persona, charlie: Persona, theirs: Patient
) -> None:
    """A care relationship at one of its units, its own staff's access on a legal route, or
    another provider's user reading data it documented (R42) make the patient the provider's."""
    municipality = county.municipality
    assert review.linked_patients(municipality, {theirs.pk}) == set()
    by_staff = Patient.objects.create(identifier="195503039819", first_name="A", last_name="B")
    read(alice, by_staff, basis=LegalBasis.EMERGENCY)
    into_ours = Patient.objects.create(identifier="194001019803", first_name="C", last_name="D")
    read(
        charlie,
        into_ours,
        action=Action.PATIENT_CROSS_PROVIDER_READ,
        owner_provider_id=municipality.pk,
    )
    assert review.linked_patients(municipality, {theirs.pk, by_staff.pk, into_ours.pk}) == {
        by_staff.pk,
        into_ours.pk,
    }
    CareRelationship.objects.create(
        unit=county.unit_a, patient=theirs, origin="order", valid_from=TODAY()
    )
    assert review.patient_known_to(municipality, theirs)


def test_r42_the_extract_is_the_providers_answer_not_every_providers_log(
    client: Client, county: County, lena: Persona, alice: Persona, charlie: Persona
) -> None:
    """A protected patient cared for by both providers: the municipality's extract lists its own
    users' accesses and the region's reading of the municipality's data, never the region's
    accesses to its own data (its emergency access included), which are the region's to
    answer for (R42, R43, R80)."""
    both = Patient.objects.create(
        identifier="192910299854",
        id_kind="personnummer",
        first_name="Vera",
        last_name="Ek",
        protection=Patient.Protection.PROTECTED_REGISTRATION,
    )
    for unit in (county.unit_a, county.unit_b):
        CareRelationship.objects.create(unit=unit, patient=both, origin="order", valid_from=TODAY())
    read(alice, both, owner_provider_id=county.municipality.pk)
    read(
        charlie,
        both,
        action=Action.PATIENT_CROSS_PROVIDER_READ,
        owner_provider_id=county.municipality.pk,
    )
    read(
        charlie,
        both,
        action=Action.EMERGENCY_STARTED,
        basis=LegalBasis.EMERGENCY,
        owner_provider_id=county.region.pk,
    )
    read(charlie, both, basis=LegalBasis.EMERGENCY, owner_provider_id=county.region.pk)
    signed_in(client, lena)
    response = client.post(reverse("review:extract_new"), extract_post("19291029-9854"))
    assert response.status_code == 302
    extract = LogExtractRequest.objects.get()
    kinds = [(str(r.kind), r.provider) for r in review.extract_rows(extract)]
    assert kinds == [
        ("Läste dina uppgifter", county.municipality.name),
        ("Läste uppgifter som en annan vårdgivare har registrerat", county.region.name),
        ("Registrerade en begäran om loggutdrag om dig", county.municipality.name),
    ]
    csv_text = client.get(reverse("review:extract_file", args=[extract.pk, "csv"])).content
    assert "nödsituation" not in csv_text.decode()
    assert csv_text.decode().count(county.region.name) == 1


# --- M4: the search tells nothing of other providers' patients --------------------------------


def test_r70_an_unknown_number_and_another_providers_patient_get_the_same_answer(
    client: Client, county: County, lena: Persona, charlie: Persona, theirs: Patient
) -> None:
    read(charlie, theirs, owner_provider_id=county.region.pk)
    signed_in(client, lena)
    answers = []
    for number in (UNKNOWN, "19340810-9878"):
        for route in ("review:search", "review:fhir"):
            response = client.get(reverse(route), {**period(), "patient": number})
            page = response.content.decode()
            assert response.status_code == 400, (route, number)
            assert str(review.NO_SUCH_PATIENT) in page
            assert "Nordin" not in page
            # The same page but for the number typed and the session's masked CSRF token.
            page = CSRF.sub("", page.replace(number, ""))
            answers.append((route, response.status_code, page))
    assert answers[:2] == answers[2:]
    # No search of the log was made: only the refusals of the patient who is in Lyfta (R38).
    assert not AuditEvent.objects.filter(action=Action.AUDIT_SEARCHED).exists()
    refusals = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=lena.user.pk)
    assert [(e.patient_id, e.detail["reason"]) for e in refusals] == [
        (theirs.pk, "not_the_providers_patient")
    ] * 2


def test_r80_the_extract_form_answers_an_unknown_number_and_another_providers_patient_alike(
    client: Client, county: County, lena: Persona, charlie: Persona, theirs: Patient
) -> None:
    """Attack run 2, F1: the refusal stood above the form for another provider's patient and
    under the field for an unknown number, so the layout told that the number exists (the
    protected patient's too). Both now give the same page but for the number typed."""
    read(charlie, theirs, owner_provider_id=county.region.pk)
    signed_in(client, lena)
    pages = []
    for number in (UNKNOWN, "19340810-9878"):
        response = client.post(reverse("review:extract_new"), extract_post(number))
        page = response.content.decode()
        assert response.status_code == 400, number
        assert str(review.NO_SUCH_PATIENT) in page
        pages.append(CSRF.sub("", page.replace(number, "")))
    assert pages[0] == pages[1]
    assert not LogExtractRequest.objects.exists()


def test_r70_the_reviewers_own_events_never_name_another_providers_patient(
    client: Client, county: County, lena: Persona, theirs: Patient
) -> None:
    """The demo's log from before the fix: the reviewer's search of the region's patient and
    the refusal of the extract. Searched by his own name, the entries show no patient: not the
    name, not the number, not the internal id (page, entry, FHIR export). The reads of the log
    are still recorded (R70)."""
    searched = record(
        action=Action.AUDIT_SEARCHED,
        actor=lena.actor,
        patient_id=theirs.pk,
        detail={"patient": theirs.pk, "shown": 1},
    )
    record(
        action=Action.ACCESS_DENIED,
        actor=lena.actor,
        outcome=Outcome.DENIED,
        patient_id=theirs.pk,
        resource_type="patients.patient",
        resource_id=theirs.pk,
    )
    signed_in(client, lena)
    query = {**period(), "user": "lena"}
    page = client.get(reverse("review:search"), query).content.decode()
    assert "Sökning i loggen" in page
    assert "Nordin" not in page
    assert "9878" not in page
    entry = client.get(reverse("review:entry", args=[searched.pk])).content.decode()
    assert "Nordin" not in entry
    assert f"patient</span>: {theirs.pk}" not in entry
    bundle = json.loads(client.get(reverse("review:fhir"), query).content)
    text = json.dumps(bundle)
    assert bundle["entry"]
    assert f"patient|{theirs.pk}" not in text
    assert "Nordin" not in text
    viewed = AuditEvent.objects.filter(action=Action.AUDIT_ENTRY_VIEWED).get()
    assert (viewed.actor_id, viewed.resource_id) == (lena.user.pk, str(searched.pk))
    assert AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED, actor_id=lena.user.pk).exists()


def test_r70_the_providers_own_patient_is_still_named_in_its_log(
    client: Client,
    county: County,
    lena: Persona,
    charlie: Persona,
    olivia: Persona,
    theirs: Patient,
) -> None:
    """The region's reviewer searches the region's patient, after the municipality's reviewer
    was refused him: the region's log names the patient as before (R70, R77)."""
    signed_in(client, lena)
    client.get(reverse("review:search"), {**period(), "patient": "19340810-9878"})
    read(charlie, theirs, owner_provider_id=county.region.pk)
    signed_in(client, olivia)
    response = client.get(reverse("review:search"), {**period(), "patient": "19340810-9878"})
    assert response.status_code == 200
    assert "Nordin, Per (19340810-9878)" in response.content.decode()
