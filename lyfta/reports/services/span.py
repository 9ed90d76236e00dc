"""The month a refresh builds, and the SQL pieces that differ between SQLite and PostgreSQL."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from lyfta.reports.models import AgeBand


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Span:
    """One month: its first and last day, the day a stock is counted on (the last day, or today
    for the month under way), and its start and end as aware datetimes in local time (for
    timestamps: registered, delivered, collected)."""

    first: dt.date
    last: dt.date
    counted_on: dt.date
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, month: dt.date, today: dt.date) -> Span:
        first = month.replace(day=1)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        following = last + dt.timedelta(days=1)
        tz = timezone.get_current_timezone()
        return cls(
            first=first,
            last=last,
            counted_on=min(last, today),
            start=dt.datetime.combine(first, dt.time(), tzinfo=tz),
            end=dt.datetime.combine(following, dt.time(), tzinfo=tz),
        )


def age_band_sql(born: str, on: dt.date) -> tuple[str, list[object]]:
    """SQL for the age band of a birth date column `born` on day `on`, with its parameters:
    comparisons with the birthdays that end each band, the same on both databases."""
    cut18, cut65, cut80 = (_years_before(on, y) for y in (18, 65, 80))
    sql = (
        f"CASE WHEN {born} IS NULL THEN '{AgeBand.UNKNOWN.value}' "
        f"WHEN {born} > %s THEN '{AgeBand.CHILD.value}' "
        f"WHEN {born} > %s THEN '{AgeBand.ADULT.value}' "
        f"WHEN {born} > %s THEN '{AgeBand.OLD.value}' "
        f"ELSE '{AgeBand.OLDEST.value}' END"
    )
    return sql, [cut18, cut65, cut80]


def age_band_of(born: dt.date | None, on: dt.date) -> str:
    """The same band in Python (the tests' independent count uses its own arithmetic)."""
    if born is None:
        return AgeBand.UNKNOWN.value
    if born > _years_before(on, 18):
        return AgeBand.CHILD.value
    if born > _years_before(on, 65):
        return AgeBand.ADULT.value
    if born > _years_before(on, 80):
        return AgeBand.OLD.value
    return AgeBand.OLDEST.value


def elapsed_days(later: str, earlier: str) -> str:
    """SQL for the whole days elapsed from timestamp `earlier` to timestamp `later` (24-hour
    periods, so no time zone enters), as an integer."""
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400) AS bigint)"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def date_days(later: str, earlier: str) -> str:
    """SQL for the days from date column `earlier` to date column `later`, as an integer."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
