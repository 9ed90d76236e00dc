"""Lyfta's rows as FHIR R5 (5.0.0) resources: plain JSON-ready dicts, built by pure functions from
rows the selectors have already chosen and recorded (no queries here beyond the related rows the
selectors fetched with `select_related`).

| Lyfta                       | FHIR R5           |
|-----------------------------|-------------------|
| an article                  | DeviceDefinition  |
| an item (individ)           | Device            |
| an order line               | DeviceRequest     |
| a delivered order line      | DeviceDispense    |
| a loan (a row of holdings)  | DeviceAssociation |
| a patient                   | Patient (minimal) |

Like lyfta.logreview.fhir, this module depends on no FHIR library; the tests validate every resource
with the `fhir.resources` R5 models. FHIR JSON has no empty strings or arrays: an element without
a value is left out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from lyfta.access.roles import Fields

if TYPE_CHECKING:
    from lyfta.access.patients import PatientGrant
    from lyfta.catalogue.models import Article
    from lyfta.inventory.models import Item
    from lyfta.orders.models import Loan, OrderLine
    from lyfta.patients.models import Patient

JSON = dict[str, Any]

FHIR_VERSION = "5.0.0"
FHIR_JSON = "application/fhir+json"

# --- Identifier and code systems ----------------------------------------------------------------

# The Swedish national identifiers as HL7 Sweden's base profiles name them; their OIDs are
# accepted in a search as well (urn:oid:1.2.752.129.2.1.3.1 personnummer, …3.3 samordningsnummer).
PERSONNUMMER = "http://electronichealth.se/identifier/personnummer"
SAMORDNINGSNUMMER = "http://electronichealth.se/identifier/samordningsnummer"
PERSONNUMMER_OID = "urn:oid:1.2.752.129.2.1.3.1"
SAMORDNINGSNUMMER_OID = "urn:oid:1.2.752.129.2.1.3.3"
LYFTA = "https://lyfta.se/fhir/"
# A reservnummer is the region's own: Lyfta's system stands for it.
RESERVNUMMER = LYFTA + "NamingSystem/reservnummer"
PATIENT_SYSTEMS = {
    "personnummer": PERSONNUMMER,
    "samordningsnummer": SAMORDNINGSNUMMER,
    "reservnummer": RESERVNUMMER,
}
# Every system a patient identifier search accepts (none: any kind of number).
PATIENT_SEARCH_SYSTEMS = frozenset(
    {PERSONNUMMER, SAMORDNINGSNUMMER, PERSONNUMMER_OID, SAMORDNINGSNUMMER_OID, RESERVNUMMER}
)
INDIVIDUAL_NUMBER = LYFTA + "NamingSystem/individnummer"
ARTICLE_NUMBER = LYFTA + "NamingSystem/artikelnummer"
ORDER_NUMBER = LYFTA + "NamingSystem/ordernummer"
ORDER_LINE = LYFTA + "NamingSystem/orderrad"
LOAN = LYFTA + "NamingSystem/utlaning"
CUSTOMER_NUMBER = LYFTA + "NamingSystem/kundnummer"
ORGANISATION_NUMBER = "urn:oid:2.5.4.97"  # as lyfta.logreview.fhir: X.520 organizationIdentifier
ISO_9999 = "urn:iso:std:iso:9999"
ITEM_STATUS = LYFTA + "CodeSystem/item-status"
LOAN_STATUS = LYFTA + "CodeSystem/loan-status"
LINE_STATUS = LYFTA + "CodeSystem/order-line-status"
BILLING_TYPE = LYFTA + "CodeSystem/billing-type"
ASSOCIATION_STATUS = "http://hl7.org/fhir/deviceassociation-status"
AVAILABILITY = "http://hl7.org/fhir/device-availability-status"
DEVICE_NAME_TYPE = "http://hl7.org/fhir/device-nametype"
ISSUE_TYPE = "http://hl7.org/fhir/issue-type"

# An item's status as Device.status and Device.availabilityStatus (lost, destroyed, damaged; the
# other statuses are "available" in the code system's sense only loosely, so only Lyfta's code).
ITEM_AVAILABILITY = {"lost": "lost", "scrapped": "destroyed", "in_repair": "damaged"}
ITEM_INACTIVE = frozenset({"lost", "scrapped"})
# An order line's status as DeviceRequest.status.
LINE_REQUEST_STATUS = {
    "reserved": "active",
    "backordered": "active",
    "picked": "active",
    "delivered": "completed",
    "cancelled": "revoked",
}


def _coding(system: str, code: str, display: str = "") -> JSON:
    coding: JSON = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(*codings: JSON, text: str = "") -> JSON:
    concept: JSON = {"coding": list(codings)}
    if text:
        concept["text"] = text
    return concept


def _identifier(system: str, value: str) -> JSON:
    return {"system": system, "value": value}


def _reference(kind: str, pk: int, *, identifier: JSON | None = None, display: str = "") -> JSON:
    reference: JSON = {"reference": f"{kind}/{pk}"}
    if identifier:
        reference["identifier"] = identifier
    if display:
        reference["display"] = display
    return reference


def _instant(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def _without_empty(resource: JSON) -> JSON:
    return {key: value for key, value in resource.items() if value not in ("", None, [], {})}


# --- The catalogue and the items ----------------------------------------------------------------


def device_definition(article: Article) -> JSON:
    """An article (the catalogue's product) as a DeviceDefinition: its article number, name,
    ISO 9999 class and supplier. Needs `iso_class` and `supplier` fetched."""
    supplier = article.supplier
    manufacturer: JSON = {"display": supplier.name}
    if supplier.organisation_number:
        manufacturer["identifier"] = _identifier(ORGANISATION_NUMBER, supplier.organisation_number)
    iso = article.iso_class
    return _without_empty(
        {
            "resourceType": "DeviceDefinition",
            "id": str(article.pk),
            "identifier": [_identifier(ARTICLE_NUMBER, article.article_number)],
            "partNumber": article.supplier_article_number,
            "manufacturer": manufacturer,
            "deviceName": [{"name": article.name, "type": "registered-name"}],
            "classification": [
                {"type": _concept(_coding(ISO_9999, iso.code, iso.name), text=iso.name)}
            ],
            "property": [
                {
                    "type": _concept(_coding(LYFTA + "CodeSystem/article-property", "billing")),
                    "valueCodeableConcept": _concept(_coding(BILLING_TYPE, article.billing_type)),
                }
            ],
        }
    )


def device(item: Item) -> JSON:
    """An item (individ) as a Device: its individual number, serial and lot numbers, its article
    as the definition, and its status. Never its holder: that is a DeviceAssociation, read on a
    legal route. Needs `article` fetched."""
    availability = ITEM_AVAILABILITY.get(item.status)
    codings = [_coding(AVAILABILITY, availability)] if availability else []
    codings.append(_coding(ITEM_STATUS, item.status, item.get_status_display()))
    return _without_empty(
        {
            "resourceType": "Device",
            "id": str(item.pk),
            "identifier": [_identifier(INDIVIDUAL_NUMBER, item.individual_number)],
            "displayName": item.article.name,
            "definition": {
                "reference": _reference(
                    "DeviceDefinition",
                    item.article_id,
                    identifier=_identifier(ARTICLE_NUMBER, item.article.article_number),
                )
            },
            "status": "inactive" if item.status in ITEM_INACTIVE else "active",
            "availabilityStatus": _concept(*codings),
            "serialNumber": item.serial_number,
            "lotNumber": item.batch,
        }
    )


def _device_ref(item: Item) -> JSON:
    return _reference(
        "Device", item.pk, identifier=_identifier(INDIVIDUAL_NUMBER, item.individual_number)
    )


def _definition_ref(article: Article) -> JSON:
    return _reference(
        "DeviceDefinition",
        article.pk,
        identifier=_identifier(ARTICLE_NUMBER, article.article_number),
        display=article.name,
    )


# --- A patient's devices ------------------------------------------------------------------------


def _patient_ref(patient_id: int) -> JSON:
    # The reference names no identifier: a personnummer leaves only in the Patient resource.
    return {"reference": f"Patient/{patient_id}"}


def device_association(loan: Loan) -> JSON:
    """A loan (a row of the patient's holdings) as a DeviceAssociation: the device, the patient
    and the period. An item is referred to as its Device; a quantity of a non-tracked article has
    no Device of its own, so one is contained (its article and lot). Status: "attached" while on
    loan and after (the period's end says it ended), "entered-in-error" for a loan registered in
    error; Lyfta's own status follows. Needs `article`, `item` and `unit` fetched."""
    contained: list[JSON] = []
    if loan.item is not None:
        device_ref = _device_ref(loan.item)
    else:
        quantity: JSON = {
            "type": _concept(_coding(LYFTA + "CodeSystem/device-property", "quantity")),
            "valueQuantity": {"value": loan.quantity},
        }
        contained.append(
            _without_empty(
                {
                    "resourceType": "Device",
                    "id": "device",
                    "displayName": loan.article.name,
                    "definition": {"reference": _definition_ref(loan.article)},
                    "status": "active" if loan.ended_on is None else "inactive",
                    "lotNumber": loan.lot,
                    "property": [quantity],
                }
            )
        )
        device_ref = {"reference": "#device"}
    if loan.end_reason == "cancelled":
        standard, own = "entered-in-error", "cancelled"
    else:
        standard = "attached"
        own = "active" if loan.ended_on is None else (loan.end_reason or "ended")
    period: JSON = {"start": loan.started_on.isoformat()}
    if loan.ended_on is not None:
        period["end"] = loan.ended_on.isoformat()
    return _without_empty(
        {
            "resourceType": "DeviceAssociation",
            "id": str(loan.pk),
            "contained": contained,
            "identifier": [_identifier(LOAN, str(loan.pk))],
            "status": _concept(_coding(ASSOCIATION_STATUS, standard), _coding(LOAN_STATUS, own)),
            "category": [
                _concept(_coding(BILLING_TYPE, loan.billing_type), text=loan.billing_type_label)
            ],
            "subject": _patient_ref(loan.patient_id),
            "device": device_ref,
            "period": period,
        }
    )


def device_request(line: OrderLine) -> JSON:
    """An order line (what the unit ordered for the patient) as a DeviceRequest, intent "order":
    the article asked for, the quantity, when and by which unit. Needs `order__unit` and
    `article` fetched."""
    order = line.order
    assert order.patient_id is not None  # noqa: S101 - the selector reads patients' orders only
    unit = order.unit
    return _without_empty(
        {
            "resourceType": "DeviceRequest",
            "id": str(line.pk),
            "identifier": [_identifier(ORDER_LINE, str(line.pk))],
            "groupIdentifier": _identifier(ORDER_NUMBER, order.number),
            "status": LINE_REQUEST_STATUS.get(line.status, "unknown"),
            "intent": "order",
            "priority": "urgent" if order.urgent else "routine",
            "code": {"reference": _definition_ref(line.article)},
            "quantity": line.quantity,
            "subject": _patient_ref(order.patient_id),
            "occurrenceDateTime": order.expected_on.isoformat(),
            "authoredOn": _instant(order.registered_at),
            "requester": _without_empty(
                {
                    "display": unit.name,
                    "identifier": _identifier(CUSTOMER_NUMBER, unit.customer_number)
                    if unit.customer_number
                    else None,
                }
            ),
            "note": [{"text": line.get_status_display()}],
        }
    )


def device_dispense(line: OrderLine) -> JSON:
    """A delivered order line as a DeviceDispense (status "completed"): the item handed over (or
    the article, for a non-tracked quantity), to the patient, when the order was delivered."""
    order = line.order
    assert order.patient_id is not None  # noqa: S101 - the selector reads patients' orders only
    device_ref = _device_ref(line.item) if line.item is not None else _definition_ref(line.article)
    return _without_empty(
        {
            "resourceType": "DeviceDispense",
            "id": str(line.pk),
            "identifier": [_identifier(ORDER_LINE, str(line.pk))],
            "basedOn": [{"reference": f"DeviceRequest/{line.pk}"}],
            "status": "completed",
            "device": {"reference": device_ref},
            "subject": _patient_ref(order.patient_id),
            "quantity": {"value": line.quantity},
            "whenHandedOver": _instant(order.delivered_at) if order.delivered_at else None,
        }
    )


def patient(grant: PatientGrant) -> JSON:
    """The patient, minimal: the identifier, and the name where the grant's fields include the
    identity and the patient has no protected identity. Never an address or a phone number:
    what a delivery needs is on the order."""
    found: Patient = grant.patient
    system = PATIENT_SYSTEMS.get(found.id_kind, RESERVNUMMER)
    resource: JSON = {
        "resourceType": "Patient",
        "id": str(found.pk),
        "identifier": [_identifier(system, found.identifier)],
    }
    if Fields.IDENTITY in grant.fields and not found.is_protected:
        resource["name"] = [{"family": found.last_name, "given": [found.first_name]}]
    if found.deceased_date is not None:
        resource["deceasedDateTime"] = found.deceased_date.isoformat()
    return resource


def shown_fields(grant: PatientGrant) -> list[str]:
    """What `patient(grant)` shows, for the audit record of the read."""
    if Fields.IDENTITY in grant.fields and not grant.patient.is_protected:
        return ["identifier", "name"]
    return ["identifier"]


# --- Bundles, errors, the capability statement --------------------------------------------------


def searchset(resources: Iterable[JSON], *, base: str, self_url: str) -> JSON:
    """A Bundle of type "searchset" with every match (the searches answer one patient's, one
    device's or one article's rows: no paging)."""
    entries = [
        {
            "fullUrl": f"{base}{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    bundle: JSON = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": _instant(timezone.now()),
        "total": len(entries),
        "link": [{"relation": "self", "url": self_url}],
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def operation_outcome(code: str, diagnostics: str, *, severity: str = "error") -> JSON:
    """An OperationOutcome with one issue (`code` from the FHIR issue-type code system)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


# The searches each resource type takes: (name, type, documentation). The views accept these and
# no others; the capability statement lists exactly these.
SEARCHES: dict[str, list[tuple[str, str, str]]] = {
    "DeviceAssociation": [
        ("patient", "reference", "Patient/<id>: the patient's loans (holdings)"),
        ("subject", "reference", "the same as patient"),
        (
            "patient.identifier",
            "token",
            "<system>|<personnummer>: only in the body of POST DeviceAssociation/_search",
        ),
        ("device", "reference", "Device/<id>: the device's loans to patients the client may see"),
    ],
    "Device": [("identifier", "token", "the individual number (individnummer)")],
    "DeviceDefinition": [("identifier", "token", "the article number (artikelnummer)")],
    "DeviceRequest": [
        ("patient", "reference", "Patient/<id>: the order lines of the client's unit"),
        ("subject", "reference", "the same as patient"),
    ],
    "DeviceDispense": [
        ("patient", "reference", "Patient/<id>: the delivered order lines of the client's unit"),
        ("subject", "reference", "the same as patient"),
    ],
    "Patient": [
        (
            "identifier",
            "token",
            "<system>|<personnummer>: only in the body of POST Patient/_search",
        )
    ],
}
READABLE = ("Device", "DeviceDefinition", "Patient")


def capability_statement(*, base: str, scopes: dict[str, str]) -> JSON:
    """What this server offers, exactly: the resource types, their read and search interactions
    and search parameters, JSON only, and the scope each type needs."""
    resources = []
    for kind, params in SEARCHES.items():
        interactions = [{"code": "search-type"}]
        if kind in READABLE:
            interactions.insert(0, {"code": "read"})
        resources.append(
            {
                "type": kind,
                "documentation": f"Scope {scopes[kind]}.",
                "interaction": interactions,
                "searchParam": [
                    {"name": name, "type": kind_, "documentation": doc}
                    for name, kind_, doc in params
                ],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _instant(timezone.now()),
        "publisher": "Lyfta",
        "kind": "instance",
        "software": {"name": "Lyfta"},
        "implementation": {"description": "Lyfta FHIR R5", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Machine clients of Lyfta's API, with the same bearer tokens, scopes, rate "
                    "limit, access rules and audit log (docs/operations.md, FHIR R5). A "
                    "personnummer never goes in a URL: search by it with POST [type]/_search."
                ),
                "security": {
                    "cors": False,
                    "description": "Authorization: Bearer lyfta_… (a registered API client).",
                },
                "resource": resources,
            }
        ],
    }
