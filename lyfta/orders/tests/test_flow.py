"""The device flow through its services: order → pick → deliver → holdings → pick-up → receipt →
reconditioning → stock; buffer stores, cancellations, failed deliveries, losses and recalls
(DOMAIN.md §3.1–3.3, 3.6, 3.7, §5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from conftest import County, Persona
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.core.workdays import add_working_days, next_working_day
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLevel, StockMovement
from lyfta.inventory.services import ReceivedItem, goods_receive
from lyfta.messages.models import Message
from lyfta.orders import selectors, services
from lyfta.orders.models import Loan, LossReport, Order, OrderLine, PickupLine
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput, PrescriptionInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db


def events(action: str, **filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def place(persona: Persona, patient: Patient, *lines: LineInput, **delivery: object) -> Order:
    return services.order_place(
        actor=persona.actor,
        grant=grant(persona, patient),
        lines=list(lines),
        delivery=DeliveryInput(**delivery),  # type: ignore[arg-type]
    )


def lines_of(order: Order) -> Q:
    return Q(pk__in=order.lines.values("item"))


def pick_all(logan: Persona, order: Order) -> None:
    for line in order.lines.filter(status=OrderLine.Status.RESERVED):
        services.line_pick(actor=logan.actor, line=line)


def test_an_order_reserves_reconditioned_units_first_and_records_itself(
    shop: Shop, alice: Persona
) -> None:
    used = Item.objects.get(serial_number="SN-L2")
    Item.objects.filter(pk=used.pk).update(times_lent=3)
    order = place(alice, shop.patient, LineInput(shop.lift), LineInput(shop.cushion, 2))
    lines = list(order.lines.order_by("id"))
    assert [line.status for line in lines] == [OrderLine.Status.RESERVED] * 2
    assert lines[0].item == used
    assert Item.objects.get(pk=used.pk).status == Item.Status.RESERVED
    level = StockLevel.objects.get(article=shop.cushion, location=shop.central)
    assert (level.quantity, level.reserved) == (10, 2)
    assert order.number.startswith(f"KO{timezone.localdate().year}-")
    assert order.expected_on == add_working_days(timezone.localdate(), 5)  # the lift's lead time
    placed = events(Action.ORDER_PLACED)[-1]
    assert placed.patient_id == shop.patient.pk
    assert placed.actor_id == alice.user.pk
    assert placed.detail["lines"][0]["item"] == used.individual_number


def test_ordering_creates_the_units_care_relationship(
    shop: Shop, county: County, charlie: Persona, alice: Persona
) -> None:
    # Charlie (region) has the patient through unit B; ordering adds no relationship for unit A,
    # and alice's ordering for her own patient keeps the one there is.
    before = CareRelationship.objects.filter(patient=shop.patient).count()
    place(alice, shop.patient, LineInput(shop.bed))
    assert CareRelationship.objects.filter(patient=shop.patient).count() == before
    place(charlie, shop.region_patient, LineInput(shop.bed))
    assert CareRelationship.objects.filter(patient=shop.region_patient, unit=county.unit_b).exists()


def test_out_of_stock_is_backordered_and_filled_on_goods_receipt(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    first = place(alice, shop.patient, LineInput(shop.lift, 2))
    second = place(alice, shop.other, LineInput(shop.lift))
    assert second.lines.get().status == OrderLine.Status.BACKORDERED
    assert {line.status for line in first.lines.all()} == {OrderLine.Status.RESERVED}
    stock.goods_receive(actor=logan.actor, location=shop.central, article=shop.lift, quantity=1)
    line = second.lines.get()
    assert line.status == OrderLine.Status.RESERVED
    assert line.item is not None and line.item.status == Item.Status.RESERVED
    assert events(Action.BACKORDER_FILLED)[-1].patient_id == shop.other.pk


def test_a_fixed_substitution_group_swaps_in_an_equivalent_in_stock(
    shop: Shop, alice: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.walker))
    line = order.lines.get()
    assert line.article == shop.walker2
    assert line.substitute_for == shop.walker
    assert line.status == OrderLine.Status.RESERVED


def test_the_whole_loop_to_holdings_and_back_into_stock(
    shop: Shop, alice: Persona, bob: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.lift), LineInput(shop.bed))
    pick_all(logan, order)
    order.refresh_from_db()
    assert order.status == Order.Status.IN_TRANSIT
    loans = services.order_deliver(actor=logan.actor, order=order)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert {loan.article for loan in loans} == {shop.lift, shop.bed}
    lift_item = next(loan.item for loan in loans if loan.article == shop.lift)
    assert lift_item is not None
    lift_item.refresh_from_db()
    assert (lift_item.status, lift_item.holder, lift_item.location) == (
        Item.Status.ON_LOAN,
        shop.patient,
        None,
    )
    assert all(loan.started_on == timezone.localdate() for loan in loans)
    assert len(events(Action.LOAN_STARTED, patient_id=shop.patient.pk)) == 2

    # Bob, alice's colleague, sees both in the holdings, with the unit they came from.
    view = selectors.holdings(actor=bob.actor, grant=grant(bob, shop.patient))
    assert {row.article_id for row in view.active} == {shop.lift.pk, shop.bed.pk}
    assert all(row.unit_id == alice.assignment.unit_id for row in view.active)
    assert events(Action.HOLDINGS_VIEWED)[-1].actor_id == bob.user.pk

    lift_loan = next(loan for loan in loans if loan.article == shop.lift)
    pickup = services.pickup_register(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        pickup=PickupInput(loans=[lift_loan]),
    )
    lift_loan.refresh_from_db()
    assert lift_loan.rent_stop_on == add_working_days(timezone.localdate(), 3)
    assert Item.objects.get(pk=lift_item.pk).status == Item.Status.AWAITING_PICKUP
    services.pickup_collect(actor=logan.actor, pickup=pickup)
    line = pickup.lines.get()
    services.pickup_receive(actor=logan.actor, line=line)
    lift_loan.refresh_from_db()
    assert lift_loan.ended_on == timezone.localdate()
    assert lift_loan.end_reason == Loan.End.RETURNED
    lift_item.refresh_from_db()
    assert (lift_item.status, lift_item.location, lift_item.holder) == (
        Item.Status.RECONDITIONING,
        shop.recon,
        None,
    )
    stock.item_recondition_done(actor=logan.actor, item=lift_item, to=shop.central)
    lift_item.refresh_from_db()
    assert lift_item.status == Item.Status.IN_STOCK

    # The same lift goes to another patient; its card shows both loans.
    again = place(alice, shop.other, LineInput(shop.lift))
    assert again.lines.get().item == lift_item  # lent before: first in line
    pick_all(logan, again)
    services.order_deliver(actor=logan.actor, order=again)
    card = selectors.item_card(actor=alice.actor, individual_number=lift_item.individual_number)
    assert [row.loan.patient for row in card.loans] == [shop.patient, shop.other]
    assert all(row.patient_label for row in card.loans)  # both are alice's patients
    kinds = [m.kind for m in card.movements]
    assert kinds == [
        StockMovement.Kind.RECEIPT,
        StockMovement.Kind.DELIVERY,
        StockMovement.Kind.RETURN,
        StockMovement.Kind.RECONDITIONED,
        StockMovement.Kind.DELIVERY,
    ]
    # Ledger and books agree everywhere the lift has been.
    for place_ in (shop.central, shop.recon):
        assert stock.ledger_balance(shop.lift, place_) == stock.books_at(shop.lift, place_)


def test_non_tracked_articles_move_by_quantity(shop: Shop, alice: Persona, logan: Persona) -> None:
    order = place(alice, shop.patient, LineInput(shop.cushion, 3))
    pick_all(logan, order)
    services.order_deliver(actor=logan.actor, order=order)
    level = StockLevel.objects.get(article=shop.cushion, location=shop.central)
    assert (level.quantity, level.reserved) == (7, 0)
    assert stock.ledger_balance(shop.cushion, shop.central) == 7
    loan = Loan.unscoped.get(patient=shop.patient, article=shop.cushion)
    assert loan.quantity == 3
    # A sold device is not picked up.
    with pytest.raises(ValidationError, match="sålt"):
        services.pickup_register(
            actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=[loan])
        )


def test_cancelling_a_line_frees_its_reservation(shop: Shop, alice: Persona, bob: Persona) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed), LineInput(shop.cushion, 4))
    bed_line, cushion_line = order.lines.order_by("id")
    with pytest.raises(ValidationError):
        services.order_line_cancel(actor=alice.actor, line=bed_line, reason="  ")
    services.order_line_cancel(actor=bob.actor, line=bed_line, reason="Fel artikel")
    assert bed_line.item is not None
    assert Item.objects.get(pk=bed_line.item.pk).status == Item.Status.IN_STOCK
    services.order_cancel(actor=alice.actor, order=order, reason="Behovet upphörde")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert StockLevel.objects.get(article=shop.cushion, location=shop.central).reserved == 0
    assert events(Action.ORDER_CANCELLED)[-1].detail["reason"] == "Behovet upphörde"
    assert len(events(Action.ORDER_LINE_CANCELLED)) == 2
    # Nothing is deleted: the order and its lines are still there, cancelled.
    assert order.lines.filter(status=OrderLine.Status.CANCELLED).count() == 2


def test_another_units_order_cannot_be_cancelled(
    shop: Shop, alice: Persona, charlie: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed))
    with pytest.raises(PermissionDenied):
        services.order_cancel(actor=charlie.actor, order=order, reason="Inte min")
    assert order.lines.get().status == OrderLine.Status.RESERVED
    denied = events(Action.ACCESS_DENIED)[-1]
    assert denied.actor_id == charlie.user.pk
    assert denied.detail["reason"] == "other_unit"


def test_a_failed_delivery_keeps_the_order_for_a_new_day_and_tells_the_prescriber(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    """Issue 16: nobody home no longer cancels the order. The lift comes back on the van and
    stays picked for the order, which moves to the next working day; the fee is marked and the
    prescriber is told the new day."""
    order = place(alice, shop.patient, LineInput(shop.lift))
    pick_all(logan, order)
    services.order_delivery_failed(actor=logan.actor, order=order, reason="Ingen hemma")
    order.refresh_from_db()
    new_day = next_working_day(timezone.localdate())
    assert (order.status, order.failed_delivery, order.failed_fee, order.expected_on) == (
        Order.Status.IN_TRANSIT,
        True,
        True,
        new_day,
    )
    assert order.cancel_reason == "" and order.cancelled_at is None
    line = order.lines.get()
    assert line.status == OrderLine.Status.PICKED
    assert Item.objects.get(lines_of(order)).status == Item.Status.IN_TRANSIT
    message = Message.objects.get(recipient=alice.user)
    assert order.number in message.subject and new_day.isoformat() in message.subject


def test_a_picker_may_take_another_free_unit_of_the_same_article(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed))
    line = order.lines.get()
    reserved = line.item
    assert reserved is not None
    other = Item.objects.exclude(pk=reserved.pk).get(article=shop.bed)
    picked = services.line_pick(
        actor=logan.actor, line=line, individual_number=other.individual_number
    )
    assert picked.item == other
    assert Item.objects.get(pk=reserved.pk).status == Item.Status.IN_STOCK
    assert Item.objects.get(pk=other.pk).status == Item.Status.IN_TRANSIT
    with pytest.raises(ValidationError):
        services.line_pick(actor=logan.actor, line=picked, individual_number="")


def test_a_lift_is_never_lent_to_two_patients(shop: Shop, alice: Persona, logan: Persona) -> None:
    order = place(alice, shop.patient, LineInput(shop.lift))
    pick_all(logan, order)
    services.order_deliver(actor=logan.actor, order=order)
    item = Item.objects.get(holder=shop.patient)
    # The database refuses a second open loan of the item whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.unscoped.create(
            patient=shop.other,
            article=shop.lift,
            item=item,
            unit=alice.assignment.unit,
            payer=alice.assignment.unit,
            billing_type="rent",
            started_on=timezone.localdate(),
        )


def test_stock_never_goes_negative_in_the_database(shop: Shop) -> None:
    level = StockLevel.objects.get(article=shop.cushion, location=shop.central)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(quantity=-1)


def test_the_ledger_is_append_only(shop: Shop) -> None:
    movement = StockMovement.unscoped.first()
    assert movement is not None
    for sql in (
        "UPDATE inventory_stockmovement SET quantity = 5 WHERE id = %s",
        "DELETE FROM inventory_stockmovement WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),  # noqa: PT011 - the backend's error
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [movement.pk])


def test_buffer_withdrawal_starts_the_loan_and_refill_lists_the_need(
    shop: Shop, alice: Persona, charlie: Persona, logan: Persona
) -> None:
    stock.buffer_level_set(
        actor=logan.actor, location=shop.buffer_a, article=shop.bed, safety_level=2
    )
    stock.buffer_level_set(
        actor=logan.actor, location=shop.buffer_a, article=shop.grips, safety_level=4
    )
    refill = services.order_store_place(
        actor=logan.actor,
        store=shop.buffer_a,
        lines=[LineInput(shop.bed, 1), LineInput(shop.grips, 3)],
    )
    pick_all(logan, refill)
    services.order_deliver(actor=logan.actor, order=refill)
    needs = {n.article: n.need for n in selectors.refill_needs(shop.buffer_a)}
    assert needs == {shop.bed: 1, shop.grips: 1}
    bed = Item.objects.get(location=shop.buffer_a)
    loan = services.buffer_withdraw(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        store=shop.buffer_a,
        article=shop.bed,
        individual_number=bed.individual_number,
    )
    assert loan.started_on == timezone.localdate()
    assert Item.objects.get(pk=bed.pk).holder == shop.patient
    assert {n.article: n.need for n in selectors.refill_needs(shop.buffer_a)}[shop.bed] == 2
    services.buffer_withdraw(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        store=shop.buffer_a,
        article=shop.grips,
        quantity=2,
    )
    assert StockLevel.objects.get(article=shop.grips, location=shop.buffer_a).quantity == 1
    # Another unit's store, a date two days back, or more than is there: refused.
    with pytest.raises(PermissionDenied):
        services.buffer_withdraw(
            actor=charlie.actor,
            grant=grant(charlie, shop.region_patient),
            store=shop.buffer_a,
            article=shop.grips,
        )
    with pytest.raises(ValidationError):
        services.buffer_withdraw(
            actor=alice.actor,
            grant=grant(alice, shop.patient),
            store=shop.buffer_a,
            article=shop.grips,
            taken_on=timezone.localdate() - dt.timedelta(days=2),
        )
    with pytest.raises(stock.OutOfStock):
        services.buffer_withdraw(
            actor=alice.actor,
            grant=grant(alice, shop.patient),
            store=shop.buffer_a,
            article=shop.grips,
            quantity=5,
        )


def test_a_device_missing_at_pickup_stays_on_loan_and_the_prescriber_is_told(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.lift), LineInput(shop.bed))
    pick_all(logan, order)
    loans = services.order_deliver(actor=logan.actor, order=order)
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=loans)
    )
    lift_line = pickup.lines.get(loan__article=shop.lift)
    services.pickup_collect(actor=logan.actor, pickup=pickup, missing={lift_line.pk: "Finns ej"})
    lift_line.refresh_from_db()
    assert lift_line.status == PickupLine.Status.MISSING
    lift_loan = lift_line.loan
    lift_loan.refresh_from_db()
    assert lift_loan.rent_stop_on is None  # rent restarts
    assert lift_loan.ended_on is None
    assert lift_loan.item is not None and lift_loan.item.status == Item.Status.ON_LOAN
    assert Message.objects.filter(recipient=alice.user, subject__contains="saknades").exists()


def test_a_lost_device_goes_to_shrinkage_and_can_be_found_within_three_months(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.lift))
    pick_all(logan, order)
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    with pytest.raises(ValidationError):  # charging needs negligence
        services.loss_report(
            actor=alice.actor,
            grant=grant(alice, shop.patient),
            loan=loan,
            lost_on=timezone.localdate(),
            circumstances="Borta",
            charge=LossReport.Charge.UNIT,
        )
    report = services.loss_report(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        loan=loan,
        lost_on=timezone.localdate(),
        circumstances="Kvar vid flytt",
    )
    assert loan.item is not None
    item = Item.objects.get(pk=loan.item.pk)
    assert (item.status, item.location, item.holder) == (Item.Status.LOST, shop.shrinkage, None)
    assert report.residual_value == Decimal("12000.00")  # new this month
    loan.refresh_from_db()
    assert loan.end_reason == Loan.End.LOST
    services.loss_found(actor=logan.actor, report=report)
    item.refresh_from_db()
    assert (item.status, item.location) == (Item.Status.RECONDITIONING, shop.recon)
    assert events(Action.LOSS_FOUND)[-1].patient_id == shop.patient.pk


def test_a_loss_found_after_three_months_is_written_off(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed))
    pick_all(logan, order)
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    Loan.unscoped.filter(pk=loan.pk).update(
        started_on=timezone.localdate() - dt.timedelta(days=200)
    )
    loan.refresh_from_db()
    report = services.loss_report(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        loan=loan,
        lost_on=timezone.localdate() - dt.timedelta(days=100),
        circumstances="Borta",
    )
    with pytest.raises(ValidationError, match="avskrivet"):
        services.loss_found(actor=logan.actor, report=report)


def test_residual_value_falls_straight_over_five_years(shop: Shop) -> None:
    item = Item.objects.filter(article=shop.lift).first()
    assert item is not None
    start = item.acquired_on
    assert stock.residual_value(item, start) == Decimal("12000.00")
    assert stock.residual_value(item, start + dt.timedelta(days=31 * 30)) < Decimal("6200.00")
    assert stock.residual_value(item, start + dt.timedelta(days=366 * 5)) == Decimal("0.00")


def test_recall_lists_every_holder_and_names_patients_only_within_access(
    shop: Shop, alice: Persona, charlie: Persona, logan: Persona, county: County
) -> None:
    from conftest import make_persona
    from lyfta.access.roles import Role

    first = place(alice, shop.patient, LineInput(shop.bed))
    second = place(charlie, shop.region_patient, LineInput(shop.bed))
    for order in (first, second):
        pick_all(logan, order)
        services.order_deliver(actor=logan.actor, order=order)
    rows = selectors.recall_list(actor=logan.actor, article=shop.bed, batch="LOT-1")
    assert len(rows) == 2
    assert {r.unit_name for r in rows} == {county.unit_a.name, county.unit_b.name}
    # The centre's logistics has no care relationship with either patient: units only.
    assert all(r.patient_label == "" for r in rows)
    assert events(Action.RECALL_LISTED)[-1].detail["with_patients"] == 2
    clerk = make_persona(county.unit_a, Role.CUSTOMER_SERVICE, "kund")
    named = selectors.recall_list(actor=clerk.actor, article=shop.bed)
    assert sorted(bool(r.patient_label) for r in named) == [False, True]
    with pytest.raises(PermissionDenied):
        selectors.recall_list(actor=alice.actor, article=shop.bed)


def test_a_protected_address_is_never_on_the_pick_list(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    Patient.objects.filter(pk=shop.patient.pk).update(
        protection="protected", approved_delivery_address="Box 12, 651 01 Karlstad"
    )
    shop.patient.refresh_from_db()
    from lyfta.patients.models import ProtectedStaff

    ProtectedStaff.objects.create(patient=shop.patient, user=alice.user, named_by=alice.user)
    order = place(alice, shop.patient, LineInput(shop.bed))
    assert order.confidential_address
    stops = selectors.picklist(actor=logan.actor, day=order.expected_on)
    stop = next(s for s in stops if s.order == order)
    assert stop.address == ""
    assert "Storgatan" not in str(stop.address)


def test_rent_stops_three_swedish_working_days_after_a_pickup_order(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    # Maundy Thursday 2026: Good Friday and Easter Monday are holidays.
    assert add_working_days(dt.date(2026, 4, 2), 3) == dt.date(2026, 4, 9)
    assert add_working_days(dt.date(2026, 12, 23), 3) == dt.date(2026, 12, 30)
    order = place(alice, shop.patient, LineInput(shop.bed))
    pick_all(logan, order)
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=[loan])
    )
    today = timezone.localdate()
    assert pickup.rent_stop_on == add_working_days(today, 3)
    assert pickup.collect_by == add_working_days(today, 7)
    with pytest.raises(ValidationError, match="redan"):
        services.pickup_register(
            actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=[loan])
        )


def test_bad_order_input_gets_swedish_messages_and_writes_nothing(
    shop: Shop, alice: Persona
) -> None:
    g = grant(alice, shop.patient)
    today = timezone.localdate()
    cases = [
        ([], DeliveryInput(), None, "minst en"),
        ([LineInput(shop.bed, 0)], DeliveryInput(), None, "Antalet"),
        ([LineInput(shop.bed, 101)], DeliveryInput(), None, "Antalet"),
        (
            [LineInput(shop.bed)],
            DeliveryInput(kind="other", street="X", postal_code="12", city="Y"),
            None,
            "Postnumret",
        ),
        ([LineInput(shop.bed)], DeliveryInput(kind="moon"), None, "Välj vart"),
        (
            [LineInput(shop.bed)],
            DeliveryInput(),
            PrescriptionInput(short_term_until=today + dt.timedelta(days=200)),
            "sex månader",
        ),
        (
            [LineInput(shop.bed)],
            DeliveryInput(),
            PrescriptionInput(follow_up_on=today - dt.timedelta(days=1)),
            "förflutna",
        ),
    ]
    for lines, delivery, rx, message in cases:
        with pytest.raises(ValidationError, match=message):
            services.order_place(
                actor=alice.actor, grant=g, lines=lines, delivery=delivery, prescription=rx
            )
    assert Order.unscoped.count() == 0
    assert not Item.objects.filter(status=Item.Status.RESERVED).exists()


def test_a_recall_range_of_serial_numbers_is_read_as_numbers_not_text(
    shop: Shop, logan: Persona
) -> None:
    """Issue 15: the range was compared as text, so "SN-B10" fell outside SN-B2…SN-B11."""
    goods_receive(
        actor=logan.actor,
        location=shop.central,
        article=shop.bed,
        quantity=4,
        items=[ReceivedItem(f"SN-B{n}", "LOT-2") for n in (9, 10, 11, 100)],
    )

    def serials(low: str, high: str) -> list[str]:
        rows = selectors.recall_list(
            actor=logan.actor, article=shop.bed, serial_from=low, serial_to=high
        )
        return sorted((r.item.serial_number for r in rows), key=selectors.serial_key)

    assert serials("SN-B2", "SN-B11") == ["SN-B2", "SN-B9", "SN-B10", "SN-B11"]
    assert serials("sn-b10", "") == ["SN-B10", "SN-B11", "SN-B100"]
    assert serials("", "SN-B9") == ["SN-B1", "SN-B2", "SN-B9"]
    assert events(Action.RECALL_LISTED)[-1].detail["serial_to"] == "SN-B9"


def test_serial_keys_order_digits_by_value_and_survive_any_text() -> None:
    assert (
        selectors.serial_key("SN-9") < selectors.serial_key("SN-10") < selectors.serial_key("sn-11")
    )
    for odd in ("²", "٣", "", "  ", "SN-\u0000", "9" * 400):
        selectors.serial_in_range(odd, "SN-1", "SN-9")  # never raises


def test_a_device_taken_out_of_use_is_not_lent_from_a_buffer_store(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    """Found by the attack on the demo: a sling that failed its inspection could still be taken
    from a unit's buffer store and lent to a patient."""
    refill = services.order_store_place(
        actor=logan.actor, store=shop.buffer_a, lines=[LineInput(shop.bed, 1)]
    )
    pick_all(logan, refill)
    services.order_deliver(actor=logan.actor, order=refill)
    bed = Item.objects.get(location=shop.buffer_a)
    Item.objects.filter(pk=bed.pk).update(
        out_of_use_since=timezone.localdate(), out_of_use_reason="Underkänd besiktning"
    )
    with pytest.raises(ValidationError, match="tagen ur bruk"):
        services.buffer_withdraw(
            actor=alice.actor,
            grant=grant(alice, shop.patient),
            store=shop.buffer_a,
            article=shop.bed,
            individual_number=bed.individual_number,
        )
    bed.refresh_from_db()
    assert (bed.status, bed.holder_id) == (Item.Status.IN_STOCK, None)
    assert not Loan.unscoped.filter(item=bed).exists()
