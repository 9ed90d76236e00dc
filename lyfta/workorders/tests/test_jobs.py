"""The desk's daily jobs: due inspections become work orders and the holding unit is told, at
least two weeks ahead when the schedule allows; late work orders are reported once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import Persona
from lyfta.access.actor import Actor
from lyfta.core import scheduler
from lyfta.messages.models import Message
from lyfta.orders.tests import conftest as orders_conftest
from lyfta.orders.tests.conftest import Shop
from lyfta.workorders import jobs, services
from lyfta.workorders.models import InspectionPlan, ItemInspection, WorkOrder
from lyfta.workorders.tests.inspection_world import Desk, make_desk

pytestmark = pytest.mark.django_db
shop = orders_conftest.shop  # the orders tests' fixture
SYSTEM = Actor.system("inspections_due")


@pytest.fixture
def desk(shop: Shop, alice: Persona, logan: Persona, tekla: Persona) -> Desk:
    return make_desk(shop, alice, logan, tekla)


def _inspections() -> list[WorkOrder]:
    return list(WorkOrder.unscoped.filter(kind=WorkOrder.Kind.INSPECTION).order_by("pk"))


def test_the_jobs_are_scheduled_daily() -> None:
    found = {job.name: job for job in scheduler.jobs()}
    assert found["inspections_due"].target == "lyfta.workorders.jobs:inspections_due"
    assert found["work_orders_overdue"].target == "lyfta.workorders.jobs:work_orders_overdue"
    assert found["inspections_due"].interval == found["work_orders_overdue"].interval == 86400


def test_one_inspection_work_order_per_due_schedule_and_idempotent(
    desk: Desk, alice: Persona, bob: Persona
) -> None:
    today = timezone.localdate()
    desk.due_on(desk.loan_karlstad, today + dt.timedelta(days=20))
    desk.due_on(desk.loan_saffle, today + dt.timedelta(days=90))  # not yet
    assert jobs.inspections_due(actor=SYSTEM) == 1
    (order,) = _inspections()
    assert order.item_id == desk.loan_karlstad.item_id and order.plan == desk.plan
    assert order.patient == desk.shop.patient and order.place == WorkOrder.Place.HOME
    assert order.done_due == today + dt.timedelta(days=20)
    assert order.origin == WorkOrder.Origin.INSPECTION_PLAN
    # The holding unit's prescribers are told (both of unit A), once.
    told = Message.objects.filter(link=f"/teknik/arbetsorder/{order.pk}/")
    assert {m.recipient for m in told} == {alice.user, bob.user}
    # Run again: nothing new, nobody told twice.
    assert jobs.inspections_due(actor=SYSTEM) == 0
    assert len(_inspections()) == 1
    assert Message.objects.filter(link=f"/teknik/arbetsorder/{order.pk}/").count() == 2


def test_the_unit_is_told_at_least_two_weeks_ahead_when_the_schedule_allows(
    desk: Desk, alice: Persona
) -> None:
    """A schedule due in 40 days is not yet reminded; the day it comes within the lead time
    (30 days) it is, 30 days ahead, well over the 14 days' notice a home visit needs."""
    today = timezone.localdate()
    due = today + dt.timedelta(days=40)
    desk.due_on(desk.loan_karlstad, due)
    desk.due_on(desk.loan_saffle, due + dt.timedelta(days=100))
    assert jobs.inspections_due(actor=SYSTEM) == 0
    later = due - dt.timedelta(days=services.INSPECTION_LEAD_DAYS)
    services.inspections_due(actor=SYSTEM, today=later)
    (order,) = _inspections()
    assert (order.done_due - later).days >= services.MIN_NOTICE_DAYS
    assert desk.schedule(desk.loan_karlstad).reminded_on == later
    assert Message.objects.filter(recipient=alice.user, link__endswith=f"/{order.pk}/").exists()


def test_the_job_schedules_items_new_to_a_plan(desk: Desk, tekla: Persona) -> None:
    plan = InspectionPlan.objects.create(
        name="Sängar", article=desk.shop.bed, interval_months=1, checklist=["Grindar"]
    )
    assert not ItemInspection.objects.filter(plan=plan).exists()
    jobs.inspections_due(actor=SYSTEM)
    schedules = ItemInspection.objects.filter(plan=plan)
    # Acquired today with a one-month interval.
    assert {s.next_due for s in schedules} == {services.add_months(timezone.localdate(), 1)}
    assert schedules.count() == 2
    # Due soon: an inspection in the workshop (the beds are in stock), nobody to tell.
    schedules.update(next_due=timezone.localdate() + dt.timedelta(days=3))
    jobs.inspections_due(actor=SYSTEM)
    beds = [o for o in _inspections() if o.plan_id == plan.pk]
    assert len(beds) == 2 and {o.place for o in beds} == {WorkOrder.Place.WORKSHOP}
    assert all(o.patient is None for o in beds)


def test_a_late_work_order_is_reported_once(desk: Desk, tekla: Persona, alice: Persona) -> None:
    order = services.work_order_create(
        actor=alice.actor,
        kind=WorkOrder.Kind.REPAIR,
        description="Lyften piper.",
        place=WorkOrder.Place.WORKSHOP,
        unit=desk.loan_karlstad.unit,
        item=desk.loan_karlstad.item,
    )
    past = timezone.localdate() - dt.timedelta(days=1)
    WorkOrder.unscoped.filter(pk=order.pk).update(start_due=past, done_due=past)
    assert jobs.work_orders_overdue(actor=Actor.system("work_orders_overdue")) == 1
    late = Message.objects.filter(recipient=alice.user, subject__contains="försenad")
    assert late.count() == 1 and order.number in late.get().subject
    assert jobs.work_orders_overdue(actor=Actor.system("work_orders_overdue")) == 0
    assert late.count() == 1
