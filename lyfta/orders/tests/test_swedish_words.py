"""No raw code and no word of Django's own catalogue where Lyfta means something else (issue 16
points 3 and 4): the order page says "Order", not Django's Swedish "Sortering" for the admin's
ordering; the holdings' billing column says "Hyra", not the stored code "rent"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Persona, signed_in
from lyfta.orders.services import LineInput
from lyfta.orders.tests.conftest import Shop
from lyfta.orders.tests.test_pages import delivered

pytestmark = pytest.mark.django_db


def _cells(page: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)
    ]


def test_order_pages_say_order_not_sortering(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    (loan,) = delivered(shop, alice, logan, LineInput(shop.lift))
    signed_in(client, alice)
    listing = client.get(reverse("orders:orders")).content.decode()
    assert "Sortering" not in listing and ">Order<" in listing
    from lyfta.orders.models import Order

    order_id = Order.unscoped.filter(patient=shop.patient).values_list("pk", flat=True).get()
    page = client.get(reverse("orders:order", args=[order_id])).content.decode()
    assert "Sortering" not in page
    assert re.search(r"<h1>Order KO", page)


def test_holdings_billing_column_is_in_words(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    delivered(shop, alice, logan, LineInput(shop.lift))
    signed_in(client, alice)
    page = client.get(reverse("orders:holdings", args=[shop.patient.pk])).content.decode()
    cells = _cells(page)
    assert "Hyra" in cells
    assert "rent" not in cells


def _reference_cells(page: str) -> list[str]:
    """The item card's movement table: the Referens column (the fifth) of each row, as HTML."""
    table = page.split('id="moves-heading"', 1)[1]
    found = []
    for row in re.findall(r"<tr><td>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td>(.*?)</td>", "<td>" + row, re.S)
        found.append(cells[4])
    return found


def _returned_lift(shop: Shop, alice: Persona, logan: Persona) -> tuple[str, str, str]:
    """A lift delivered to the patient on an order and returned on a pick-up: its individual
    number, the order's number and the pick-up's number."""
    from lyfta.orders import services
    from lyfta.orders.services import PickupInput
    from lyfta.orders.tests.conftest import grant

    (loan,) = delivered(shop, alice, logan, LineInput(shop.lift))
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=[loan])
    )
    services.pickup_collect(actor=logan.actor, pickup=pickup)
    services.pickup_receive(actor=logan.actor, line=pickup.lines.get())
    assert loan.item is not None and loan.order_line is not None
    return loan.item.individual_number, loan.order_line.order.number, pickup.number


def test_item_card_references_are_words_with_links_where_the_viewer_may_follow(
    client: Client, shop: Shop, alice: Persona, logan: Persona, tekla: Persona
) -> None:
    """The ledger's codes ('order:KO…', 'pickup:7') never show; the centre follows both links,
    the prescriber's unit its order, the technician (who sees no orders) neither."""
    from lyfta.orders.models import Order, PickupOrder

    number, order_number, pickup_number = _returned_lift(shop, alice, logan)
    order = Order.unscoped.get(number=order_number)
    url = reverse("stock:item", args=[number])

    signed_in(client, logan)
    page = client.get(url).content.decode()
    assert "order:" not in page and "pickup:" not in page
    references = _reference_cells(page)
    logistics = reverse("logistics:order", kwargs={"order_id": order.pk})
    assert f'<a href="{logistics}">Beställning {order_number}</a>' in references
    assert f'<a href="{reverse("logistics:pickups")}">Hämtorder {pickup_number}</a>' in references
    assert PickupOrder.unscoped.filter(number=pickup_number).exists()

    client.logout()
    signed_in(client, alice)
    references = _reference_cells(client.get(url).content.decode())
    own = reverse("orders:order", kwargs={"order_id": order.pk})
    assert f'<a href="{own}">Beställning {order_number}</a>' in references
    assert f"Hämtorder {pickup_number}" in references

    client.logout()
    signed_in(client, tekla)
    references = _reference_cells(client.get(url).content.decode())
    assert f"Beställning {order_number}" in references  # the number the ledger holds, no link
    assert "Hämtorder" in references  # a pick-up tekla may not see: its kind, not its number
    assert not any("<a " in cell for cell in references)


def test_a_stocktake_with_one_difference_says_differens(
    client: Client, shop: Shop, logan: Persona
) -> None:
    """'1 differenser' was the message for a single difference: the count takes the singular."""
    signed_in(client, logan)
    url = reverse("stock:stocktake", args=[shop.central.pk])
    response = client.post(url, {f"count_{shop.cushion.pk}": "8"}, follow=True)
    page = response.content.decode()
    assert "Inventeringen är registrerad med 1 differens." in page
    assert "1 differenser" not in page


def test_item_card_acquisition_value_has_a_thousands_space(
    client: Client, shop: Shop, logan: Persona
) -> None:
    """'12400,00 kr' read as one long number: Swedish groups the thousands (no-break space)."""
    from decimal import Decimal

    from lyfta.inventory.models import Item

    item = Item.objects.filter(article=shop.lift).first()
    assert item is not None
    Item.objects.filter(pk=item.pk).update(acquisition_value=Decimal("12400.00"))
    signed_in(client, logan)
    page = client.get(reverse("stock:item", args=[item.individual_number])).content.decode()
    assert "12\xa0400,00\xa0kr" in page
    assert "12400" not in page
