"""The prescriber's device pages: holdings, ordering with search, cart and templates, order
pages, pick-ups, losses and withdrawals — allowed, forbidden, another unit's object, bad input."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.inventory.models import Item
from lyfta.orders import services
from lyfta.orders.models import Loan, LossReport, Order, OrderTemplate, PickupOrder
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = pytest.mark.django_db


def last(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, action
    return event


def delivered(shop: Shop, alice: Persona, logan: Persona, *lines: LineInput) -> list[Loan]:
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=list(lines),
        delivery=DeliveryInput(),
    )
    for line in order.lines.all():
        services.line_pick(actor=logan.actor, line=line)
    return services.order_deliver(actor=logan.actor, order=order)


def test_holdings_show_the_patients_devices_and_are_recorded(
    client: Client, shop: Shop, alice: Persona, bob: Persona, logan: Persona
) -> None:
    delivered(shop, alice, logan, LineInput(shop.lift))
    signed_in(client, bob)
    response = client.get(reverse("orders:holdings", args=[shop.patient.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Taklyft Orbit" in page
    assert alice.assignment.unit.name in page
    event = last(Action.HOLDINGS_VIEWED)
    assert (event.actor_id, event.patient_id) == (bob.user.pk, shop.patient.pk)


def test_other_providers_loans_are_hidden_without_consent(
    client: Client, shop: Shop, alice: Persona, charlie: Persona, logan: Persona, county: County
) -> None:
    from lyfta.patients.models import CareRelationship

    delivered(shop, alice, logan, LineInput(shop.bed))
    CareRelationship.objects.create(
        unit=county.unit_b, patient=shop.patient, origin="order", valid_from=timezone.localdate()
    )
    signed_in(client, charlie)
    page = client.get(reverse("orders:holdings", args=[shop.patient.pk])).content.decode()
    assert "Vårdsäng Viva" not in page
    assert 'id="hidden-loans"' in page


def test_a_patient_without_relationship_gets_404_and_a_recorded_refusal(
    client: Client, shop: Shop, charlie: Persona
) -> None:
    signed_in(client, charlie)
    for name in ("orders:holdings", "orders:order_new", "orders:pickup_new", "orders:withdraw"):
        assert client.get(reverse(name, args=[shop.patient.pk])).status_code in (403, 404), name
    assert AuditEvent.objects.filter(
        action=Action.PATIENT_ACCESS_DENIED, actor_id=charlie.user.pk
    ).exists()


def test_ordering_through_search_cart_and_form(client: Client, shop: Shop, alice: Persona) -> None:
    signed_in(client, alice)
    url = reverse("orders:order_new", args=[shop.patient.pk])
    assert client.get(url).status_code == 200
    results = client.get(reverse("orders:articles", args=[shop.patient.pk]), {"q": "rollator"})
    text = results.content.decode()
    assert "Rollator Delta" in text
    assert "Restnoteras" in text  # Delta is out of stock ...
    assert "Rollator Gamma" in text  # ... and its in-stock equivalent is offered
    client.post(
        reverse("orders:cart_add", args=[shop.patient.pk]), {"article": shop.lift.pk, "quantity": 1}
    )
    client.post(
        reverse("orders:cart_add", args=[shop.patient.pk]),
        {"article": shop.cushion.pk, "quantity": 2},
    )
    response = client.post(url, {"delivery": "patient", "goal": "Säkra förflyttningar"})
    order = Order.unscoped.get()
    assert response["Location"] == reverse("orders:order", args=[order.pk])
    assert order.lines.count() == 2
    assert order.prescription is not None and order.prescription.goal == "Säkra förflyttningar"
    # The cart is empty after the order.
    assert "Inga artiklar ännu" in client.get(url).content.decode()


def test_ordering_with_bad_input_writes_nothing(client: Client, shop: Shop, alice: Persona) -> None:
    signed_in(client, alice)
    url = reverse("orders:order_new", args=[shop.patient.pk])
    response = client.post(url, {"delivery": "patient"})  # empty cart
    assert response.status_code == 400
    assert "minst en artikel" in response.content.decode()
    client.post(
        reverse("orders:cart_add", args=[shop.patient.pk]), {"article": shop.bed.pk, "quantity": 1}
    )
    for data, message in (
        ({"delivery": "other", "street": "Gatan 1", "postal_code": "1", "city": "X"}, "Postnumret"),
        ({"delivery": "patient", "follow_up_on": "igår"}, ""),
        ({"delivery": "mars"}, ""),
    ):
        response = client.post(url, data)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert Order.unscoped.count() == 0
    assert (
        client.post(
            reverse("orders:cart_add", args=[shop.patient.pk]), {"article": "x", "quantity": 1}
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("orders:cart_add", args=[shop.patient.pk]), {"article": 999999, "quantity": 1}
        ).status_code
        == 404
    )


def test_order_templates_are_saved_per_unit_and_reused(
    client: Client, shop: Shop, alice: Persona, bob: Persona
) -> None:
    signed_in(client, alice)
    client.post(
        reverse("orders:cart_add", args=[shop.patient.pk]), {"article": shop.bed.pk, "quantity": 1}
    )
    client.post(reverse("orders:template_save", args=[shop.patient.pk]), {"name": "Säng"})
    template = OrderTemplate.objects.get()
    assert template.lines == [{"article": shop.bed.pk, "quantity": 1}]
    assert last(Action.ORDER_TEMPLATE_SAVED).actor_id == alice.user.pk
    signed_in(client, bob)
    client.post(reverse("orders:template_use", args=[shop.other.pk, template.pk]))
    page = client.get(reverse("orders:order_new", args=[shop.other.pk])).content.decode()
    assert "Vårdsäng Viva" in page


def test_an_order_page_is_the_units_own(
    client: Client, shop: Shop, alice: Persona, bob: Persona, charlie: Persona
) -> None:
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.bed)],
        delivery=DeliveryInput(),
    )
    signed_in(client, bob)
    assert client.get(reverse("orders:order", args=[order.pk])).status_code == 200
    assert last(Action.ORDER_VIEWED).patient_id == shop.patient.pk
    signed_in(client, charlie)
    assert client.get(reverse("orders:order", args=[order.pk])).status_code == 404
    assert (
        client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "x"}).status_code
        == 404
    )
    signed_in(client, bob)
    client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": ""})
    order.refresh_from_db()
    assert order.status == Order.Status.REGISTERED
    client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "Fel patient"})
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_pickup_page_registers_and_bad_choices_are_refused(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    loans = delivered(shop, alice, logan, LineInput(shop.lift), LineInput(shop.cushion))
    signed_in(client, alice)
    url = reverse("orders:pickup_new", args=[shop.patient.pk])
    page = client.get(url).content.decode()
    assert "Taklyft Orbit" in page
    assert "Sittdyna" not in page  # sold: not picked up
    lift_loan = next(loan for loan in loans if loan.article == shop.lift)
    cushion_loan = next(loan for loan in loans if loan.article == shop.cushion)
    assert client.post(url, {"loans": [str(cushion_loan.pk)]}).status_code == 400
    assert client.post(url, {"loans": ["abc"]}).status_code == 400
    response = client.post(url, {"loans": [str(lift_loan.pk)]})
    assert response.status_code == 302
    pickup = PickupOrder.unscoped.get()
    assert lift_loan.item is not None
    assert Item.objects.get(pk=lift_loan.item.pk).status == Item.Status.AWAITING_PICKUP
    assert last(Action.PICKUP_REGISTERED).patient_id == shop.patient.pk
    client.post(reverse("orders:pickup_cancel", args=[pickup.pk]), {"reason": "Behövs igen"})
    pickup.refresh_from_db()
    assert pickup.status == PickupOrder.Status.CANCELLED


def test_loss_page_reports_and_found_reregisters(
    client: Client, shop: Shop, alice: Persona, logan: Persona, charlie: Persona
) -> None:
    (loan,) = delivered(shop, alice, logan, LineInput(shop.lift))
    signed_in(client, alice)
    url = reverse("orders:loss_new", args=[shop.patient.pk, loan.pk])
    today = timezone.localdate().isoformat()
    response = client.post(url, {"lost_on": today, "circumstances": "", "charge": "none"})
    assert response.status_code == 400
    response = client.post(
        url, {"lost_on": today, "circumstances": "Borta vid flytt", "charge": "none"}
    )
    assert response.status_code == 302
    report = LossReport.unscoped.get()
    signed_in(client, charlie)
    assert client.post(reverse("orders:loss_found", args=[report.pk])).status_code == 404
    signed_in(client, alice)
    client.post(reverse("orders:loss_found", args=[report.pk]))
    report.refresh_from_db()
    assert report.found_at is not None


def test_withdrawal_page_registers_a_loan_from_the_units_store(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    from lyfta.inventory.services import goods_receive

    goods_receive(actor=logan.actor, location=shop.buffer_a, article=shop.grips, quantity=3)
    signed_in(client, alice)
    url = reverse("orders:withdraw", args=[shop.patient.pk])
    today = timezone.localdate().isoformat()
    data = {"store": shop.buffer_a.pk, "article": "200002", "quantity": 1, "taken_on": today}
    assert client.post(url, {**data, "article": "999"}).status_code == 400
    assert client.post(url, {**data, "quantity": 9}).status_code == 400
    assert client.post(url, data).status_code == 302
    assert Loan.unscoped.get(patient=shop.patient).article == shop.grips
    assert last(Action.LOAN_STARTED).patient_id == shop.patient.pk
