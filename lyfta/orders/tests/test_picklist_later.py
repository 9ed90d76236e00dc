"""The pick list hides no order due later (issue 16): orders due after the chosen day, which
defaults to the next working day, are listed under it with a way to pick up to their day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.core.workdays import next_working_day
from lyfta.orders.models import Order
from lyfta.orders.services import LineInput
from lyfta.orders.tests.conftest import Shop
from lyfta.orders.tests.test_logistics_pages import place

pytestmark = pytest.mark.django_db


def test_an_order_due_later_shows_under_the_default_pick_list(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.cushion))
    default_day = next_working_day(timezone.localdate())
    later = default_day + dt.timedelta(days=9)
    Order.unscoped.filter(pk=order.pk).update(expected_on=later)
    html = signed_in(client, logan).get(reverse("logistics:picklist")).content.decode()
    listed, under = html.split('id="later"', 1)
    assert order.number not in listed  # not on the day's list to pick ...
    assert order.number in under  # ... but not hidden either
    assert f"?dag={later.isoformat()}" in under
    assert shop.patient.last_name not in under  # the later list names no patient
    # Choosing its day puts it on the list.
    html = client.get(reverse("logistics:picklist"), {"dag": later.isoformat()}).content.decode()
    assert order.number in html.split('id="later"', 1)[0]


def test_an_overdue_order_is_on_the_default_pick_list(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.cushion))
    overdue = timezone.localdate() - dt.timedelta(days=3)
    Order.unscoped.filter(pk=order.pk).update(expected_on=overdue)
    html = signed_in(client, logan).get(reverse("logistics:picklist")).content.decode()
    assert order.number in html.split('id="later"', 1)[0]
