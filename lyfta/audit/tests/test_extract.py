"""The patient log extract (R80, R81): complete, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.audit import review
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis, LogExtractRequest
from lyfta.audit.services import record
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture
def patient(county: County) -> Patient:
    p = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    CareRelationship.objects.create(
        unit=county.unit_a, patient=p, origin="order", valid_from=timezone.localdate()
    )
    return p


def extract_for(lena: Persona, patient: Patient, **kwargs: object) -> LogExtractRequest:
    today = timezone.localdate()
    fields: dict[str, object] = {
        "kind": LogExtractRequest.Kind.PATIENT_REQUEST,
        "requested_at": today,
        "requester": "Patienten själv",
        "period_from": today - dt.timedelta(days=7),
        "period_until": today,
        **kwargs,
    }
    return review.extract_register(actor=lena.actor, patient=patient, **fields)  # type: ignore[arg-type]


def csv_table(client: Client, extract: LogExtractRequest) -> list[list[str]]:
    response = client.get(reverse("review:extract_file", args=[extract.pk, "csv"]))
    assert response.status_code == 200
    body = response.content.decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(body), delimiter=";"))


# --- CSV injection (issue 12, build 8) -----------------------------------------------------------


def test_r80_a_unit_named_like_a_formula_comes_out_neutralised_in_the_csv(
    client: Client,
    county: County,
    alice: Persona,
    charlie: Persona,
    lena: Persona,
    patient: Patient,
) -> None:
    county.unit_a.name = FORMULA
    county.unit_a.save(update_fields=["name"])
    county.region.name = "+46 Regionen"
    county.region.save(update_fields=["name"])
    record(
        action=Action.PATIENT_READ,
        actor=alice.actor,
        patient_id=patient.pk,
        legal_basis=LegalBasis.RELATIONSHIP,
    )
    record(
        action=Action.PATIENT_CROSS_PROVIDER_READ,
        actor=charlie.actor,
        patient_id=patient.pk,
        legal_basis=LegalBasis.CONSENT,
    )
    signed_in(client, lena)
    table = csv_table(client, extract_for(lena, patient))
    cells = [cell for line in table for cell in line]
    assert "'" + FORMULA in cells
    assert "'+46 Regionen" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
