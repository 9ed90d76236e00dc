"""The holdings page and the pick list cost a constant number of queries, however many loans a
patient has or orders a day has (no N+1; issue "Scale and faults" item 4)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.inventory.services import goods_receive
from lyfta.orders import selectors, services
from lyfta.orders.models import Order, OrderLine
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db


def lend(shop: Shop, alice: Persona, logan: Persona, patient: Patient, beds: int) -> None:
    goods_receive(actor=logan.actor, location=shop.central, article=shop.bed, quantity=beds)
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, patient),
        lines=[LineInput(shop.bed, beds), LineInput(shop.cushion, 1)],
        delivery=DeliveryInput(),
        over_limit_reason="Mätning av sidans kostnad",  # many beds on purpose (issue 16)
    )
    for line in order.lines.all():
        services.line_pick(actor=logan.actor, line=line)
    services.order_deliver(actor=logan.actor, order=order)


def holdings_queries(client: Client, patient: Patient) -> int:
    url = reverse("orders:holdings", args=[patient.pk])
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_holdings_page_costs_the_same_for_2_or_25_loans(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    lend(shop, alice, logan, shop.patient, 1)
    lend(shop, alice, logan, shop.other, 24)
    signed_in(client, alice)
    few = holdings_queries(client, shop.patient)
    many = holdings_queries(client, shop.other)
    assert few == many, (few, many)


def picklist_queries(logan: Persona) -> int:
    with CaptureQueriesContext(connection) as queries:
        stops = selectors.picklist(actor=logan.actor, day=timezone.localdate().replace(year=2100))
    assert stops
    return len(queries)


def test_the_pick_list_costs_the_same_for_1_or_12_orders(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    goods_receive(actor=logan.actor, location=shop.central, article=shop.bed, quantity=12)
    patients = [shop.patient]
    for n in range(11):
        p = Patient.objects.create(
            identifier=f"1960010{n:02d}",
            id_kind="reservnummer",
            first_name="P",
            last_name=str(n),
            street="Gata 1",
            postal_code="65225",
            city="Karlstad",
        )
        CareRelationship.objects.create(
            unit=alice.assignment.unit, patient=p, origin="order", valid_from=timezone.localdate()
        )
        patients.append(p)

    def order_for(patient: Patient) -> None:
        services.order_place(
            actor=alice.actor,
            grant=grant(alice, patient),
            lines=[LineInput(shop.bed), LineInput(shop.cushion)],
            delivery=DeliveryInput(),
        )

    order_for(patients[0])
    one = picklist_queries(logan)
    for patient in patients[1:]:
        order_for(patient)
    twelve = picklist_queries(logan)
    assert one == twelve, (one, twelve)


def test_placing_an_order_reads_each_thing_once(client: Client, shop: Shop, alice: Persona) -> None:
    """Order create (issue 19): the number series is advanced in one statement, a tracked line's
    stock is not counted before the reservation takes an item nor sorted whole to choose one, the
    reserved item and the written
    lines are not read back for the audit event, and the unit's care relationship, which the access
    decision has just read, is not read again."""
    signed_in(client, alice)
    cart = reverse("orders:cart_add", args=[shop.patient.pk])
    place = reverse("orders:order_new", args=[shop.patient.pk])
    client.post(cart, {"article": shop.bed.pk, "quantity": 1})
    client.post(place, {"delivery": "patient", "over_limit_reason": "Byte"})  # the year's series
    client.post(cart, {"article": shop.bed.pk, "quantity": 1})
    with CaptureQueriesContext(connection) as queries:
        response = client.post(place, {"delivery": "patient", "over_limit_reason": "Byte"})
    assert response.status_code == 302
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("inventory_counter" in s for s in sql) == 1, sql
    assert not any("COUNT(" in s and "inventory_item" in s for s in sql), sql
    item_reads = [s for s in sql if s.startswith("SELECT") and 'FROM "inventory_item"' in s]
    # Those reserved for her (from the reservations), then the first free in pick order, read
    # down its index: never every free item sorted to put hers first (21 ms at national size).
    assert len(item_reads) == 2, item_reads
    assert not any("ORDER BY EXISTS" in s for s in item_reads), item_reads
    assert not any(s.startswith('SELECT "orders_orderline"."id"') for s in sql), sql
    # The unit's care relationship was read by the access decision: not read again.
    assert not any(s.startswith('SELECT "patients_carerelationship"') for s in sql), sql
    assert not any(s.startswith("SELECT") and 'FROM "catalogue_isoclass"' in s for s in sql), sql
    savepoints = [s for s in sql if s.startswith("SAVEPOINT")]
    assert len(savepoints) == 2, savepoints  # the order's transaction and the session's save
    numbers = list(Order.unscoped.order_by("pk").values_list("number", flat=True))
    assert len(numbers) == 2 and numbers[1][-6:] == f"{int(numbers[0][-6:]) + 1:06d}", numbers
    lines = list(OrderLine.unscoped.filter(order__number=numbers[1]))
    assert [(line.status, line.item is not None) for line in lines] == [("reserved", True)]
