"""The patient log extract (R80, R81): complete, and safe to open in a spreadsheet."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis, LogExtractRequest
from lyfta.audit.services import record
from lyfta.logreview import review
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
        owner_provider_id=county.municipality.pk,  # the region read the municipality's data
    )
    signed_in(client, lena)
    table = csv_table(client, extract_for(lena, patient))
    cells = [cell for line in table for cell in line]
    assert "'" + FORMULA in cells
    assert "'+46 Regionen" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]


# --- Completeness (R80): every event that names the patient, in plain Swedish ---------------------

LYFTA = Path(__file__).resolve().parents[2]


def _patient_actions() -> dict[str, str]:
    """Each `Action.X` the code records with a patient id and not as a refusal, with where."""
    found: dict[str, str] = {}
    for path in sorted(LYFTA.rglob("*.py")):
        if {"tests", "migrations"} & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                fields = {k.arg: k.value for k in node.keywords if k.arg}
            elif isinstance(node, ast.Dict):
                fields = {
                    k.value: v
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                }
            else:
                continue
            if "action" not in fields or not ({"patient_id", "patient"} & set(fields)):
                continue
            if "DENIED" in ast.unparse(fields.get("outcome", ast.Constant(""))):
                continue
            for name in ast.walk(fields["action"]):
                if (
                    isinstance(name, ast.Attribute)
                    and isinstance(name.value, ast.Name)
                    and name.value.id == "Action"
                ):
                    found.setdefault(name.attr, f"{path.relative_to(LYFTA)}:{node.lineno}")
    return found


def test_r80_every_action_recorded_about_a_patient_has_plain_swedish_words() -> None:
    """A new kind of registration about a patient must say in the extract what it was."""
    found = _patient_actions()
    assert {"ORDER_PLACED", "ORDER_DELIVERED", "PICKUP_REGISTERED", "LOSS_REPORTED"} <= set(found)
    missing = {
        name: where
        for name, where in found.items()
        if getattr(Action, name) not in review.PLAIN_KIND
    }
    assert missing == {}, "add the plain Swedish words to lyfta.logreview.review.PLAIN_KIND"


def test_r80_the_extract_lists_registrations_about_the_patient_not_only_reads(
    county: County, alice: Persona, lena: Persona, patient: Patient
) -> None:
    for action in (Action.PATIENT_READ, Action.CONSENT_ENDED, Action.PROTECTION_CHANGED):
        record(action=action, actor=alice.actor, patient_id=patient.pk)
    record(
        action=Action.PATIENT_ACCESS_DENIED,
        actor=alice.actor,
        patient_id=patient.pk,
        outcome="denied",
    )
    rows = review.extract_rows(extract_for(lena, patient))
    kinds = [str(r.kind) for r in rows]
    assert kinds == [
        "Läste dina uppgifter",
        "Avslutade ditt samtycke",
        "Ändrade skyddet av dina personuppgifter",
        "Registrerade en begäran om loggutdrag om dig",
    ]
    assert {(r.unit, r.provider) for r in rows} == {
        (county.unit_a.name, county.municipality.name),
        (county.unit_a2.name, county.municipality.name),
    }


def test_r38_a_reviewer_cannot_register_an_extract_for_another_providers_patient(
    county: County, lena: Persona, charlie: Persona
) -> None:
    """Found by the second attack pass: any provider's log reviewer registered an extract for
    any patient, and so learned that the number exists, the name and every unit that cared for
    the patient. Another provider's patient now gets the same answer as an unknown number, and
    the attempt is recorded."""
    from django.core.exceptions import ValidationError

    from lyfta.audit.models import AuditEvent, Outcome

    theirs = Patient.objects.create(
        identifier="195503039819", id_kind="personnummer", first_name="Rut", last_name="Region"
    )
    CareRelationship.objects.create(
        unit=county.unit_b, patient=theirs, origin="order", valid_from=timezone.localdate()
    )
    with pytest.raises(ValidationError) as refused:
        extract_for(lena, theirs)
    assert refused.value.messages == [str(review.NO_SUCH_PATIENT)]
    assert not LogExtractRequest.objects.filter(patient=theirs).exists()
    denial = AuditEvent.objects.filter(outcome=Outcome.DENIED).latest("id")
    assert (denial.actor_id, denial.patient_id) == (lena.user.pk, theirs.pk)
    # Once the reviewer's provider has cared for the patient, the request is taken.
    CareRelationship.objects.create(
        unit=county.unit_a, patient=theirs, origin="order", valid_from=timezone.localdate()
    )
    assert extract_for(lena, theirs).patient == theirs


def test_r54_a_protected_patients_extract_never_names_her_to_the_reviewer(
    client: Client, county: County, lena: Persona, patient: Patient
) -> None:
    """A reviewer who types a protected patient's number to register her extract does not learn
    her name from the extract's page, the overview's list or the printout (attack run 3,
    finding 1): she is "Skyddad identitet (nr …)" there, and the printout leaves the name to be
    filled in by hand, as the loan agreement does."""
    Patient.objects.filter(pk=patient.pk).update(
        protection=Patient.Protection.PROTECTED_REGISTRATION
    )
    patient.refresh_from_db()
    signed_in(client, lena)
    extract = extract_for(lena, patient)
    label = f"Skyddad identitet (nr {patient.pk})"
    for url in (reverse("review:extract", args=[extract.pk]), reverse("review:overview")):
        page = client.get(url).content.decode()
        assert label in page, url
        assert "Apel" not in page and "Aina" not in page, url
    printout = review_pdf_text(client, extract)
    assert "fylls i för hand" in printout
    assert "Apel" not in printout and "Aina" not in printout
    # An unprotected patient is named as before.
    Patient.objects.filter(pk=patient.pk).update(protection="")
    assert "Aina Apel" in review_pdf_text(client, extract)


def review_pdf_text(client: Client, extract: LogExtractRequest) -> str:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext is not installed")
    response = client.get(reverse("review:extract_file", args=[extract.pk, "pdf"]))
    assert response.status_code == 200
    done = subprocess.run(  # noqa: S603 - a fixed local tool on our own test output
        [pdftotext, "-q", "-", "-"], input=response.content, capture_output=True, check=True
    )
    return done.stdout.decode()
