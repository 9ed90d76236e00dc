"""Cancellation (makulering) keeps the original (R86): a cancelled order and its lines stay, with
what was ordered, the reason, when, and who cancelled it in the audit trail."""

from __future__ import annotations

import pytest

from conftest import Persona
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.orders import services
from lyfta.orders.models import Order, OrderLine
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = pytest.mark.django_db


def test_r86_a_cancelled_order_keeps_its_lines_reason_time_and_canceller(
    shop: Shop, alice: Persona, bob: Persona
) -> None:
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.bed), LineInput(shop.cushion, 4)],
        delivery=DeliveryInput(),
    )
    ordered = sorted(order.lines.values_list("article__article_number", "quantity"))

    services.order_cancel(actor=bob.actor, order=order, reason="Behovet upphörde")

    kept = Order.unscoped.get(pk=order.pk)
    assert kept.status == Order.Status.CANCELLED
    assert kept.cancel_reason == "Behovet upphörde" and kept.cancelled_at is not None
    assert kept.orderer == alice.user, "who placed it is kept"
    lines = OrderLine.unscoped.filter(order=order)
    assert sorted(lines.values_list("article__article_number", "quantity")) == ordered
    assert set(lines.values_list("status", flat=True)) == {OrderLine.Status.CANCELLED}
    cancelled = AuditEvent.objects.get(action=Action.ORDER_CANCELLED, resource_id=str(order.pk))
    assert (cancelled.actor_id, cancelled.patient_id) == (bob.user.pk, shop.patient.pk)
    assert cancelled.detail["reason"] == "Behovet upphörde"
    assert cancelled.occurred_at is not None


def test_r86_the_cancellation_event_records_the_status_it_changed(
    shop: Shop, alice: Persona
) -> None:
    """Issue 12: the order's cancellation was recorded with empty changes."""
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.bed)],
        delivery=DeliveryInput(),
    )
    before = Order.unscoped.get(pk=order.pk).status

    services.order_cancel(actor=alice.actor, order=order, reason="Behovet upphörde")

    cancelled = AuditEvent.objects.get(action=Action.ORDER_CANCELLED, resource_id=str(order.pk))
    assert cancelled.changes["status"] == [before, Order.Status.CANCELLED]
    assert cancelled.changes["cancel_reason"] == ["", "Behovet upphörde"]
