"""A customer's invoice basis as a Peppol BIS Billing 3.0 invoice (UBL 2.1), issue 14 point 5.

Choices (docs/decisions/0014-peppol-invoice-out.md says why):
- One `Invoice` per customer and locked run, one `InvoiceLine` per billing line. A credit line
  (an earlier line corrected) is a line with a negative quantity and a positive price, never a
  separate credit note: the month's invoice nets the correction, as the run does.
- VAT: standard rate, category S, 25 % on the sum of the lines (`VAT_CATEGORY`, `VAT_RATE`);
  the seller's VAT number is SE + its organisation number + 01.
- Seller: the region that owns the centre; both parties' electronic address and legal id are
  organisation numbers with scheme 0007 (the customer's Peppol id where it has one).
- Totals are computed from the lines to the öre, so that BR-CO-10..17 hold exactly.

Built with the standard library's ElementTree: no dependency at run time."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET  # noqa: S405 - building, never parsing untrusted XML
from decimal import ROUND_HALF_UP, Decimal

from lyfta.billing.selectors.invoices import Basis, Line

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CURRENCY = "SEK"
VAT_CATEGORY = "S"
VAT_RATE = Decimal("25")
PAYMENT_DAYS = 30
ORG_SCHEME = "0007"  # ISO 6523 ICD: Swedish organisation number

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ET.register_namespace("", NS_INVOICE)
ET.register_namespace("cac", NS_CAC)
ET.register_namespace("cbc", NS_CBC)

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def vat_of(net: Decimal) -> Decimal:
    """The VAT on a net amount, rounded half up to the öre (BR-S-09, BR-CO-17)."""
    return (net * VAT_RATE / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def digits(organisation_number: str) -> str:
    return "".join(ch for ch in organisation_number if ch.isdigit())


def vat_number(organisation_number: str) -> str:
    """The Swedish VAT number of an organisation: SE, the ten digits, 01."""
    return f"SE{digits(organisation_number)}01"


def _cac(parent: ET.Element, tag: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{NS_CAC}}}{tag}")


def _cbc(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS_CBC}}}{tag}", attributes)
    element.text = text
    return element


def _amount(parent: ET.Element, tag: str, value: Decimal) -> ET.Element:
    return _cbc(parent, tag, money(value), currencyID=CURRENCY)


def endpoint(peppol_id: str, organisation_number: str) -> tuple[str, str]:
    """(scheme, identifier) of an electronic address: the Peppol id "scheme:id" where given,
    else the organisation number under 0007."""
    scheme, sep, identifier = peppol_id.strip().partition(":")
    if sep and scheme.isdigit() and len(scheme) == 4 and identifier.strip():
        return scheme, identifier.strip()
    return ORG_SCHEME, digits(organisation_number)


def quantity_and_price(line: Line) -> tuple[Decimal, Decimal]:
    """The line's quantity and (non-negative) net price such that quantity × price equals its
    amount to the öre (PEPPOL-EN16931-R120, BR-27); one piece at the amount where the line's own
    quantity and price do not multiply out (a rent split over days, rounded)."""
    quantity, price, amount = line.quantity, line.unit_price, line.amount
    if price < 0:
        quantity, price = -quantity, -price
    if quantity != 0 and (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP) == amount:
        return quantity, price
    sign = Decimal(-1) if amount < 0 else Decimal(1)
    return sign, abs(amount)


def _tax_category(parent: ET.Element, tag: str) -> None:
    category = _cac(parent, tag)
    _cbc(category, "ID", VAT_CATEGORY)
    _cbc(category, "Percent", str(VAT_RATE))
    scheme = _cac(category, "TaxScheme")
    _cbc(scheme, "ID", "VAT")


def _party(
    parent: ET.Element,
    *,
    name: str,
    organisation_number: str,
    peppol_id: str = "",
    street: str = "",
    postal_code: str = "",
    city: str = "",
    seller: bool,
) -> None:
    party = _cac(parent, "Party")
    scheme, identifier = endpoint(peppol_id, organisation_number)
    _cbc(party, "EndpointID", identifier, schemeID=scheme)
    party_name = _cac(party, "PartyName")
    _cbc(party_name, "Name", name)
    address = _cac(party, "PostalAddress")
    if street:
        _cbc(address, "StreetName", street)
    if city:
        _cbc(address, "CityName", city)
    if postal_code:
        _cbc(address, "PostalZone", postal_code.replace(" ", ""))
    country = _cac(address, "Country")
    _cbc(country, "IdentificationCode", "SE")
    if seller:
        tax = _cac(party, "PartyTaxScheme")
        _cbc(tax, "CompanyID", vat_number(organisation_number))
        _cbc(_cac(tax, "TaxScheme"), "ID", "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", name)
    _cbc(legal, "CompanyID", digits(organisation_number), schemeID=ORG_SCHEME)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def invoice(basis: Basis) -> ET.Element:
    """The invoice as an element tree (for tests to break deliberately)."""
    customer, seller = basis.customer, basis.seller
    root = ET.Element(f"{{{NS_INVOICE}}}Invoice")
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", basis.invoice_number)
    issued = basis.issue_date
    _cbc(root, "IssueDate", issued.isoformat())
    _cbc(root, "DueDate", (issued + dt.timedelta(days=PAYMENT_DAYS)).isoformat())
    _cbc(root, "InvoiceTypeCode", "380")
    _cbc(root, "Note", f"Hjälpmedel {basis.run.month:%Y-%m}, debiteringskörning {basis.run.pk}")
    _cbc(root, "DocumentCurrencyCode", CURRENCY)
    _cbc(root, "BuyerReference", customer.buyer_reference.strip() or customer.customer_number)
    period = _cac(root, "InvoicePeriod")
    _cbc(period, "StartDate", basis.month_first.isoformat())
    _cbc(period, "EndDate", basis.month_last.isoformat())
    _party(
        _cac(root, "AccountingSupplierParty"),
        name=seller.name,
        organisation_number=seller.organisation_number,
        seller=True,
    )
    _party(
        _cac(root, "AccountingCustomerParty"),
        name=customer.name,
        organisation_number=customer.organisation_number,
        peppol_id=customer.peppol_id,
        street=customer.invoice_street,
        postal_code=customer.invoice_postal_code,
        city=customer.invoice_city,
        seller=False,
    )
    terms = _cac(root, "PaymentTerms")
    _cbc(terms, "Note", f"{PAYMENT_DAYS} dagar netto")

    net = sum((line.amount for line in basis.lines), Decimal("0.00")).quantize(CENT)
    vat = vat_of(net)
    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", vat)
    subtotal = _cac(tax_total, "TaxSubtotal")
    _amount(subtotal, "TaxableAmount", net)
    _amount(subtotal, "TaxAmount", vat)
    _tax_category(subtotal, "TaxCategory")
    totals = _cac(root, "LegalMonetaryTotal")
    _amount(totals, "LineExtensionAmount", net)
    _amount(totals, "TaxExclusiveAmount", net)
    _amount(totals, "TaxInclusiveAmount", net + vat)
    _amount(totals, "PayableAmount", net + vat)

    number = 0
    for group in basis.groups:
        for line in group.lines:
            number += 1
            _invoice_line(root, number, line, group.code)
    return root


def _invoice_line(root: ET.Element, number: int, line: Line, group_code: str) -> None:
    element = _cac(root, "InvoiceLine")
    _cbc(element, "ID", str(number))
    quantity, price = quantity_and_price(line)
    _cbc(element, "InvoicedQuantity", _plain(quantity), unitCode="C62")
    _amount(element, "LineExtensionAmount", line.amount)
    if group_code:
        _cbc(element, "AccountingCost", group_code)
    line_period = _cac(element, "InvoicePeriod")
    _cbc(line_period, "StartDate", line.period_from.isoformat())
    _cbc(line_period, "EndDate", line.period_until.isoformat())
    item = _cac(element, "Item")
    if line.explanation:
        _cbc(item, "Description", _short(line.explanation, 300))
    name = " ".join(
        part
        for part in (line.kind_label, line.individual_number, line.article_name or line.text)
        if part
    )
    _cbc(item, "Name", _short(name, 100))
    if line.article_number:
        _cbc(_cac(item, "SellersItemIdentification"), "ID", line.article_number)
    _tax_category(item, "ClassifiedTaxCategory")
    price_element = _cac(element, "Price")
    _amount(price_element, "PriceAmount", price)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def serialise(root: ET.Element) -> bytes:
    """The same bytes every time: the prefixes are set here, not only at import, because the
    registry is global and another library (WeasyPrint, rendering a PDF) resets the default
    namespace's entry, which turned every later invoice's elements into `ns0:`."""
    ET.register_namespace("", NS_INVOICE)
    ET.register_namespace("cac", NS_CAC)
    ET.register_namespace("cbc", NS_CBC)
    content: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return content


def invoice_xml(basis: Basis) -> bytes:
    """The Peppol BIS Billing 3.0 invoice of the basis, as UTF-8 XML."""
    return serialise(invoice(basis))
