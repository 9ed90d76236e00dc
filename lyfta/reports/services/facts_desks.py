"""Builders of the desks' figures (deliveries, reuse, reconditioning, pick-ups, work orders,
billing, deviations, repairs, losses): see `Measure` for what each counts.

Each builder is one INSERT … SELECT of a month's rows, grouped by provider, unit, article and
ISO code (sex and age band stay blank: none of these figures is about persons). The provider is
the unit's, except for billing (the paying customer's); the ISO code is the article's class, blank
where a row names no device.

Timestamps are compared in the local calendar (Europe/Stockholm): an event belongs to the month
and the day on which it happened in Sweden, as the desks show it. A month's window ends at its
last day, or at the end of the day counted for the month under way (as the loan figures do).
Days between two events are calendar days between their local dates (ordered on Monday and
delivered on Wednesday: two days)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils import timezone

from lyfta.billing.models import BillingRun
from lyfta.inventory.models import StockLocation, StockMovement
from lyfta.orders.models import Loan, OrderLine, PickupLine
from lyfta.reports.models import Measure
from lyfta.reports.services.refresh import builds
from lyfta.reports.services.span import Span, date_days
from lyfta.workorders.models import WorkOrder

# A piece of SQL with its parameters, in the order they appear in it.
Sql = tuple[str, list[object]]

_INSERT = (
    "INSERT INTO reports_fact (month, measure, provider_id, unit_id, article_id, iso_code, sex,"
    " age_band, n, hits, total)"
)
_UNIT = " JOIN organisations_unit u ON u.id = {unit}"
_ARTICLE = (
    " JOIN catalogue_article a ON a.id = {article}"
    " JOIN catalogue_isoclass ic ON ic.id = a.iso_class_id"
)
# Where a row may name no device: its own article, else its item's (as the failure statistics
# count them).
_MAYBE_ARTICLE = (
    " LEFT JOIN inventory_item it ON it.id = {item} AND {article} IS NULL"
    " LEFT JOIN catalogue_article a ON a.id = COALESCE({article}, it.article_id)"
    " LEFT JOIN catalogue_isoclass ic ON ic.id = a.iso_class_id"
)
_NONE: Sql = ("0", [])


def _join(*parts: str | Sql) -> Sql:
    text: list[str] = []
    params: list[object] = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        else:
            text.append(part[0])
            params.extend(part[1])
    return "".join(text), params


def local_date(column: str) -> Sql:
    """SQL for the local calendar date of timestamp `column` (Django's own expression: AT TIME
    ZONE on PostgreSQL, its registered function on SQLite)."""
    sql, params = connection.ops.datetime_cast_date_sql(
        column, (), timezone.get_current_timezone_name()
    )
    return sql, list(params)


def _days(later: str, earlier: str) -> Sql:
    """Calendar days from the local date of timestamp `earlier` to that of `later`."""
    (late, late_params), (early, early_params) = local_date(later), local_date(earlier)
    # date_days writes `later` before `earlier` on both databases.
    return date_days(late, early), [*late_params, *early_params]


def _by(column: str, day: str) -> Sql:
    """1 when timestamp `column` fell on or before date column `day` (local calendar), else 0
    (also when it has not happened: NULL compares as unknown)."""
    when, params = local_date(column)
    return f"CASE WHEN {when} <= {day} THEN 1 ELSE 0 END", params


def _within(column: str, span: Span) -> Sql:
    """Timestamp `column` within the month's window (half-open)."""
    tz = span.start.tzinfo
    end = min(span.end, dt.datetime.combine(span.counted_on + dt.timedelta(days=1), dt.time(), tz))
    adapt = connection.ops.adapt_datetimefield_value
    return f"{column} >= %s AND {column} < %s", [adapt(span.start), adapt(end)]


def _insert(
    cursor: Any,
    span: Span,
    measure: str,
    *,
    keys: str,
    n: Sql,
    hits: Sql = _NONE,
    total: Sql = _NONE,
    source: Sql,
) -> None:
    """Insert the month's facts of `measure`: `keys` the provider, unit, article and ISO code
    columns, `n`, `hits` and `total` aggregates over `source` (FROM … WHERE …)."""
    sql, params = _join(
        f"{_INSERT} SELECT %s, %s, {keys}, '', '', ",
        n,
        ", ",
        hits,
        ", ",
        total,
        " ",
        source,
        # By position: the aggregates' parameters must not be repeated in a GROUP BY.
        " GROUP BY 3, 4, 5, 6",
    )
    cursor.execute(sql, [span.first, measure, *params])


def _sum(expression: Sql) -> Sql:
    return f"SUM({expression[0]})", expression[1]


def _in(values: list[str]) -> str:
    """A literal list of our own choice values (never user input) for an IN clause."""
    return ", ".join(f"'{value}'" for value in values)


@builds(Measure.DELIVERY)
def delivery(cursor: Any, span: Span) -> None:
    """Order lines delivered in the month: on time when delivered by the order's expected day;
    the days from the order's registration to its delivery.

    The unit is the ordering unit, also for an order that refills a unit's buffer store (a
    delivery like any other: the store's unit ordered it). A line's delivery time is its
    order's `delivered_at`; an order delivered in parts keeps only its latest delivery, so a
    line of an earlier part is counted at the later one (the order model has no time per
    line). Cancelled lines, and lines of orders never delivered, do not count."""
    delivered = OrderLine.Status.DELIVERED
    _insert(
        cursor,
        span,
        Measure.DELIVERY,
        keys="u.provider_id, o.unit_id, ol.article_id, ic.code",
        n=("COUNT(*)", []),
        hits=_sum(_by("o.delivered_at", "o.expected_on")),
        total=_sum(_days("o.delivered_at", "o.registered_at")),
        source=_join(
            " FROM orders_orderline ol JOIN orders_order o ON o.id = ol.order_id",
            _UNIT.format(unit="o.unit_id"),
            _ARTICLE.format(article="ol.article_id"),
            f" WHERE ol.status = '{delivered}' AND ",
            _within("o.delivered_at", span),
        ),
    )


@builds(Measure.REUSE)
def reuse(cursor: Any, span: Span) -> None:
    """Individually tracked devices lent to patients in the month, and of them those that had
    been lent before (reconditioned units: an earlier loan of the same item).

    Counted from the loans, so that a device taken from a unit's buffer store counts as well as
    one delivered on an order; a loan started the same day as another of the item comes after
    it when its id is larger. Loans ended as wrongly registered count neither as a loan nor as
    an earlier one. The unit is the prescribing unit, as for the loan figures."""
    cancelled = Loan.End.CANCELLED
    lent = (
        "SELECT 1 FROM orders_loan p WHERE p.item_id = l.item_id AND p.id <> l.id"
        " AND p.end_reason <> %s"
        " AND (p.started_on < l.started_on OR (p.started_on = l.started_on AND p.id < l.id))"
    )
    _insert(
        cursor,
        span,
        Measure.REUSE,
        keys="u.provider_id, l.unit_id, l.article_id, ic.code",
        n=("COUNT(*)", []),
        hits=(f"SUM(CASE WHEN EXISTS ({lent}) THEN 1 ELSE 0 END)", [cancelled]),
        source=_join(
            " FROM orders_loan l",
            _UNIT.format(unit="l.unit_id"),
            _ARTICLE.format(article="l.article_id"),
            (
                " WHERE l.item_id IS NOT NULL AND l.end_reason <> %s"
                " AND l.started_on >= %s AND l.started_on <= %s",
                [cancelled, span.first, span.counted_on],
            ),
        ),
    )


@builds(Measure.RECONDITION)
def recondition(cursor: Any, span: Span) -> None:
    """Items back to stock from reconditioning in the month (the ledger's "reconditioned"
    movements), and the days each spent there: from its latest arrival at the reconditioning
    place it left (a return from a patient, a found lost device) to its release. `hits` counts
    those whose arrival is in the ledger, so that the mean is total / hits.

    A reconditioning is the item's way through the reconditioning store, not a work order of
    kind reconditioning (those are technicians' work on an item and count as work orders); an
    item scrapped from reconditioning is not a finished reconditioning. The unit is the one
    that keeps the reconditioning place (the centre)."""
    released = StockMovement.Kind.RECONDITIONED
    place = StockLocation.Kind.RECONDITIONING
    arrived = (
        "(SELECT MAX(i.occurred_at) FROM inventory_stockmovement i WHERE i.item_id = m.item_id"
        " AND i.to_location_id = m.from_location_id AND i.id < m.id)"
    )
    days, days_params = _days("r.occurred_at", "r.arrived_at")
    _insert(
        cursor,
        span,
        Measure.RECONDITION,
        keys="u.provider_id, r.unit_id, r.article_id, ic.code",
        n=("COUNT(*)", []),
        hits=("SUM(CASE WHEN r.arrived_at IS NOT NULL THEN 1 ELSE 0 END)", []),
        total=(f"COALESCE(SUM({days}), 0)", days_params),
        source=_join(
            " FROM (SELECT m.occurred_at, m.article_id, sl.unit_id,",
            f" {arrived} AS arrived_at",
            # From the reconditioning places only (the ledger's index on the place it left).
            " FROM inventory_stocklocation sl",
            " JOIN inventory_stockmovement m ON m.from_location_id = sl.id",
            f" WHERE sl.kind = '{place}' AND m.kind = '{released}' AND ",
            _within("m.occurred_at", span),
            # Grouped by the movement, so that PostgreSQL computes the arrival once per row
            # rather than once for each use of it outside.
            " GROUP BY m.id, sl.unit_id) r",
            _UNIT.format(unit="r.unit_id"),
            _ARTICLE.format(article="r.article_id"),
        ),
    )


@builds(Measure.PICKUP)
def pickup(cursor: Any, span: Span) -> None:
    """Pick-up lines collected in the month (collected, or since received at the centre): on
    time when collected by the day promised (`collect_by`, seven working days); the days from
    the pick-up order to the collection. Lines missing at the pick-up and cancelled pick-ups do
    not count. The unit is the one that ordered the pick-up; the article the loan's."""
    statuses = _in([PickupLine.Status.COLLECTED, PickupLine.Status.RECEIVED])
    _insert(
        cursor,
        span,
        Measure.PICKUP,
        keys="u.provider_id, po.unit_id, l.article_id, ic.code",
        n=("COUNT(*)", []),
        hits=_sum(_by("po.collected_at", "po.collect_by")),
        total=_sum(_days("po.collected_at", "po.registered_at")),
        source=_join(
            " FROM orders_pickupline pl JOIN orders_pickuporder po ON po.id = pl.pickup_id"
            " JOIN orders_loan l ON l.id = pl.loan_id",
            _UNIT.format(unit="po.unit_id"),
            _ARTICLE.format(article="l.article_id"),
            f" WHERE pl.status IN ({statuses}) AND ",
            _within("po.collected_at", span),
        ),
    )


def _work_orders(cursor: Any, span: Span, measure: str, kinds: list[str]) -> None:
    """Work orders of `kinds` registered in the month, not cancelled: `hits` started by their
    start-by day, `total` done by their done-by day (the service level each got when it was
    registered: in Swedish working days by kind and priority, e.g. 3 and 10 for a repair)."""
    _insert(
        cursor,
        span,
        measure,
        keys="u.provider_id, w.unit_id, a.id, COALESCE(ic.code, '')",
        n=("COUNT(*)", []),
        hits=_sum(_by("w.started_at", "w.start_due")),
        total=_sum(_by("w.done_at", "w.done_due")),
        source=_join(
            " FROM workorders_workorder w",
            _UNIT.format(unit="w.unit_id"),
            _MAYBE_ARTICLE.format(item="w.item_id", article="w.article_id"),
            # The kinds named, so that the index on (kind, registered_at) finds the month.
            f" WHERE w.kind IN ({_in(kinds)})",
            f" AND w.status <> '{WorkOrder.Status.CANCELLED}' AND ",
            _within("w.registered_at", span),
        ),
    )


@builds(Measure.WORKORDER)
def workorder(cursor: Any, span: Span) -> None:
    """Work orders of every kind registered in the month (see `_work_orders`). The unit is the
    one the work is for; the article the work order's, else its item's (none for work on no
    device)."""
    _work_orders(cursor, span, Measure.WORKORDER, list(WorkOrder.Kind.values))


@builds(Measure.REPAIR)
def repair(cursor: Any, span: Span) -> None:
    """Repairs registered in the month, with their service level (started within 3 and done
    within 10 working days), as the work orders are counted."""
    _work_orders(cursor, span, Measure.REPAIR, [WorkOrder.Kind.REPAIR])


@builds(Measure.BILLED)
def billed(cursor: Any, span: Span) -> None:
    """The lines of the month's approved (locked) billing run and their amount in öre, credits
    and debits included with their sign, per cost centre and kind of line. The provider is the
    customer billed; the unit the line's unit (the prescribing unit of a rent or sale, the
    paying unit of a fee, the unit of the work) where it belongs to that customer, else none: a
    municipality that pays for a region unit's prescription sees the amount as its own, not as
    the region unit's. A preview is not counted."""
    cursor.execute(
        "INSERT INTO reports_fact (month, measure, provider_id, unit_id, article_id, iso_code,"
        " sex, age_band, cost_centre_id, category, n, hits, total)"
        " SELECT %s, %s, c.provider_id, u.id, bl.article_id, COALESCE(ic.code, ''), '', '',"
        " bl.cost_centre_id, bl.kind, COUNT(*), 0, SUM(CAST(ROUND(bl.amount * 100) AS BIGINT))"
        " FROM billing_billingrun r JOIN billing_billingline bl ON bl.run_id = r.id"
        " JOIN billing_customer c ON c.id = bl.customer_id"
        " LEFT JOIN organisations_unit u ON u.id = bl.unit_id AND u.provider_id = c.provider_id"
        " LEFT JOIN catalogue_article a ON a.id = bl.article_id"
        " LEFT JOIN catalogue_isoclass ic ON ic.id = a.iso_class_id"
        " WHERE r.month = %s AND r.status = %s"
        " GROUP BY 3, 4, 5, 6, 9, 10",
        [span.first, Measure.BILLED, span.first, BillingRun.Status.LOCKED],
    )


@builds(Measure.DEVIATION)
def deviation(cursor: Any, span: Span) -> None:
    """Deviations registered in the month, of every kind and status. The unit is the reporting
    unit; the article the deviation's, else its item's (none for a deviation about no
    device)."""
    _insert(
        cursor,
        span,
        Measure.DEVIATION,
        keys="u.provider_id, d.unit_id, a.id, COALESCE(ic.code, '')",
        n=("COUNT(*)", []),
        source=_join(
            " FROM quality_deviation d",
            _UNIT.format(unit="d.unit_id"),
            _MAYBE_ARTICLE.format(item="d.item_id", article="d.article_id"),
            " WHERE ",
            _within("d.reported_at", span),
        ),
    )


@builds(Measure.LOSS)
def loss(cursor: Any, span: Span) -> None:
    """Devices reported lost in the month (by the day of the report, so that a refresh of the
    month under way and the one before finds every report: the day lost may lie further back),
    their residual value in öre, and in `hits` those found again since (as the refresh found
    them). The unit is the loan's (the prescribing unit); the article the loan's."""
    _insert(
        cursor,
        span,
        Measure.LOSS,
        keys="u.provider_id, l.unit_id, l.article_id, ic.code",
        n=("COUNT(*)", []),
        hits=("SUM(CASE WHEN lr.found_at IS NOT NULL THEN 1 ELSE 0 END)", []),
        total=("SUM(CAST(ROUND(lr.residual_value * 100) AS BIGINT))", []),
        source=_join(
            " FROM orders_lossreport lr JOIN orders_loan l ON l.id = lr.loan_id",
            _UNIT.format(unit="l.unit_id"),
            _ARTICLE.format(article="l.article_id"),
            " WHERE ",
            _within("lr.reported_at", span),
        ),
    )
