"""A small world of loans for the statistics tests: patients of known sex and birth date (and
one reserve number), loans of two articles in two ISO classes from units of both providers,
started and ended on chosen days. The expected figures are computed from these rows in plain
Python, by the tests' own arithmetic, never by the code under test."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from lyfta.catalogue.models import Article, IsoClass
from lyfta.catalogue.tests.factories import ArticleFactory
from lyfta.orders.models import Loan
from lyfta.patients.models import Patient

_serial = itertools.count(100)


def _check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 - i % 2)
        total += d // 10 + d % 10
    return str((10 - total % 10) % 10)


@dataclass
class Person:
    patient: Patient
    sex: str  # "K", "M" or "?"
    born: dt.date | None


@dataclass
class LoanWorld:
    county: Any
    wheelchair: Article
    walker: Article
    people: list[Person] = field(default_factory=list)
    loans: list[Loan] = field(default_factory=list)

    def person(self, born: dt.date | None, sex: str, municipality: Any = None) -> Person:
        n = next(_serial)
        if born is None:
            identifier, kind = f"99{n:010d}", Patient.IdKind.RESERVNUMMER
        else:
            # Skatteverket's test series (birth numbers 980–999): never a real person.
            serial = f"9{8 + n % 2}{1 if sex == 'M' else 2}"
            body = f"{born:%y%m%d}{serial}"
            identifier = f"{born:%Y%m%d}{serial}{_check_digit(body)}"
            kind = Patient.IdKind.PERSONNUMMER
        patient = Patient.objects.create(
            identifier=identifier, id_kind=kind, first_name="Test", last_name=f"Person{n}",
            home_municipality=municipality,
        )  # fmt: skip
        found = Person(patient, sex if born else "?", born)
        self.people.append(found)
        return found

    def loan(
        self,
        person: Person,
        article: Article,
        unit: Any,
        started_on: dt.date,
        ended_on: dt.date | None = None,
        quantity: int = 1,
        end_reason: str = "",
    ) -> Loan:
        loan = Loan.unscoped.create(
            patient=person.patient, article=article, quantity=quantity, unit=unit, payer=unit,
            billing_type=article.billing_type, started_on=started_on, ended_on=ended_on,
            end_reason=end_reason or ("returned" if ended_on else ""),
        )  # fmt: skip
        self.loans.append(loan)
        return loan


def _iso(code: str, name: str) -> IsoClass:
    parts = code.split()
    parent = None
    for level in range(1, len(parts) + 1):
        parent, _ = IsoClass.objects.get_or_create(
            code=" ".join(parts[:level]),
            defaults={"name": name if level == len(parts) else f"{name} ({level})",
                      "parent": parent, "level": level},
        )  # fmt: skip
    assert parent is not None
    return parent


def loan_world(county: Any) -> LoanWorld:
    """Ten people, loans spread over 2026 from units A, A2 (the municipality) and B (the region),
    some ended, one of three devices."""
    world = LoanWorld(
        county,
        ArticleFactory(name="Rullstol test", iso_class=_iso("12 22 03", "Rullstolar")),
        ArticleFactory(name="Rollator test", iso_class=_iso("12 06 06", "Rollatorer")),
    )
    m = county.municipality
    people = [
        world.person(dt.date(1940, 3, 1), "K", m),
        world.person(dt.date(1950, 6, 15), "M", m),
        world.person(dt.date(2012, 1, 9), "K", m),
        world.person(dt.date(1930, 12, 31), "K", m),
        world.person(dt.date(1961, 5, 5), "M", None),
        world.person(None, "?", m),
        world.person(dt.date(1946, 3, 31), "M", m),  # turns 80 in March 2026
        world.person(dt.date(2008, 7, 1), "K", m),  # turns 18 in July 2026
        world.person(dt.date(1955, 2, 2), "K", m),
        world.person(dt.date(1999, 9, 9), "M", m),
    ]
    a, a2, b = county.unit_a, county.unit_a2, county.unit_b
    d = dt.date
    world.loan(people[0], world.wheelchair, a, d(2025, 11, 3))
    world.loan(people[0], world.walker, a, d(2026, 1, 10))
    world.loan(people[1], world.wheelchair, a, d(2026, 2, 1), d(2026, 3, 15))
    world.loan(people[2], world.walker, a2, d(2026, 1, 31))
    world.loan(people[3], world.walker, a2, d(2026, 3, 1), quantity=3)
    world.loan(people[4], world.wheelchair, b, d(2026, 2, 28))
    world.loan(people[5], world.walker, b, d(2026, 1, 1), d(2026, 1, 31))
    world.loan(people[6], world.wheelchair, a, d(2026, 3, 2))
    world.loan(people[7], world.walker, a2, d(2026, 2, 14))
    world.loan(people[8], world.wheelchair, a, d(2026, 3, 31), d(2026, 3, 31))
    world.loan(people[9], world.walker, b, d(2026, 1, 15), d(2026, 2, 28))
    world.loan(people[9], world.wheelchair, b, d(2026, 2, 28))
    # Registered by mistake and ended: never counted.
    world.loan(
        people[3], world.wheelchair, a2, d(2026, 2, 2), d(2026, 4, 30), end_reason="cancelled"
    )
    return world
