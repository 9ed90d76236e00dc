"""Issue 18's first "done when": a registered machine client reads the catalogue, places an order
for a patient its unit has a care relationship with (by the order page's service and rules), is
refused for one it has not — the same 404 as a number Lyfta does not know, and recorded — and
reads the holdings; every read and write of patient data is recorded with the client's
identity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import County, Persona
from lyfta.accounts.api_clients import Registered
from lyfta.api.tests.conftest import Api
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, Outcome
from lyfta.inventory.models import Item
from lyfta.orders import services
from lyfta.orders.models import Loan, Order, OrderLine
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = pytest.mark.django_db

PATIENT_NUMBER = "194001019803"  # shop.patient: a care relationship with unit A
REGION_NUMBER = "194502029814"  # shop.region_patient: unit B's only
UNKNOWN_NUMBER = "191212121212"  # a valid personnummer no patient has


def _order_body(shop: Shop, number: str = PATIENT_NUMBER, **extra: object) -> dict[str, object]:
    return {
        "identifier": number,
        "lines": [{"article_id": shop.bed.pk, "quantity": 1}],
        "delivery": {"kind": "patient", "contact_phone": "070-123 45 67"},
        "prescription": {"goal": "Kunna sova tryggt"},
        **extra,
    }


def _events(action: str, **filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def test_the_client_reads_the_catalogue(api: Api, shop: Shop) -> None:
    response = api.get("/api/v1/articles", {"limit": 100})
    assert response.status_code == 200
    numbers = {row["article_number"] for row in response.json()["items"]}
    assert numbers == {"100001", "100002", "100003", "100004", "200001", "200002"}
    lift = api.get(f"/api/v1/articles/{shop.lift.pk}").json()
    assert (lift["name"], lift["iso_code"], lift["monthly_rent"]) == (
        "Taklyft Orbit",
        "12 36 12",
        "250.00",
    )
    classes = {
        row["code"] for row in api.get("/api/v1/iso-classes", {"limit": 100}).json()["items"]
    }
    assert {"12", "12 36", "12 36 12", "18 12 07"} <= classes
    assert [s["name"] for s in api.get("/api/v1/suppliers").json()["items"]] == ["Lyftab AB"]
    # Two lifts received into the central warehouse, none reserved: two free.
    stock = api.get(f"/api/v1/articles/{shop.lift.pk}/availability").json()
    assert stock["available"] == 2


def test_the_client_places_an_order_by_the_order_pages_service(
    api: Api, shop: Shop, machine: Registered, county: County
) -> None:
    response = api.post("/api/v1/orders", _order_body(shop))
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.unscoped.get(pk=body["id"])
    # The order page's rules: the unit orders, the client's service account is the orderer,
    # stock is reserved, the delivery goes to the patient's address.
    assert (order.unit, order.orderer, order.patient) == (
        county.unit_a,
        machine.client.user,
        shop.patient,
    )
    assert order.street == "Storgatan 1"
    assert [line["status"] for line in body["lines"]] == [OrderLine.Status.RESERVED]
    assert response["Location"] == f"/api/v1/orders/{order.pk}"
    assert response["ETag"].startswith('"')
    # Recorded as the client: its account, its assignment, from the API.
    placed = _events(Action.ORDER_PLACED)
    assert len(placed) == 1
    event = placed[0]
    assert (event.actor_id, event.assignment_id, event.patient_id) == (
        machine.client.user_id,
        machine.client.assignment_id,
        shop.patient.pk,
    )
    assert event.actor_username == "api-treserva-testkoping"
    assert event.source_system == "lyfta-api"
    assert event.legal_basis == "relationship"
    # The lookup of the number is recorded as a search that found the patient (R57).
    listed = _events(Action.PATIENT_LISTED, patient_id=shop.patient.pk)
    assert [e.actor_id for e in listed] == [machine.client.user_id]


def test_an_order_over_the_iso_limit_needs_a_reason(api: Api, shop: Shop, settings: object) -> None:
    body = _order_body(shop)
    body["lines"] = [{"article_id": shop.bed.pk, "quantity": 1}] * 3
    refused = api.post("/api/v1/orders", body)
    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:lyfta:problem:over-iso-limit"
    assert problem["over_limit"] == [
        {"iso_class": "18 12 07", "name": "Vårdsängar", "held": 0, "ordered": 3}
    ]
    assert not Order.unscoped.exists()
    body["over_limit_reason"] = "Sängar i tre hem"
    assert api.post("/api/v1/orders", body).status_code == 201


def test_a_patient_without_a_relationship_is_refused_as_if_missing_and_recorded(
    api: Api, shop: Shop, machine: Registered
) -> None:
    other = api.post("/api/v1/orders", _order_body(shop, REGION_NUMBER))
    unknown = api.post("/api/v1/orders", _order_body(shop, UNKNOWN_NUMBER))
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"] == unknown.json()["detail"]
    assert other["Content-Type"] == unknown["Content-Type"] == "application/problem+json"
    assert not Order.unscoped.exists()
    denied = _events(Action.PATIENT_ACCESS_DENIED)
    assert len(denied) == 1
    assert (denied[0].patient_id, denied[0].actor_id, denied[0].outcome) == (
        shop.region_patient.pk,
        machine.client.user_id,
        Outcome.DENIED,
    )
    assert denied[0].detail["reason"] == "no_relationship"
    missing = _events(Action.PATIENT_SEARCH_OUTSIDE, actor_id=machine.client.user_id)
    assert [e.detail["exists"] for e in missing] == [False]
    # The holdings by id: the same 404, recorded with the patient.
    response = api.get(f"/api/v1/patients/{shop.region_patient.pk}/holdings")
    assert response.status_code == 404
    assert len(_events(Action.PATIENT_ACCESS_DENIED)) == 2


def test_the_client_reads_the_holdings(api: Api, shop: Shop, machine: Registered) -> None:
    lift = Item.objects.filter(article=shop.lift).order_by("pk").first()
    assert lift is not None
    today = timezone.localdate()
    Loan.unscoped.create(
        patient=shop.patient,
        article=shop.lift,
        item=lift,
        unit=machine.client.assignment.unit,
        payer=machine.client.assignment.unit,
        billing_type="rent",
        started_on=today - dt.timedelta(days=30),
    )
    found = api.post("/api/v1/patients/lookup", {"identifier": "19400101-9803"})
    assert found.status_code == 200
    assert found.json() == {"id": shop.patient.pk, "legal_basis": "relationship"}
    response = api.get(f"/api/v1/patients/{shop.patient.pk}/holdings")
    assert response.status_code == 200
    holdings = response.json()
    assert [(loan["article_number"], loan["individual_number"]) for loan in holdings["active"]] == [
        ("100001", lift.individual_number)
    ]
    assert (holdings["hidden"], holdings["blocked"], holdings["past"]) == (0, False, [])
    viewed = _events(Action.HOLDINGS_VIEWED)
    assert [(e.patient_id, e.actor_id, e.source_system) for e in viewed] == [
        (shop.patient.pk, machine.client.user_id, "lyfta-api")
    ]
    # Neither the number nor the name goes into any event's text (R60).
    # (The whole number in each form: its last four digits alone also occur by chance in an
    # event's time, as an approved API client's request records it.)
    for event in AuditEvent.objects.all():
        text = f"{event.detail}{event.changes}{event.resource_id}"
        assert not any(n in text for n in ("19400101-9803", "194001019803", "400101-9803"))
        assert shop.patient.last_name not in text


def test_cancelling_needs_the_etag_the_client_read(api: Api, shop: Shop) -> None:
    created = api.post("/api/v1/orders", _order_body(shop))
    url = f"/api/v1/orders/{created.json()['id']}"
    read = api.get(url)
    assert read.status_code == 200
    etag = read["ETag"]
    assert etag == created["ETag"]
    reason = {"reason": "Fel artikel"}
    assert api.post(f"{url}/cancel", reason).status_code == 428
    assert api.post(f"{url}/cancel", reason, headers={"If-Match": '"stale"'}).status_code == 412
    assert api.post(f"{url}/cancel", reason, headers={"If-Match": f"W/{etag}"}).status_code == 412
    assert Order.unscoped.get().status == Order.Status.REGISTERED
    cancelled = api.post(f"{url}/cancel", reason, headers={"If-Match": etag})
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == Order.Status.CANCELLED
    assert cancelled["ETag"] != etag
    # The old ETag no longer names the order: a second cancel with it is refused.
    assert api.post(f"{url}/cancel", reason, headers={"If-Match": etag}).status_code == 412
    assert len(_events(Action.ORDER_CANCELLED)) == 1


def test_the_clients_orders_and_another_units_order(api: Api, shop: Shop, charlie: Persona) -> None:
    mine = api.post("/api/v1/orders", _order_body(shop)).json()
    theirs = services.order_place(
        actor=charlie.actor,
        grant=grant(charlie, shop.region_patient),
        lines=[services.LineInput(shop.cushion, 1)],
        delivery=services.DeliveryInput(),
    )
    listed = api.get("/api/v1/orders").json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]]
    refused = api.get(f"/api/v1/orders/{theirs.pk}")
    assert refused.status_code == 404
    denied = _events(Action.ACCESS_DENIED, resource_type="orders.order")
    assert [e.resource_id for e in denied] == [str(theirs.pk)]


def test_a_pickup_is_ordered_and_read(api: Api, shop: Shop, machine: Registered) -> None:
    lift = Item.objects.filter(article=shop.lift).order_by("pk").first()
    assert lift is not None
    loan = Loan.unscoped.create(
        patient=shop.patient,
        article=shop.lift,
        item=lift,
        unit=machine.client.assignment.unit,
        payer=machine.client.assignment.unit,
        billing_type="rent",
        started_on=timezone.localdate(),
    )
    Item.objects.filter(pk=lift.pk).update(
        status=Item.Status.ON_LOAN, holder=shop.patient, location=None
    )
    created = api.post("/api/v1/pickups", {"identifier": PATIENT_NUMBER, "loan_ids": [loan.pk]})
    assert created.status_code == 201, created.content
    pickup = created.json()
    assert [(line["loan_id"], line["status"]) for line in pickup["lines"]] == [(loan.pk, "waiting")]
    again = api.get(f"/api/v1/pickups/{pickup['id']}")
    assert again.status_code == 200 and again.json() == pickup
    assert [p["id"] for p in api.get("/api/v1/pickups").json()["items"]] == [pickup["id"]]
    assert len(_events(Action.PICKUP_REGISTERED, actor_id=machine.client.user_id)) == 1
    assert len(_events(Action.PICKUP_VIEWED, actor_id=machine.client.user_id)) == 1
    # A loan that is not the patient's (or not one to collect) is refused by name.
    bad = api.post("/api/v1/pickups", {"identifier": PATIENT_NUMBER, "loan_ids": [loan.pk]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "loan_ids"]


def test_the_client_reads_its_own_messages(
    api: Api, shop: Shop, machine: Registered, logan: Persona, lena: Persona
) -> None:
    created = api.post("/api/v1/orders", _order_body(shop)).json()
    line = OrderLine.unscoped.get(pk=created["lines"][0]["id"])
    # The centre cancels the line: the orderer, the client's account, is told.
    services.order_line_cancel(actor=logan.actor, line=line, reason="Utgått ur sortimentet")
    inbox = api.get("/api/v1/messages").json()["items"]
    assert [m["subject"] for m in inbox] == [f"Orderrad makulerad: {created['number']}"]
    assert inbox[0]["read_at"] is None
    read = api.post(f"/api/v1/messages/{inbox[0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    # Someone else's message is missing to the client.
    from lyfta.messages.models import Message

    hers = Message.objects.create(
        recipient=lena.user, kind="notice", subject="Till Lena", created_at=timezone.now()
    )
    assert api.post(f"/api/v1/messages/{hers.pk}/read").status_code == 404
    assert Message.objects.get(pk=hers.pk).read_at is None
