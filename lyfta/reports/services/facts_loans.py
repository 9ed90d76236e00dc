"""Builders of the loan figures: devices on loan at the month's end, devices newly prescribed in
the month, and the distinct persons behind both for the Socialstyrelsen table.

A loan is on loan on day D when it started on or before D and has not ended by D (no end, or
an end after D). Its unit is the prescribing unit and the provider that unit's; its ISO class
the article's; sex and age band the patient's on D (for new loans: on the day counted, the
month's last day or today)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

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


# A loan ended as "Felregistrerad" never was one: it counts nowhere.
_REAL = " AND l.end_reason <> 'cancelled'"


def _on_loan(day: dt.date) -> tuple[str, list[object]]:
    return "l.started_on <= %s AND (l.ended_on IS NULL OR l.ended_on > %s)" + _REAL, [day, day]


def _started_in(first: dt.date, last: dt.date) -> tuple[str, list[object]]:
    return "l.started_on >= %s AND l.started_on <= %s" + _REAL, [first, last]


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


# The levels of the person counts: (unit, provider or the county) × (ISO class or all) × (sex
# and age band, sex, or all): 18 groupings, each with COUNT(DISTINCT patient), since persons do
# not add up. PostgreSQL counts them in one pass with GROUPING SETS; SQLite one query each.
_ISO2 = "SUBSTR(ic.code, 1, 5)"
_PERSON_INSERT = (
    "INSERT INTO reports_personcount (year, kind, provider_id, unit_id, municipality_id,"
    " iso_code, sex, age_band, persons, devices)"
)
_SETS = [
    level + iso + split
    for level in (("p", "un"), ("p",), ())
    for iso in (("iso",), ())
    for split in (("sex", "band"), ("sex",), ())
]


def _person_rows(where: str, band: str) -> str:
    """The loans counted, one row each, with the keys of every grouping."""
    return (
        f"SELECT l.patient_id AS pat, u.provider_id AS p, l.unit_id AS un, {_ISO2} AS iso,"
        f" {_SEX} AS sex, {band} AS band, l.quantity AS q{_FROM} WHERE {where}"
    )


def _person_columns(keys: tuple[str, ...]) -> str:
    def key(name: str, empty: str) -> str:
        if name not in keys:
            return empty
        return name if empty == "NULL" else f"COALESCE({name}, '')"

    return ", ".join(
        (key("p", "NULL"), key("un", "NULL"), "NULL", key("iso", "''"), key("sex", "''"),
         key("band", "''"))
    )  # fmt: skip


@counts_persons
def persons(cursor: Any, year: int, counted_on: dt.date) -> None:
    band, band_params = age_band_sql("d.born", counted_on)
    kinds = {
        PersonCount.Kind.ON_LOAN: _on_loan(counted_on),
        PersonCount.Kind.NEW: _started_in(dt.date(year, 1, 1), counted_on),
    }
    # Every piece of the SQL below is fixed here (keys, clauses); the values are parameters.
    counts = "COUNT(DISTINCT pat), SUM(q)"
    for kind, (where, where_params) in kinds.items():
        rows = _person_rows(where, band)
        params = [year, kind, *band_params, *where_params]
        if connection.vendor == "postgresql":
            # One pass: a rolled-up key comes out NULL (ids stay NULL, codes become '').
            sets = ", ".join(f"({', '.join(keys)})" for keys in _SETS)
            cursor.execute(
                f"{_PERSON_INSERT} SELECT %s, %s, p, un, NULL, COALESCE(iso, ''),"  # noqa: S608
                f" COALESCE(sex, ''), COALESCE(band, ''), {counts} FROM ({rows}) s"
                f" GROUP BY GROUPING SETS ({sets}) HAVING COUNT(*) > 0",
                params,
            )
        else:
            for keys in _SETS:
                grouped = f"GROUP BY {', '.join(keys)}" if keys else "HAVING COUNT(*) > 0"
                cursor.execute(
                    f"{_PERSON_INSERT} SELECT %s, %s, {_person_columns(keys)}, {counts}"  # noqa: S608
                    f" FROM ({rows}) s {grouped}",
                    params,
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
