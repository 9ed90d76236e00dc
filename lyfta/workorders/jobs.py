"""Scheduled jobs of the technicians' desk (lyfta/core/scheduler.py runs them daily)."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.core.scheduler import Job
from lyfta.workorders import services
from lyfta.workorders.models import InspectionPlan


def scheduled() -> list[Job]:
    return [
        # Due inspections become work orders (the holding unit is told), and late work orders
        # are reported once to the one who asked.
        Job("inspections_due", 24 * 3600, "lyfta.workorders.jobs:inspections_due"),
        Job("work_orders_overdue", 24 * 3600, "lyfta.workorders.jobs:work_orders_overdue"),
    ]


def inspections_due(*, actor: Actor) -> int:
    """Give items new to a plan their due dates, then turn each schedule due within the lead
    time into an inspection work order and tell the holding unit."""
    for plan in InspectionPlan.objects.filter(active=True).order_by("pk"):
        services.schedule_plan(plan)
    return len(services.inspections_due(actor=actor))


def work_orders_overdue(*, actor: Actor) -> int:
    """Tell the one who asked, once, of each work order past its done-by date."""
    return services.overdue_notify(actor=actor)
