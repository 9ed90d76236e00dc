"""The desks' figures (issue 17 point 1) against the test rows counted in plain Python: deliveries
and their precision, reuse, reconditioning turnaround, pick-ups, work-order service levels,
repairs, billing, deviations and losses, per unit and article, month by month.

The world is made through the desks' own services on chosen days (`today_is`), so that its rows
have the shapes the desks give them (the ledger's movements, the statuses a cancellation leaves),
with a few rows written directly where a day's exact minute matters (the month boundaries). The
expected figures are computed from the rows by the test's own arithmetic: local dates from
Python's time zones, working days from `working_days_between` and the service levels written out
here, the ledger walked item by item."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.actor import Actor
from lyfta.billing.models import BillingLine, BillingRun, Housing
from lyfta.billing.services.corrections import correct_line
from lyfta.billing.services.run import approve_run, compute_run, start_run
from lyfta.billing.tests.run_world import build_world
from lyfta.core.workdays import working_days_between
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockMovement
from lyfta.orders import services as orders
from lyfta.orders.models import (
    Loan,
    LossReport,
    Order,
    OrderLine,
    PickupLine,
    PickupOrder,
)
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput
from lyfta.orders.tests.conftest import (
    Shop,
    grant,
    shop,  # noqa: F401 - a fixture, found by its name
)
from lyfta.patients.models import Patient
from lyfta.quality.models import Deviation
from lyfta.quality.services.deviations import deviation_report
from lyfta.reports.models import Fact
from lyfta.reports.services.refresh import statistics_refresh
from lyfta.workorders import services as work
from lyfta.workorders.models import WorkOrder
from lyfta.workorders.tests.conftest import today_is

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 4, 20)
MONTHS = [D(2026, m, 1) for m in (1, 2, 3, 4)]
# Personas, stock and care relationships are made before the year the figures cover.
SETUP_DAY = D(2025, 12, 1)
# The service levels in working days (start, done) as DOMAIN.md §3.4 and the technicians' desk
# state them; an urgent work order has its own.
LEVELS = {
    "repair": (3, 10), "reconditioning": (3, 10), "adaptation": (5, 15), "installation": (5, 20)
}  # fmt: skip
URGENT = (1, 3)
MEASURES = [
    "delivery", "reuse", "recondition", "pickup", "workorder", "repair", "billed",
    "deviation", "loss",
]  # fmt: skip

_numbers = itertools.count(1)


def at(day: dt.date, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment in Swedish local time."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute, second)))


def local(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


@pytest.fixture(autouse=True)
def _made_before_the_year() -> Iterator[None]:
    with today_is(SETUP_DAY):
        yield


@dataclass
class Desks:
    county: County
    shop: Shop
    lift_1: Item  # lent, picked up, reconditioned, lent again, lost, found, reconditioned
    lift_2: Item
    bed_1: Item  # lent to the region's patient, lost
    bed_2: Item  # lent to unit A's patient, picked up, reconditioned


def _place(persona: Persona, patient: Patient, *lines: LineInput) -> Order:
    return orders.order_place(
        actor=persona.actor,
        grant=grant(persona, patient),
        lines=list(lines),
        delivery=DeliveryInput(),
    )


def _pick(logan: Persona, order: Order) -> None:
    for line in order.lines.filter(status=OrderLine.Status.RESERVED):
        orders.line_pick(actor=logan.actor, line=line)


def _ordered(
    persona: Persona, logan: Persona, patient: Patient, days: tuple[dt.date, dt.date, dt.date],
    *lines: LineInput,
) -> tuple[Order, list[Loan]]:  # fmt: skip
    """Ordered, picked and delivered on the three days, through the order services."""
    with today_is(days[0]):
        order = _place(persona, patient, *lines)
    with today_is(days[1]):
        _pick(logan, order)
    with today_is(days[2]):
        loans = orders.order_deliver(actor=logan.actor, order=order)
    return order, loans


def _work_order(county: County, **values: Any) -> WorkOrder:
    """A work order written directly, with the service levels the desk gives it on the day it
    is registered (`due_dates`)."""
    registered = values["registered_at"]
    kind = values.get("kind", WorkOrder.Kind.REPAIR)
    priority = values.get("priority", WorkOrder.Priority.NORMAL)
    start_due, done_due = work.due_dates(kind, priority, local(registered))
    row: dict[str, Any] = {
        "number": f"AO-T{next(_numbers):05d}",
        "kind": kind,
        "status": WorkOrder.Status.REGISTERED,
        "origin": WorkOrder.Origin.CENTRE,
        "place": WorkOrder.Place.WORKSHOP,
        "unit": county.unit_a,
        "description": "Fel",
        "start_due": start_due,
        "done_due": done_due,
        **values,
    }
    return WorkOrder.unscoped.create(**row)


def _deviation(county: County, reporter: Persona, **values: Any) -> Deviation:
    row: dict[str, Any] = {
        "number": f"AV-T{next(_numbers):05d}",
        "kind": Deviation.Kind.PRODUCT_FAULT,
        "source": Deviation.Source.QUALITY,
        "occurred_on": local(values["reported_at"]),
        "description": "Något hände",
        "unit": county.unit_a,
        "reported_by": reporter.user,
        **values,
    }
    return Deviation.unscoped.create(**row)


def _orders_and_returns(county: County, kit: Shop, people: dict[str, Persona]) -> Desks:
    """Deliveries, pick-ups, reconditionings and losses through the order and stock services."""
    alice, charlie, logan = people["alice"], people["charlie"], people["logan"]
    patient, other, region_patient = kit.patient, kit.other, kit.region_patient
    # A lift to unit A's patient: ordered Monday 12 January (expected in five working days, on
    # the 19th), delivered on the 14th: on time, two days.
    _, (lift_loan,) = _ordered(
        alice, logan, patient, (D(2026, 1, 12), D(2026, 1, 13), D(2026, 1, 14)),
        LineInput(kit.lift),
    )  # fmt: skip
    assert lift_loan.item is not None
    lift_1 = lift_loan.item
    # Picked up: ordered on 20 January (collect by the 29th), collected on the 30th (late, ten
    # days), received on 2 February, reconditioned on the 9th (seven days).
    with today_is(D(2026, 1, 20)):
        first_pickup = orders.pickup_register(
            actor=alice.actor, grant=grant(alice, patient), pickup=PickupInput(loans=[lift_loan])
        )
    with today_is(D(2026, 1, 30)):
        orders.pickup_collect(actor=logan.actor, pickup=first_pickup)
    with today_is(D(2026, 2, 2)):
        orders.pickup_receive(actor=logan.actor, line=first_pickup.lines.get())
    with today_is(D(2026, 2, 9)):
        stock.item_recondition_done(
            actor=logan.actor, item=Item.objects.get(pk=lift_1.pk), to=kit.central
        )
    # The reconditioned lift goes out first: to the other patient, ordered 10 February
    # (expected on the 17th), delivered on the 18th: late, eight days; a reused unit.
    _, (reused,) = _ordered(
        alice, logan, other, (D(2026, 2, 10), D(2026, 2, 11), D(2026, 2, 18)),
        LineInput(kit.lift),
    )  # fmt: skip
    assert reused.item_id == lift_1.pk
    # A bed to the region's patient (unit B), delivered a minute before February.
    bed_order, (bed_1_loan,) = _ordered(
        charlie, logan, region_patient, (D(2026, 1, 26), D(2026, 1, 27), D(2026, 1, 30)),
        LineInput(kit.bed),
    )  # fmt: skip
    Order.unscoped.filter(pk=bed_order.pk).update(delivered_at=at(D(2026, 1, 31), 23, 59, 59))
    # A bed and grips to unit A's patient, delivered at the first second of February.
    boundary, loans = _ordered(
        alice, logan, patient, (D(2026, 1, 28), D(2026, 1, 29), D(2026, 1, 30)),
        LineInput(kit.bed), LineInput(kit.grips),
    )  # fmt: skip
    Order.unscoped.filter(pk=boundary.pk).update(delivered_at=at(D(2026, 2, 1), 0))
    bed_2_loan = next(loan for loan in loans if loan.item_id is not None)
    grips_loan = next(loan for loan in loans if loan.item_id is None)
    # An order with a cancelled line: only the walker is delivered.
    with today_is(D(2026, 3, 2)):
        mixed = _place(alice, other, LineInput(kit.cushion, 2), LineInput(kit.walker2))
        orders.order_line_cancel(
            actor=alice.actor, line=mixed.lines.get(article=kit.cushion), reason="Fel artikel"
        )
    with today_is(D(2026, 3, 3)):
        _pick(logan, mixed)
    with today_is(D(2026, 3, 4)):
        (walker_loan,) = orders.order_deliver(actor=logan.actor, order=mixed)
    # A cancelled order.
    with today_is(D(2026, 3, 5)):
        cancelled = _place(alice, patient, LineInput(kit.cushion))
        orders.order_cancel(actor=alice.actor, order=cancelled, reason="Behövs inte")
    # A pick-up of the bed and the grips: the grips are missing; the bed is collected on time
    # (ordered 9 March, collect by the 18th, collected on the 12th: three days), received on
    # the 16th and reconditioned on 1 April (sixteen days).
    with today_is(D(2026, 3, 9)):
        second_pickup = orders.pickup_register(
            actor=alice.actor,
            grant=grant(alice, patient),
            pickup=PickupInput(loans=[bed_2_loan, grips_loan]),
        )
    grips_line = second_pickup.lines.get(loan=grips_loan)
    with today_is(D(2026, 3, 12)):
        orders.pickup_collect(
            actor=logan.actor, pickup=second_pickup, missing={grips_line.pk: "Fanns inte"}
        )
    with today_is(D(2026, 3, 16)):
        orders.pickup_receive(actor=logan.actor, line=second_pickup.lines.get(loan=bed_2_loan))
    assert bed_2_loan.item is not None
    with today_is(D(2026, 4, 1)):
        stock.item_recondition_done(
            actor=logan.actor, item=Item.objects.get(pk=bed_2_loan.item.pk), to=kit.central
        )
    # A cancelled pick-up.
    with today_is(D(2026, 3, 10)):
        dropped = orders.pickup_register(
            actor=alice.actor, grant=grant(alice, other), pickup=PickupInput(loans=[walker_loan])
        )
    with today_is(D(2026, 3, 11)):
        orders.pickup_cancel(actor=alice.actor, pickup=dropped, reason="Patienten behåller den")
    # Losses: the region's bed (charged to the unit), and the reused lift, found again and
    # reconditioned (two days from its return to the reconditioning store).
    with today_is(D(2026, 3, 20)):
        orders.loss_report(
            actor=charlie.actor, grant=grant(charlie, region_patient),
            loan=Loan.unscoped.get(pk=bed_1_loan.pk), lost_on=D(2026, 3, 18),
            circumstances="Lämnad i trapphuset", negligence=True, charge=LossReport.Charge.UNIT,
        )  # fmt: skip
    with today_is(D(2026, 4, 2)):
        found = orders.loss_report(
            actor=alice.actor, grant=grant(alice, other), loan=Loan.unscoped.get(pk=reused.pk),
            lost_on=D(2026, 4, 1), circumstances="Borta efter flytt",
        )  # fmt: skip
    with today_is(D(2026, 4, 7)):
        orders.loss_found(actor=logan.actor, report=found)
    with today_is(D(2026, 4, 9)):
        stock.item_recondition_done(
            actor=logan.actor, item=Item.objects.get(pk=lift_1.pk), to=kit.central
        )
    lift_2 = Item.objects.exclude(pk=lift_1.pk).get(article=kit.lift)
    # A loan registered by mistake does not count, nor make the device's next loan a reuse.
    for started, reason in ((D(2026, 3, 3), Loan.End.CANCELLED), (D(2026, 3, 25), "")):
        Loan.unscoped.create(
            patient=other, article=kit.lift, item=lift_2, unit=county.unit_a2,
            payer=county.unit_a2, billing_type="rent", started_on=started,
            ended_on=started if reason else None, end_reason=reason,
        )  # fmt: skip
    assert bed_1_loan.item is not None and bed_2_loan.item is not None
    return Desks(county, kit, lift_1, lift_2, bed_1_loan.item, bed_2_loan.item)


def _work_and_deviations(desks: Desks, people: dict[str, Persona]) -> None:
    county, kit = desks.county, desks.shop
    alice, tekla = people["alice"], people["tekla"]
    walker = Item.objects.get(article=kit.walker2)
    # A repair through the desk: reported Thursday 5 March (start by the 10th, done by the
    # 19th), started on the 10th (in time), done on the 20th (late).
    with today_is(D(2026, 3, 5)):
        repair = work.work_order_create(
            actor=alice.actor, kind=WorkOrder.Kind.REPAIR, description="Bromsen tar inte",
            place=WorkOrder.Place.HOME, unit=county.unit_a, item=walker,
            grant=grant(alice, kit.other),
        )  # fmt: skip
    with today_is(D(2026, 3, 10)):
        work.work_order_start(actor=tekla.actor, order=repair)
    with today_is(D(2026, 3, 20)):
        work.work_order_report(
            actor=tekla.actor, order=repair, findings="Sliten", actions="Ny broms",
            minutes_spent=30, billable=False,
        )  # fmt: skip
        work.work_order_done(actor=tekla.actor, order=repair)
    # A cancelled repair.
    with today_is(D(2026, 3, 6)):
        dropped = work.work_order_create(
            actor=alice.actor, kind=WorkOrder.Kind.REPAIR, description="Låter",
            place=WorkOrder.Place.HOME, unit=county.unit_a, item=desks.lift_1,
            grant=grant(alice, kit.other),
        )  # fmt: skip
        work.work_order_cancel(actor=tekla.actor, order=dropped, reason="Felanmäld av misstag")
    done = WorkOrder.Status.DONE
    # An adaptation registered late on Saturday 31 January (January), started and done on the
    # last days its five and fifteen working days allow.
    _work_order(
        county, kind=WorkOrder.Kind.ADAPTATION, unit=county.unit_b, article=kit.bed,
        registered_at=at(D(2026, 1, 31), 23, 30), started_at=at(D(2026, 2, 6)),
        done_at=at(D(2026, 2, 20), 15), status=done,
    )  # fmt: skip
    # An urgent repair registered at the first second of February: started late, done in time.
    _work_order(
        county, priority=WorkOrder.Priority.URGENT, unit=county.unit_a2, article=kit.lift,
        registered_at=at(D(2026, 2, 1), 0), started_at=at(D(2026, 2, 3)),
        done_at=at(D(2026, 2, 4)), status=WorkOrder.Status.CLOSED,
    )  # fmt: skip
    # A repair of an item with no article given, not started yet; work on no device.
    _work_order(county, item=desks.bed_1, registered_at=at(D(2026, 2, 16), 9))
    _work_order(
        county, kind=WorkOrder.Kind.INSTALLATION, unit=county.unit_b,
        registered_at=at(D(2026, 3, 31), 23, 59),
    )  # fmt: skip
    # Reconditioning work on a lift in April; and a repair after the day counted.
    _work_order(
        county, kind=WorkOrder.Kind.RECONDITIONING, unit=county.centre, article=kit.lift,
        item=desks.lift_2, registered_at=at(D(2026, 4, 13), 8), started_at=at(D(2026, 4, 14)),
        done_at=at(D(2026, 4, 20)), status=done,
    )  # fmt: skip
    _work_order(county, article=kit.lift, registered_at=at(D(2026, 4, 22)))
    # Deviations: one through the quality desk's service; about an item only, at the first
    # second of February; about no device, in the last second of January; about an article.
    with today_is(D(2026, 3, 12)):
        deviation_report(
            actor=alice.actor, source=Deviation.Source.HOLDINGS,
            kind=Deviation.Kind.PRODUCT_FAULT, severity=Deviation.Severity.NONE,
            description="Bromsen släpper", occurred_on=D(2026, 3, 12), item=walker,
        )  # fmt: skip
    _deviation(
        county, alice, item=desks.lift_2, unit=county.unit_a2, reported_at=at(D(2026, 2, 1), 0)
    )
    _deviation(
        county, alice, kind=Deviation.Kind.INFORMATION_ERROR, unit=county.unit_b,
        reported_at=at(D(2026, 1, 31), 23, 59, 59),
    )  # fmt: skip
    _deviation(county, alice, article=kit.cushion, reported_at=at(D(2026, 4, 3), 12))


def _billing(county: County, billie: Persona) -> None:
    """Rent to bill: the municipality pays for unit A's loan and for one of unit B's (a patient
    in special housing), the region for unit B's other. January is approved; February gets a
    correction of a January line and is approved; March stays a preview."""
    world = build_world(county)
    for unit, article, housing in (
        (county.unit_a, world.rent_article, Housing.SPECIAL),
        (county.unit_b, world.rent_article, Housing.SPECIAL),
        (county.unit_b, world.cheap_article, Housing.ORDINARY),
    ):
        patient = world.patient()
        world.move(patient, D(2020, 1, 1), housing)
        world.loan(patient, started_on=D(2025, 12, 1), unit=unit, article=article)

    def run(month: dt.date) -> BillingRun:
        started = start_run(actor=billie.actor, month=month)
        compute_run(started.pk)
        started.refresh_from_db()
        assert started.status == BillingRun.Status.PREVIEW, started.error
        return started

    with today_is(D(2026, 2, 3)):
        january = approve_run(actor=billie.actor, run=run(MONTHS[0]))
    with today_is(D(2026, 3, 3)):
        february = run(MONTHS[1])
        line = BillingLine.unscoped.filter(run=january, kind=BillingLine.Kind.RENT).first()
        assert line is not None
        correct_line(
            actor=billie.actor, line_id=line.pk, reason="Fel prisgrupp", new_amount=Decimal("1.05")
        )
        approve_run(actor=billie.actor, run=february)
    with today_is(D(2026, 4, 2)):
        run(MONTHS[2])


@pytest.fixture
def desks(
    county: County,
    shop: Shop,  # noqa: F811 - the fixture imported above
    alice: Persona,
    charlie: Persona,
    logan: Persona,
    tekla: Persona,
    billie: Persona,
) -> Desks:
    people = {"alice": alice, "charlie": charlie, "logan": logan, "tekla": tekla}
    found = _orders_and_returns(county, shop, people)
    _work_and_deviations(found, people)
    _billing(county, billie)
    statistics_refresh(actor=Actor.system("test"), months=MONTHS, today=TODAY)
    return found


# --- The figures counted in plain Python ------------------------------------------------------

Key = tuple[int, int | None, int | None, str]  # provider, unit, article, ISO code
Cells = dict[Key, list[int]]  # n, hits, total


def _month_of(day: dt.date, month: dt.date) -> bool:
    """`day` is in `month`, up to the day counted for the month under way."""
    return day.replace(day=1) == month and day <= TODAY


def _add(cells: Cells, key: Key, n: int = 1, hits: int = 0, total: int = 0) -> None:
    cell = cells.setdefault(key, [0, 0, 0])
    cell[0] += n
    cell[1] += hits
    cell[2] += total


def _iso(article: Any) -> str:
    return article.iso_class.code if article is not None else ""


def _deliveries(month: dt.date) -> Cells:
    cells: Cells = {}
    for line in OrderLine.unscoped.select_related("order__unit", "article__iso_class"):
        order = line.order
        if line.status != "delivered" or order.delivered_at is None:
            continue
        delivered = local(order.delivered_at)
        if _month_of(delivered, month):
            key = (order.unit.provider_id, order.unit_id, line.article_id, _iso(line.article))
            days = (delivered - local(order.registered_at)).days
            _add(cells, key, 1, int(delivered <= order.expected_on), days)
    return cells


def _reuse(month: dt.date) -> Cells:
    cells: Cells = {}
    loans = Loan.unscoped.filter(item__isnull=False).exclude(end_reason="cancelled")
    by_item: dict[int, list[Loan]] = {}
    for loan in loans.select_related("unit", "article__iso_class"):
        assert loan.item_id is not None
        by_item.setdefault(loan.item_id, []).append(loan)
    for lent in by_item.values():
        lent.sort(key=lambda loan: (loan.started_on, loan.pk))
        for number, loan in enumerate(lent):
            if _month_of(loan.started_on, month):
                key = (loan.unit.provider_id, loan.unit_id, loan.article_id, _iso(loan.article))
                _add(cells, key, 1, int(number > 0))
    return cells


def _reconditionings(month: dt.date) -> Cells:
    """The ledger walked in order: where each item is and since when; a release from
    reconditioning counts the days since the item came to that place."""
    cells: Cells = {}
    where: dict[int, tuple[int | None, dt.datetime]] = {}
    movements = StockMovement.unscoped.filter(item__isnull=False).select_related(
        "from_location__unit", "article__iso_class"
    )
    for move in movements.order_by("pk"):
        assert move.item_id is not None
        came = where.get(move.item_id)
        where[move.item_id] = (move.to_location_id, move.occurred_at)
        if move.kind != "reconditioned" or not _month_of(local(move.occurred_at), month):
            continue
        place = move.from_location
        assert place is not None
        key = (place.unit.provider_id, place.unit_id, move.article_id, _iso(move.article))
        if came is not None and came[0] == move.from_location_id:
            _add(cells, key, 1, 1, (local(move.occurred_at) - local(came[1])).days)
        else:
            _add(cells, key, 1)
    return cells


def _pickups(month: dt.date) -> Cells:
    cells: Cells = {}
    lines = PickupLine.unscoped.select_related("pickup__unit", "loan__article__iso_class")
    for line in lines:
        pickup = line.pickup
        if line.status not in ("collected", "received") or pickup.collected_at is None:
            continue
        collected = local(pickup.collected_at)
        if _month_of(collected, month):
            article = line.loan.article
            key = (pickup.unit.provider_id, pickup.unit_id, article.pk, _iso(article))
            days = (collected - local(pickup.registered_at)).days
            _add(cells, key, 1, int(collected <= pickup.collect_by), days)
    return cells


def _work_orders(month: dt.date, kinds: tuple[str, ...] | None = None) -> Cells:
    cells: Cells = {}
    rows = WorkOrder.unscoped.select_related("unit", "article__iso_class", "item__article")
    for order in rows.exclude(status="cancelled"):
        registered = local(order.registered_at)
        if (kinds and order.kind not in kinds) or not _month_of(registered, month):
            continue
        start, done = URGENT if order.priority == "urgent" else LEVELS[order.kind]
        article = order.article or (order.item.article if order.item else None)
        key = (order.unit.provider_id, order.unit_id, article.pk if article else None,
               _iso(article))  # fmt: skip
        started = order.started_at is not None and (
            working_days_between(registered, local(order.started_at)) <= start
        )
        finished = order.done_at is not None and (
            working_days_between(registered, local(order.done_at)) <= done
        )
        _add(cells, key, 1, int(started), int(finished))
    return cells


def _billed(month: dt.date) -> Cells:
    cells: Cells = {}
    lines = BillingLine.unscoped.select_related("run", "customer", "unit", "article__iso_class")
    for line in lines:
        if line.run.month != month or line.run.status != "locked":
            continue
        provider = line.customer.provider_id
        unit = line.unit_id if line.unit and line.unit.provider_id == provider else None
        key = (provider, unit, line.article_id, _iso(line.article))
        _add(cells, key, 1, 0, int(line.amount * 100))
    return cells


def _deviations(month: dt.date) -> Cells:
    cells: Cells = {}
    rows = Deviation.unscoped.select_related("unit", "article__iso_class", "item__article")
    for row in rows:
        if _month_of(local(row.reported_at), month):
            article = row.article or (row.item.article if row.item else None)
            key = (row.unit.provider_id, row.unit_id, article.pk if article else None,
                   _iso(article))  # fmt: skip
            _add(cells, key)
    return cells


def _losses(month: dt.date) -> Cells:
    cells: Cells = {}
    for report in LossReport.unscoped.select_related("loan__unit", "loan__article__iso_class"):
        if _month_of(local(report.reported_at), month):
            loan = report.loan
            key = (loan.unit.provider_id, loan.unit_id, loan.article_id, _iso(loan.article))
            value = int(report.residual_value * 100)
            _add(cells, key, 1, int(report.found_at is not None), value)
    return cells


EXPECTED: dict[str, Callable[[dt.date], Cells]] = {
    "delivery": _deliveries,
    "reuse": _reuse,
    "recondition": _reconditionings,
    "pickup": _pickups,
    "workorder": _work_orders,
    "repair": lambda month: _work_orders(month, ("repair",)),
    "billed": _billed,
    "deviation": _deviations,
    "loss": _losses,
}


def _facts(month: dt.date, measure: str) -> Cells:
    cells: Cells = {}
    for fact in Fact.objects.filter(month=month, measure=measure):
        assert (fact.sex, fact.age_band) == ("", "")
        key = (fact.provider_id, fact.unit_id, fact.article_id, fact.iso_code)
        _add(cells, key, fact.n, fact.hits, fact.total)
    return cells


# --- The tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("measure", MEASURES)
def test_desk_facts_equal_a_plain_count(desks: Desks, measure: str) -> None:
    for month in MONTHS:
        assert _facts(month, measure) == EXPECTED[measure](month), month
    assert sum(sum(cell[0] for cell in EXPECTED[measure](m).values()) for m in MONTHS) > 0


def _cell(month: dt.date, measure: str, unit: Any, article: Any) -> list[int]:
    found = [
        [fact.n, fact.hits, fact.total]
        for fact in Fact.objects.filter(month=month, measure=measure, unit=unit, article=article)
    ]
    assert len(found) <= 1
    return found[0] if found else [0, 0, 0]


def test_deliveries_land_in_the_month_of_their_local_day(desks: Desks) -> None:
    """A bed delivered at 23:59:59 on 31 January counts in January (late: expected on the
    29th, five days); a bed and grips delivered at 00:00 on 1 February in February (on time,
    four days); a lift on time (two days) and a reused lift late (eight days); a cancelled line
    and a cancelled order count nowhere."""
    county, kit = desks.county, desks.shop
    jan, feb, mar = MONTHS[:3]
    assert _cell(jan, "delivery", county.unit_b, kit.bed) == [1, 0, 5]
    assert _cell(feb, "delivery", county.unit_b, kit.bed) == [0, 0, 0]
    assert _cell(feb, "delivery", county.unit_a, kit.bed) == [1, 1, 4]
    assert _cell(feb, "delivery", county.unit_a, kit.grips) == [1, 1, 4]
    assert _cell(jan, "delivery", county.unit_a, kit.lift) == [1, 1, 2]
    assert _cell(feb, "delivery", county.unit_a, kit.lift) == [1, 0, 8]
    assert _cell(mar, "delivery", county.unit_a, kit.walker2) == [1, 1, 2]
    assert not Fact.objects.filter(measure="delivery", article=kit.cushion).exists()
    fact = Fact.objects.get(month=jan, measure="delivery", unit=county.unit_b)
    assert (fact.provider_id, fact.iso_code) == (county.region.pk, "18 12 07")


def test_reuse_counts_units_lent_before_and_not_mistaken_loans(desks: Desks) -> None:
    county, kit = desks.county, desks.shop
    assert _cell(MONTHS[0], "reuse", county.unit_a, kit.lift) == [1, 0, 0]
    assert _cell(MONTHS[1], "reuse", county.unit_a, kit.lift) == [1, 1, 0]
    # The lift lent by mistake on 3 March and again on the 25th: one loan, not a reuse.
    assert _cell(MONTHS[2], "reuse", county.unit_a2, kit.lift) == [1, 0, 0]


def test_reconditioning_turnaround_runs_from_arrival_to_release(desks: Desks) -> None:
    centre, kit = desks.county.centre, desks.shop
    assert _cell(MONTHS[1], "recondition", centre, kit.lift) == [1, 1, 7]
    assert _cell(MONTHS[3], "recondition", centre, kit.bed) == [1, 1, 16]
    # Found after its loss on 7 April, released on the 9th.
    assert _cell(MONTHS[3], "recondition", centre, kit.lift) == [1, 1, 2]


def test_pickups_count_collected_lines_late_or_on_time(desks: Desks) -> None:
    county, kit = desks.county, desks.shop
    assert _cell(MONTHS[0], "pickup", county.unit_a, kit.lift) == [1, 0, 10]
    assert _cell(MONTHS[2], "pickup", county.unit_a, kit.bed) == [1, 1, 3]
    assert not Fact.objects.filter(measure="pickup", article__in=[kit.grips, kit.walker2])


def test_work_orders_meet_their_service_levels_in_working_days(desks: Desks) -> None:
    county, kit = desks.county, desks.shop
    jan, feb, mar, apr = MONTHS
    assert _cell(jan, "workorder", county.unit_b, kit.bed) == [1, 1, 1]
    assert _cell(feb, "repair", county.unit_a2, kit.lift) == [1, 0, 1]
    assert _cell(feb, "repair", county.unit_a, kit.bed) == [1, 0, 0]  # the item's article
    assert _cell(mar, "repair", county.unit_a, kit.walker2) == [1, 1, 0]
    assert _cell(mar, "repair", county.unit_a, kit.lift) == [0, 0, 0]  # cancelled
    assert _cell(mar, "workorder", county.unit_b, None) == [1, 0, 0]  # on no device
    assert _cell(apr, "workorder", county.centre, kit.lift) == [1, 1, 1]
    assert _cell(apr, "repair", county.unit_a, kit.lift) == [0, 0, 0]  # after the day counted
    assert not Fact.objects.filter(measure="repair", month=jan).exists()


def test_billing_counts_approved_months_with_corrections(desks: Desks) -> None:
    county = desks.county
    february = BillingRun.objects.get(month=MONTHS[1])
    corrections = BillingLine.unscoped.filter(run=february, kind__in=["credit", "debit"])
    assert corrections.count() == 2
    assert Fact.objects.filter(measure="billed", month=MONTHS[1]).exists()
    assert not Fact.objects.filter(measure="billed", month=MONTHS[2]).exists()  # a preview
    # The municipality pays for a region unit's loan: its own amount, with no unit.
    assert Fact.objects.filter(
        measure="billed", month=MONTHS[0], provider=county.municipality, unit=None
    ).exists()
    assert Fact.objects.filter(
        measure="billed", month=MONTHS[0], provider=county.region, unit=county.unit_b
    ).exists()


def test_deviations_and_losses(desks: Desks) -> None:
    county, kit = desks.county, desks.shop
    assert _cell(MONTHS[0], "deviation", county.unit_b, None) == [1, 0, 0]
    assert _cell(MONTHS[1], "deviation", county.unit_a2, kit.lift) == [1, 0, 0]
    assert _cell(MONTHS[2], "deviation", county.unit_a, kit.walker2) == [1, 0, 0]
    bed_loss = LossReport.unscoped.get(item=desks.bed_1)
    assert bed_loss.residual_value > 0
    value = int(bed_loss.residual_value * 100)
    assert _cell(MONTHS[2], "loss", county.unit_b, kit.bed) == [1, 0, value]
    lift_loss = LossReport.unscoped.get(item=desks.lift_1)
    assert _cell(MONTHS[3], "loss", county.unit_a, kit.lift) == [
        1, 1, int(lift_loss.residual_value * 100)
    ]  # fmt: skip
    assert PickupOrder.unscoped.filter(status="cancelled").count() == 1


def test_billing_per_cost_centre_and_kind_equals_the_locked_lines(desks: Desks) -> None:
    """Rent and fees per customer and cost centre (issue 17 point 1): the facts' amounts per
    cost centre and kind of line equal the locked runs' lines summed in plain Python."""
    expected: dict[tuple[Any, ...], int] = {}
    for line in BillingLine.unscoped.select_related("run"):
        if line.run.status == "locked":
            key = (line.run.month, line.cost_centre_id, line.kind)
            expected[key] = expected.get(key, 0) + int(line.amount * 100)
    found: dict[tuple[Any, ...], int] = {}
    for fact in Fact.objects.filter(measure="billed"):
        key = (fact.month, fact.cost_centre_id, fact.category)
        found[key] = found.get(key, 0) + fact.total
    assert found == expected
    assert {kind for _m, _c, kind in found} >= {"rent", "credit"}
