"""Service-level due dates in Swedish working days (issue 13, "Done when" point 3; DOMAIN.md
§3.4): a repair is started within 3 working days and done within 10 (Västra Götaland's level),
urgent work within 1 and 3. Public holidays (lag 1989:253) and the de facto ones (midsummer eve,
Christmas Eve, New Year's Eve) are not working days.

The expected dates are counted by hand in each case's comment, never computed with
`add_working_days`, so that a wrong calendar or a wrong count fails here."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import Persona
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.core.workdays import is_working_day
from lyfta.orders.tests.conftest import grant
from lyfta.workorders import services
from lyfta.workorders.models import WorkOrder
from lyfta.workorders.tests.conftest import Desk, repair_for, today_is

D = dt.date
K = WorkOrder.Kind
NORMAL = WorkOrder.Priority.NORMAL
URGENT = WorkOrder.Priority.URGENT

# (kind, priority, registered, start by, done by)
CASES = [
    # Maundy Thursday 2026: Good Friday 3 April, Easter Sunday 5, Easter Monday 6 are skipped.
    # Start: Tue 7 (1), Wed 8 (2), Thu 9 (3). Done: Fri 10 (4), Mon 13 (5), Tue 14 (6),
    # Wed 15 (7), Thu 16 (8), Fri 17 (9), Mon 20 (10).
    (K.REPAIR, NORMAL, D(2026, 4, 2), D(2026, 4, 9), D(2026, 4, 20)),
    # Urgent on the same day: Tue 7 (1); Thu 9 (3).
    (K.REPAIR, URGENT, D(2026, 4, 2), D(2026, 4, 7), D(2026, 4, 9)),
    # Special adaptation (5, 20) from Maundy Thursday: Mon 13 April is the 5th; the 20th is
    # Tue 5 May, past Första maj (Friday 1 May): Tue 14 (6) … Thu 30 (18), Mon 4 May (19),
    # Tue 5 May (20).
    (K.SPECIAL_ADAPTATION, NORMAL, D(2026, 4, 2), D(2026, 4, 13), D(2026, 5, 5)),
    # Wednesday 23 December 2026: Christmas Eve (Thu), Christmas Day (Fri) and the weekend
    # skipped: Mon 28 (1), Tue 29 (2), Wed 30 (3). Then New Year's Eve (Thu 31), New Year's Day
    # (Fri 1), the weekend, Mon 4 Jan (4), Tue 5 (5), Epiphany (Wed 6) skipped, Thu 7 (6),
    # Fri 8 (7), Mon 11 (8), Tue 12 (9), Wed 13 (10).
    (K.REPAIR, NORMAL, D(2026, 12, 23), D(2026, 12, 30), D(2027, 1, 13)),
    # Urgent then: Mon 28 December (1), Wed 30 (3).
    (K.REPAIR, URGENT, D(2026, 12, 23), D(2026, 12, 28), D(2026, 12, 30)),
    # Boxing Day 2027 is a Sunday; from Thursday 23 December 2027: Christmas Eve (Fri) and the
    # weekend skipped, Mon 27 (1), Tue 28 (2), Wed 29 (3); Thu 30 (4), New Year's Eve (Fri 31)
    # and New Year's Day (Sat 1) and Sunday skipped, Mon 3 Jan 2028 (5), Tue 4 (6), Wed 5 (7),
    # Epiphany (Thu 6) skipped, Fri 7 (8), Mon 10 (9), Tue 11 (10).
    (K.REPAIR, NORMAL, D(2027, 12, 23), D(2027, 12, 29), D(2028, 1, 11)),
    # Thursday before midsummer 2026: midsummer eve (Fri 19 June) and the weekend skipped:
    # Mon 22 (1), Tue 23 (2), Wed 24 (3); Thu 25 (4), Fri 26 (5), Mon 29 (6), Tue 30 (7),
    # Wed 1 July (8), Thu 2 (9), Fri 3 (10).
    (K.REPAIR, NORMAL, D(2026, 6, 18), D(2026, 6, 24), D(2026, 7, 3)),
    # Midsummer eve itself (a Friday): the weekend follows: Mon 22 (1); Wed 24 (3).
    (K.REPAIR, URGENT, D(2026, 6, 19), D(2026, 6, 22), D(2026, 6, 24)),
    # Ascension Day 2026 is Thursday 14 May (Easter + 39): from Wed 13 May, Fri 15 (1),
    # Mon 18 (2), Tue 19 (3); Wed 20 (4), Thu 21 (5), Fri 22 (6), Mon 25 (7), Tue 26 (8),
    # Wed 27 (9), Thu 28 (10).
    (K.REPAIR, NORMAL, D(2026, 5, 13), D(2026, 5, 19), D(2026, 5, 28)),
    # National Day 2025 (Friday 6 June): from Thu 5 June, Mon 9 (1), Tue 10 (2), Wed 11 (3).
    (K.REPAIR, URGENT, D(2025, 6, 5), D(2025, 6, 9), D(2025, 6, 11)),
    # Registered on a Saturday: Monday is day one. Sat 5 Dec 2026: Mon 7 (1), Tue 8 (2),
    # Wed 9 (3); Thu 10 (4), Fri 11 (5), Mon 14 (6) … Fri 18 (10).
    (K.REPAIR, NORMAL, D(2026, 12, 5), D(2026, 12, 9), D(2026, 12, 18)),
    # An inspection (5, 10) from Thursday 23 December 2027: Mon 27 (1) … Thu 30 (4),
    # Mon 3 Jan (5); Tue 4 (6), Wed 5 (7), Fri 7 (8), Mon 10 (9), Tue 11 (10).
    (K.INSPECTION, NORMAL, D(2027, 12, 23), D(2028, 1, 3), D(2028, 1, 11)),
]


@pytest.mark.parametrize(("kind", "priority", "registered", "start_by", "done_by"), CASES)
def test_due_dates_skip_weekends_and_swedish_holidays(
    kind: str, priority: str, registered: dt.date, start_by: dt.date, done_by: dt.date
) -> None:
    assert services.due_dates(kind, priority, registered) == (start_by, done_by)
    # The due dates are themselves days on which the work can be done.
    assert is_working_day(start_by) and is_working_day(done_by)


def test_every_kind_has_a_service_level_and_a_repair_is_3_and_10() -> None:
    assert set(services.SERVICE_LEVELS) == set(K.values)
    assert services.SERVICE_LEVELS[K.REPAIR] == (3, 10)
    assert services.URGENT_LEVEL == (1, 3)
    for start, done in services.SERVICE_LEVELS.values():
        assert 0 < start <= done


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("priority", "registered", "start_by", "done_by"),
    [
        (NORMAL, D(2026, 4, 2), D(2026, 4, 9), D(2026, 4, 20)),
        (URGENT, D(2026, 4, 2), D(2026, 4, 7), D(2026, 4, 9)),
        (NORMAL, D(2026, 12, 23), D(2026, 12, 30), D(2027, 1, 13)),
        (NORMAL, D(2026, 6, 18), D(2026, 6, 24), D(2026, 7, 3)),
    ],
)
def test_work_order_create_sets_its_due_dates_from_the_registration_day(
    desk: Desk,
    alice: Persona,
    priority: str,
    registered: dt.date,
    start_by: dt.date,
    done_by: dt.date,
) -> None:
    # The grant is taken today (the care relationship began a few days ago).
    patient_grant = grant(alice, desk.shop.patient)
    with today_is(registered):
        order = repair_for(desk, alice, priority=priority, grant=patient_grant)
    stored = WorkOrder.unscoped.get(pk=order.pk)
    assert stored.registered_at.date() == registered
    assert (stored.start_due, stored.done_due) == (start_by, done_by)
    assert stored.number.startswith(f"AO{registered.year}-")
    created = AuditEvent.objects.filter(
        action=Action.WORKORDER_CREATED, resource_id=str(order.pk)
    ).get()
    assert created.patient_id == desk.shop.patient.pk


@pytest.mark.django_db
def test_a_due_inspection_is_due_on_its_schedule_not_the_service_level(
    desk: Desk, tekla: Persona
) -> None:
    """An inspection brought about by its schedule is due on the scheduled day (started by then
    at the latest), even when the service level would allow longer."""
    registered, due = D(2026, 12, 23), D(2026, 12, 28)
    with today_is(registered):
        order = services.work_order_create(
            actor=tekla.actor,
            kind=K.INSPECTION,
            description="Årlig besiktning",
            place=WorkOrder.Place.WORKSHOP,
            unit=desk.county.centre,
            item=desk.spare_lift,
            origin=WorkOrder.Origin.INSPECTION_PLAN,
            plan=desk.plan,
            due=due,
        )
    assert (order.start_due, order.done_due) == (due, due)
