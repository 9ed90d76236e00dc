"""Regressions found while testing the flow's invariants (lyfta/inventory/tests/test_invariants.py)
and races (test_concurrency.py), each as the shortest story that shows it (DOMAIN.md §3.2, §3.6,
§3.7, §5)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conftest import Persona
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLevel
from lyfta.orders import services
from lyfta.orders.models import Loan, LossReport, Order, OrderLine, PickupLine
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import Patient

pytestmark = pytest.mark.django_db


def place(persona: Persona, patient: Patient, *lines: LineInput) -> Order:
    return services.order_place(
        actor=persona.actor,
        grant=grant(persona, patient),
        lines=list(lines),
        delivery=DeliveryInput(),
    )


def lend(shop: Shop, alice: Persona, logan: Persona) -> Loan:
    order = place(alice, shop.patient, LineInput(shop.lift))
    services.line_pick(actor=logan.actor, line=order.lines.get())
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    return loan


def test_a_device_already_collected_cannot_be_reported_lost(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    """The driver has collected the lift; before it reaches the centre the prescriber reports it
    lost. That used to end the loan and put the lift in shrinkage while its pick-up line stayed
    collected: the return could then never be received ("Individen väntar inte på hämtning")."""
    loan = lend(shop, alice, logan)
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=[loan])
    )
    services.pickup_collect(actor=logan.actor, pickup=pickup)
    loan.refresh_from_db()
    with pytest.raises(ValidationError, match="inte hos patienten"):
        services.loss_report(
            actor=alice.actor,
            grant=grant(alice, shop.patient),
            loan=loan,
            lost_on=timezone.localdate(),
            circumstances="Borta",
        )
    assert not LossReport.unscoped.exists()
    # The return arrives and is received as usual.
    returned = services.pickup_receive(actor=logan.actor, line=pickup.lines.get())
    assert returned.end_reason == Loan.End.RETURNED
    assert loan.item is not None
    assert Item.objects.get(pk=loan.item.pk).status == Item.Status.RECONDITIONING


def test_a_device_waiting_for_pickup_can_still_be_reported_lost(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    """Not yet collected: the loss report cancels the waiting pick-up line (unchanged)."""
    loan = lend(shop, alice, logan)
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=[loan])
    )
    services.loss_report(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        loan=loan,
        lost_on=timezone.localdate(),
        circumstances="Borta",
    )
    assert pickup.lines.get().status == PickupLine.Status.CANCELLED


# A line as a user's request loaded it, changed by someone else before the cancellation runs (the
# window between reading the line and the cancelling UPDATE, which a concurrent commit can hit).


def test_cancelling_a_line_filled_from_backorder_meanwhile_frees_its_item(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    place(alice, shop.patient, LineInput(shop.lift, 2))  # both lifts
    waiting = place(alice, shop.other, LineInput(shop.lift)).lines.get()
    assert waiting.status == OrderLine.Status.BACKORDERED
    (arrived,) = stock.goods_receive(
        actor=logan.actor, location=shop.central, article=shop.lift, quantity=1
    )
    assert OrderLine.unscoped.get(pk=waiting.pk).item == arrived  # filled meanwhile
    services.order_line_cancel(actor=alice.actor, line=waiting, reason="Behövs inte")
    assert Item.objects.get(pk=arrived.pk).status == Item.Status.IN_STOCK


def test_cancelling_a_quantity_line_filled_from_backorder_meanwhile_frees_it(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    place(alice, shop.patient, LineInput(shop.cushion, 10))  # every cushion
    waiting = place(alice, shop.other, LineInput(shop.cushion, 3)).lines.get()
    assert waiting.status == OrderLine.Status.BACKORDERED
    stock.goods_receive(actor=logan.actor, location=shop.central, article=shop.cushion, quantity=3)
    assert OrderLine.unscoped.get(pk=waiting.pk).status == OrderLine.Status.RESERVED
    services.order_line_cancel(actor=alice.actor, line=waiting, reason="Behövs inte")
    level = StockLevel.objects.get(article=shop.cushion, location=shop.central)
    assert (level.quantity, level.reserved) == (13, 10)


def test_cancelling_a_line_picked_with_another_individual_meanwhile_frees_that_one(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    line = place(alice, shop.patient, LineInput(shop.bed)).lines.get()
    reserved = line.item
    assert reserved is not None
    other = Item.objects.exclude(pk=reserved.pk).get(article=shop.bed)
    services.line_pick(
        actor=logan.actor,
        line=OrderLine.unscoped.get(pk=line.pk),
        individual_number=other.individual_number,
    )
    services.order_line_cancel(actor=alice.actor, line=line, reason="Fel storlek")
    assert Item.objects.get(pk=other.pk).status == Item.Status.IN_STOCK
    assert Item.objects.get(pk=reserved.pk).status == Item.Status.IN_STOCK


def test_nobody_home_after_a_partial_delivery_keeps_what_was_delivered(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    """The lift came on the first round; the bed was to follow and nobody was home. The lift stays
    on loan, and the bed stays picked for the order (issue 16: a failed delivery keeps the order
    and gives it a new day); nothing is cancelled and the audit event names the status kept."""
    order = place(alice, shop.patient, LineInput(shop.lift), LineInput(shop.bed))
    lift_line = order.lines.get(article=shop.lift)
    bed_line = order.lines.get(article=shop.bed)
    services.line_pick(actor=logan.actor, line=lift_line)
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    services.line_pick(actor=logan.actor, line=bed_line)
    order.refresh_from_db()
    assert order.status in Order.OPEN

    failed = services.order_delivery_failed(actor=logan.actor, order=order, reason="Ingen hemma")

    assert failed.status in Order.OPEN and failed.failed_fee
    bed_line.refresh_from_db()
    assert bed_line.status == OrderLine.Status.PICKED
    assert bed_line.item is not None and bed_line.item.status == Item.Status.IN_TRANSIT
    loan.refresh_from_db()
    assert loan.end_reason == ""
    event = AuditEvent.objects.filter(action=Action.ORDER_DELIVERY_FAILED).get()
    assert event.detail["status"] == failed.status


def test_availability_stops_counting_at_what_an_order_needs(shop: Shop) -> None:
    """Placing an order asks whether enough is free, not how much: at national size a count of a
    whole warehouse's lifts cost more than the rest of the order."""
    everything = stock.available(shop.lift, shop.central)
    assert everything >= 2
    assert stock.available(shop.lift, shop.central, at_most=1) == 1
    assert stock.available(shop.lift, shop.central, at_most=everything + 5) == everything
    # Quantity articles answer from their stock level either way.
    assert stock.available(shop.cushion, shop.central, at_most=1) == stock.available(
        shop.cushion, shop.central
    )


def test_a_cancellation_gives_what_it_frees_to_the_oldest_waiting_backorder(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    """The last free lift is reserved for one patient; another's order waits for a lift. When
    the first order is cancelled, the lift goes to the waiting order at once, as a delivery into
    stock would; the system fills it, not the canceller."""
    free = stock.available(shop.lift, shop.central)
    first = place(alice, shop.patient, *[LineInput(shop.lift) for _ in range(free)])
    waiting = place(alice, shop.other, LineInput(shop.lift))
    line = waiting.lines.get()
    assert line.status == OrderLine.Status.BACKORDERED

    services.order_cancel(actor=alice.actor, order=first, reason="Behovet upphörde")

    line.refresh_from_db()
    assert line.status == OrderLine.Status.RESERVED and line.item is not None
    assert line.item.status == Item.Status.RESERVED
    filled = AuditEvent.objects.get(action=Action.BACKORDER_FILLED)
    assert filled.patient_id == shop.other.pk
    assert filled.actor_id is None  # the system, not Alice


def test_a_line_cancel_refills_backorders_and_a_failed_delivery_keeps_its_lifts(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    free = stock.available(shop.lift, shop.central)
    first = place(alice, shop.patient, *[LineInput(shop.lift) for _ in range(free)])
    one, two = (place(alice, shop.other, LineInput(shop.lift)) for _ in range(2))
    services.order_line_cancel(
        actor=alice.actor, line=first.lines.order_by("pk")[0], reason="Fel modell"
    )
    assert one.lines.get().status == OrderLine.Status.RESERVED
    assert two.lines.get().status == OrderLine.Status.BACKORDERED
    services.line_pick(actor=logan.actor, line=first.lines.filter(status="reserved")[0])
    services.order_delivery_failed(actor=logan.actor, order=first, reason="Ingen hemma")
    # The order keeps its lifts for the new day: nothing is freed for the waiting order.
    assert two.lines.get().status == OrderLine.Status.BACKORDERED
    assert first.lines.filter(status=OrderLine.Status.CANCELLED).count() == 1
