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
