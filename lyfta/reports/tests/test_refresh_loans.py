"""The loan figures (issue 17 point 1) against the test rows counted in plain Python: devices on
loan at a month's end and newly prescribed in a month, by unit, article, sex and age band; and
the distinct persons of the Socialstyrelsen table at every level it shows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from lyfta.access.actor import Actor
from lyfta.reports.models import Fact, PersonCount, Refresh
from lyfta.reports.services.refresh import derive_sex_and_birth, statistics_refresh
from lyfta.reports.tests.world import LoanWorld, Person, loan_world

TODAY = dt.date(2026, 4, 20)
MONTHS = [dt.date(2026, m, 1) for m in (1, 2, 3, 4)]


def _band(born: dt.date | None, on: dt.date) -> str:
    """The age band by whole years of age, computed the plain way."""
    if born is None:
        return "?"
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return "0-17" if age < 18 else "18-64" if age < 65 else "65-79" if age < 80 else "80-"


def _month_end(month: dt.date) -> dt.date:
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return min(following - dt.timedelta(days=1), TODAY)


def _person_of(world: LoanWorld, patient_id: int) -> Person:
    return next(p for p in world.people if p.patient.pk == patient_id)


def _expected(world: LoanWorld, month: dt.date, measure: str) -> Counter[tuple[Any, ...]]:
    day = _month_end(month)
    expected: Counter[tuple[Any, ...]] = Counter()
    for loan in world.loans:
        if loan.end_reason == "cancelled":
            continue
        if measure == "on_loan":
            counts = loan.started_on <= day and (loan.ended_on is None or loan.ended_on > day)
        else:
            counts = month <= loan.started_on <= day
        if counts:
            person = _person_of(world, loan.patient_id)
            key = (loan.unit_id, loan.article_id, person.sex, _band(person.born, day))
            expected[key] += loan.quantity
    return expected


def _facts(month: dt.date, measure: str) -> Counter[tuple[Any, ...]]:
    found: Counter[tuple[Any, ...]] = Counter()
    for fact in Fact.objects.filter(month=month, measure=measure):
        found[(fact.unit_id, fact.article_id, fact.sex, fact.age_band)] += fact.n
    return found


@pytest.fixture
def world(county: Any) -> LoanWorld:
    found = loan_world(county)
    statistics_refresh(actor=Actor.system("test"), months=MONTHS, today=TODAY)
    return found


@pytest.mark.parametrize("measure", ["on_loan", "new"])
@pytest.mark.parametrize("month", MONTHS)
def test_loan_facts_equal_a_plain_count(world: LoanWorld, measure: str, month: dt.date) -> None:
    assert _facts(month, measure) == _expected(world, month, measure)
    assert sum(_expected(world, month, measure).values()) > 0 or month == dt.date(2026, 4, 1)


def test_facts_carry_the_units_provider_and_the_articles_iso_code(world: LoanWorld) -> None:
    fact = Fact.objects.filter(measure="on_loan", unit=world.county.unit_b).first()
    assert fact is not None
    assert fact.provider_id == world.county.region.pk
    assert fact.iso_code in {"12 22 03", "12 06 06"}


def test_age_band_moves_on_the_birthday(world: LoanWorld) -> None:
    """Person 7 turns 80 on 31 March 2026: 65–79 at the end of February, 80+ at the end of
    March (the loan started on 2 March)."""
    march = _facts(dt.date(2026, 3, 1), "on_loan")
    assert march[(world.county.unit_a.pk, world.wheelchair.pk, "M", "80-")] == 1


def _persons_expected(world: LoanWorld, kind: str, year: int) -> dict[tuple[Any, ...], set[int]]:
    day = min(dt.date(year, 12, 31), TODAY)
    cells: dict[tuple[Any, ...], set[int]] = {}
    for loan in world.loans:
        if loan.end_reason == "cancelled":
            continue
        if kind == "on_loan":
            counts = loan.started_on <= day and (loan.ended_on is None or loan.ended_on > day)
        else:
            counts = dt.date(year, 1, 1) <= loan.started_on <= day
        if not counts:
            continue
        person = _person_of(world, loan.patient_id)
        provider = loan.unit.provider_id
        iso = loan.article.iso_class.code[:5]
        band = _band(person.born, day)
        for level in ((provider, loan.unit_id), (provider, None), (None, None)):
            for cls in (iso, ""):
                for sex, age in ((person.sex, band), (person.sex, ""), ("", "")):
                    cells.setdefault((*level, cls, sex, age), set()).add(person.patient.pk)
    return cells


@pytest.mark.parametrize("kind", ["on_loan", "new"])
def test_persons_are_distinct_at_every_level(world: LoanWorld, kind: str) -> None:
    expected = {k: len(v) for k, v in _persons_expected(world, kind, 2026).items()}
    found = {
        (c.provider_id, c.unit_id, c.iso_code, c.sex, c.age_band): c.persons
        for c in PersonCount.objects.filter(year=2026, kind=kind, municipality__isnull=True)
    }
    assert found == expected
    if kind != "on_loan":
        return
    # Person 0 holds a wheelchair and a walker: one person in the "all classes" cell.
    unit_a = (world.county.municipality.pk, world.county.unit_a.pk, "", "", "")
    assert found[unit_a] < sum(
        v for (p, u, c, s, a), v in found.items() if u == world.county.unit_a.pk and c and not s
    )


def test_residents_per_municipality_count_each_person_once(world: LoanWorld) -> None:
    day = TODAY
    expected = {
        person.patient.pk
        for loan in world.loans
        for person in [_person_of(world, loan.patient_id)]
        if person.patient.home_municipality_id
        and loan.end_reason != "cancelled"
        and loan.started_on <= day
        and (loan.ended_on is None or loan.ended_on > day)
    }
    cell = PersonCount.objects.get(
        year=2026, kind="on_loan", municipality=world.county.municipality
    )
    assert cell.persons == len(expected)


def test_a_second_refresh_rebuilds_rather_than_adds(world: LoanWorld) -> None:
    before = _facts(dt.date(2026, 3, 1), "on_loan")
    statistics_refresh(actor=Actor.system("test"), months=[dt.date(2026, 3, 1)], today=TODAY)
    assert _facts(dt.date(2026, 3, 1), "on_loan") == before
    assert Refresh.objects.count() == 2


@pytest.mark.parametrize(
    ("identifier", "kind", "expected"),
    [
        ("194003019827", "personnummer", ("K", dt.date(1940, 3, 1))),
        ("195006159817", "personnummer", ("M", dt.date(1950, 6, 15))),
        ("196105659913", "samordningsnummer", ("M", dt.date(1961, 5, 5))),
        ("990000000123", "reservnummer", ("?", None)),
        ("19400301", "personnummer", ("?", None)),
    ],
)
def test_sex_and_birth_from_the_identifier(identifier: str, kind: str, expected: Any) -> None:
    assert derive_sex_and_birth(identifier, kind) == expected
