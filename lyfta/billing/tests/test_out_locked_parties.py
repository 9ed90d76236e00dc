"""A locked run's invoice basis never changes (issue 14 points 4 and 5): the parties it invoices
(the seller and each customer's number, name, organisation number, Peppol id, reference and
address) are kept with the run when it is locked, in the same UPDATE; editing the customer or
the seller afterwards changes no download of that run, only of runs locked later. The lock
triggers refuse any change of the kept parties (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import subprocess
import xml.etree.ElementTree as ET  # noqa: S405 - our own output
from pathlib import Path

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.billing.models import BillingRun, Customer
from lyfta.billing.services import ubl
from lyfta.billing.services.run import approve_run
from lyfta.billing.tests import factories_out as f
from lyfta.organisations.models import CareProvider

pytestmark = pytest.mark.django_db

C = {"cac": ubl.NS_CAC, "cbc": ubl.NS_CBC}
FORMATS = ("ubl", "csv", "xlsx", "pdf")


@pytest.fixture
def w(county: County, billie: Persona) -> f.World:
    return f.world(county, billie.user)


def _download(client: Client, run: BillingRun, customer: Customer, fmt: str) -> bytes:
    response = client.get(reverse("billing:invoice_export", args=[run.pk, customer.pk, fmt]))
    assert response.status_code == 200, fmt
    content: bytes = response.content
    return content


def _comparable(fmt: str, content: bytes, tmp_path: Path) -> object:
    """What a download says: the bytes for UBL and CSV (both fully determined by the run), the
    cells of the spreadsheet and the text of the PDF but its printed-at line (the file formats
    carry when they were made)."""
    if fmt == "xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content)).active
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    if fmt == "pdf":
        path = tmp_path / "basis.pdf"
        path.write_bytes(content)
        text = subprocess.run(  # noqa: S603 - a fixed program on our own file
            ["/usr/bin/pdftotext", "-layout", str(path), "-"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        return [line for line in text.splitlines() if "Utskriven" not in line]
    return content


def _all(client: Client, run: BillingRun, customer: Customer, tmp_path: Path) -> dict[str, object]:
    return {
        fmt: _comparable(fmt, _download(client, run, customer, fmt), tmp_path) for fmt in FORMATS
    }


def _edit_everything(county: County, customer: Customer) -> None:
    """Every invoice detail of the customer and the seller's name changed, as the customer
    page (`/ekonomi/kunder/<id>/andra/`) and the organisation register would."""
    Customer.objects.filter(pk=customer.pk).update(
        customer_number="K-999",
        buyer_reference="NY-REF-1",
        peppol_id="0088:7300010000001",
        invoice_street="Nya vägen 9",
        invoice_postal_code="999 99",
        invoice_city="Nystad",
        email="ny@example.invalid",
    )
    CareProvider.objects.filter(pk=customer.provider_id).update(
        name="Nya kommunen", organisation_number="212000-9999"
    )
    CareProvider.objects.filter(pk=county.region.pk).update(name="Nya regionen")


def _ubl(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own output


def _parties(root: ET.Element) -> dict[str, str | None]:
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    return {
        "reference": root.findtext("cbc:BuyerReference", namespaces=C),
        "invoice": root.findtext("cbc:ID", namespaces=C),
        "seller": root.findtext(
            "cac:AccountingSupplierParty/cac:Party/cac:PartyName/cbc:Name", namespaces=C
        ),
        "buyer": root.findtext(buyer + "cac:PartyName/cbc:Name", namespaces=C),
        "endpoint": root.findtext(buyer + "cbc:EndpointID", namespaces=C),
        "street": root.findtext(buyer + "cac:PostalAddress/cbc:StreetName", namespaces=C),
        "city": root.findtext(buyer + "cac:PostalAddress/cbc:CityName", namespaces=C),
        "postal": root.findtext(buyer + "cac:PostalAddress/cbc:PostalZone", namespaces=C),
        "org": root.findtext(buyer + "cac:PartyLegalEntity/cbc:CompanyID", namespaces=C),
    }


OLD = {
    "reference": "REF-4711",
    "seller": "Testregionen",
    "buyer": "Testköpings kommun",
    "endpoint": "2120000142",
    "street": "Fakturagatan 1",
    "city": "Testköping",
    "postal": "12345",
}
NEW = {
    "reference": "NY-REF-1",
    "seller": "Nya regionen",
    "buyer": "Nya kommunen",
    "endpoint": "7300010000001",
    "street": "Nya vägen 9",
    "city": "Nystad",
    "postal": "99999",
    "org": "2120009999",
}


def test_editing_the_customer_and_seller_after_locking_changes_no_download_of_the_locked_run(
    client: Client, county: County, billie: Persona, w: f.World, tmp_path: Path
) -> None:
    run = approve_run(actor=billie.actor, run=w.preview.run)  # the real lock
    signed_in(client, billie)
    before = _all(client, run, w.municipal, tmp_path)
    assert {k: _parties(_ubl(before["ubl"]))[k] for k in OLD} == OLD  # type: ignore[arg-type]
    _edit_everything(county, w.municipal)
    after = _all(client, run, w.municipal, tmp_path)
    for fmt in FORMATS:
        assert after[fmt] == before[fmt], fmt
    # Earlier runs too (locked with their parties), and the other customer's basis.
    october = _download(client, w.october.run, w.municipal, "ubl")
    assert _parties(_ubl(october))["reference"] == "REF-4711"
    assert _parties(_ubl(october))["invoice"] == "202610-K-100"
    assert "Nya" not in _download(client, w.october.run, w.municipal, "csv").decode()


def test_a_run_locked_after_the_change_carries_the_new_details(
    client: Client, county: County, billie: Persona, w: f.World
) -> None:
    _edit_everything(county, w.municipal)
    run = approve_run(actor=billie.actor, run=w.preview.run)
    signed_in(client, billie)
    found = _parties(_ubl(_download(client, run, w.municipal, "ubl")))
    assert {k: found[k] for k in NEW} == NEW
    assert found["invoice"] == "202611-K-999"
    csv = _download(client, run, w.municipal, "csv").decode("utf-8")
    assert "K-999;202611-K-999" in csv
    assert run.invoice_parties["customers"][str(w.municipal.pk)]["email"] == "ny@example.invalid"


def test_a_run_locked_before_parties_were_kept_shows_today_s_details(
    client: Client, county: County, billie: Persona, w: f.World
) -> None:
    import datetime as dt

    old = f.run(
        billie.user,
        [f.Spec(w.municipal, w.home_care, "10.00")],
        month=dt.date(2026, 8, 1),
        parties=False,
    )
    assert old.run.invoice_parties == {}
    _edit_everything(county, w.municipal)
    signed_in(client, billie)
    found = _parties(_ubl(_download(client, old.run, w.municipal, "ubl")))
    assert {k: found[k] for k in NEW} == NEW


def test_approving_keeps_the_parties_of_exactly_the_billed_customers(
    billie: Persona, w: f.World, county: County
) -> None:
    run = approve_run(actor=billie.actor, run=w.preview.run)
    kept = run.invoice_parties
    assert set(kept["customers"]) == {str(w.municipal.pk)}  # November bills only the municipality
    assert kept["customers"][str(w.municipal.pk)] == {
        "pk": w.municipal.pk,
        "customer_number": "K-100",
        "name": "Testköpings kommun",
        "organisation_number": county.municipality.organisation_number,
        "peppol_id": "0007:2120000142",
        "buyer_reference": "REF-4711",
        "invoice_street": "Fakturagatan 1",
        "invoice_postal_code": "123 45",
        "invoice_city": "Testköping",
        "email": "",
    }
    assert kept["seller"] == {
        "pk": county.region.pk,
        "name": "Testregionen",
        "organisation_number": county.region.organisation_number,
    }


def _refused(action: object) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        action()  # type: ignore[operator]


def test_the_lock_triggers_refuse_any_change_of_a_locked_run_s_parties(
    billie: Persona, w: f.World
) -> None:
    run = approve_run(actor=billie.actor, run=w.preview.run)
    kept = run.invoice_parties
    runs = BillingRun.objects.filter(pk=run.pk)
    forged = {**kept, "seller": {**kept["seller"], "name": "Någon annan"}}
    _refused(lambda: runs.update(invoice_parties=forged))
    _refused(lambda: runs.update(invoice_parties={}))
    _refused(lambda: runs.update(status=BillingRun.Status.PREVIEW, invoice_parties={}))
    run.invoice_parties = forged
    _refused(lambda: run.save(update_fields=["invoice_parties"]))
    run.refresh_from_db()
    assert run.invoice_parties == kept
