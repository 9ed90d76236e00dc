"""Fixtures of the technicians' desk: a lift on loan to unit A's patient (delivered through the
order services), the workshop with a spare part in stock (received into the central warehouse and
moved to the workshop through the ledger), a team with tekla in it and an inspection plan for the
lift (DOMAIN.md §3.4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from conftest import County, Persona
from lyfta.catalogue.models import Article, BillingType, Supplier
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLocation, StockMovement
from lyfta.orders import services as orders
from lyfta.orders.models import Loan
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import (
    Shop,
    _iso,
    article,
    grant,
    shop,  # noqa: F401 - a fixture, found by its name
)
from lyfta.patients.models import Patient
from lyfta.workorders import services
from lyfta.workorders.models import InspectionPlan, Team, WorkOrder

# What the workshop holds of the spare part when a test starts (the central store keeps more).
WORKSHOP_STOCK = 6
CENTRAL_STOCK = 20
CHECKLIST = ["Lyftband och bygel", "Nödsänkning", "Laddare och batteri"]


@dataclass
class Desk:
    shop: Shop
    county: County
    loan: Loan  # the lift on loan to shop.patient from unit A
    lift: Item  # the loaned lift
    spare_lift: Item  # the other lift, in the central store
    workshop: StockLocation
    part: Article  # a spare part: not tracked, kept in the workshop
    team: Team
    plan: InspectionPlan  # the lift's yearly inspection


@contextmanager
def today_is(day: dt.date) -> Iterator[None]:
    """Freeze `timezone.now` at ten in the morning in Sweden on `day`, and `localdate` with it
    (as lyfta/orders/tests/test_rent_stop.py does)."""
    moment = dt.datetime.combine(day, dt.time(10), tzinfo=ZoneInfo(settings.TIME_ZONE))
    with (
        mock.patch("django.utils.timezone.now", return_value=moment),
        mock.patch("django.utils.timezone.localdate", return_value=day),
    ):
        yield


def lend(prescriber: Persona, logan: Persona, patient: Patient, what: Article) -> Loan:
    """Order, pick and deliver one tracked article to `patient` through the order services."""
    order = orders.order_place(
        actor=prescriber.actor,
        grant=grant(prescriber, patient),
        lines=[LineInput(what)],
        delivery=DeliveryInput(),
    )
    for line in order.lines.all():
        orders.line_pick(actor=logan.actor, line=line)
    (loan,) = orders.order_deliver(actor=logan.actor, order=order)
    return loan


def move_to_workshop(
    logan: Persona, source: StockLocation, workshop: StockLocation, part: Article, quantity: int
) -> StockMovement:
    """Spare parts into the workshop: goods receipt goes to the central store or a buffer store
    only, so the parts come on from there through the ledger (a transfer)."""
    return stock.ledger(
        actor=logan.actor,
        kind=StockMovement.Kind.TRANSFER,
        article=part,
        quantity=quantity,
        source=source,
        target=workshop,
        reference="test:workshop",
    )


def repair_for(desk: Desk, prescriber: Persona, **fields: object) -> WorkOrder:
    """A fault report on the loaned lift from the patient's holdings (unit A, on a grant)."""
    values: dict[str, object] = {
        "kind": WorkOrder.Kind.REPAIR,
        "description": "Lyften går inte att sänka.",
        "place": WorkOrder.Place.HOME,
        "unit": desk.county.unit_a,
        "item": desk.lift,
        **fields,
    }
    if "grant" not in values and "patient" not in values:
        values["grant"] = grant(prescriber, desk.shop.patient)
    return services.work_order_create(actor=prescriber.actor, **values)  # type: ignore[arg-type]


def adaptation_for(desk: Desk, prescriber: Persona) -> WorkOrder:
    return repair_for(
        desk,
        prescriber,
        kind=WorkOrder.Kind.SPECIAL_ADAPTATION,
        description="Förlängd bygel för patientens rullstol.",
    )


@pytest.fixture
def desk(
    shop: Shop,  # noqa: F811 - the fixture imported above
    county: County,
    alice: Persona,
    logan: Persona,
    tekla: Persona,
) -> Desk:
    loan = lend(alice, logan, shop.patient, shop.lift)
    assert loan.item is not None
    lift = Item.objects.get(pk=loan.item.pk)
    spare_lift = Item.objects.get(article=shop.lift, status=Item.Status.IN_STOCK)
    workshop = StockLocation.objects.create(
        code="VERKSTAD", name="Verkstaden", kind=StockLocation.Kind.WORKSHOP, unit=county.centre
    )
    part = article(
        "900001",
        "Laddare till taklyft",
        _iso("12 36 12", "Taklyftar"),
        Supplier.objects.get(name="Lyftab AB"),
        tracked=False,
        billing_type=BillingType.SALE,
        monthly_rent=None,
        price=Decimal("1200.00"),
    )
    stock.goods_receive(
        actor=logan.actor, location=shop.central, article=part, quantity=CENTRAL_STOCK
    )
    move_to_workshop(logan, shop.central, workshop, part, WORKSHOP_STOCK)
    team = Team.objects.create(name="Team Karlstad", unit=county.centre, areas="652 653")
    team.members.add(tekla.user)
    plan = services.plan_save(
        actor=tekla.actor,
        plan=None,
        name="Taklyft årlig besiktning",
        article=shop.lift,
        iso_class=None,
        interval_months=12,
        checklist=CHECKLIST,
    )
    return Desk(shop, county, loan, lift, spare_lift, workshop, part, team, plan)
