"""The Peppol invoice out (issue 14 point 5, "Done when": the UBL validation test passes and
fails on a deliberately broken invoice). Validated against the OASIS UBL 2.1 schema, the CEN
EN 16931 UBL schematron and the Peppol BIS 3.0 rules that bear on it (ubl_validation.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - our own output
from decimal import Decimal

import pytest

from conftest import County, Persona
from lyfta.billing.selectors import invoices as selectors
from lyfta.billing.services import ubl
from lyfta.billing.tests import factories_out as f
from lyfta.billing.tests import ubl_validation as v

pytestmark = pytest.mark.django_db

C = {"cac": ubl.NS_CAC, "cbc": ubl.NS_CBC}


@pytest.fixture
def w(county: County, billie: Persona) -> f.World:
    return f.world(county, billie.user)


def _basis(w: f.World, billie: Persona, customer: object = None) -> selectors.Basis:
    chosen = customer or w.municipal
    return selectors.basis(billie.actor, w.october.run.pk, chosen.pk)  # type: ignore[attr-defined]


def _rules(findings: list[str]) -> set[str]:
    return {finding.split(":", 1)[0] for finding in findings}


def test_the_invoice_of_each_customer_passes_the_schema_and_every_rule(
    w: f.World, billie: Persona
) -> None:
    for customer in (w.municipal, w.regional):
        xml = ubl.invoice_xml(_basis(w, billie, customer))
        assert v.xsd(xml) == []
        assert v.schematron(xml) == []
        assert v.peppol(xml) == []


def test_the_invoice_s_totals_equal_the_run_s_lines(w: f.World, billie: Persona) -> None:
    root = ubl.invoice(_basis(w, billie))
    lines = [w.lines[k] for k in ("rent", "bed", "lift", "credit")]
    net = sum((line.amount for line in lines), Decimal(0))
    assert net == Decimal("192.10")
    totals = root.find("cac:LegalMonetaryTotal", C)
    assert totals is not None
    assert totals.findtext("cbc:LineExtensionAmount", namespaces=C) == "192.10"
    assert totals.findtext("cbc:TaxExclusiveAmount", namespaces=C) == "192.10"
    assert root.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=C) == "48.03"  # 25 %, rounded
    assert totals.findtext("cbc:PayableAmount", namespaces=C) == "240.13"
    invoice_lines = root.findall("cac:InvoiceLine", C)
    assert sorted(
        Decimal(x.findtext("cbc:LineExtensionAmount", namespaces=C) or "") for x in invoice_lines
    ) == sorted(line.amount for line in lines)


def test_a_credit_is_a_negative_quantity_at_a_positive_price(w: f.World, billie: Persona) -> None:
    root = ubl.invoice(_basis(w, billie))
    credit = next(
        x
        for x in root.findall("cac:InvoiceLine", C)
        if x.findtext("cbc:LineExtensionAmount", namespaces=C) == "-40.00"
    )
    assert credit.findtext("cbc:InvoicedQuantity", namespaces=C) == "-1"
    assert credit.findtext("cac:Price/cbc:PriceAmount", namespaces=C) == "40.00"
    assert credit.findtext("cac:InvoicePeriod/cbc:StartDate", namespaces=C) == "2026-09-01"


def test_a_line_whose_quantity_and_price_do_not_multiply_out_is_one_piece_at_its_amount(
    w: f.World, billie: Persona
) -> None:
    """16 days at 2.32 is 37.12; the run billed 37.10 (a month's rent split to the day)."""
    root = ubl.invoice(_basis(w, billie))
    bed = next(
        x
        for x in root.findall("cac:InvoiceLine", C)
        if x.findtext("cbc:LineExtensionAmount", namespaces=C) == "37.10"
    )
    assert bed.findtext("cbc:InvoicedQuantity", namespaces=C) == "1"
    assert bed.findtext("cac:Price/cbc:PriceAmount", namespaces=C) == "37.10"


def test_the_parties_are_the_centre_s_region_and_the_customer_with_their_addresses(
    w: f.World, billie: Persona, county: County
) -> None:
    root = ubl.invoice(_basis(w, billie))
    seller = root.find("cac:AccountingSupplierParty/cac:Party", C)
    buyer = root.find("cac:AccountingCustomerParty/cac:Party", C)
    assert seller is not None and buyer is not None
    region_digits = county.region.organisation_number.replace("-", "")
    endpoint = seller.find("cbc:EndpointID", C)
    assert endpoint is not None and endpoint.get("schemeID") == "0007"
    assert endpoint.text == region_digits
    assert (
        seller.findtext("cac:PartyTaxScheme/cbc:CompanyID", namespaces=C) == f"SE{region_digits}01"
    )
    assert (
        seller.findtext("cac:PartyLegalEntity/cbc:RegistrationName", namespaces=C) == "Testregionen"
    )
    # The customer's Peppol id is its electronic address.
    buyer_endpoint = buyer.find("cbc:EndpointID", C)
    assert buyer_endpoint is not None
    assert (buyer_endpoint.get("schemeID"), buyer_endpoint.text) == ("0007", "2120000142")
    assert buyer.findtext("cac:PostalAddress/cbc:PostalZone", namespaces=C) == "12345"
    assert root.findtext("cbc:BuyerReference", namespaces=C) == "REF-4711"
    assert root.findtext("cbc:ProfileID", namespaces=C) == ubl.PROFILE_ID
    assert root.findtext("cbc:CustomizationID", namespaces=C) == ubl.CUSTOMIZATION_ID


def test_a_customer_without_a_reference_or_peppol_id_gets_its_number_and_organisation_number(
    w: f.World, billie: Persona, county: County
) -> None:
    root = ubl.invoice(_basis(w, billie, w.regional))
    assert root.findtext("cbc:BuyerReference", namespaces=C) == "K-200"
    endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", C)
    assert endpoint is not None
    assert endpoint.text == county.region.organisation_number.replace("-", "")


def test_no_patient_is_named_in_the_invoice(w: f.World, billie: Persona) -> None:
    xml = ubl.invoice_xml(_basis(w, billie)).decode("utf-8")
    assert f.PATIENT_NUMBER not in xml
    assert "Apelqvist" not in xml
    assert "HMC-1001" in xml  # the device is named


# --- Deliberately broken invoices fail, each with the rule it breaks --------------------------


def _broken(w: f.World, billie: Persona, breaking: object) -> bytes:
    root = ubl.invoice(_basis(w, billie))
    breaking(root)  # type: ignore[operator]
    return ubl.serialise(root)


def _set(root: ET.Element, path: str, value: str) -> None:
    element = root.find(path, C)
    assert element is not None
    element.text = value


def _remove(root: ET.Element, parent: str, child: str) -> None:
    holder = root if parent == "." else root.find(parent, C)
    assert holder is not None
    element = holder.find(child, C)
    assert element is not None
    holder.remove(element)


def test_a_wrong_total_fails_the_en16931_rules(w: f.World, billie: Persona) -> None:
    xml = _broken(
        w, billie, lambda r: _set(r, "cac:LegalMonetaryTotal/cbc:PayableAmount", "240.14")
    )
    assert v.xsd(xml) == []  # still well-formed UBL: only the rules see it
    assert _rules(v.schematron(xml)) == {"BR-CO-16"}


def test_a_line_sum_that_does_not_add_up_fails(w: f.World, billie: Persona) -> None:
    xml = _broken(w, billie, lambda r: _set(r, "cac:InvoiceLine/cbc:LineExtensionAmount", "76.00"))
    assert {"BR-CO-10", "BR-S-08"} <= _rules(v.schematron(xml))
    assert "PEPPOL-EN16931-R120" in _rules(v.peppol(xml))


def test_a_wrong_vat_amount_fails(w: f.World, billie: Persona) -> None:
    """Three öre off: the breakdown no longer sums to the total (BR-CO-14). BR-S-09 itself
    allows a krona's rounding, so 25 % of the taxable amount is checked off by more than that."""

    def off_by_oere(root: ET.Element) -> None:
        _set(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "48.00")

    def off_by_kronor(root: ET.Element) -> None:
        _set(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "40.00")
        _set(root, "cac:TaxTotal/cbc:TaxAmount", "40.00")

    assert _rules(v.schematron(_broken(w, billie, off_by_oere))) == {"BR-CO-14"}
    assert "BR-S-09" in _rules(v.schematron(_broken(w, billie, off_by_kronor)))


def test_a_missing_buyer_reference_fails_the_peppol_rules(w: f.World, billie: Persona) -> None:
    xml = _broken(w, billie, lambda r: _remove(r, ".", "cbc:BuyerReference"))
    assert v.xsd(xml) == []
    assert _rules(v.peppol(xml)) == {"PEPPOL-EN16931-R003"}


def test_a_missing_seller_endpoint_fails_the_peppol_rules(w: f.World, billie: Persona) -> None:
    xml = _broken(
        w, billie, lambda r: _remove(r, "cac:AccountingSupplierParty/cac:Party", "cbc:EndpointID")
    )
    assert v.xsd(xml) == []
    assert _rules(v.peppol(xml)) == {"PEPPOL-EN16931-R020"}


def test_a_missing_buyer_name_fails_the_en16931_rules(w: f.World, billie: Persona) -> None:
    def breaking(root: ET.Element) -> None:
        _remove(
            root,
            "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity",
            "cbc:RegistrationName",
        )

    assert "BR-07" in _rules(v.schematron(_broken(w, billie, breaking)))


def test_an_element_out_of_order_fails_the_schema(w: f.World, billie: Persona) -> None:
    def breaking(root: ET.Element) -> None:
        reference = root.find("cbc:BuyerReference", C)
        assert reference is not None
        root.remove(reference)
        root.append(reference)  # after the invoice lines: not where UBL 2.1 allows it

    findings = v.xsd(_broken(w, billie, breaking))
    assert findings and "BuyerReference" in findings[0]


def test_a_wrong_profile_and_a_non_swedish_vat_rate_fail_the_peppol_rules(
    w: f.World, billie: Persona
) -> None:
    def profile(root: ET.Element) -> None:
        _set(root, "cbc:ProfileID", "urn:example:billing")

    def rate(root: ET.Element) -> None:
        for percent in root.iter(f"{{{ubl.NS_CBC}}}Percent"):
            percent.text = "20"

    assert _rules(v.peppol(_broken(w, billie, profile))) == {"PEPPOL-EN16931-R001"}
    assert "SE-R-006" in _rules(v.peppol(_broken(w, billie, rate)))
