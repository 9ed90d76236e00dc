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


def test_a_long_pick_list_comes_a_page_at_a_time_and_lists_only_the_pages_patients(
    client: Client,
    shop: Shop,
    alice: Persona,
    logan: Persona,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 19: a whole nation's delivery day on one page took seconds; the list comes
    `PICK_PAGE` stops at a time, in the same order, the day and area kept from page to page, and
    only the patients a page shows are recorded as listed (R57)."""
    from lyfta.audit.actions import Action
    from lyfta.audit.models import AuditEvent
    from lyfta.orders import selectors

    monkeypatch.setattr(selectors, "PICK_PAGE", 1)
    first = place(alice, shop.patient, LineInput(shop.cushion))
    second = place(alice, shop.other, LineInput(shop.cushion))
    day = max(first.expected_on, second.expected_on)
    signed_in(client, logan)
    pages = [
        client.get(reverse("logistics:picklist"), {"dag": day.isoformat(), "sida": str(n)})
        for n in (1, 2)
    ]
    listed = [page.content.decode().split('id="later"', 1)[0] for page in pages]
    numbers = sorted([first, second], key=lambda o: (o.postal_code, o.expected_on, o.pk))
    assert numbers[0].number in listed[0] and numbers[1].number not in listed[0]
    assert numbers[1].number in listed[1] and numbers[0].number not in listed[1]
    assert f"?dag={day.isoformat()}&amp;sida=2" in listed[0]  # the next page keeps the day
    assert f"?dag={day.isoformat()}&amp;sida=1" in listed[1]
    events = AuditEvent.objects.filter(action=Action.PATIENT_LISTED, detail__list="picklist")
    listed_ids = [pk for pk in events.values_list("patient_id", flat=True) if pk is not None]
    assert sorted(listed_ids) == sorted([shop.patient.pk, shop.other.pk])  # one each
    assert client.get(reverse("logistics:picklist"), {"sida": "x"}).status_code == 200


def test_a_protected_address_is_under_no_area_and_last_on_the_pick_list(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    """Attack run 4, finding 1: an order to a protected address (delivery to another address,
    typed by the prescriber) showed under its area's filter and in postal-code order among the
    others, which told its area (R55). It is under no area, and last."""
    hidden = place(alice, shop.patient, LineInput(shop.cushion))
    plain = place(alice, shop.other, LineInput(shop.cushion))
    Order.unscoped.filter(pk=hidden.pk).update(
        confidential_address=True, postal_code="10005", street="Hemlig 1"
    )
    Order.unscoped.filter(pk=plain.pk).update(postal_code="90005")
    day = max(hidden.expected_on, plain.expected_on) + dt.timedelta(days=1)
    signed_in(client, logan)
    url = reverse("logistics:picklist")
    under_area = client.get(url, {"dag": day.isoformat(), "omrade": "100"}).content.decode()
    assert hidden.number not in under_area
    whole = client.get(url, {"dag": day.isoformat()}).content.decode().split('id="later"', 1)[0]
    assert whole.index(plain.number) < whole.index(hidden.number)
    assert "Hemlig" not in whole and "10005" not in whole
    # Nor does the list of later orders under an area name it.
    Order.unscoped.filter(pk=hidden.pk).update(expected_on=day + dt.timedelta(days=5))
    later = client.get(url, {"dag": day.isoformat(), "omrade": "100"}).content.decode()
    assert hidden.number not in later


def test_an_unknown_article_in_the_cart_form_is_named_as_such(
    client: Client, shop: Shop, alice: Persona
) -> None:
    """Attack run 4, finding 2: a malformed article id got the quantity's message."""
    signed_in(client, alice)
    url = reverse("orders:cart_add", args=[shop.patient.pk])
    page = client.post(url, {"article": "abc", "quantity": "1"}, follow=True)
    assert "Välj en artikel i sökresultatet." in page.content.decode()
    page = client.post(url, {"article": shop.bed.pk, "quantity": "0"}, follow=True)
    assert "Ange ett antal mellan 1 och 100." in page.content.decode()
