"""The quality desk's deviation pages: bad input of any kind gets a Swedish message and no
half-write, never a 500; the label and the reports out render as PDFs with the right text (read
with pdftotext); the JSON export; the quality officer's start page; complaints."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.quality.models import Complaint, Deviation, IncidentReport
from lyfta.quality.tests.conftest import tipped
from lyfta.workorders.tests.conftest import Desk

pytestmark = pytest.mark.django_db
PDFTOTEXT = shutil.which("pdftotext")


def _pdf_text(body: bytes) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    done = subprocess.run(  # noqa: S603 - a fixed local tool on our own test output
        [PDFTOTEXT, "-q", "-", "-"], input=body, capture_output=True, check=True
    )
    return done.stdout.decode()


def _holdings_form(desk: Desk) -> str:
    return reverse("quality:report_loan", args=[desk.shop.patient.pk, desk.loan.pk])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"description": ""}, "Fyll i fältet."),
        ({"description": "\u200b\u200b"}, ""),
        ({"kind": "explosion"}, "Välj en typ av avvikelse."),
        ({"severity": "x"}, "Välj en allvarlighetsgrad."),
        ({"occurred_on": (timezone.localdate() + dt.timedelta(days=1)).isoformat()}, "framtiden"),
        ({"occurred_on": "2999-01-01"}, "Ange ett datum mellan"),
        ({"occurred_on": "12/08/2026"}, "ÅÅÅÅ-MM-DD"),
        ({"occurred_on": "٢٠٢٦-٠١-٠١"}, ""),
        ({"description": "x" * 4001}, ""),
        ({"quarantine": "on", "line": "1"}, ""),
    ],
)
def test_bad_input_gets_a_swedish_message_and_writes_nothing(
    client: Client, desk: Desk, alice: Persona, data: dict[str, str], message: str
) -> None:
    signed_in(client, alice)
    form = {
        "kind": "near_miss",
        "severity": "none",
        "description": "Bromsen tar dåligt.",
        "occurred_on": timezone.localdate().isoformat(),
        **data,
    }
    response = client.post(_holdings_form(desk), form)
    if "line" in data:  # a holdings row has no lines to choose among: ignored, the form is fine
        assert response.status_code == 302
        return
    assert response.status_code == 400
    text = response.content.decode()
    assert "errorlist" in text
    assert message in text
    assert not Deviation.unscoped.exists()


def test_the_form_page_names_the_patient_and_is_recorded(
    client: Client, desk: Desk, alice: Persona
) -> None:
    signed_in(client, alice)
    page = client.get(_holdings_form(desk))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Rapportera avvikelse" in text
    assert desk.shop.patient.last_name in text
    assert "Ta ur bruk direkt" in text
    assert AuditEvent.objects.filter(
        action=Action.PATIENT_READ, resource_type="quality.deviation_form"
    ).exists()


def test_garbage_filters_and_steps_never_give_a_500(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    signed_in(client, sara)
    assert (
        client.get(reverse("quality:deviations"), {"status": "x", "sida": "-1"}).status_code == 400
    )
    assert client.get(reverse("quality:deviations"), {"typ": "near_miss"}).status_code == 200
    assert client.get(reverse("quality:complaints"), {"status": "\x00"}).status_code == 400
    decide = client.post(reverse("quality:deviation_decide", args=[deviation.pk]), {})
    assert decide.status_code == 302
    page = client.get(reverse("quality:deviation", args=[deviation.pk])).content.decode()
    assert "Fyll i fältet." in page or "kan inte få status" in page
    sent = client.post(
        reverse("quality:report_sent", args=[deviation.pk, "mpa"]), {"sent_on": "igår"}
    )
    assert sent.status_code == 302
    assert IncidentReport.unscoped.get(deviation=deviation, recipient="mpa").sent_on is None
    complaint = client.post(
        reverse("quality:complaint_new"),
        {"article_number": "999999", "description": "Trasig."},
    )
    assert complaint.status_code == 400
    assert "Det finns ingen artikel med det numret." in complaint.content.decode()


def test_label_pdf_carries_the_individual_number(
    client: Client, desk: Desk, alice: Persona
) -> None:
    deviation = tipped(desk, alice)
    signed_in(client, alice)
    page = client.get(reverse("quality:deviation", args=[deviation.pk])).content.decode()
    assert reverse("quality:deviation_label", args=[deviation.pk]) in page
    response = client.get(reverse("quality:deviation_label", args=[deviation.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "SPÄRRAD" in text
    assert desk.lift.individual_number in text
    assert deviation.number in text
    assert desk.shop.patient.last_name not in text
    assert AuditEvent.objects.filter(action=Action.DEVIATION_LABEL_PRINTED).exists()


def test_report_pdfs_fill_in_the_forms_without_naming_the_patient(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    signed_in(client, sara)
    patient = desk.shop.patient
    for recipient, title in (("manufacturer", "tillverkaren"), ("mpa", "Läkemedelsverket")):
        response = client.get(reverse("quality:report_pdf", args=[deviation.pk, recipient]))
        assert response.status_code == 200
        text = _pdf_text(response.content)
        assert title in text
        for expected in (
            "Lyftab AB",
            desk.lift.article.article_number,
            desk.lift.individual_number,
            "12 36 12",
            "Lyften tippade vid förflyttning.",
            "Allvarlig skada",
            " år",
            deviation.number,
        ):
            assert expected in text, (recipient, expected)
        assert patient.last_name not in text
        assert patient.first_name not in text
        assert patient.identifier[:8] not in text
    produced = IncidentReport.unscoped.filter(deviation=deviation, produced_at__isnull=False)
    assert produced.count() == 2


def test_json_export_holds_the_form_fields(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    signed_in(client, sara)
    response = client.get(reverse("quality:report_json", args=[deviation.pk, "manufacturer"]))
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["form"] == "manufacturer"
    assert data["device"]["individual_number"] == desk.lift.individual_number
    assert data["device"]["manufacturer"] == "Lyftab AB"
    assert data["event"]["occurred_on"] == deviation.occurred_on.isoformat()
    assert set(data["patient"]) == {"age_band", "sex"}
    assert data["actions"]["device_out_of_use"] is True
    assert "Läkemedelsverket" in data["actions"]["also_reported_to"]


def test_start_page_shows_new_deviations_and_reports_due(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    IncidentReport.unscoped.filter(deviation=deviation, recipient="mpa").update(
        due_on=timezone.localdate() - dt.timedelta(days=1)
    )
    signed_in(client, sara)
    text = client.get(reverse("start")).content.decode()
    assert "Anmälningar att skicka" in text
    assert "Nya avvikelser" in text
    assert f"{deviation.number} – Läkemedelsverket" in text
    # The manufacturer's report is due in ten days: not yet on the start page.
    assert f"{deviation.number} – Tillverkaren" not in text
    signed_in(client, alice)
    assert "Anmälningar att skicka" not in client.get(reverse("start")).content.decode()


def test_the_officer_files_and_closes_a_complaint_through_the_pages(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    signed_in(client, sara)
    url = reverse("quality:complaint_from_deviation", args=[deviation.pk])
    form = client.get(url).content.decode()
    assert desk.loan.started_on.isoformat() in form
    created = client.post(
        url, {"description": "Spärren lossnade.", "delivered_on": desk.loan.started_on}
    )
    assert created.status_code == 302
    complaint = Complaint.unscoped.get()
    detail = reverse("quality:complaint", args=[complaint.pk])
    assert "inom reklamationstiden" in client.get(detail).content.decode()
    today = timezone.localdate().isoformat()
    negative = client.post(
        detail,
        {
            "sent_on": today,
            "answer": "Krediteras.",
            "answered_on": today,
            "outcome": "credited",
            "credit_amount": "-5",
        },
    )
    assert negative.status_code == 400
    assert "från 0 kronor" in negative.content.decode()
    done = client.post(
        detail,
        {
            "sent_on": today,
            "supplier_reference": "LY-991",
            "answer": "Krediteras.",
            "answered_on": today,
            "outcome": "credited",
            "credit_amount": "2500",
        },
    )
    assert done.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.CLOSED
    assert str(complaint.credit_amount) == "2500.00"
    closed = client.get(detail).content.decode()
    assert "Krediterad" in closed
    assert client.post(detail, {"outcome": "rejected"}).status_code == 400
