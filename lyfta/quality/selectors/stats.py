"""Failure statistics (issue 15 point 5): deviations and repairs per article, supplier, lot or
holding unit over a period, beside the devices in use, for procurement and complaints.

Only counts are read, through the aggregate builders of `lyfta.access.rows` (route
"statistics"): no row of a deviation or a work order, so no patient, reaches this module."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.catalogue.models import Article, IsoClass, Supplier
from lyfta.inventory.models import Item
from lyfta.organisations.models import Unit
from lyfta.quality.models import InUseCount

# The table and the bar chart show the groups with the most failures; the exports every group.
SHOWN = 25


@dataclass
class Row:
    key: object
    label: str
    deviations: int = 0
    repairs: int = 0
    in_use: int | None = None

    @property
    def failures(self) -> int:
        return self.deviations + self.repairs

    @property
    def per_100(self) -> Decimal | None:
        """Deviations and repairs per 100 devices in use, to one decimal; None without any."""
        if not self.in_use:
            return None
        ratio = Decimal(self.failures * 100) / Decimal(self.in_use)
        return ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Month:
    month: dt.date
    deviations: int
    repairs: int


@dataclass
class Statistics:
    group: str
    since: dt.date
    until: dt.date
    kind: str
    iso: str
    rows: list[Row] = field(default_factory=list)
    months: list[Month] = field(default_factory=list)

    @property
    def shown(self) -> list[Row]:
        return self.rows[:SHOWN]

    @property
    def hidden(self) -> int:
        return max(0, len(self.rows) - SHOWN)

    @property
    def total_deviations(self) -> int:
        return sum(row.deviations for row in self.rows)

    @property
    def total_repairs(self) -> int:
        return sum(row.repairs for row in self.rows)


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def month_list(since: dt.date, until: dt.date) -> list[dt.date]:
    """The first day of every month from `since`'s to `until`'s."""
    months, month = [], since.replace(day=1)
    while month <= until:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _labels(group: str, keys: list[Any]) -> dict[object, str]:
    """What the page calls each group key."""
    wanted = [key for key in keys if key is not None]
    if group == "article":
        return {
            pk: f"{number} {name}"
            for pk, number, name in Article.objects.filter(pk__in=wanted).values_list(
                "pk", "article_number", "name"
            )
        }
    if group == "supplier":
        return dict(Supplier.objects.filter(pk__in=wanted).values_list("pk", "name"))
    if group == "unit":
        return dict(Unit.objects.filter(pk__in=wanted).values_list("pk", "name"))
    return {key: str(key) for key in wanted}


def devices_in_use(
    group: str, keys: list[Any], counted_at: dt.datetime | None, articles: Any = None
) -> dict[object, int]:
    """How many devices are in use per group key among `keys`: for an article, a supplier or a
    unit the count of open loans taken at `counted_at` (an item counts one, other articles
    their quantity); for a lot the items of the lot with a patient now (only items have a lot,
    and an item with a patient has exactly one open loan, DOMAIN.md §5)."""
    wanted = [key for key in keys if key is not None]
    if not wanted:
        return {}
    grouped: models.QuerySet[Any]
    if group == "lot":
        items = Item.objects.filter(batch__in=wanted, status__in=Item.WITH_PATIENT)
        if articles is not None:
            items = items.filter(article__in=articles)
        grouped = items.values(key=models.F("batch")).annotate(n=models.Count("*"))
    else:
        if counted_at is None:
            return {}
        path = {"article": "article_id", "supplier": "article__supplier_id", "unit": "unit_id"}
        found = InUseCount.objects.filter(taken_at=counted_at, **{f"{path[group]}__in": wanted})
        if articles is not None:
            found = found.filter(article__in=articles)
        grouped = found.values(key=models.F(path[group])).annotate(n=models.Sum("quantity"))
    return {row["key"]: row["n"] for row in grouped.order_by() if row["n"]}


def failure_statistics(
    *, actor: Actor, since: dt.date, until: dt.date, group: str, kind: str = "", iso: str = "",
    in_use_at: dt.datetime | None = None, in_use_for_all: bool = False,
) -> Statistics:  # fmt: skip
    """The deviations and repairs registered from `since` to `until` (inclusive) per `group`,
    most failures first, the devices in use (counted at `in_use_at`, see
    `services.stats.in_use_counted_at`) of the groups shown, of every group with
    `in_use_for_all` (the exports), and both per month."""
    if not rows.may_see_failure_statistics(actor):
        require(actor, Cap.QUALITY_MANAGE)
    if group not in rows.FAILURE_GROUPS:
        raise ValueError(group)
    articles: models.QuerySet[Any] | None = None
    if iso:
        classes = IsoClass.objects.filter(code__startswith=iso).values("pk")
        articles = Article.objects.filter(iso_class__in=classes).values("pk")
    where = rows.FailureFilter(
        since=_aware(since),
        until=_aware(until + dt.timedelta(days=1)),
        kinds=(kind,) if kind else (),
        articles=articles,
    )
    counts = {
        source: rows.failure_counts(actor, source, group, where)
        for source in ("deviations", "repairs")
    }
    per_key: dict[object, list[int]] = {}
    per_month: dict[dt.date, list[int]] = {}
    for column, source in enumerate(("deviations", "repairs")):
        for (key, month), n in counts[source].items():
            per_key.setdefault(key, [0, 0])[column] += n
            per_month.setdefault(month, [0, 0])[column] += n
    labels = _labels(group, list(per_key))
    none_label = {
        "article": _("Ingen artikel angiven"),
        "supplier": _("Ingen leverantör angiven"),
        "lot": _("Ingen batch angiven"),
        "unit": _("Ingen enhet angiven"),
    }[group]
    found = [
        Row(key, none_label if key is None else labels.get(key, str(key)), dev, rep)
        for key, (dev, rep) in per_key.items()
    ]
    found.sort(key=lambda row: (-row.failures, row.label))
    counted = found if in_use_for_all else found[:SHOWN]
    in_use = devices_in_use(group, [row.key for row in counted], in_use_at, articles)
    for row in counted:
        if row.key is not None:
            row.in_use = in_use.get(row.key, 0)
    months = [Month(month, *per_month.get(month, [0, 0])) for month in month_list(since, until)]
    return Statistics(group, since, until, kind, iso, found, months)
