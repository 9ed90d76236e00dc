"""The technicians' desk's demo data: teams, plans, devices lent, schedules and work orders in
every status, all through the services; a second `seed_demo` changes nothing."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from lyfta.audit.models import AuditEvent
from lyfta.inventory.models import Item
from lyfta.orders.models import Loan
from lyfta.workorders.models import (
    InspectionPlan,
    ItemInspection,
    Team,
    WorkOrder,
    WorkOrderPart,
)

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Team.objects.count(),
        InspectionPlan.objects.count(),
        ItemInspection.objects.count(),
        WorkOrder.unscoped.count(),
        WorkOrderPart.unscoped.count(),
        Loan.unscoped.count(),
        Item.objects.count(),
        AuditEvent.objects.count(),
    )


def test_seed_gives_the_desk_work_orders_in_every_status_and_is_idempotent() -> None:
    call_command("seed_demo", verbosity=0)
    today = timezone.localdate()
    assert set(WorkOrder.unscoped.values_list("status", flat=True)) == set(WorkOrder.Status.values)
    gustav_team = Team.objects.get(name="Team Norr")
    assert gustav_team.members.filter(username="gustav.tekniker").exists()
    assert {p.interval_months for p in InspectionPlan.objects.all()} == {6, 12}
    assert all(p.checklist for p in InspectionPlan.objects.all())
    # Devices lent to patients, with their schedules: some overdue, some due this month.
    lent = Loan.unscoped.filter(ended_on__isnull=True, item__isnull=False)
    assert lent.count() >= 4
    assert ItemInspection.objects.filter(next_due__lt=today, item__holder__isnull=False).exists()
    assert ItemInspection.objects.filter(
        next_due__gte=today,
        next_due__month=today.month,
        next_due__year=today.year,
        item__holder__isnull=False,
    ).exists()
    # Planned for today, a home visit of gustav's: two work orders at one address.
    planned = WorkOrder.unscoped.filter(
        status=WorkOrder.Status.PLANNED,
        planned_on=today,
        assignee__username="gustav.tekniker",
        place=WorkOrder.Place.HOME,
    )
    assert planned.count() == 2
    assert len({(o.street, o.postal_code) for o in planned}) == 1
    assert WorkOrder.unscoped.filter(status__in=WorkOrder.OPEN, done_due__lt=today).exists(), (
        "some work is late"
    )
    assert WorkOrderPart.unscoped.filter(work_order__status=WorkOrder.Status.IN_PROGRESS).exists()
    special = WorkOrder.unscoped.get(status=WorkOrder.Status.WAITING_APPROVAL)
    assert special.cost_estimate is not None and special.kind == WorkOrder.Kind.SPECIAL_ADAPTATION

    before = _counts()
    started = time.monotonic()
    call_command("seed_demo", verbosity=0)
    assert _counts() == before
    assert time.monotonic() - started < 30
