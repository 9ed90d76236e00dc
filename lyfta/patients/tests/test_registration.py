"""Registration is no way around the audited lookup flow (R32, R33; issue 12, finding 3): whether
a number is known to Lyfta is answered only by that flow, and only after a documented need."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.patients.models import CareRelationship, Patient, ProtectedStaff

pytestmark = pytest.mark.django_db

KNOWN = "195503039819"  # a patient of no unit of alice's
PROTECTED = "196208129822"  # a protected patient of the region's unit
NEW = "194001019803"  # not in Lyfta
CSRF = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]*"')
NEED = {"reason_code": "new_contact", "reason_text": "Ny hemsjukvårdspatient"}


def form(identifier: str, **extra: str) -> dict[str, str]:
    return {"identifier": identifier, "first_name": "Nils", "last_name": "Nyman", **extra}


@pytest.fixture
def known(county: County) -> Patient:
    return Patient.objects.create(
        identifier=KNOWN, id_kind="personnummer", first_name="Sten", last_name="Främling"
    )


@pytest.fixture
def protected(county: County, charlie: Persona) -> Patient:
    patient = Patient.objects.create(
        identifier=PROTECTED,
        id_kind="personnummer",
        first_name="Siv",
        last_name="Skyddad",
        protection=Patient.Protection.PROTECTED_REGISTRATION,
    )
    CareRelationship.objects.create(
        unit=county.unit_b, patient=patient, origin="prescription", valid_from=timezone.localdate()
    )
    ProtectedStaff.objects.create(patient=patient, user=charlie.user, named_by=charlie.user)
    return patient


def outside_lookups() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.PATIENT_SEARCH_OUTSIDE).order_by("id"))


@pytest.mark.parametrize("identifier", [KNOWN, PROTECTED])
def test_r33_registering_a_known_number_leads_into_the_recorded_lookup_not_to_finns_redan(
    as_alice: Client, alice: Persona, known: Patient, protected: Patient, identifier: str
) -> None:
    patient = Patient.objects.get(identifier=identifier)
    response = as_alice.post(reverse("patients:register"), form(identifier), follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(reverse("patients:outside"), 302)]
    assert "finns redan" not in html
    assert patient.first_name not in html and patient.last_name not in html
    assert "Dokumentera ditt behov" in html and reverse("patients:emergency") in html
    [lookup] = outside_lookups()
    assert (lookup.actor_id, lookup.patient_id, lookup.outcome) == (
        alice.user.pk,
        patient.pk,
        "denied",
    )
    assert lookup.detail["exists"] is True
    assert Patient.objects.filter(identifier=identifier).count() == 1
    assert not AuditEvent.objects.filter(action=Action.PATIENT_CREATED).exists()


def test_r33_registering_a_known_or_a_new_number_answers_the_same_until_a_need_is_documented(
    client: Client, alice: Persona, known: Patient
) -> None:
    signed_in(client, alice)
    answers = []
    for identifier in (KNOWN, NEW):
        response = client.post(reverse("patients:register"), form(identifier))
        page = client.get(response["Location"])
        shown = f"{identifier[:8]}-{identifier[8:]}"
        html = CSRF.sub("", page.content.decode().replace(shown, "N"))
        answers.append((response.status_code, response["Location"], html))
    assert answers[0] == answers[1]
    assert [e.detail["exists"] for e in outside_lookups()] == [True, False]
    assert not Patient.objects.filter(identifier=NEW).exists(), "nothing registered unseen"


def test_r33_a_new_number_is_registered_once_the_lookup_has_shown_it_new(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": "19400101-9803"})
    after_need = client.post(reverse("patients:outside"), NEED)
    assert after_need["Location"].startswith(reverse("patients:register"))
    page = client.get(after_need["Location"]).content.decode()
    assert "Patienten finns inte i Lyfta" in page and NEW in page
    response = client.post(reverse("patients:register"), form(NEW))
    patient = Patient.objects.get(identifier=NEW)
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert CareRelationship.objects.filter(patient=patient, unit=alice.assignment.unit).exists()
    assert AuditEvent.objects.filter(action=Action.PATIENT_CREATED, patient_id=patient.pk).exists()


def test_r33_a_known_number_registered_directly_opens_only_after_a_documented_need(
    client: Client, alice: Persona, known: Patient
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:register"), form(KNOWN))
    response = client.post(reverse("patients:outside"), NEED)
    assert response["Location"] == reverse("patients:detail", args=[known.pk])
    assert AuditEvent.objects.filter(action=Action.NEED_DOCUMENTED, patient_id=known.pk).exists()


def test_r33_a_number_taken_since_the_lookup_goes_through_the_lookup_again(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": NEW})
    client.post(reverse("patients:outside"), NEED)
    other = Patient.objects.create(
        identifier=NEW, id_kind="personnummer", first_name="Olle", last_name="Annan"
    )
    response = client.post(reverse("patients:register"), form(NEW))
    assert response["Location"] == reverse("patients:outside")
    assert outside_lookups()[-1].patient_id == other.pk
    assert Patient.objects.filter(identifier=NEW).count() == 1


def test_r33_a_clearance_is_for_its_own_number_only(client: Client, alice: Persona) -> None:
    signed_in(client, alice)
    client.post(reverse("patients:search"), {"identifier": NEW})
    client.post(reverse("patients:outside"), NEED)
    response = client.post(reverse("patients:register"), form(KNOWN))
    assert response["Location"] == reverse("patients:outside")
    assert not Patient.objects.filter(identifier=KNOWN).exists()


def test_r33_registering_the_units_own_patient_opens_the_patient(
    as_alice: Client, county: County, known: Patient
) -> None:
    CareRelationship.objects.create(
        unit=county.unit_a,
        patient=known,
        origin="order",
        valid_from=timezone.localdate() - dt.timedelta(days=1),
    )
    response = as_alice.post(reverse("patients:register"), form(KNOWN))
    # The unit's own patient opens at the holdings, where the day's work starts (issue 16).
    assert response["Location"] == reverse("orders:holdings", args=[known.pk])
    assert not outside_lookups()
    assert AuditEvent.objects.filter(action=Action.PATIENT_LISTED, patient_id=known.pk).exists()
