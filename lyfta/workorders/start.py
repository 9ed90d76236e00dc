"""What the start page says of the technicians' desk: the technician's open and overdue work,
and for a unit the devices it has lent out whose inspection is overdue (counts only: no patient
is named on the start page)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap
from lyfta.workorders.models import WorkOrder, assigned_count


@dataclass(frozen=True)
class DeskSummary:
    mine_open: int = 0
    mine_overdue: int = 0
    unit_open: int = 0
    unit_overdue_inspections: int = 0
    handles: bool = False


def desk_summary(actor: Actor) -> DeskSummary | None:
    if actor.assignment is None:
        return None
    today = timezone.localdate()
    if can(actor, Cap.WORKORDERS_HANDLE):
        assert actor.user is not None  # noqa: S101 - a signed-in technician
        found = rows.work_orders_for(actor).filter(status__in=WorkOrder.OPEN)
        return DeskSummary(
            mine_open=assigned_count(found, actor.user),
            mine_overdue=assigned_count(found.filter(done_due__lt=today), actor.user),
            handles=True,
        )
    if can(actor, Cap.WORKORDERS_REQUEST) and actor.unit is not None:
        return DeskSummary(
            unit_open=rows.work_orders_for(actor).filter(status__in=WorkOrder.OPEN).count(),
            unit_overdue_inspections=rows.unit_overdue_inspections(actor, today)
            .values("item_id")
            .distinct()
            .count(),
        )
    return None
