"""The access crawl of the API (R93; issue 18 point 5): the session crawl
(lyfta/core/tests/test_r93_access_crawl.py) excludes the API, which takes tokens only. Here a
machine client in each unit of the scenario calls every GET operation of the OpenAPI document
with every id of the scenario, and each answer is held to the legal routes, worked out from the
scenario's facts (never by the code under test):

- a patient's holdings open exactly for a client whose unit has a care relationship in force with
  the patient, never a protected patient (no client is named staff), and show only the loans of
  the client's own provider (other providers' need consent or emergency, R39);
- an order or pick-up opens for its own unit, and every order for the centre (on the case);
- a work order or a deviation opens for its own unit only (no client is a technician or the
  quality role), never one of a protected patient; a billing run for no care or centre client
  (the economy role's scope is not theirs: 403);
- no answer names (by `patient_id`) a patient the client has no route to;
- every refusal is the same 404 as a missing id, and is recorded.

No answer is a server error, whatever the id."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.roles import Role
from lyfta.accounts.api_clients import Registered
from lyfta.api.main import api as ninja_api
from lyfta.api.tests.conftest import Api, register
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, Outcome
from lyfta.inventory.models import Item
from lyfta.orders.models import Loan, Order, PickupOrder
from lyfta.orders.tests.conftest import Shop
from lyfta.organisations.models import Unit
from lyfta.patients.models import CareRelationship, Patient
from lyfta.quality.models import Deviation
from lyfta.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Who:
    """A client and the facts its routes follow from."""

    name: str
    unit: Unit
    centre: bool  # holds orders.handle: every order, on the case


@dataclass
class World:
    patients: dict[str, Patient]
    related: dict[int, set[int]]  # unit id -> patients with a relationship in force
    protected: set[int]
    loans: list[Loan]
    orders: list[Order]
    pickups: list[PickupOrder]
    work_orders: list[WorkOrder]
    deviations: list[Deviation]


def _world(county: County, shop: Shop, alice: Persona, charlie: Persona) -> World:
    today = timezone.localdate()
    protected = Patient.objects.create(
        identifier="196001019804",
        id_kind="personnummer",
        first_name="Skyddad",
        last_name="Person",
        protection=Patient.Protection.PROTECTED_REGISTRATION,
    )
    shared = Patient.objects.create(
        identifier="197001019803", id_kind="personnummer", first_name="Delad", last_name="Vård"
    )
    nobody = Patient.objects.create(
        identifier="198001019802", id_kind="personnummer", first_name="Ingen", last_name="Alls"
    )
    for unit, patient in (
        (county.unit_a, protected),
        (county.unit_a, shared),
        (county.unit_b, shared),
    ):
        CareRelationship.objects.create(
            unit=unit, patient=patient, origin="order", valid_from=today
        )
    items = list(Item.objects.filter(article=shop.bed).order_by("pk"))
    loans = []
    for item, unit in zip(items, (county.unit_a, county.unit_b), strict=True):
        Item.objects.filter(pk=item.pk).update(status="on_loan", holder=shared, location=None)
        loans.append(
            Loan.unscoped.create(
                patient=shared,
                article=shop.bed,
                item=item,
                unit=unit,
                payer=unit,
                billing_type="rent",
                started_on=today,
            )
        )
    orders, pickups = [], []
    for n, (persona, unit, patient) in enumerate(
        (
            (alice, county.unit_a, shop.patient),
            (alice, county.unit_a, protected),
            (charlie, county.unit_b, shop.region_patient),
        )
    ):
        orders.append(
            Order.unscoped.create(
                number=f"KO-API-{n}",
                patient=patient,
                unit=unit,
                payer=unit,
                orderer=persona.user,
                delivery=Order.Delivery.PATIENT,
                status=Order.Status.REGISTERED,
                registered_at=timezone.now(),
                expected_on=today,
            )
        )
        pickups.append(
            PickupOrder.unscoped.create(
                number=f"HO-API-{n}",
                patient=patient,
                unit=unit,
                registered_by=persona.user,
                registered_at=timezone.now(),
                rent_stop_on=today,
                collect_by=today + dt.timedelta(days=7),
                status=PickupOrder.Status.REGISTERED,
            )
        )
    work_orders, deviations = [], []
    for n, (persona, unit, patient) in enumerate(
        (
            (alice, county.unit_a, shop.patient),
            (alice, county.unit_a, protected),
            (charlie, county.unit_b, shop.region_patient),
        )
    ):
        work_orders.append(
            WorkOrder.unscoped.create(
                number=f"AO-API-{n}",
                kind=WorkOrder.Kind.REPAIR,
                status=WorkOrder.Status.REGISTERED,
                origin=WorkOrder.Origin.PRESCRIBER,
                place=WorkOrder.Place.HOME,
                article=shop.lift,
                patient=patient,
                unit=unit,
                requested_by=persona.user,
                description="Lyften går inte att sänka.",
                registered_at=timezone.now(),
                start_due=today,
                done_due=today + dt.timedelta(days=5),
            )
        )
        deviations.append(
            Deviation.unscoped.create(
                number=f"AVV-API-{n}",
                kind=Deviation.Kind.NEAR_MISS,
                source=Deviation.Source.HOLDINGS,
                occurred_on=today,
                description="Bromsen tar dåligt.",
                article=shop.lift,
                patient=patient,
                unit=unit,
                reported_by=persona.user,
                reported_at=timezone.now(),
            )
        )
    related: dict[int, set[int]] = {}
    for rel in CareRelationship.objects.all():
        related.setdefault(rel.unit_id, set()).add(rel.patient_id)
    patients = {
        "a": shop.patient,
        "a_other": shop.other,
        "b": shop.region_patient,
        "protected": protected,
        "shared": shared,
        "nobody": nobody,
    }
    return World(patients, related, {protected.pk}, loans, orders, pickups, work_orders, deviations)


def holdings_open(w: World, who: Who, patient_id: int) -> bool:
    return patient_id in w.related.get(who.unit.pk, set()) and patient_id not in w.protected


def order_open(who: Who, order: Order | PickupOrder, *, pickup: bool) -> bool:
    if who.centre:
        return True
    patient = order.patient
    # A protected patient's rows are for the named staff only (R54): no client is named.
    return order.unit_id == who.unit.pk and patient is not None and patient.protection == ""


def unit_own(who: Who, row: WorkOrder | Deviation) -> bool:
    """A work order or deviation: its own unit's, never a protected patient's (R54)."""
    patient = row.patient
    return row.unit_id == who.unit.pk and (patient is None or patient.protection == "")


def _ids(value: Any, key: str = "patient_id") -> set[int]:
    found: set[int] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, int):
                found.add(v)
            found |= _ids(v, key)
    elif isinstance(value, list):
        for v in value:
            found |= _ids(v, key)
    return found


def _get_paths() -> list[str]:
    schema = ninja_api.get_openapi_schema(path_prefix="/api/v1")
    return sorted(path for path, ops in schema["paths"].items() if "get" in ops)


def test_r93_api_answers_only_on_a_legal_route(
    client: Client,
    county: County,
    sigge: Persona,
    alice: Persona,
    charlie: Persona,
    shop: Shop,
) -> None:
    w = _world(county, shop, alice, charlie)
    clients: list[tuple[Who, Registered]] = [
        (Who("unit A", county.unit_a, False), register(sigge, county.unit_a, name="A")),
        (Who("unit A2", county.unit_a2, False), register(sigge, county.unit_a2, name="A2")),
        (Who("unit B", county.unit_b, False), register(sigge, county.unit_b, name="B")),
        (
            Who("centre", county.centre, True),
            register(sigge, county.centre, name="HMC", role=Role.LOGISTICS),
        ),
    ]
    ids = {
        "article_id": [shop.lift.pk, shop.cushion.pk, 999_999],
        "patient_id": [p.pk for p in w.patients.values()] + [999_999],
        "order_id": [o.pk for o in w.orders] + [999_999],
        "pickup_id": [p.pk for p in w.pickups] + [999_999],
        "workorder_id": [o.pk for o in w.work_orders] + [999_999],
        "deviation_id": [d.pk for d in w.deviations] + [999_999],
        "run_id": [1, 999_999],
    }
    paths = _get_paths()
    assert len(paths) >= 10, paths
    shown_holdings = shown_desks = 0
    for who, registered in clients:
        api = Api(client, registered.token)
        may_know = set(w.related.get(who.unit.pk, set())) - w.protected
        rows: list[Order | PickupOrder] = [*w.orders, *w.pickups]
        may_know |= {
            o.patient_id
            for o in rows
            if o.patient_id is not None and order_open(who, o, pickup=False)
        }
        desks: list[WorkOrder | Deviation] = [*w.work_orders, *w.deviations]
        may_know |= {r.patient_id for r in desks if r.patient_id and unit_own(who, r)}
        for template in paths:
            names = re.findall(r"{(\w+)}", template)
            values: list[int | None] = list(ids[names[0]]) if names else [None]
            for value in values:
                url = template.replace(f"{{{names[0]}}}", str(value)) if names else template
                before = AuditEvent.objects.filter(outcome=Outcome.DENIED).count()
                response = api.get(url)
                where = f"{who.name} GET {url}"
                assert response.status_code < 500, where
                expected: bool | None = None
                if names == ["patient_id"]:
                    expected = holdings_open(w, who, int(value or 0))
                elif names == ["order_id"]:
                    order = next((o for o in w.orders if o.pk == value), None)
                    expected = order is not None and order_open(who, order, pickup=False)
                elif names == ["pickup_id"]:
                    found = next((p for p in w.pickups if p.pk == value), None)
                    expected = found is not None and order_open(who, found, pickup=True)
                elif names == ["workorder_id"]:
                    work = next((o for o in w.work_orders if o.pk == value), None)
                    expected = work is not None and unit_own(who, work)
                    shown_desks += expected
                elif names == ["deviation_id"]:
                    deviation = next((d for d in w.deviations if d.pk == value), None)
                    expected = deviation is not None and unit_own(who, deviation)
                    shown_desks += expected
                if template.startswith("/api/v1/billing/"):
                    # No care or centre client holds the economy role's scope.
                    assert response.status_code == 403, where
                if expected is not None:
                    assert response.status_code == (200 if expected else 404), (
                        where,
                        response.status_code,
                    )
                    if not expected and value != 999_999:
                        # The refusal of an existing row is recorded (R38).
                        after = AuditEvent.objects.filter(outcome=Outcome.DENIED).count()
                        assert after > before, where
                if response.status_code == 200:
                    body = response.json()
                    assert _ids(body) <= may_know, (where, _ids(body) - may_know)
                    if names == ["patient_id"]:
                        shown_holdings += 1
                        loans = {row["id"] for row in body["active"] + body["past"]}
                        visible = {
                            loan.pk
                            for loan in w.loans
                            if loan.patient_id == int(value or 0)
                            and loan.unit.provider_id == who.unit.provider_id
                        }
                        assert loans == visible, where
                        assert body["hidden"] == len(
                            [
                                loan
                                for loan in w.loans
                                if loan.patient_id == int(value or 0)
                                and loan.unit.provider_id != who.unit.provider_id
                            ]
                        )
    # The crawl reached patients, not only refusals: A and B each see the shared patient.
    assert shown_holdings >= 4
    # Unit A and unit B each open their own (unprotected) work order and deviation.
    assert shown_desks == 4
    assert AuditEvent.objects.filter(action=Action.HOLDINGS_VIEWED).count() == shown_holdings


# --- FHIR R5 (issue 18 point 2): the same clients, the same oracle ------------------------------


def _references(value: Any, kind: str) -> set[int]:
    """The ids of every `<kind>/<id>` reference in a FHIR answer."""
    found: set[int] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str) and v.startswith(f"{kind}/"):
                found.add(int(v.split("/", 1)[1]))
            found |= _references(v, kind)
    elif isinstance(value, list):
        for v in value:
            found |= _references(v, kind)
    return found


def test_r93_fhir_answers_only_on_a_legal_route(
    client: Client,
    county: County,
    sigge: Persona,
    alice: Persona,
    charlie: Persona,
    shop: Shop,
) -> None:
    w = _world(county, shop, alice, charlie)
    clients: list[tuple[Who, Registered]] = [
        (Who("unit A", county.unit_a, False), register(sigge, county.unit_a, name="A")),
        (Who("unit A2", county.unit_a2, False), register(sigge, county.unit_a2, name="A2")),
        (Who("unit B", county.unit_b, False), register(sigge, county.unit_b, name="B")),
        (
            Who("centre", county.centre, True),
            register(sigge, county.centre, name="HMC", role=Role.LOGISTICS),
        ),
    ]
    patient_ids = [p.pk for p in w.patients.values()] + [999_999]
    item_ids = [loan.item_id for loan in w.loans if loan.item_id] + [999_999]
    shown = 0
    for who, registered in clients:
        api = Api(client, registered.token)
        centre_care = who.centre  # logistics: no patient through a care relationship

        def own_loan(loan: Loan, who: Who = who, centre_care: bool = centre_care) -> bool:
            return (
                not centre_care
                and holdings_open(w, who, loan.patient_id)
                and loan.unit.provider_id == who.unit.provider_id
            )

        for patient_id in patient_ids:
            opens = not centre_care and holdings_open(w, who, patient_id)
            for url in (
                f"/fhir/DeviceAssociation?patient=Patient/{patient_id}",
                f"/fhir/Patient/{patient_id}",
                f"/fhir/DeviceRequest?patient={patient_id}",
                f"/fhir/DeviceDispense?subject=Patient/{patient_id}",
            ):
                before = AuditEvent.objects.filter(outcome=Outcome.DENIED).count()
                response = api.get(url)
                where = f"{who.name} GET {url}"
                assert response.status_code == (200 if opens else 404), (where, response.content)
                if not opens and patient_id != 999_999:
                    assert AuditEvent.objects.filter(outcome=Outcome.DENIED).count() > before
                if response.status_code == 200:
                    body = response.json()
                    assert _references(body, "Patient") <= {patient_id}, where
                    if url.startswith("/fhir/DeviceAssociation"):
                        shown += 1
                        visible = {
                            loan.pk for loan in w.loans
                            if loan.patient_id == patient_id and own_loan(loan)
                        }  # fmt: skip
                        got = {int(e["resource"]["id"]) for e in body.get("entry", [])}
                        assert got == visible, where
        for item_id in item_ids:
            loans = [loan for loan in w.loans if loan.item_id == item_id]
            device_open = bool(loans) and (who.centre or any(own_loan(loan) for loan in loans))
            for url in (f"/fhir/Device/{item_id}", f"/fhir/DeviceAssociation?device={item_id}"):
                response = api.get(url)
                where = f"{who.name} GET {url}"
                assert response.status_code == (200 if device_open else 404), where
                if response.status_code == 200 and "DeviceAssociation" in url:
                    body = response.json()
                    got = {int(e["resource"]["id"]) for e in body.get("entry", [])}
                    assert got == {loan.pk for loan in loans if own_loan(loan)}, where
                    patients = {loan.patient_id for loan in loans if own_loan(loan)}
                    assert _references(body, "Patient") <= patients, where
    # The crawl reached patients, not only refusals: A and B each see the shared patient.
    assert shown >= 4
