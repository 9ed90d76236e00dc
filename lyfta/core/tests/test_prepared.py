"""Issue 19 point 5: a read compiled once gives what the ORM gives, for every kind of argument and
on every call after the first, and refuses at its first compile a function whose SQL would not
stay right (`lyfta.access.prepared`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.guard import UnscopedRead
from lyfta.access.prepared import Prepared, PreparedError
from lyfta.core.luhn import synthetic_personnummer
from lyfta.orders.models import Loan
from lyfta.patients.models import CareRelationship, EmergencyAccess, Patient


def _patient(n: int, last_name: str) -> Patient:
    return Patient.objects.create(
        identifier=synthetic_personnummer("19400101", n),
        id_kind=Patient.IdKind.PERSONNUMMER,
        first_name="Test",
        last_name=last_name,
    )


def _emergencies(
    unit_id: int, last_name: str, since: dt.datetime, day: dt.date
) -> QuerySet[EmergencyAccess, tuple[Any, ...]]:
    return (
        EmergencyAccess.objects.filter(
            assignment__unit_id=unit_id,
            patient__last_name=last_name,
            expires_at__gt=since,
            patient__relationships__valid_from__lte=day,
        )
        .order_by("pk")
        .values_list("pk", "patient__last_name", "expires_at", "patient__relationships__valid_from")
    )


def test_issue19_a_prepared_read_gives_the_orms_rows_on_every_call(
    county: County, alice: Persona
) -> None:
    now = timezone.now()
    today = timezone.localdate()
    for n, (name, hours, days_ago) in enumerate(
        [("Ek", 1, 3), ("Ek", -1, 3), ("Al", 2, 1), ("Ek", 5, 0), ("Al", 9, 10)]
    ):
        patient = _patient(n + 1, name)
        CareRelationship.objects.create(
            unit=county.unit_a,
            patient=patient,
            origin=CareRelationship.Origin.REGISTERED,
            reason="Test",
            valid_from=today - dt.timedelta(days=days_ago),
        )
        EmergencyAccess.objects.create(
            user=alice.user,
            assignment=alice.assignment,
            patient=patient,
            reason_code=EmergencyAccess.Reason.OTHER,
            reason_text="Test",
            patient_cannot_consent=True,
            started_at=now - dt.timedelta(days=2),
            expires_at=now + dt.timedelta(hours=hours),
        )
    built = []

    def build(*args: Any) -> QuerySet[EmergencyAccess, tuple[Any, ...]]:
        built.append(args)
        return _emergencies(*args)

    prepared = Prepared(build)
    cases = [
        (county.unit_a.pk, "Ek", now, today),
        (county.unit_a.pk, "Al", now, today - dt.timedelta(days=2)),
        (county.unit_a.pk, "Ek", now + dt.timedelta(hours=2), today),
        (county.unit_b.pk, "Ek", now, today),
        (county.unit_a.pk, "", now - dt.timedelta(days=1), today),
    ]
    for args in cases:
        expected = list(_emergencies(*args))
        with CaptureQueriesContext(connection) as queries:
            assert prepared.rows(*args) == expected
        assert len(queries) == 1
    assert any(prepared.rows(*cases[0]))
    # Built (twice, with stand-ins) at the first call only; never with the caller's values.
    assert len(built) == 2
    assert all(args[0] < 0 for args in built)
    assert prepared.first(*cases[0]) == list(_emergencies(*cases[0]))[0]


def test_issue19_none_and_booleans_change_the_sql_and_have_their_own_compile(
    county: County,
) -> None:
    patient = _patient(1, "Ek")
    prepared = Prepared(
        lambda municipality, protection: Patient.objects.filter(
            home_municipality_id=municipality, protection=protection
        ).values_list("pk")
    )
    assert prepared.rows(None, "") == [(patient.pk,)]
    assert prepared.rows(county.municipality.pk, "") == []
    assert prepared.rows(None, "") == [(patient.pk,)]


def test_issue19_an_empty_result_set_sends_no_statement(db: None) -> None:
    prepared = Prepared(
        lambda name: Patient.objects.filter(last_name=name, pk__in=[]).values_list("pk")
    )
    with CaptureQueriesContext(connection) as queries:
        assert prepared.rows("Ek") == []
    assert len(queries) == 0


@pytest.mark.parametrize(
    ("build", "why"),
    [
        # The SQL depends on an argument's value: it belongs in `shape`.
        (
            lambda n: (
                Patient.objects.filter(pk__gt=n).values_list("pk")
                if n % 2
                else Patient.objects.filter(pk__lt=n).values_list("pk")
            ),
            "depends on an argument",
        ),
        # A clock read inside the function would be frozen at the first call.
        (
            lambda name: EmergencyAccess.objects.filter(
                reason_text=name, started_at__lte=timezone.now()
            ).values_list("pk"),
            "changes by itself|no argument",
        ),
        (
            lambda name: Patient.objects.filter(
                last_name=name, deceased_date__lte=timezone.localdate()
            ).values_list("pk"),
            "no argument",
        ),
        # An argument changed on its way into the SQL (a LIKE pattern) or not used at all.
        (
            lambda name: Patient.objects.filter(last_name__icontains=name).values_list("pk"),
            "changed",
        ),
        (lambda name: Patient.objects.values_list("pk"), "do not reach"),
        # Tuples only.
        (lambda name: Patient.objects.filter(last_name=name), "values_list"),
    ],
)
def test_issue19_a_read_that_would_not_stay_right_is_refused_at_its_first_compile(
    db: None, build: Any, why: str
) -> None:
    with pytest.raises(PreparedError, match=why):
        Prepared(build).rows(1 if "depends" in why else "Ek")


def test_r93_a_prepared_read_of_patient_linked_rows_needs_the_access_layers_route(
    db: None,
) -> None:
    prepared = Prepared(lambda pk: Loan.objects.filter(patient_id=pk).values_list("pk"))
    with pytest.raises(UnscopedRead):
        prepared.rows(1)


def test_issue19_a_big_integer_argument_is_sent_as_the_orm_sends_it(
    county: County, alice: Persona
) -> None:
    """PostgreSQL's backend types a BigIntegerField's value (psycopg's Int8): the stand-in is
    recognised, and the caller's value is typed alike."""
    from lyfta.audit.models import AuditEvent
    from lyfta.audit.services import record

    record(action="test.one", actor=alice.actor)
    record(action="test.two", actor=alice.actor)
    prepared = Prepared(
        lambda user_id, action: (
            AuditEvent.objects.filter(actor_id=user_id, action=action)
            .order_by("pk")
            .values_list("action", "actor_id")
        )
    )
    assert prepared.rows(alice.user.pk, "test.two") == [("test.two", alice.user.pk)]
    assert prepared.rows(alice.user.pk + 1, "test.two") == []


def test_issue19_instances_are_what_select_related_gives(county: County, alice: Persona) -> None:
    """Model objects built from a prepared read's tuples: the same field values, the related
    objects cached (None for an empty foreign key), nested paths too, and no query to reach
    them."""
    from lyfta.access.prepared import columns, instances
    from lyfta.accounts.models import Assignment

    related = ("unit", "unit__provider", "user")
    prepared = Prepared(
        lambda pk: Assignment.objects.filter(pk=pk).values_list(*columns(Assignment, *related))
    )
    [built] = instances(prepared.rows(alice.assignment.pk), Assignment, *related)
    expected = Assignment.objects.select_related(*related).get(pk=alice.assignment.pk)
    with CaptureQueriesContext(connection) as queries:
        for model_field in Assignment._meta.concrete_fields:
            name = model_field.attname
            assert getattr(built, name) == getattr(expected, name), name
        assert built.unit.name == county.unit_a.name
        assert built.unit.provider.name == county.municipality.name
        assert built.user.username == "alice"
    assert len(queries) == 0
    patient = _patient(1, "Ek")
    with_town = Prepared(
        lambda pk: Patient.objects.filter(pk=pk).values_list(*columns(Patient, "home_municipality"))
    )
    [read] = instances(with_town.rows(patient.pk), Patient, "home_municipality")
    with CaptureQueriesContext(connection) as queries:
        assert read.home_municipality is None and read == patient
    assert len(queries) == 0


def test_issue19_a_list_argument_is_an_in_of_its_values(db: None) -> None:
    """A list (an `__in`) is one parameter per value: each length has its own compile, repeats
    are dropped as `__in` drops them, an empty list matches nothing without a statement, and a
    list longer than MAX_LIST is read by the ORM as it stands. Same rows as the ORM each time."""
    from lyfta.access.prepared import MAX_LIST

    made = [_patient(n, name) for n, name in enumerate(["Ek", "Al", "Ask", "Bok", "Lind"], 1)]
    ids = [p.pk for p in made]

    def orm(names: Any, pks: Any) -> list[tuple[Any, ...]]:
        found = Patient.objects.filter(last_name__in=names, pk__in=pks).order_by("pk")
        return list(found.values_list("pk", "last_name"))

    prepared = Prepared(
        lambda names, pks: (
            Patient.objects.filter(last_name__in=names, pk__in=pks)
            .order_by("pk")
            .values_list("pk", "last_name")
        )
    )
    cases: list[tuple[Any, Any]] = [
        (["Ek", "Al"], ids),
        (["Ask"], ids[:3]),
        (["Ek", "Ek", "Bok"], ids),
        ({"Lind", "Al"}, set(ids)),
        (("Bok", "Lind", "Ek"), ids[1:]),
        ([], ids),
        (["Ek"], list(range(-MAX_LIST, 0)) + ids),  # too long: the ORM reads it
    ]
    for names, pks in cases:
        assert prepared.rows(names, pks) == orm(names, pks), (names, pks)
    with CaptureQueriesContext(connection) as queries:
        assert prepared.rows([], ids) == []
    assert len(queries) == 0


@pytest.mark.parametrize("hostile", [2**63, -(2**63) - 1, 10**20])
def test_issue19_an_integer_no_column_holds_matches_nothing(db: None, hostile: int) -> None:
    """An id from a URL beyond 64 bits (`/patienter/99999999999999999999/`) is read as the ORM
    reads it — no row — instead of reaching the database driver, which refuses it (SQLite:
    OverflowError, a server error)."""
    patient = _patient(1, "Ek")
    prepared = Prepared(lambda pk: Patient.objects.filter(pk=pk).values_list("last_name"))
    assert prepared.rows(patient.pk) == [("Ek",)]
    assert prepared.rows(hostile) == []
    assert prepared.rows(patient.pk) == [("Ek",)]
