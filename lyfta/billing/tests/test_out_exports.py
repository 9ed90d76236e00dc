"""The invoice basis out per customer (issue 14 point 5): the PDF, the spreadsheet and the CSV
hold the run's lines grouped by cost centre with subtotals and the total, name no patient,
neutralise formula-like cells; only the economy role downloads, only from a locked run, every
download is recorded, and bad ids are a 404, never a 500."""

from __future__ import annotations

import csv
import io
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.billing.tests import factories_out as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(county: County, billie: Persona) -> f.World:
    return f.world(county, billie.user)


def _url(w: f.World, fmt: str, *, run: int | None = None, customer: int | None = None) -> str:
    return reverse(
        "billing:invoice_export",
        args=[run or w.october.run.pk, customer or w.municipal.pk, fmt],
    )


def _get(client: Client, persona: Persona, url: str) -> Any:
    signed_in(client, persona)
    return client.get(url)


def _csv(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_pdf_has_the_lines_grouped_by_cost_centre_with_subtotals_and_total(
    client: Client, billie: Persona, w: f.World, tmp_path: Any
) -> None:
    response = _get(client, billie, _url(w, "pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert "fakturaunderlag-2026-10-K-100.pdf" in response["Content-Disposition"]
    pdf = tmp_path / "basis.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(  # noqa: S603 - a fixed program on our own file
        ["/usr/bin/pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    for expected in (
        "Fakturaunderlag 2026-10",
        "Testregionen",  # the seller: the centre's region
        "Testköpings kommun",
        "Fakturagatan 1",
        "123 45 Testköping",
        "K-100",
        "Kostnadsställe KS-10 Hemsjukvård",
        "Kostnadsställe KS-20 Särskilt boende",
        "HMC-1001",
        "HMC-1002",
        "A-500 Rollator Trio",
        "2026-10-16 – 2026-10-31",
        "Betalare enligt regel 3",
        "Kredit",
        "-40,00 kr",
    ):
        assert expected in text, expected
    # Subtotals: KS-10 75 + 37.10 - 40 = 72.10; KS-20 120; total 192.10; VAT 48.03; 240.13.
    assert "Summa kostnadsställe KS-10" in text and "72,10 kr" in text
    assert "Summa kostnadsställe KS-20" in text
    assert "192,10 kr" in text
    assert "48,03 kr" in text
    assert "240,13 kr" in text
    assert text.index("KS-10") < text.index("KS-20")
    assert f.PATIENT_NUMBER not in text and "Apelqvist" not in text
    assert "33,33" not in text  # the other customer's line


def test_the_spreadsheet_has_the_lines_as_numbers_and_a_subtotal_per_cost_centre(
    client: Client, billie: Persona, w: f.World
) -> None:
    from openpyxl import load_workbook

    response = _get(client, billie, _url(w, "xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows.index(
        [
            "Kostnadsställe",
            "Individnummer",
            "Artikelnummer",
            "Benämning",
            "Enhet",
            "Slag",
            "Från",
            "Till och med",
            "Dagar",
            "Antal",
            "À-pris (kr)",
            "Belopp (kr)",
            "Förklaring",
        ]
    )
    body = rows[header + 1 :]
    lines = [r for r in body if r[1]]
    assert len(lines) == 4
    assert all(isinstance(r[11], int | float) for r in lines)
    assert sorted(Decimal(str(r[11])) for r in lines) == sorted(
        w.lines[k].amount for k in ("rent", "bed", "lift", "credit")
    )
    bed = next(r for r in lines if r[1] == "HMC-1002")
    assert bed[8] == 16 and bed[9] == 16.0 and bed[10] == 2.32  # days, quantity, price
    sums = {r[0]: r[11] for r in body if not r[1] and r[0]}
    assert sums["Summa KS-10 Hemsjukvård"] == pytest.approx(72.10)
    assert sums["Summa KS-20 Särskilt boende"] == pytest.approx(120.0)
    assert sums["Totalt exklusive moms"] == pytest.approx(192.10)
    # Grouped: every KS-10 line before the KS-10 subtotal, KS-20's after it.
    codes = [r[0] for r in body if r[0]]
    assert codes.index("Summa KS-10 Hemsjukvård") < codes.index("KS-20")
    # The unit named like a formula and the article starting with @ are text.
    lift = next(r for r in lines if r[1] == "HMC-1003")
    assert lift[4] == "'" + f.FORMULA_UNIT
    assert lift[3] == "'@Lyft Mobil"
    assert lift[12].startswith("'=1+1")
    flat = repr(rows)
    assert f.PATIENT_NUMBER not in flat and "Apelqvist" not in flat


def test_the_csv_is_semicolons_utf8_with_bom_numbers_as_numbers_and_formulas_neutralised(
    client: Client, billie: Persona, w: f.World
) -> None:
    response = _get(client, billie, _url(w, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(response.content)
    assert rows[0][:4] == ["Kundnummer", "Faktura", "Månad", "Kostnadsställe"]
    data = rows[1:]
    assert len(data) == 4
    assert {r[0] for r in data} == {"K-100"}
    assert {r[1] for r in data} == {"202610-K-100"}
    amounts = sorted(Decimal(r[14]) for r in data)  # decimal point, a credit's minus kept
    assert amounts == [Decimal("-40.00"), Decimal("37.10"), Decimal("75.00"), Decimal("120.00")]
    lift = next(r for r in data if r[4] == "HMC-1003")
    assert lift[7] == "'" + f.FORMULA_UNIT
    assert lift[6] == "'@Lyft Mobil"
    assert lift[15] == "'=1+1 betalare enligt regel 1: särskilt boende"
    assert lift[9:11] == ["2026-10-01", "2026-10-31"]
    assert (
        f.PATIENT_NUMBER not in response.content.decode()
        and "Apelqvist" not in response.content.decode()
    )


def test_the_peppol_invoice_downloads_as_xml(client: Client, billie: Persona, w: f.World) -> None:
    response = _get(client, billie, _url(w, "ubl"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert b'<cbc:PayableAmount currencyID="SEK">240.13</cbc:PayableAmount>' in response.content


def test_every_download_is_recorded(client: Client, billie: Persona, w: f.World) -> None:
    signed_in(client, billie)
    for fmt in ("pdf", "xlsx", "csv", "ubl"):
        assert client.get(_url(w, fmt)).status_code == 200
    events = AuditEvent.objects.filter(action=Action.INVOICE_BASIS_EXPORTED).order_by("pk")
    assert [e.detail["format"] for e in events] == ["pdf", "xlsx", "csv", "ubl"]
    event = events.last()
    assert event is not None
    assert event.actor_username == billie.user.username
    assert event.resource_type == "billing.billingrun"
    assert event.resource_id == str(w.october.run.pk)
    assert event.detail["customer"] == "K-100"
    assert event.detail["lines"] == 4
    assert event.detail["total"] == "192.10"
    assert event.patient_id is None


@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "csv", "ubl"])
def test_a_preview_run_is_not_invoiced(
    client: Client, billie: Persona, w: f.World, fmt: str
) -> None:
    response = _get(client, billie, _url(w, fmt, run=w.preview.run.pk))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=Action.INVOICE_BASIS_EXPORTED).exists()


@pytest.mark.parametrize("persona", ["alice", "charlie", "tekla", "lena", "logan", "ulla", "sigge"])
def test_other_roles_cannot_download_or_list(
    client: Client, w: f.World, persona: str, request: pytest.FixtureRequest
) -> None:
    who: Persona = request.getfixturevalue(persona)
    signed_in(client, who)
    assert client.get(_url(w, "csv")).status_code == 403
    assert client.get(reverse("billing:invoices")).status_code == 403
    assert not AuditEvent.objects.filter(action=Action.INVOICE_BASIS_EXPORTED).exists()


def test_signed_out_is_sent_to_sign_in(client: Client, w: f.World) -> None:
    response = client.get(_url(w, "pdf"))
    assert response.status_code == 302
    assert "/login" in response["Location"] or "logga" in response["Location"]


@pytest.mark.parametrize(
    ("run", "customer", "fmt"),
    [
        (999999, None, "pdf"),  # no such run
        (None, 999999, "pdf"),  # no such customer
        (None, None, "exe"),  # no such format
        (None, None, "PDF"),
        (2**63, None, "csv"),  # past any database's integer
        (None, 2**63, "ubl"),
    ],
)
def test_bad_ids_and_formats_are_not_found(
    client: Client,
    billie: Persona,
    w: f.World,
    run: int | None,
    customer: int | None,
    fmt: str,
) -> None:
    response = _get(client, billie, _url(w, fmt, run=run, customer=customer))
    assert response.status_code == 404


def test_a_customer_without_lines_in_the_run_is_not_found(
    client: Client, billie: Persona, w: f.World
) -> None:
    """The region's customer has lines in October but none in September."""
    response = _get(client, billie, _url(w, "pdf", run=w.september.run.pk, customer=w.regional.pk))
    assert response.status_code == 404


def test_the_downloads_page_lists_locked_runs_and_their_customers(
    client: Client, billie: Persona, w: f.World
) -> None:
    response = _get(client, billie, reverse("billing:invoices"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Fakturaunderlag" in page
    for run, customer in (
        (w.october, w.municipal),
        (w.october, w.regional),
        (w.september, w.municipal),
    ):
        for fmt in ("pdf", "xlsx", "csv", "ubl"):
            assert _url(w, fmt, run=run.run.pk, customer=customer.pk) in page
    assert f"/{w.preview.run.pk}/" not in page  # the preview is not listed
    assert "2026-11" not in page
    assert page.index("2026-10") < page.index("2026-09")  # newest month first
    assert "192,10" in page  # the municipality's October total
