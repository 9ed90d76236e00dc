"""Builders of the loan figures: devices on loan at the month's end, devices newly prescribed in
the month, and the distinct persons behind both for the Socialstyrelsen table.

A loan is on loan on day D when it started on or before D and has not ended by D (no end, or
an end after D). Its unit is the prescribing unit and the provider that unit's; its ISO class
the article's; sex and age band the patient's on D (for new loans: on the day counted, the
month's last day or today)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lyfta.reports.models import Measure, PersonCount
from lyfta.reports.services.refresh import builds, counts_persons
from lyfta.reports.services.span import Span, age_band_sql

_FROM = (
    " FROM orders_loan l"
    " JOIN organisations_unit u ON u.id = l.unit_id"
    " JOIN catalogue_article a ON a.id = l.article_id"
    " JOIN catalogue_isoclass ic ON ic.id = a.iso_class_id"
    " LEFT JOIN reports_patientdim d ON d.patient_id = l.patient_id"
)
_SEX = "COALESCE(d.sex, '?')"
_INSERT = (
    "INSERT INTO reports_fact (month, measure, provider_id, unit_id, article_id, iso_code, sex,"
    " age_band, n, hits, total)"
)


def _on_loan(day: dt.date) -> tuple[str, list[object]]:
    return "l.started_on <= %s AND (l.ended_on IS NULL OR l.ended_on > %s)", [day, day]


def _started_in(first: dt.date, last: dt.date) -> tuple[str, list[object]]:
    return "l.started_on >= %s AND l.started_on <= %s", [first, last]


def _loan_facts(
    cursor: Any, span: Span, measure: str, where: str, where_params: list[object]
) -> None:
    band, band_params = age_band_sql("d.born", span.counted_on)
    cursor.execute(
        f"{_INSERT} SELECT %s, %s, u.provider_id, l.unit_id, l.article_id, ic.code, {_SEX},"
        f" {band}, SUM(l.quantity), 0, 0{_FROM} WHERE {where}"
        " GROUP BY 3, 4, 5, 6, 7, 8",  # by position: the band's parameters are not repeated
        [span.first, measure, *band_params, *where_params],
    )


@builds(Measure.ON_LOAN)
def on_loan(cursor: Any, span: Span) -> None:
    where, params = _on_loan(span.counted_on)
    _loan_facts(cursor, span, Measure.ON_LOAN, where, params)


@builds(Measure.NEW)
def new(cursor: Any, span: Span) -> None:
    where, params = _started_in(span.first, span.counted_on)
    _loan_facts(cursor, span, Measure.NEW, where, params)


# The levels of the person counts: (unit or provider) × (ISO class or all) × (sex and age band,
# sex, or all). Each is its own GROUP BY with COUNT(DISTINCT patient): persons do not add up.
_ISO2 = "SUBSTR(ic.code, 1, 5)"
_PERSON_INSERT = (
    "INSERT INTO reports_personcount (year, kind, provider_id, unit_id, municipality_id,"
    " iso_code, sex, age_band, persons, devices)"
)


@counts_persons
def persons(cursor: Any, year: int, counted_on: dt.date) -> None:
    band, band_params = age_band_sql("d.born", counted_on)
    kinds = {
        PersonCount.Kind.ON_LOAN: _on_loan(counted_on),
        PersonCount.Kind.NEW: _started_in(dt.date(year, 1, 1), counted_on),
    }
    for kind, (where, where_params) in kinds.items():
        # Three levels: a unit, its provider, the whole county (provider and unit null).
        for provider, unit in (("u.provider_id", "l.unit_id"), ("u.provider_id", "NULL"),
                               ("NULL", "NULL")):  # fmt: skip
            for iso in (_ISO2, "''"):
                for sex, age in ((_SEX, band), (_SEX, "''"), ("''", "''")):
                    age_params = band_params if age == band else []
                    # Grouped by position (3 provider, 4 unit, 6 class, 7 sex, 8 age band).
                    keys = ", ".join(
                        str(position)
                        for position, key in (
                            (3, provider),
                            (4, unit),
                            (6, iso),
                            (7, sex),
                            (8, age),
                        )
                        if key not in ("NULL", "''")
                    )
                    cursor.execute(
                        f"{_PERSON_INSERT} SELECT %s, %s, {provider}, {unit}, NULL, {iso},"
                        f" {sex}, {age}, COUNT(DISTINCT l.patient_id), SUM(l.quantity){_FROM}"
                        f" WHERE {where} "
                        # The county's one row: no grouping, and none when nothing counts.
                        + (f"GROUP BY {keys}" if keys else "HAVING COUNT(*) > 0"),
                        [year, kind, *age_params, *where_params],
                    )
        # Residents of each municipality with a device (any class, any provider): the numerator
        # of the per-1,000-inhabitants figure.
        # `where` is one of two fixed clauses; the values are parameters.
        residents = (
            f"{_PERSON_INSERT} SELECT %s, %s, NULL, NULL, p.home_municipality_id, '', '', '',"  # noqa: S608
            " COUNT(DISTINCT l.patient_id), SUM(l.quantity)"
            " FROM orders_loan l JOIN patients_patient p ON p.id = l.patient_id"
            f" WHERE {where} AND p.home_municipality_id IS NOT NULL GROUP BY 5"
        )
        cursor.execute(residents, [year, kind, *where_params])
