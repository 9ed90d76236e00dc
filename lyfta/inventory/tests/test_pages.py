"""The centre's stock pages: stock per location, goods receipt, stock-takes, buffer stores and
refills, the item card and recalls with their CSV export; and the demo seed. Each page: allowed,
forbidden, another object (404); each form: the happy path, bad input (a Swedish message, nothing
written) and the audit event of the write (R35, R57, R87)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.access.actor import Actor
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.inventory import seed
from lyfta.inventory import services as stock
from lyfta.inventory.models import (
    BufferLevel,
    Item,
    StockLevel,
    StockLocation,
    StockMovement,
    StockTake,
)
from lyfta.orders import services
from lyfta.orders.models import Order
from lyfta.orders.selectors import refill_needs
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, article, grant
from lyfta.organisations.models import DeliveryAddress, Unit
from lyfta.organisations.tests.factories import UnitFactory

pytestmark = pytest.mark.django_db

HIDDEN = "Patient (visas inte för dig)"


def events(action: str, **filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def as_logan(client: Client, logan: Persona) -> Client:
    return signed_in(client, logan)


def lend(shop: Shop, alice: Persona, logan: Persona) -> Item:
    """Lend a bed to alice's patient; return the item."""
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.bed)],
        delivery=DeliveryInput(),
    )
    for line in order.lines.all():
        services.line_pick(actor=logan.actor, line=line)
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    assert loan.item is not None
    return loan.item


# --- Stock per location ------------------------------------------------------------------------


def test_the_overview_shows_central_stock_to_those_who_see_stock(
    client: Client, shop: Shop, logan: Persona, tekla: Persona, alice: Persona
) -> None:
    response = signed_in(client, logan).get(reverse("stock:overview"))
    assert response.status_code == 200
    assert response.context["location"] == shop.central
    rows = {a: (n, r, free) for a, n, r, free in response.context["rows"]}
    assert rows[shop.cushion] == (10, 0, 10)
    assert rows[shop.lift] == (2, 0, 2)
    buffer = client.get(reverse("stock:overview"), {"plats": shop.buffer_a.pk})
    assert buffer.context["location"] == shop.buffer_a
    assert signed_in(Client(), tekla).get(reverse("stock:overview")).status_code == 200
    assert signed_in(Client(), alice).get(reverse("stock:overview")).status_code == 403


@pytest.mark.parametrize("plats", ["garbage", "999999", "9" * 40])
def test_an_unknown_location_is_a_400_with_a_message(
    shop: Shop, as_logan: Client, plats: str
) -> None:
    response = as_logan.get(reverse("stock:overview"), {"plats": plats})
    assert response.status_code == 400
    assert "Välj en lagerplats i listan." in page(response)


# --- Goods receipt -----------------------------------------------------------------------------


def test_receiving_serial_numbered_goods_creates_items_and_records_it(
    shop: Shop, logan: Persona, as_logan: Client
) -> None:
    response = as_logan.post(
        reverse("stock:receive"),
        {
            "location": shop.central.pk,
            "article": shop.lift.article_number,
            "serials": "SN-L7\r\n\r\nSN-L8\n",
            "batch": "LOT-9",
            "value": "11500.00",
            "reference": "FS-1001",
        },
    )
    assert response.status_code == 302
    items = Item.objects.filter(serial_number__in=["SN-L7", "SN-L8"])
    assert items.count() == 2
    assert {(i.batch, i.status, i.location_id) for i in items} == {
        ("LOT-9", Item.Status.IN_STOCK, shop.central.pk)
    }
    received = events(Action.STOCK_RECEIVED)[-1]
    assert received.actor_id == logan.user.pk
    assert received.detail["quantity"] == 2
    assert sorted(received.detail["items"]) == sorted(i.individual_number for i in items)


def test_receiving_a_quantity_adds_to_the_stock_level(shop: Shop, as_logan: Client) -> None:
    response = as_logan.post(
        reverse("stock:receive"),
        {"location": shop.buffer_a.pk, "article": shop.grips.article_number, "quantity": "7"},
    )
    assert response.status_code == 302
    assert StockLevel.objects.get(location=shop.buffer_a, article=shop.grips).quantity == 7
    assert events(Action.STOCK_RECEIVED)[-1].detail["quantity"] == 7


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"article": "999999", "quantity": "1"}, "Det finns ingen artikel med nummer 999999."),
        ({"article": "100001", "quantity": "3", "serials": "A\nB"}, "Antalet stämmer inte"),
        ({"article": "100001", "serials": "A\nA"}, "Samma serienummer står flera gånger."),
        ({"article": "100001"}, "Ange serienummer eller ett antal."),
        ({"article": "200001", "serials": "A"}, "Artikeln är inte individmärkt."),
        ({"article": "200001", "quantity": "0"}, "Kontrollera att detta värde är större"),
        ({"article": "200001", "quantity": "abc"}, "Fyll i ett heltal."),
        ({"article": "200001", "quantity": "9" * 5000}, "Fyll i ett heltal."),
        ({"article": "200001", "quantity": "2", "value": "-1"}, "Kontrollera att detta värde"),
        ({"article": "200001", "quantity": "2", "acquired_on": "2199-01-01"}, "framtiden"),
        ({"article": "200001", "quantity": "2", "acquired_on": "2999-01-01"}, "Ange ett datum"),
        ({"article": "200001", "quantity": "2", "location": "recon"}, "Välj centrallagret"),
    ],
)
def test_bad_goods_receipt_input_writes_nothing(
    shop: Shop, as_logan: Client, fields: dict[str, str], message: str
) -> None:
    before = (StockMovement.unscoped.count(), Item.objects.count())
    data = {"location": str(shop.central.pk), **fields}
    if data["location"] == "recon":
        data["location"] = str(shop.recon.pk)
    response = as_logan.post(reverse("stock:receive"), data)
    assert response.status_code == 400
    assert message in page(response)
    assert (StockMovement.unscoped.count(), Item.objects.count()) == before


def test_goods_receipt_is_for_those_who_manage_stock(
    client: Client, shop: Shop, tekla: Persona
) -> None:
    assert signed_in(client, tekla).get(reverse("stock:receive")).status_code == 403
    response = client.post(
        reverse("stock:receive"),
        {"location": shop.central.pk, "article": "200001", "quantity": "1"},
    )
    assert response.status_code == 403
    assert StockLevel.objects.get(location=shop.central, article=shop.cushion).quantity == 10


# --- Stock-takes -------------------------------------------------------------------------------


def test_a_stocktake_books_differences_and_lists_them(
    client: Client, shop: Shop, logan: Persona, tekla: Persona
) -> None:
    as_logan = signed_in(client, logan)
    url = reverse("stock:stocktake", args=[shop.central.pk])
    form_page = as_logan.get(url)
    assert form_page.status_code == 200
    assert shop.cushion.name in page(form_page) and shop.lift.name not in page(form_page)
    lifts = list(Item.objects.filter(article=shop.lift).order_by("pk"))
    beds = Item.objects.filter(article=shop.bed).values_list("individual_number", flat=True)
    seen = [lifts[0].individual_number, *beds, "7777777"]
    response = as_logan.post(
        url,
        {
            f"count_{shop.cushion.pk}": "8",
            f"count_{shop.grips.pk}": "",
            "items_counted": "on",
            "items_seen": "\n".join(seen),
        },
    )
    assert response.status_code == 302
    assert StockLevel.objects.get(location=shop.central, article=shop.cushion).quantity == 8
    take = StockTake.objects.get()
    assert {"article": shop.cushion.article_number, "booked": 10, "counted": 8} in take.differences
    assert {"item": lifts[1].individual_number, "booked": 1, "counted": 0} in take.differences
    assert {"item": "7777777", "booked": 0, "counted": 1} in take.differences
    walker = Item.objects.get(article=shop.walker2).individual_number
    assert {"item": walker, "booked": 1, "counted": 0} in take.differences
    counted = events(Action.STOCK_COUNTED)[-1]
    assert counted.detail == {"location": shop.central.code, "differences": 4}
    listing = signed_in(Client(), tekla).get(reverse("stock:stocktakes"))
    assert listing.status_code == 200
    assert lifts[1].individual_number in page(listing) and "7777777" in page(listing)


@pytest.mark.parametrize(
    ("count", "message"),
    [
        ("-1", "Ett räknat antal kan inte vara negativt."),
        ("x", "Fyll i ett heltal."),
        ("1", "reserverade för ordrar"),
    ],
)
def test_a_bad_count_writes_nothing(
    shop: Shop, alice: Persona, as_logan: Client, count: str, message: str
) -> None:
    services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.cushion, 3)],
        delivery=DeliveryInput(),
    )
    response = as_logan.post(
        reverse("stock:stocktake", args=[shop.central.pk]), {f"count_{shop.cushion.pk}": count}
    )
    assert response.status_code == 400
    assert message in page(response)
    assert not StockTake.objects.exists()
    assert StockLevel.objects.get(location=shop.central, article=shop.cushion).quantity == 10


def test_nothing_counted_is_refused(shop: Shop, as_logan: Client) -> None:
    response = as_logan.post(reverse("stock:stocktake", args=[shop.central.pk]), {})
    assert response.status_code == 400
    assert "Ange minst ett räknat antal" in page(response)


def test_stocktake_of_an_unknown_place_or_by_a_technician(
    client: Client, shop: Shop, logan: Persona, tekla: Persona
) -> None:
    assert (
        signed_in(client, logan).get(reverse("stock:stocktake", args=[999999])).status_code == 404
    )
    as_tekla = signed_in(Client(), tekla)
    assert as_tekla.get(reverse("stock:stocktake", args=[shop.central.pk])).status_code == 403


# --- Buffer stores -----------------------------------------------------------------------------


def test_stores_list_their_refill_needs(
    client: Client, shop: Shop, logan: Persona, tekla: Persona, alice: Persona
) -> None:
    stock.buffer_level_set(
        actor=logan.actor, location=shop.buffer_a, article=shop.grips, safety_level=4
    )
    response = signed_in(client, logan).get(reverse("stock:stores"))
    assert response.status_code == 200
    assert response.context["rows"] == [(shop.buffer_a, 4)]
    detail = client.get(reverse("stock:store", args=[shop.buffer_a.pk]))
    assert detail.status_code == 200 and shop.grips.name in page(detail)
    # The central warehouse is no buffer store.
    assert client.get(reverse("stock:store", args=[shop.central.pk])).status_code == 404
    as_tekla = signed_in(Client(), tekla)
    tekla_page = as_tekla.get(reverse("stock:store", args=[shop.buffer_a.pk]))
    assert tekla_page.status_code == 200
    assert "Lägg påfyllningsorder" not in page(tekla_page)
    assert signed_in(Client(), alice).get(reverse("stock:stores")).status_code == 403


def test_setting_a_safety_level(shop: Shop, logan: Persona, as_logan: Client) -> None:
    url = reverse("stock:store_level", args=[shop.buffer_a.pk])
    response = as_logan.post(url, {"article": shop.bed.article_number, "safety_level": "3"})
    assert response.status_code == 302
    assert BufferLevel.objects.get(location=shop.buffer_a, article=shop.bed).safety_level == 3
    level_set = events(Action.BUFFER_LEVEL_SET)[-1]
    assert level_set.changes == {"safety_level": [None, 3]}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"article": "nope", "safety_level": "3"}, "Det finns ingen artikel med nummer nope."),
        ({"article": "100002", "safety_level": "5000"}, "Kontrollera att detta värde"),
        ({"article": "100002", "safety_level": ""}, "Detta fält måste fyllas i."),
    ],
)
def test_a_bad_safety_level_writes_nothing(
    shop: Shop, as_logan: Client, fields: dict[str, str], message: str
) -> None:
    response = as_logan.post(reverse("stock:store_level", args=[shop.buffer_a.pk]), fields)
    assert response.status_code == 400
    assert message in page(response)
    assert not BufferLevel.objects.exists()


def test_the_refill_button_orders_what_the_store_needs(
    shop: Shop, logan: Persona, as_logan: Client
) -> None:
    url = reverse("stock:store_refill", args=[shop.buffer_a.pk])
    nothing = as_logan.post(url)
    assert nothing.status_code == 400
    assert "Förrådet behöver ingen påfyllning just nu." in page(nothing)
    stock.buffer_level_set(
        actor=logan.actor, location=shop.buffer_a, article=shop.grips, safety_level=4
    )
    stock.buffer_level_set(
        actor=logan.actor, location=shop.buffer_a, article=shop.bed, safety_level=1
    )
    response = as_logan.post(url)
    order = Order.unscoped.get(store=shop.buffer_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("logistics:order", args=[order.pk])
    assert sorted((line.article_id, line.quantity) for line in order.lines.all()) == sorted(
        [(shop.grips.pk, 4), (shop.bed.pk, 1)]
    )
    placed = events(Action.ORDER_PLACED)[-1]
    assert (placed.actor_id, placed.detail["store"]) == (logan.user.pk, shop.buffer_a.code)
    # Everything is on its way now: nothing more to order.
    assert as_logan.post(url).status_code == 400
    assert Order.unscoped.filter(store=shop.buffer_a).count() == 1


def test_a_store_without_a_delivery_address_gets_a_message(
    shop: Shop, county: County, logan: Persona, as_logan: Client
) -> None:
    DeliveryAddress.objects.filter(unit=county.unit_a).delete()
    stock.buffer_level_set(
        actor=logan.actor, location=shop.buffer_a, article=shop.grips, safety_level=2
    )
    response = as_logan.post(reverse("stock:store_refill", args=[shop.buffer_a.pk]))
    assert response.status_code == 400
    assert "Enheten har ingen leveransadress upplagd." in page(response)
    assert not Order.unscoped.exists()


def test_refill_orders_are_the_centres(client: Client, shop: Shop, tekla: Persona) -> None:
    url = reverse("stock:store_refill", args=[shop.buffer_a.pk])
    assert signed_in(client, tekla).post(url).status_code == 403


# --- The item card ---------------------------------------------------------------------------


def test_the_item_card_names_the_patient_only_to_those_who_may_see_them(
    client: Client, shop: Shop, alice: Persona, logan: Persona, charlie: Persona, billie: Persona
) -> None:
    item = lend(shop, alice, logan)
    url = reverse("stock:item", args=[item.individual_number])
    as_logan = signed_in(client, logan)
    response = as_logan.get(url)
    assert response.status_code == 200
    html = page(response)
    assert HIDDEN in html and "Aina Apel" not in html
    assert "Leverans till patient" in html and shop.bed.name in html
    assert events(Action.ITEM_VIEWED)[-1].actor_id == logan.user.pk
    alice_page = page(signed_in(Client(), alice).get(url))
    assert "Aina Apel (19400101-9803)" in alice_page and HIDDEN not in alice_page
    listed = events(Action.PATIENT_LISTED, patient_id=shop.patient.pk)[-1]
    assert (listed.actor_id, listed.detail["list"]) == (alice.user.pk, "item_card")
    assert signed_in(Client(), charlie).get(url).status_code == 404
    assert signed_in(Client(), billie).get(url).status_code == 403
    assert as_logan.get(reverse("stock:item", args=["0999999"])).status_code == 404


def test_finding_an_item_by_number(shop: Shop, as_logan: Client) -> None:
    item = Item.objects.filter(article=shop.lift).first()
    assert item is not None
    response = as_logan.get(reverse("stock:item_find"), {"nummer": item.individual_number})
    assert response.status_code == 302
    assert response["Location"] == reverse("stock:item", args=[item.individual_number])
    bad = as_logan.get(reverse("stock:item_find"), {"nummer": "12 34"})
    assert bad.status_code == 400
    assert "Ett individnummer är siffror" in page(bad)


# --- Recall -----------------------------------------------------------------------------------


def test_the_recall_list_and_its_csv_are_the_same_audited_rows(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    item = lend(shop, alice, logan)
    params = {"artikel": shop.bed.article_number, "batch": "LOT-1"}
    response = as_logan.get(reverse("stock:recall"), params)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.item.individual_number for r in rows] == sorted(
        Item.objects.filter(article=shop.bed).values_list("individual_number", flat=True),
        key=lambda n: Item.objects.get(individual_number=n).serial_number,
    )
    assert HIDDEN in page(response)
    assert len(events(Action.RECALL_LISTED)) == 1

    export = as_logan.get(reverse("stock:recall_csv"), params)
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in export["Content-Disposition"]
    raw = export.content
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][1] == "Framtagen av Logan Lager"
    assert lines[1] == [
        "Individnummer",
        "Serienummer",
        "Batch/lot",
        "Status",
        "Enhet eller lagerplats",
        "Patient",
        "Utlånad sedan",
    ]
    data = lines[2:]
    assert [row[0] for row in data] == [r.item.individual_number for r in rows]
    lent = next(row for row in data if row[0] == item.individual_number)
    assert lent[1:6] == [item.serial_number, "LOT-1", "Utlånad", alice.assignment.unit.name, HIDDEN]
    in_stock = next(row for row in data if row[0] != item.individual_number)
    assert in_stock[3:6] == ["I lager", shop.central.unit.name, ""]
    recorded = events(Action.RECALL_LISTED)
    assert len(recorded) == 2
    assert recorded[-1].detail == recorded[0].detail


def test_a_recall_csv_cell_is_never_a_formula(shop: Shop, logan: Persona, as_logan: Client) -> None:
    stock.goods_receive(
        actor=logan.actor,
        location=shop.central,
        article=shop.lift,
        items=[stock.ReceivedItem("=HYPERLINK(1)", "+LOT")],
    )
    export = as_logan.get(reverse("stock:recall_csv"), {"artikel": shop.lift.article_number})
    text = export.content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "'+LOT" in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Detta fält måste fyllas i."),
        ({"artikel": "nope"}, "Det finns ingen artikel med nummer nope."),
        ({"artikel": "100002", "serie_fran": "B", "serie_till": "A"}, "högre serienummer"),
    ],
)
def test_bad_recall_input_is_a_400_and_lists_nothing(
    shop: Shop, as_logan: Client, params: dict[str, str], message: str
) -> None:
    for name in ("stock:recall", "stock:recall_csv"):
        response = as_logan.get(reverse(name), params)
        if name == "stock:recall" and not params:
            assert response.status_code == 200  # the empty form
            continue
        assert response.status_code == 400
        assert message in page(response)
    assert not events(Action.RECALL_LISTED)


def test_recalls_are_for_the_centre(client: Client, shop: Shop, alice: Persona) -> None:
    as_alice = signed_in(client, alice)
    params = {"artikel": shop.bed.article_number}
    assert as_alice.get(reverse("stock:recall"), params).status_code == 403
    assert as_alice.get(reverse("stock:recall_csv"), params).status_code == 403
    assert not events(Action.RECALL_LISTED)


# --- The demo seed -----------------------------------------------------------------------------


def test_the_seed_stocks_the_demo_assortment_through_the_ledger_once(county: County) -> None:
    from lyfta.catalogue.models import CostClass, IsoClass, Supplier

    karlstad = UnitFactory(
        provider=county.municipality, name="Hemsjukvården Karlstad", kind=Unit.Kind.HOME_CARE
    )
    DeliveryAddress.objects.create(
        unit=karlstad, label="Entré", street="Vägen 1", postal_code="65225", city="Karlstad"
    )
    top = IsoClass.objects.create(code="12", name="Förflyttning", level=1)
    mid = IsoClass.objects.create(code="12 06", name="Gånghjälpmedel", parent=top, level=2)
    iso = IsoClass.objects.create(code="12 06 06", name="Rollatorer", parent=mid, level=3)
    supplier = Supplier.objects.create(name="Demo AB")
    walker = article("D1", "Rollator", iso, supplier, cost_class=CostClass.MUNICIPALITY)
    pads = article(
        "D2", "Dynor", iso, supplier, tracked=False, monthly_rent=None, billing_type="sale"
    )
    actor = Actor.system("seed_demo")
    seed.seed(actor)
    counts = (StockMovement.unscoped.count(), Item.objects.count(), AuditEvent.objects.count())
    seed.seed(actor)
    assert (
        StockMovement.unscoped.count(),
        Item.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    central = StockLocation.objects.get(kind=StockLocation.Kind.CENTRAL)
    assert central.unit == county.centre
    assert set(StockLocation.objects.values_list("kind", flat=True)) == set(
        StockLocation.Kind.values
    )
    store = StockLocation.objects.get(kind=StockLocation.Kind.BUFFER)
    assert store.unit == karlstad
    walkers = Item.objects.filter(article=walker)
    assert walkers.count() == 5  # four central, one in the store
    assert all(i.serial_number and i.batch for i in walkers)
    assert StockLevel.objects.get(location=central, article=pads).quantity == 40
    assert {n.article: n.need for n in refill_needs(store)} == {walker: 1, pads: 2}
    for place in StockLocation.objects.all():
        for a in (walker, pads):
            assert stock.ledger_balance(a, place) == stock.books_at(a, place)
    assert events(Action.STOCK_RECEIVED)[0].actor_username == "system:seed_demo"
