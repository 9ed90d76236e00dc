"""Fees, work outside the rent and losses in the billing run (issue 14 point 4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from conftest import County, Persona
from lyfta.billing.models import BillingLine, Price
from lyfta.billing.services.run import compute_range, month_end
from lyfta.billing.tests.run_world import World, build_world
from lyfta.inventory.models import Item, StockLocation, StockMovement
from lyfta.orders.models import DeliveryAttempt, LossReport, Order
from lyfta.workorders.models import WorkOrder, WorkOrderPart

D = dt.date
JAN = D(2025, 1, 1)


@pytest.fixture
def world(county: County) -> World:
    return build_world(county)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def jan_lines() -> list[Any]:
    return list(compute_range(JAN, month_end(JAN)))


def _order(world: World, alice: Persona, number: str, **fields: object) -> Order:
    patient = world.patient()
    return Order.unscoped.create(
        number=number,
        patient=patient,
        unit=world.county.unit_a,
        payer=world.county.unit_a,
        orderer=alice.user,
        delivery=Order.Delivery.PATIENT,
        registered_at=at(D(2024, 12, 20)),
        expected_on=D(2025, 1, 10),
        **fields,
    )


def test_delivery_and_urgent_fees_on_the_delivery_day_failed_delivery_on_its_day(
    world: World,
    alice: Persona,
) -> None:
    _order(world, alice, "O1", status="delivered", delivered_at=at(D(2025, 1, 10)), urgent_fee=True)
    _order(world, alice, "O2", status="delivered", delivered_at=at(D(2024, 12, 31)))
    late = _order(world, alice, "O3", status="registered")
    DeliveryAttempt.unscoped.create(
        order=late,
        failed_at=at(D(2025, 1, 8)),
        recorded_by=alice.user,
        reason="Ingen hemma",
        planned_on=D(2025, 1, 8),
        new_day=D(2025, 1, 9),
        fee=True,
    )
    DeliveryAttempt.unscoped.create(
        order=late,
        failed_at=at(D(2025, 1, 9)),
        recorded_by=alice.user,
        reason="Vägen avstängd",
        planned_on=D(2025, 1, 9),
        new_day=D(2025, 1, 12),
        fee=False,
    )
    fees = sorted((d.text.split(",")[0], d.amount, d.period_from) for d in jan_lines())
    assert fees == [
        ("Akutavgift", Decimal("400.00"), D(2025, 1, 10)),
        ("Bomkörning", Decimal("250.00"), D(2025, 1, 8)),
        ("Leveransavgift", Decimal("150.00"), D(2025, 1, 10)),
    ]


def test_billable_work_and_its_parts_are_priced_and_other_work_is_not(
    world: World,
    tekla: Persona,
) -> None:
    Price.objects.create(
        price_list=world.price_list,
        kind=Price.Kind.PART,
        key=world.cheap_article.article_number,
        amount=Decimal("45.00"),
    )
    location = StockLocation.objects.create(
        code="VERK", name="Verkstad", kind=StockLocation.Kind.CENTRAL, unit=world.county.centre
    )

    def work(number: str, billable: bool) -> WorkOrder:
        return WorkOrder.unscoped.create(
            number=number,
            kind=WorkOrder.Kind.REPAIR,
            status=WorkOrder.Status.DONE,
            origin=WorkOrder.Origin.PRESCRIBER,
            place=WorkOrder.Place.WORKSHOP,
            article=world.rent_article,
            unit=world.county.unit_a,
            description="Trasigt hjul",
            registered_at=at(D(2025, 1, 2)),
            start_due=D(2025, 1, 5),
            done_due=D(2025, 1, 15),
            done_at=at(D(2025, 1, 14)),
            minutes_spent=90,
            billable=billable,
        )

    paid = work("A1", True)
    work("A2", False)
    movement = StockMovement.unscoped.create(
        article=world.cheap_article,
        quantity=2,
        kind=StockMovement.Kind.REPAIR_PART,
        from_location=location,
        occurred_at=at(D(2025, 1, 14)),
        actor=tekla.user,
    )
    WorkOrderPart.unscoped.create(
        work_order=paid,
        article=world.cheap_article,
        quantity=2,
        location=location,
        movement=movement,
        used_by=tekla.user,
        used_at=at(D(2025, 1, 14)),
    )
    drafts = jan_lines()
    kinds = sorted((d.kind, d.quantity, d.amount) for d in drafts)
    assert kinds == [
        (BillingLine.Kind.PART, Decimal("2.00"), Decimal("90.00")),
        (BillingLine.Kind.WORK, Decimal("1.50"), Decimal("900.00")),
    ]
    assert {d.work_order_id for d in drafts} == {paid.pk}
    assert all(d.customer_id == world.municipality_customer.pk for d in drafts)


def test_a_loss_is_billed_only_where_the_decision_charges_the_unit(
    world: World,
    alice: Persona,
) -> None:
    def lost(number: str, charge: str, found: bool = False) -> None:
        item = Item.objects.create(
            individual_number=number,
            article=world.rent_article,
            acquired_on=D(2022, 1, 1),
            acquisition_value=Decimal("12000"),
            status="scrapped",
        )
        loan = world.loan(world.patient(), started_on=D(2024, 1, 1))
        type(loan).unscoped.filter(pk=loan.pk).update(
            item=item, ended_on=D(2024, 12, 20), end_reason="lost"
        )
        LossReport.unscoped.create(
            loan=loan,
            item=item,
            reported_by=alice.user,
            reported_at=at(D(2025, 1, 7)),
            lost_on=D(2024, 12, 20),
            circumstances="Borta",
            negligence=charge != "none",
            charge=charge,
            residual_value=Decimal("4321.00"),
            found_at=at(D(2025, 1, 20)) if found else None,
        )

    lost("L1", LossReport.Charge.UNIT)
    lost("L2", LossReport.Charge.NONE)
    lost("L3", LossReport.Charge.UNIT, found=True)
    [loss] = [d for d in jan_lines() if d.kind == BillingLine.Kind.LOSS]
    assert loss.amount == Decimal("4321.00")
    assert loss.customer_id == world.municipality_customer.pk
    assert loss.period_from == D(2025, 1, 7)
