"""Corrections keep the original (R86): a corrected patient detail is changed in place, and the
earlier value, the new one, who changed it, when and why are kept beside it and in the log."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.access.patients import PatientGrant, grant_for
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.patients import services
from lyfta.patients.models import CareRelationship, Patient, PatientCorrection

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(county: County) -> Patient:
    p = Patient.objects.create(
        identifier="194001019803",
        id_kind="personnummer",
        first_name="Aina",
        last_name="Apel",
        street="Storgatan 1",
        postal_code="652 25",
        city="Karlstad",
    )
    CareRelationship.objects.create(
        unit=county.unit_a, patient=p, origin="order", valid_from="2020-01-01"
    )
    return p


def grant(persona: Persona, patient: Patient) -> PatientGrant:
    found = grant_for(persona.actor, patient, "test-session")
    assert isinstance(found, PatientGrant), found
    return found


def test_r86_a_correction_keeps_the_original_value_who_and_when(
    client: Client, alice: Persona, bob: Persona, patient: Patient
) -> None:
    signed_in(client, alice)
    response = client.post(
        reverse("patients:correct", args=[patient.pk]),
        {
            "first_name": "Aino",
            "last_name": "Apel",
            "street": "Storgatan 1",
            "postal_code": "652 25",
            "city": "Karlstad",
            "reason": "Stavfel",
        },
    )
    assert response.status_code == 302
    services.patient_correct(
        actor=bob.actor, grant=grant(bob, patient), reason="Enligt Navet", first_name="Aina-Lisa"
    )

    patient.refresh_from_db()
    assert patient.first_name == "Aina-Lisa"
    history = list(PatientCorrection.objects.filter(patient=patient).order_by("changed_at", "id"))
    assert [(c.field, c.old_value, c.new_value, c.changed_by, c.reason) for c in history] == [
        ("first_name", "Aina", "Aino", alice.user, "Stavfel"),
        ("first_name", "Aino", "Aina-Lisa", bob.user, "Enligt Navet"),
    ], "every earlier value is kept, with who changed it and why"
    assert all(c.changed_at is not None for c in history)
    assert history[0].changed_at <= history[1].changed_at
    # The audit trail says the same, attributed and timed, without the free-text reason (R60).
    logged = list(
        AuditEvent.objects.filter(action=Action.PATIENT_CORRECTED, patient_id=patient.pk).order_by(
            "id"
        )
    )
    assert [(e.actor_id, e.changes) for e in logged] == [
        (alice.user.pk, {"first_name": ["Aina", "Aino"]}),
        (bob.user.pk, {"first_name": ["Aino", "Aina-Lisa"]}),
    ]
    assert all(e.occurred_at is not None for e in logged)
