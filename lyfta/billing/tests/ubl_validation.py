"""Validating a Peppol BIS Billing 3.0 invoice in the tests (issue 14 point 5; what and why in
docs/decisions/0014-peppol-invoice-out.md):

1. the OASIS UBL 2.1 schema (lyfta/billing/schemas/ubl-2.1, with lxml);
2. the CEN EN 16931 UBL schematron, the published business rules BR-*, BR-CO-*, BR-S-*, BR-CL-*
   (lyfta/billing/schemas/en16931, run with Saxon-HE's XPath 3.1 through `saxonche`; the file
   has only patterns, rules and asserts, which `schematron` below evaluates with the ISO
   Schematron semantics: in a pattern a node is taken by the first rule whose context matches);
3. the Peppol BIS 3.0 rules on top of EN 16931 that concern this invoice (PEPPOL-EN16931-R*,
   and the Swedish SE-R-*), written out in `peppol` from the published rule texts, because no
   package on the reachable registries ships OpenPEPPOL's own schematron.

Each returns a list of findings "RULE-ID: text"; an empty list is a valid invoice."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
XSD = SCHEMAS / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd"
SCH = SCHEMAS / "en16931" / "CEN-EN16931-UBL.sch"
SCH_NS = "http://purl.oclc.org/dsdl/schematron"

NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


@cache
def _schema() -> Any:
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(XSD)))


def xsd(xml: bytes) -> list[str]:
    """Findings of the UBL 2.1 schema."""
    from lxml import etree

    schema = _schema()
    document = etree.fromstring(
        xml, parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    if schema.validate(document):
        return []
    return [f"XSD: line {e.line}: {e.message}" for e in schema.error_log]


def _split_union(pattern: str) -> list[str]:
    """A match pattern's branches: split at top-level `|` (outside brackets and quotes)."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in pattern:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    parts.append(current.strip())
    return parts


def _select(context: str) -> str:
    """The XPath that selects every node a match pattern matches, from the document node."""
    branches = [b if b.startswith("/") else "//" + b for b in _split_union(context)]
    return " | ".join(f"({b})" for b in branches)


@cache
def _rules() -> tuple[
    tuple[str, tuple[tuple[str, tuple[tuple[str, str, str, str], ...]], ...]], ...
]:
    """(namespaces, patterns): each pattern's rules in order, each rule's asserts as
    (id, flag, test, message)."""
    from lxml import etree

    tree = etree.parse(str(SCH))
    s = {"s": SCH_NS}
    patterns = []
    for pattern in tree.iterfind("s:pattern", s):
        rules = []
        for rule in pattern.iterfind("s:rule", s):
            asserts = tuple(
                (
                    a.get("id", ""),
                    a.get("flag", "fatal"),
                    a.get("test"),
                    " ".join("".join(a.itertext()).split()),
                )
                for a in rule.iterfind("s:assert", s)
            )
            rules.append((_select(rule.get("context")), asserts))
        patterns.append((pattern.get("id", ""), tuple(rules)))
    return tuple(patterns)


@cache
def _namespaces() -> tuple[tuple[str, str], ...]:
    from lxml import etree

    tree = etree.parse(str(SCH))
    return tuple((ns.get("prefix"), ns.get("uri")) for ns in tree.iterfind(f"{{{SCH_NS}}}ns"))


@cache
def _processor() -> Any:
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


def schematron(xml: bytes, *, warnings: bool = False) -> list[str]:
    """Findings of the CEN EN 16931 UBL schematron (fatal ones; warnings too if asked)."""
    processor = _processor()
    document = processor.parse_xml(xml_text=xml.decode("utf-8"))
    xpath = processor.new_xpath_processor()
    for prefix, uri in _namespaces():
        xpath.declare_namespace(prefix, uri)
    findings: list[str] = []
    for _pattern, rules in _rules():
        taken: set[str] = set()
        for select, asserts in rules:
            xpath.set_context(xdm_item=document)
            nodes = xpath.evaluate(select)
            if nodes is None:
                continue
            for node in nodes:
                xpath.set_context(xdm_item=node)
                key = str(xpath.evaluate_single("path(.)"))
                if key in taken:
                    continue
                taken.add(key)
                for rule_id, flag, test, message in asserts:
                    if flag != "fatal" and not warnings:
                        continue
                    if not xpath.effective_boolean_value(test):
                        findings.append(f"{rule_id}: {message}")
    return findings


# --- The Peppol BIS Billing 3.0 rules on top of EN 16931 that this invoice meets ---------------

CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = re.compile(r"urn:fdc:peppol\.eu:2017:poacc:billing:\d\d:1\.0")
EAS = {"0007", "0088", "0192", "0184", "9955", "0208", "0106"}  # the ones Lyfta may meet


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").strip())
    except InvalidOperation:
        return None


def peppol(xml: bytes) -> list[str]:
    """Findings of the Peppol-specific rules (PEPPOL-EN16931-R*, SE-R-*) that bear on an
    invoice like Lyfta's, checked as their published texts say."""
    from lxml import etree

    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    found: list[str] = []

    def text(path: str, node: Any = root) -> str:
        value = node.findtext(path, namespaces=NS)
        return (value or "").strip()

    if not PROFILE.fullmatch(text("cbc:ProfileID")):
        found.append("PEPPOL-EN16931-R001: Business process MUST be provided.")
    if text("cbc:CustomizationID") != CUSTOMIZATION:
        found.append(
            f"PEPPOL-EN16931-R004: Specification identifier MUST have the value '{CUSTOMIZATION}'."
        )
    if not text("cbc:BuyerReference") and not text("cac:OrderReference/cbc:ID"):
        found.append(
            "PEPPOL-EN16931-R003: A buyer reference or purchase order reference MUST be provided."
        )
    for party, rule, who in (
        ("cac:AccountingCustomerParty", "R010", "Buyer"),
        ("cac:AccountingSupplierParty", "R020", "Seller"),
    ):
        element = root.find(f"{party}/cac:Party/cbc:EndpointID", NS)
        if element is None or not (element.text or "").strip():
            found.append(f"PEPPOL-EN16931-R{rule[1:]}: {who} electronic address MUST be provided")
        elif element.get("schemeID") not in EAS:
            found.append(
                "PEPPOL-EN16931-CL008: Electronic address identifier scheme MUST be from the "
                f"EAS code list ({who})."
            )
    with_subtotals = root.findall("cac:TaxTotal[cac:TaxSubtotal]", NS)
    if len(with_subtotals) != 1:
        found.append("PEPPOL-EN16931-R053: Only one tax total with tax subtotals MUST be provided.")
    currency = text("cbc:DocumentCurrencyCode")
    for element in root.iter():
        if element.get("currencyID") is not None and element.get("currencyID") != currency:
            found.append(
                "PEPPOL-EN16931-R051: All currencyID attributes MUST have the same value as "
                "the invoice currency code (BT-5), except for the invoice total VAT amount in "
                "accounting currency (BT-111)."
            )
            break
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if len(element) == 0 and not (element.text or "").strip():
            found.append(
                "PEPPOL-EN16931-R008: Document MUST not contain empty elements "
                f"({etree.QName(element).localname})."
            )
    for line in root.findall("cac:InvoiceLine", NS):
        number = text("cbc:ID", line)
        quantity = _decimal(text("cbc:InvoicedQuantity", line))
        price = _decimal(text("cac:Price/cbc:PriceAmount", line))
        base = _decimal(text("cac:Price/cbc:BaseQuantity", line)) or Decimal(1)
        net = _decimal(text("cbc:LineExtensionAmount", line))
        if base <= 0:
            found.append(
                "PEPPOL-EN16931-R121: Base quantity MUST be a positive number above zero "
                f"(line {number})."
            )
        if quantity is None or price is None or net is None:
            continue
        if abs(net - quantity * (price / base)) > Decimal("0.02"):
            found.append(
                "PEPPOL-EN16931-R120: Invoice line net amount MUST equal (Invoiced quantity * "
                f"(Item net price/item price base quantity) (line {number})."
            )
    # Swedish suppliers (SE-R-*).
    supplier = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    if (
        supplier is not None
        and text("cac:PostalAddress/cac:Country/cbc:IdentificationCode", supplier) == "SE"
    ):
        for vat in supplier.xpath(
            "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID", namespaces=NS
        ):
            value = (vat.text or "").strip()
            if len(value) != 14:
                found.append(
                    "SE-R-001: For Swedish suppliers, Swedish VAT-numbers must consist of 14 "
                    "characters."
                )
            if not (value[:2] == "SE" and value[2:].isdigit()):
                found.append(
                    "SE-R-002: For Swedish suppliers, the Swedish VAT-numbers must have the "
                    "trailing 12 characters in numeric form"
                )
        legal = text("cac:PartyLegalEntity/cbc:CompanyID", supplier)
        if legal and not legal.isdigit():
            found.append("SE-R-003: Swedish organisation numbers should be numeric.")
        if legal and len(legal) != 10:
            found.append("SE-R-004: Swedish organisation numbers consist of 10 characters.")
        for percent in root.iter(f"{{{NS['cbc']}}}Percent"):
            if _decimal(percent.text) not in {Decimal(0), Decimal(6), Decimal(12), Decimal(25)}:
                found.append(
                    "SE-R-006: For Swedish suppliers, only standard VAT rate of 6, 12 or 25 are "
                    "used"
                )
                break
    return found


def everything(xml: bytes) -> list[str]:
    """All findings: the schema, the EN 16931 rules, the Peppol rules."""
    return xsd(xml) + schematron(xml) + peppol(xml)
