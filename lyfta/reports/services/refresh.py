"""The nightly refresh of the summary tables (issue 17 point 6): the months asked for (by default
the month before and the month under way, and every month never built) are deleted and built
again from the desks' tables, in one transaction, so a page never sees half a month.

Each measure has a builder: a function that inserts the `Fact` rows of one month with one
INSERT … SELECT (the same SQL on SQLite and PostgreSQL). Builders register with `builds`; the
modules that hold them are listed in BUILDER_MODULES. The figures are derived, not anyone's
data: the refresh changes no record and is not audited (like the quality desk's in-use count)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.reports.models import Fact, PatientDim, PersonCount, Refresh, Sex
from lyfta.reports.services.span import Span

Builder = Callable[[Any, Span], None]
BUILDERS: dict[str, Builder] = {}
PERSON_BUILDERS: list[Callable[[Any, int, dt.date], None]] = []
BUILDER_MODULES = ("lyfta.reports.services.facts_loans", "lyfta.reports.services.facts_desks")
# How far back a first refresh builds when nothing has been built yet.
HISTORY_MONTHS = 36


def builds(measure: str) -> Callable[[Builder], Builder]:
    """Register `func` as the builder of `measure`'s facts for one month."""

    def register(func: Builder) -> Builder:
        BUILDERS[measure] = func
        return func

    return register


def counts_persons(
    func: Callable[[Any, int, dt.date], None],
) -> Callable[[Any, int, dt.date], None]:
    """Register `func` as a builder of a year's `PersonCount` rows."""
    PERSON_BUILDERS.append(func)
    return func


def _load_builders() -> None:
    for module in BUILDER_MODULES:
        import_module(module)


def _month_add(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_to_build(today: dt.date) -> list[dt.date]:
    """The month under way and the one before (late deliveries, corrections and approvals land
    there), and every month since the first loan (at most HISTORY_MONTHS back) never built."""
    current = today.replace(day=1)
    wanted = {current, _month_add(current, -1)}
    if not Refresh.objects.exists():
        from lyfta.orders.models import Loan

        first = Loan.unscoped.order_by("started_on").values_list("started_on", flat=True).first()
        start = (
            max(_month_add(current, -HISTORY_MONTHS), first.replace(day=1)) if first else current
        )
        month = start
        while month <= current:
            wanted.add(month)
            month = _month_add(month, 1)
    return sorted(wanted)


def derive_sex_and_birth(identifier: str, id_kind: str) -> tuple[str, dt.date | None]:
    """Sex and birth date from a personnummer or samordningsnummer (12 digits: the day of a
    samordningsnummer is raised by 60; the second last digit is odd for men). A reserve number
    gives neither."""
    if id_kind == "reservnummer" or len(identifier) != 12 or not identifier.isdigit():
        return Sex.UNKNOWN.value, None
    day = int(identifier[6:8])
    if day > 60:
        day -= 60
    try:
        born: dt.date | None = dt.date(int(identifier[:4]), int(identifier[4:6]), day)
    except ValueError:
        born = None
    sex = Sex.MAN.value if int(identifier[10]) % 2 else Sex.WOMAN.value
    return sex, born


def patient_dims_refresh(since: dt.datetime | None) -> int:
    """Derive sex and birth date for patients new or changed since `since` (all when None)."""
    from lyfta.patients.models import Patient

    now = timezone.now()
    found = (
        Patient.objects.all() if since is None else Patient.objects.filter(updated_at__gte=since)
    )
    if since is None:
        PatientDim.objects.all().delete()
    done = 0
    batch: list[PatientDim] = []
    for pk, identifier, kind in found.values_list("pk", "identifier", "id_kind").iterator(5000):
        sex, born = derive_sex_and_birth(identifier, kind)
        batch.append(PatientDim(patient_id=pk, sex=sex, born=born, derived_at=now))
        if len(batch) >= 5000:
            done += _dims_save(batch)
            batch = []
    return done + _dims_save(batch)


def _dims_save(batch: list[PatientDim]) -> int:
    if batch:
        PatientDim.objects.bulk_create(
            batch, update_conflicts=True, unique_fields=["patient"],
            update_fields=["sex", "born", "derived_at"],
        )  # fmt: skip
    return len(batch)


@transaction.atomic
def statistics_refresh(
    *, actor: Actor, months: list[dt.date] | None = None, today: dt.date | None = None
) -> Refresh:
    """Rebuild the facts of `months` (default: `months_to_build`) and the person counts of their
    years, and record the run."""
    _load_builders()
    started = timezone.now()
    t0 = time.perf_counter()
    today = today or timezone.localdate()
    months = sorted({m.replace(day=1) for m in (months or months_to_build(today))})
    latest = Refresh.objects.order_by("-started_at").values_list("started_at", flat=True).first()
    patient_dims_refresh(latest)
    with connection.cursor() as cursor:
        for month in months:
            Fact.objects.filter(month=month).delete()
            span = Span.of(month, today)
            for builder in BUILDERS.values():
                builder(cursor, span)
        for year in sorted({m.year for m in months}):
            PersonCount.objects.filter(year=year).delete()
            counted_on = min(dt.date(year, 12, 31), today)
            for person_builder in PERSON_BUILDERS:
                person_builder(cursor, year, counted_on)
    return Refresh.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        first_month=months[0],
        last_month=months[-1],
        seconds=time.perf_counter() - t0,
        by=actor.username,
    )
