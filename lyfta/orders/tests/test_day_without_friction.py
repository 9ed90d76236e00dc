"""Issue 16 ("A day's work without friction"), the prescriber's device pages: the order list names
the patient (problem 5), the buffer-store withdrawal shows what the store holds (problem 7), and
the safety guards (problem 10): no order or withdrawal for a deceased patient, and an order that
would give a patient more than LYFTA_MAX_PER_ISO_CLASS devices of one ISO class asks for a
reason, which is recorded. Each test failed on the code before issue 16."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.inventory.models import Item
from lyfta.inventory.services import ReceivedItem, goods_receive
from lyfta.orders import services
from lyfta.orders.models import Loan, Order
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import Patient, ProtectedStaff

pytestmark = pytest.mark.django_db


def _order(shop: Shop, alice: Persona, patient: Patient, *lines: LineInput) -> Order:
    return services.order_place(
        actor=alice.actor, grant=grant(alice, patient), lines=list(lines), delivery=DeliveryInput()
    )


# --- Problem 5: the order list says which patient ----------------------------------------------


def test_the_order_list_names_each_orders_patient_and_records_it(
    client: Client, shop: Shop, alice: Persona, bob: Persona
) -> None:
    first = _order(shop, alice, shop.patient, LineInput(shop.lift))
    second = _order(shop, alice, shop.other, LineInput(shop.bed))
    signed_in(client, bob)
    page = client.get(reverse("orders:orders")).content.decode()
    for order, patient in ((first, shop.patient), (second, shop.other)):
        row = page.split(order.number, 1)[1].split("</tr>", 1)[0]
        assert str(patient) in row and patient.display_identifier in row
    listed = AuditEvent.objects.filter(action=Action.PATIENT_LISTED, actor_id=bob.user.pk)
    assert {e.patient_id for e in listed} == {shop.patient.pk, shop.other.pk}
    assert {e.resource_type for e in listed} == {"orders.order"}


def test_the_order_list_hides_a_protected_patients_name_but_from_named_staff(
    client: Client, shop: Shop, alice: Persona, bob: Persona, logan: Persona
) -> None:
    order = _order(shop, alice, shop.patient, LineInput(shop.lift))
    shop.patient.protection = Patient.Protection.PROTECTED_REGISTRATION
    shop.patient.save(update_fields=["protection"])
    ProtectedStaff.objects.create(patient=shop.patient, user=alice.user, named_by=alice.user)
    signed_in(client, logan)  # the centre sees every order, never a protected name (R55)
    page = client.get(reverse("orders:orders")).content.decode()
    assert order.number in page and "Apel" not in page and "Namnet visas inte" in page
    assert not AuditEvent.objects.filter(action=Action.PATIENT_LISTED, actor_id=logan.user.pk)
    signed_in(client, alice)
    page = client.get(reverse("orders:orders")).content.decode()
    assert "Aina Apel" in page


# --- Problem 7: the buffer store's contents -------------------------------------------------------


def _stock_buffer(shop: Shop, logan: Persona) -> list[str]:
    """Two beds and three grab bars in unit A's store; the beds' individual numbers."""
    goods_receive(
        actor=logan.actor,
        location=shop.buffer_a,
        article=shop.bed,
        quantity=2,
        items=[ReceivedItem("SN-BUF1"), ReceivedItem("SN-BUF2")],
    )
    goods_receive(actor=logan.actor, location=shop.buffer_a, article=shop.grips, quantity=3)
    return sorted(
        Item.objects.filter(location=shop.buffer_a).values_list("individual_number", flat=True)
    )


def test_the_withdrawal_page_shows_the_stores_contents_to_pick_from(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    first, second = _stock_buffer(shop, logan)
    signed_in(client, alice)
    url = reverse("orders:withdraw", args=[shop.patient.pk])
    page = client.get(url).content.decode()
    contents = page.split('id="store-contents"', 1)[1].split("</table>", 1)[0]
    for shown in ("Vårdsäng Viva", first, second, "Stödhandtag", "Förråd hemsjukvården"):
        assert shown in contents, shown
    # One press on an item's button takes it out: its form carries everything.
    today = timezone.localdate().isoformat()
    data = {
        "store": shop.buffer_a.pk,
        "article": "100002",
        "individual_number": second,
        "quantity": 1,
        "taken_on": today,
    }
    assert f'value="{second}"' in contents
    assert client.post(url, data).status_code == 302
    loan = Loan.unscoped.get(patient=shop.patient)
    assert loan.item is not None and loan.item.individual_number == second
    page = client.get(url).content.decode()
    assert second not in page.split('id="store-contents"', 1)[1].split("</table>", 1)[0]


def test_a_withdrawal_without_the_item_number_says_what_to_do(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    _stock_buffer(shop, logan)
    signed_in(client, alice)
    url = reverse("orders:withdraw", args=[shop.patient.pk])
    today = timezone.localdate().isoformat()
    data = {"store": shop.buffer_a.pk, "article": "100002", "quantity": 1, "taken_on": today}
    page = client.post(url, data).content.decode()
    assert "Individ – av" not in page
    assert "välj individen i listan över förrådets innehåll" in page
    page = client.post(url, {**data, "individual_number": "SN-NOPE"}).content.decode()
    assert "Individ SN-NOPE av 100002 Vårdsäng Viva finns inte i Förråd hemsjukvården" in page
    assert not Loan.unscoped.filter(patient=shop.patient).exists()


# --- Problem 10: a deceased patient --------------------------------------------------------------


def test_no_order_or_withdrawal_for_a_deceased_patient(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    first, _second = _stock_buffer(shop, logan)
    shop.patient.deceased_date = timezone.localdate() - dt.timedelta(days=3)
    shop.patient.save(update_fields=["deceased_date"])
    signed_in(client, alice)
    holdings = client.get(reverse("orders:holdings", args=[shop.patient.pk])).content.decode()
    assert "Ny beställning" not in holdings and "Uttag ur buffertförråd" not in holdings
    assert "Patienten är avliden" in holdings
    order_page = client.get(reverse("orders:order_new", args=[shop.patient.pk])).content.decode()
    assert "Patienten är avliden" in order_page and "Skicka beställning" not in order_page
    withdraw = client.get(reverse("orders:withdraw", args=[shop.patient.pk])).content.decode()
    assert "Patienten är avliden" in withdraw and "store-contents" not in withdraw
    # The services refuse too, not only the pages.
    with pytest.raises(ValidationError, match="avliden"):
        services.buffer_withdraw(
            actor=alice.actor,
            grant=grant(alice, shop.patient),
            store=shop.buffer_a,
            article=shop.bed,
            individual_number=first,
        )
    with pytest.raises(ValidationError, match="avliden"):
        _order(shop, alice, shop.patient, LineInput(shop.lift))
    today = timezone.localdate().isoformat()
    data = {
        "store": shop.buffer_a.pk,
        "article": "100002",
        "individual_number": first,
        "quantity": 1,
        "taken_on": today,
    }
    page = client.post(reverse("orders:withdraw", args=[shop.patient.pk]), data)
    assert page.status_code == 400 and "avliden" in page.content.decode()
    assert not Loan.unscoped.filter(patient=shop.patient).exists()
    assert Item.objects.get(individual_number=first).status == Item.Status.IN_STOCK


# --- Problem 10: more than the limit of one ISO class ---------------------------------------------


@override_settings(LYFTA_MAX_PER_ISO_CLASS=2)
def test_an_order_over_the_iso_class_limit_needs_a_reason(shop: Shop, alice: Persona) -> None:
    _order(shop, alice, shop.patient, LineInput(shop.bed, 1))
    _order(shop, alice, shop.patient, LineInput(shop.bed, 1))  # two: an everyday need
    with pytest.raises(services.OverIsoLimit) as refused:
        _order(shop, alice, shop.patient, LineInput(shop.bed, 1))
    assert [(e.code, e.held, e.ordered) for e in refused.value.excess] == [("18 12 07", 2, 1)]
    # Untracked small aids come several at a time: no question.
    _order(shop, alice, shop.patient, LineInput(shop.cushion, 5))
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.bed, 1)],
        delivery=DeliveryInput(),
        over_limit_reason="En säng på korttidsboendet",
    )
    event = AuditEvent.objects.filter(action=Action.ORDER_PLACED, resource_id=str(order.pk)).get()
    assert event.detail["over_limit_reason"] == "En säng på korttidsboendet"
    assert event.detail["over_iso_limit"] == [{"iso": "18 12 07", "held": 2, "ordered": 1}]


@override_settings(LYFTA_MAX_PER_ISO_CLASS=1)
def test_the_order_page_warns_and_asks_for_the_reason(
    client: Client, shop: Shop, alice: Persona
) -> None:
    _order(shop, alice, shop.patient, LineInput(shop.bed, 1))
    signed_in(client, alice)
    url = reverse("orders:order_new", args=[shop.patient.pk])
    cart = reverse("orders:cart_add", args=[shop.patient.pk])
    client.post(cart, {"article": shop.bed.pk, "quantity": 1})
    data = {"delivery": "patient"}
    response = client.post(url, data)
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="iso-warning"' in page and "18 12 07" in page
    assert 'name="over_limit_reason"' in page
    assert Order.unscoped.filter(patient=shop.patient).count() == 1
    response = client.post(url, {**data, "over_limit_reason": "Dubbelboende"})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action=Action.ORDER_PLACED).order_by("-id").first()
    assert event is not None and event.detail["over_limit_reason"] == "Dubbelboende"
