"""Issue 18 point 2: FHIR R5 under /fhir/. A registered machine client reads a patient's holdings
as DeviceAssociations that validate, and its devices, articles, order lines and deliveries; every
resource is validated with the fhir.resources R5 models; every read of patient data is recorded
with the client's identity, and a refusal is refused and recorded as in the API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.patients import PatientGrant
from lyfta.accounts.api_clients import Registered
from lyfta.accounts.models import ApiScope
from lyfta.api.tests.conftest import Api, register
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LegalBasis, Outcome
from lyfta.fhir import resources
from lyfta.inventory.models import Item
from lyfta.orders import services
from lyfta.orders.models import Loan, Order, OrderLine
from lyfta.orders.tests.conftest import Shop
from lyfta.patients.models import Patient

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
PNR = "http://electronichealth.se/identifier/personnummer"
PATIENT_NUMBER = "194001019803"  # shop.patient: a care relationship with unit A
REGION_NUMBER = "194502029814"  # shop.region_patient: unit B's only


def validate(resource: dict[str, Any]) -> Any:
    """Parse with the fhir.resources R5 model of the resource's type: fails on any invalid
    element, type or cardinality; a Bundle's entries are validated as their own types too."""
    module = pytest.importorskip("fhir.resources")
    model = module.get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        validate(entry["resource"])
    for contained in resource.get("contained", []):
        validate(contained)
    return model


def fhir(response: Any, status: int = 200) -> dict[str, Any]:
    """The answer's FHIR JSON, after checking its status and content type, validated."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body: dict[str, Any] = json.loads(response.content)
    validate(body)
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome"
    return body


def search(api: Api, kind: str, body: dict[str, str]) -> Any:
    """POST [type]/_search with the parameters in a form body (how a personnummer is sent)."""
    return api.client.post(
        f"/fhir/{kind}/_search",
        urlencode(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {api.token}"},
    )


def _events(action: str, **filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def _delivered(api: Api, shop: Shop, logan: Persona) -> Order:
    """The client orders a lift and cushions for shop.patient; the centre picks and delivers."""
    placed = api.post(
        "/api/v1/orders",
        {
            "identifier": PATIENT_NUMBER,
            "lines": [
                {"article_id": shop.lift.pk, "quantity": 1},
                {"article_id": shop.cushion.pk, "quantity": 2},
            ],
        },
    )
    assert placed.status_code == 201, placed.content
    order = Order.unscoped.get(pk=placed.json()["id"])
    for line in OrderLine.unscoped.filter(order=order):
        services.line_pick(actor=logan.actor, line=line)
    services.order_deliver(actor=logan.actor, order=order)
    order.refresh_from_db()
    return order


def test_the_client_reads_the_holdings_as_device_associations_that_validate(
    api: Api, shop: Shop, machine: Registered, logan: Persona
) -> None:
    order = _delivered(api, shop, logan)
    before = AuditEvent.objects.count()
    bundle = fhir(api.get("/fhir/DeviceAssociation", {"patient": f"Patient/{shop.patient.pk}"}))
    assert (bundle["type"], bundle["total"]) == ("searchset", 2)
    associations = [entry["resource"] for entry in bundle["entry"]]
    assert {a["subject"]["reference"] for a in associations} == {f"Patient/{shop.patient.pk}"}
    lift = Item.objects.get(article=shop.lift, holder=shop.patient)
    tracked = next(a for a in associations if not a.get("contained"))
    assert tracked["device"]["reference"] == f"Device/{lift.pk}"
    assert tracked["device"]["identifier"]["value"] == lift.individual_number
    assert tracked["status"]["coding"][0] == {
        "system": "http://hl7.org/fhir/deviceassociation-status",
        "code": "attached",
    }
    # The loan starts on the delivery's day in Sweden (not in UTC: after 23:00 UTC they differ).
    started = timezone.localdate(order.delivered_at)
    assert tracked["period"] == {"start": started.isoformat()}
    cushions = next(a for a in associations if a.get("contained"))
    assert cushions["device"] == {"reference": "#device"}
    assert cushions["contained"][0]["definition"]["reference"]["reference"] == (
        f"DeviceDefinition/{shop.cushion.pk}"
    )
    # Recorded as the API's holdings are: one holdings read, with the client's identity.
    viewed = _events(Action.HOLDINGS_VIEWED, id__gt=0)
    assert [(e.patient_id, e.actor_id, e.source_system, e.legal_basis) for e in viewed[-1:]] == [
        (shop.patient.pk, machine.client.user_id, "lyfta-api", LegalBasis.RELATIONSHIP)
    ]
    assert AuditEvent.objects.count() > before
    # No personnummer in the bundle: the subject is a reference by Lyfta's id.
    assert "9803" not in json.dumps(bundle)


def test_the_holdings_by_personnummer_go_in_a_post_body_never_a_url(
    api: Api, shop: Shop, machine: Registered, logan: Persona
) -> None:
    _delivered(api, shop, logan)
    in_url = api.get("/fhir/DeviceAssociation", {"patient.identifier": f"{PNR}|{PATIENT_NUMBER}"})
    assert "_search" in fhir(in_url, 400)["issue"][0]["diagnostics"]
    bundle = fhir(
        search(api, "DeviceAssociation", {"patient.identifier": f"{PNR}|{PATIENT_NUMBER}"})
    )
    assert bundle["total"] == 2
    assert PATIENT_NUMBER not in bundle["link"][0]["url"]
    # Found by a search (R57), and the holdings read.
    assert _events(Action.PATIENT_SEARCHED, actor_id=machine.client.user_id)
    assert _events(Action.HOLDINGS_VIEWED, patient_id=shop.patient.pk)


def test_a_patient_without_a_relationship_is_refused_and_recorded(
    api: Api, shop: Shop, machine: Registered
) -> None:
    by_id = api.get("/fhir/DeviceAssociation", {"patient": str(shop.region_patient.pk)})
    assert fhir(by_id, 404)["issue"][0]["code"] == "not-found"
    by_number = search(api, "DeviceAssociation", {"patient.identifier": f"{PNR}|{REGION_NUMBER}"})
    fhir(by_number, 404)
    for kind in ("DeviceRequest", "DeviceDispense"):
        fhir(api.get(f"/fhir/{kind}", {"subject": f"Patient/{shop.region_patient.pk}"}), 404)
    fhir(api.get(f"/fhir/Patient/{shop.region_patient.pk}"), 404)
    denied = _events(Action.PATIENT_ACCESS_DENIED, patient_id=shop.region_patient.pk)
    assert len(denied) == 5
    assert {(e.actor_id, e.outcome, e.detail["reason"]) for e in denied} == {
        (machine.client.user_id, Outcome.DENIED, "no_relationship")
    }
    assert not _events(Action.HOLDINGS_VIEWED)


def test_a_protected_patient_is_refused_and_flagged_for_review(
    api: Api, shop: Shop, machine: Registered
) -> None:
    Patient.objects.filter(pk=shop.patient.pk).update(
        protection=Patient.Protection.PROTECTED_REGISTRATION
    )
    fhir(api.get(f"/fhir/Patient/{shop.patient.pk}"), 404)
    fhir(api.get("/fhir/DeviceAssociation", {"patient": str(shop.patient.pk)}), 404)
    denied = _events(Action.PATIENT_ACCESS_DENIED, patient_id=shop.patient.pk)
    assert [(e.detail["reason"], e.detail["review"]) for e in denied] == [
        ("protected_identity", True)
    ] * 2


def test_the_patient_resource_is_minimal(api: Api, shop: Shop, machine: Registered) -> None:
    patient = fhir(api.get(f"/fhir/Patient/{shop.patient.pk}"))
    assert patient["identifier"] == [{"system": PNR, "value": PATIENT_NUMBER}]
    assert patient["name"] == [
        {"family": shop.patient.last_name, "given": [shop.patient.first_name]}
    ]
    assert "address" not in patient and "telecom" not in patient
    read = _events(Action.PATIENT_READ, patient_id=shop.patient.pk)
    assert [(e.actor_id, e.detail["fields"]) for e in read] == [
        (machine.client.user_id, ["identifier", "name"])
    ]
    found = fhir(search(api, "Patient", {"identifier": PATIENT_NUMBER}))
    assert [entry["resource"]["id"] for entry in found["entry"]] == [str(shop.patient.pk)]
    fhir(api.get("/fhir/Patient", {"identifier": PATIENT_NUMBER}), 400)


def test_a_protected_identity_shows_no_name_even_where_a_grant_allows(shop: Shop) -> None:
    shop.patient.protection = Patient.Protection.PROTECTED_REGISTRATION
    grant = PatientGrant(
        shop.patient, LegalBasis.RELATIONSHIP, "r", False, frozenset({"identity", "contact"}), False
    )
    patient = resources.patient(grant)
    validate(patient)
    assert set(patient) == {"resourceType", "id", "identifier"}


def test_devices_definitions_requests_and_dispenses_validate(
    api: Api, shop: Shop, machine: Registered, logan: Persona
) -> None:
    order = _delivered(api, shop, logan)
    lift = Item.objects.get(article=shop.lift, holder=shop.patient)
    device = fhir(api.get(f"/fhir/Device/{lift.pk}"))
    assert device["identifier"][0]["value"] == lift.individual_number
    assert device["definition"]["reference"]["reference"] == f"DeviceDefinition/{shop.lift.pk}"
    assert "patient" not in json.dumps(device).lower()
    by_number = fhir(api.get("/fhir/Device", {"identifier": lift.individual_number}))
    assert by_number["total"] == 1
    assert _events(Action.ITEM_VIEWED, actor_id=machine.client.user_id)
    definition = fhir(api.get(f"/fhir/DeviceDefinition/{shop.lift.pk}"))
    assert definition["classification"][0]["type"]["coding"][0]["code"] == "12 36 12"
    assert definition["identifier"][0]["value"] == "100001"
    found = fhir(api.get("/fhir/DeviceDefinition", {"identifier": "100001"}))
    assert found["total"] == 1
    requests = fhir(api.get("/fhir/DeviceRequest", {"patient": f"Patient/{shop.patient.pk}"}))
    assert [e["resource"]["status"] for e in requests["entry"]] == ["completed", "completed"]
    assert {e["resource"]["groupIdentifier"]["value"] for e in requests["entry"]} == {order.number}
    dispenses = fhir(api.get("/fhir/DeviceDispense", {"subject": str(shop.patient.pk)}))
    assert dispenses["total"] == 2
    viewed = _events(Action.ORDER_VIEWED, actor_id=machine.client.user_id)
    assert [(e.patient_id, e.legal_basis) for e in viewed] == [
        (shop.patient.pk, LegalBasis.RELATIONSHIP)
    ] * 2
    # The device's loans: to patients the client may see, each listed (R57).
    loans = fhir(api.get("/fhir/DeviceAssociation", {"device": f"Device/{lift.pk}"}))
    assert loans["total"] == 1
    assert _events(Action.PATIENT_LISTED, detail__list="fhir_device_association")


def test_another_units_client_sees_neither_the_device_nor_its_holder(
    client: Client, county: County, sigge: Persona, shop: Shop, api: Api, logan: Persona
) -> None:
    _delivered(api, shop, logan)
    lift = Item.objects.get(article=shop.lift, holder=shop.patient)
    other = Api(client, register(sigge, county.unit_b, name="Region B").token)
    fhir(other.get(f"/fhir/Device/{lift.pk}"), 404)
    fhir(other.get("/fhir/DeviceAssociation", {"device": str(lift.pk)}), 404)
    assert fhir(other.get("/fhir/Device", {"identifier": lift.individual_number}))["total"] == 0
    denied = AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, resource_type="inventory.item", outcome=Outcome.DENIED
    )
    assert denied.count() == 3
    # The other unit's orders for the patient are not its own: none shown.
    fhir(other.get("/fhir/DeviceRequest", {"patient": str(shop.patient.pk)}), 404)


def test_no_token_is_401_and_a_missing_scope_403_recorded(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    anonymous = client.get("/fhir/DeviceAssociation", {"patient": "1"})
    assert fhir(anonymous, 401)["issue"][0]["code"] == "login"
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/fhir/Device/1", headers={"Authorization": "Bearer lyfta_x_y"})
    fhir(wrong, 401)
    catalogue_only = Api(
        client, register(sigge, county.unit_a, scopes=[ApiScope.CATALOGUE_READ]).token
    )
    fhir(catalogue_only.get(f"/fhir/DeviceDefinition/{shop.lift.pk}"))
    refused = catalogue_only.get("/fhir/DeviceAssociation", {"patient": str(shop.patient.pk)})
    assert fhir(refused, 403)["issue"][0]["code"] == "forbidden"
    scope = AuditEvent.objects.get(action=Action.ACCESS_DENIED, detail__reason="scope")
    assert scope.detail["scope"] == ApiScope.HOLDINGS_READ


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/fhir/DeviceAssociation", {}),
        ("/fhir/DeviceAssociation", {"patient": "Patient/abc"}),
        ("/fhir/DeviceAssociation", {"patient": "Patient/99999999999999999999"}),
        ("/fhir/DeviceAssociation", {"patient": "1", "device": "1"}),
        ("/fhir/DeviceAssociation", {"patient": ""}),
        ("/fhir/DeviceAssociation", {"status": "active", "patient": "1"}),
        ("/fhir/Device", {"identifier": "urn:other|X"}),
        ("/fhir/Device", {"identifier": "x" * 61}),
        ("/fhir/DeviceDefinition", {}),
        ("/fhir/DeviceRequest", {"patient": "Observation/1"}),
        ("/fhir/Patient", {"identifier": PATIENT_NUMBER}),
    ],
)
def test_bad_search_parameters_are_400_operation_outcomes(
    api: Api, shop: Shop, path: str, params: dict[str, str]
) -> None:
    assert fhir(api.get(path, params), 400)["issue"][0]["code"] == "invalid"


def test_bad_input_is_never_a_server_error(api: Api, shop: Shop) -> None:
    fhir(api.get("/fhir/Device/abc"), 404)
    fhir(api.get("/fhir/Patient/99999999999999999999"), 404)
    fhir(api.get("/fhir/Nothing"), 404)
    fhir(api.get("/fhir/metadata", {"_format": "xml"}), 406)
    fhir(search(api, "Patient", {"identifier": "12345"}), 400)  # not a valid number
    fhir(search(api, "Patient", {"identifier": "urn:other|" + PATIENT_NUMBER}), 400)
    fhir(api.post("/fhir/Patient/_search", {"identifier": PATIENT_NUMBER}), 400)  # JSON body
    fhir(api.post(f"/fhir/Device/{shop.lift.pk}", {}), 405)
    nul = api.get("/fhir/Device", {"identifier": "a\x00b"})
    assert nul.status_code == 400
    assert nul["Content-Type"].startswith(FHIR_JSON)


def test_json_format_is_accepted(api: Api, shop: Shop) -> None:
    for value in ("json", "application/fhir+json", "application/json"):
        fhir(api.get(f"/fhir/DeviceDefinition/{shop.lift.pk}", {"_format": value}))


def test_metadata_is_a_capability_statement_of_what_is_offered(client: Client) -> None:
    statement = fhir(client.get("/fhir/metadata"))
    assert (statement["fhirVersion"], statement["format"], statement["kind"]) == (
        "5.0.0",
        ["json"],
        "instance",
    )
    offered = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(offered) == {
        "Device",
        "DeviceDefinition",
        "DeviceRequest",
        "DeviceDispense",
        "DeviceAssociation",
        "Patient",
    }
    params = {p["name"] for p in offered["DeviceAssociation"]["searchParam"]}
    assert params == {"patient", "subject", "patient.identifier", "device"}


def test_the_audit_event_export_stays_the_log_reviewers_and_says_where(
    api: Api, machine: Registered, client: Client
) -> None:
    fhir(client.get("/fhir/AuditEvent"), 401)
    answer = fhir(api.get("/fhir/AuditEvent"), 403)
    assert "/loggranskning/sok/fhir/" in answer["issue"][0]["diagnostics"]
    refused = AuditEvent.objects.get(
        action=Action.ACCESS_DENIED, detail__reason="audit_export_is_the_log_reviewers"
    )
    assert refused.actor_id == machine.client.user_id


def test_a_loan_registered_in_error_and_an_ended_loan(shop: Shop, county: County) -> None:
    today = dt.date(2026, 3, 2)
    loan = Loan(
        pk=7,
        patient=shop.patient,
        article=shop.grips,
        quantity=3,
        unit=county.unit_a,
        payer=county.unit_a,
        billing_type="rent",
        started_on=today,
        ended_on=today + dt.timedelta(days=9),
        end_reason=Loan.End.RETURNED,
    )
    ended = validate(resources.device_association(loan))
    assert ended.period.end.isoformat() == "2026-03-11"
    loan.end_reason = Loan.End.CANCELLED
    wrong = resources.device_association(loan)
    validate(wrong)
    assert wrong["status"]["coding"][0]["code"] == "entered-in-error"


def test_the_holdings_search_takes_the_same_queries_for_one_loan_and_many(
    api: Api, shop: Shop, machine: Registered
) -> None:
    """No query per loan (the national bench's p95 ≤ 50 ms): the loans and what each resource
    names come from one select_related read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    unit = machine.client.assignment.unit
    items = list(Item.objects.filter(article__in=[shop.lift, shop.bed]).order_by("pk"))
    today = timezone.localdate()

    def lend(item: Item) -> None:
        Item.objects.filter(pk=item.pk).update(status="on_loan", holder=shop.patient, location=None)
        Loan.unscoped.create(
            patient=shop.patient, article=item.article, item=item, unit=unit, payer=unit,
            billing_type="rent", started_on=today,
        )  # fmt: skip

    def counted() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            bundle = fhir(api.get("/fhir/DeviceAssociation", {"patient": str(shop.patient.pk)}))
        return bundle["total"], len(queries)

    lend(items[0])
    counted()  # the first call of the hour also marks the client as used (R7)
    one, few = counted()
    for item in items[1:]:
        lend(item)
    many, more = counted()
    assert (one, many) == (1, len(items))
    assert len(items) >= 4
    assert more == few, (few, more)


def test_the_api_rate_limit_counts_fhir_calls_too(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    limited = Api(client, register(sigge, county.unit_a, name="Snål", rate_limit=2).token)
    assert limited.get("/api/v1/articles").status_code == 200
    fhir(limited.get(f"/fhir/DeviceDefinition/{shop.lift.pk}"))
    refused = limited.get(f"/fhir/DeviceDefinition/{shop.lift.pk}")
    assert fhir(refused, 429)["issue"][0]["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    assert AuditEvent.objects.filter(action=Action.API_CLIENT_RATE_LIMITED).count() == 1


def test_a_revoked_client_is_refused_at_once_and_recorded(
    api: Api, shop: Shop, sigge: Persona, machine: Registered
) -> None:
    from lyfta.accounts.api_clients import api_client_revoke

    fhir(api.get(f"/fhir/Patient/{shop.patient.pk}"))
    api_client_revoke(actor=sigge.actor, client=machine.client, reason="Avtalet upphört")
    fhir(api.get(f"/fhir/Patient/{shop.patient.pk}"), 401)
    refused = AuditEvent.objects.get(action=Action.API_CLIENT_REFUSED)
    assert refused.detail["reason"] == "revoked"
