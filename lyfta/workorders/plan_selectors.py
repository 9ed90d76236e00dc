"""Reads of the inspection pages: the plans with how many items each covers, the due list by
area and month, the technician's day plan by address and one inspection work order. Each page
that names patients records every one it names (R57); a protected patient's name and address
never appear on a list (R55)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.refusals import denied
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis
from lyfta.audit.services import record, record_many
from lyfta.core.paging import Window, window
from lyfta.inventory.models import Item
from lyfta.patients.models import Patient
from lyfta.workorders.models import InspectionPlan, ItemInspection, WorkOrder, assigned_to

DUE_PAGE_SIZE = 50
STOCK_AREA = "lager"
SCHEDULED = [s for s in Item.Status.values if s not in (Item.Status.SCRAPPED, Item.Status.LOST)]


# --- Plans ----------------------------------------------------------------------------------


def plans(actor: Actor) -> QuerySet[InspectionPlan]:
    """Every plan with how many items it covers and how many of those are overdue."""
    require(actor, Cap.INSPECTION_PLANS_MANAGE)
    today = timezone.localdate()
    return (
        InspectionPlan.objects.select_related("article", "iso_class")
        .annotate(
            covered=Count("schedule"),
            overdue=Count("schedule", filter=Q(schedule__next_due__lt=today)),
        )
        .order_by("-active", "name", "pk")
    )


def plan(actor: Actor, plan_id: int) -> InspectionPlan | None:
    require(actor, Cap.INSPECTION_PLANS_MANAGE)
    return InspectionPlan.objects.select_related("article", "iso_class").filter(pk=plan_id).first()


# --- The due list -----------------------------------------------------------------------------


def next_area(area: str) -> str:
    """The first postal area after `area` ("652" → "653"), for a range on the postal code."""
    return f"{int(area) + 1:03d}"


def _month_after(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@dataclass
class DueRow:
    schedule: ItemInspection
    patient: Patient | None
    work_order: WorkOrder | None
    overdue: bool

    @property
    def protected(self) -> bool:
        return self.patient is not None and bool(self.patient.protection)

    @property
    def area(self) -> str:
        if self.patient is None:
            return ""
        return self.patient.postal_code.replace(" ", "")[:3]

    @property
    def address(self) -> str:
        if self.patient is None or self.protected:
            return ""
        p = self.patient
        return ", ".join(x for x in (p.street, f"{p.postal_code} {p.city}".strip()) if x)


@dataclass
class DueList:
    page: Window[ItemInspection]
    rows: list[DueRow]
    month: dt.date
    area: str
    overdue: bool


def due_list(
    *, actor: Actor, month: dt.date, area: str = "", overdue: bool = False, page: str | int = 1
) -> DueList:
    """The schedules due in `month` (and, when asked, those overdue before it) of items held in
    a postal area (or in stock: area "lager"), one page at a time. The area is a range on the
    holder's postal code so that the database's index does the work at national size."""
    require(actor, Cap.WORKORDERS_HANDLE)
    first = month.replace(day=1)
    end = _month_after(first)
    # The active plans as a list of ids, their names read apart: joined to the plans, PostgreSQL
    # merges on plan_id and walks every schedule at national size (2 s) instead of the
    # (next_due, id) index that stops after a page (docs/performance.md, 2026-12-06).
    active_plans = {plan.pk: plan for plan in InspectionPlan.objects.filter(active=True)}
    found = rows.due_inspections(actor).filter(
        next_due__lt=end, plan_id__in=sorted(active_plans), item__status__in=SCHEDULED
    )
    if not overdue:
        found = found.filter(next_due__gte=first)
    if area == STOCK_AREA:
        found = found.filter(item__holder__isnull=True)
    elif area:
        found = found.filter(
            item__holder__postal_code__gte=area,
            item__holder__postal_code__lt=next_area(area),
            # A protected patient's postal code is never a filter either: otherwise trying areas
            # one by one would tell where he lives (R55). His schedules show without an area.
            item__holder__protection="",
        )
    found = found.select_related("item__article", "item__holder").order_by("next_due", "pk")
    shown = window(found, DUE_PAGE_SIZE, page)
    schedules = list(shown.object_list)
    for schedule in schedules:
        schedule.plan = active_plans[schedule.plan_id]
    open_orders = _open_inspections(actor, schedules)
    today = timezone.localdate()
    result = [
        DueRow(
            s,
            s.item.holder,
            open_orders.get((s.item_id, s.plan_id)),
            s.next_due < today,
        )
        for s in schedules
    ]
    _listed(
        actor,
        ((r.patient, r.work_order, f"inspection:{r.schedule.pk}") for r in result),
        "due_inspections",
    )
    return DueList(shown, result, first, area, overdue)


def _open_inspections(
    actor: Actor, schedules: list[ItemInspection]
) -> dict[tuple[int, int], WorkOrder]:
    if not schedules:
        return {}
    found = (
        rows.work_orders_for(actor)
        .filter(
            kind=WorkOrder.Kind.INSPECTION,
            status__in=WorkOrder.OPEN,
            item_id__in={s.item_id for s in schedules},
            plan_id__in={s.plan_id for s in schedules},
        )
        .select_related("unit")
        .order_by("pk")
    )
    result: dict[tuple[int, int], WorkOrder] = {}
    for order in found:
        if order.item_id is not None and order.plan_id is not None:
            result.setdefault((order.item_id, order.plan_id), order)
    return result


def _listed(
    actor: Actor,
    named: Iterable[tuple[Patient | None, WorkOrder | None, str]],
    list_name: str,
) -> None:
    """One PATIENT_LISTED event per patient the page names (a page is one statement)."""
    seen: set[int] = set()
    entries = []
    for patient, order, ref in named:
        if patient is None or patient.pk in seen:
            continue
        seen.add(patient.pk)
        owner = {}
        if order is not None:
            owner = {"owner_unit_id": order.unit_id, "owner_provider_id": order.unit.provider_id}
        entries.append(
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": patient.pk,
                "legal_basis": LegalBasis.CASE,
                "legal_basis_ref": f"workorder:{order.number}" if order is not None else ref,
                "detail": {"list": list_name},
                **owner,
            }
        )
    record_many(entries)


# --- The day plan -----------------------------------------------------------------------------


@dataclass
class Visit:
    """One stop of the day: every work order at one address (a lift's yearly inspection and its
    sling's half-yearly one are one visit)."""

    street: str
    postal_code: str
    city: str
    confidential: bool
    orders: list[WorkOrder] = field(default_factory=list)

    @property
    def patients(self) -> list[Patient]:
        found: dict[int, Patient] = {}
        for order in self.orders:
            if order.patient is not None:
                found.setdefault(order.patient.pk, order.patient)
        return list(found.values())

    @property
    def protected(self) -> bool:
        return self.confidential or any(p.protection for p in self.patients)

    @property
    def phone(self) -> str:
        return next((o.contact_phone for o in self.orders if o.contact_phone), "")


def day_plan(*, actor: Actor, day: dt.date, team: bool = False) -> list[Visit]:
    """The actor's work orders planned for `day` at a home or a unit (and, when asked, those of
    his teams), one visit per address, in postal-code order."""
    require(actor, Cap.WORKORDERS_HANDLE)
    user = actor.user
    if user is None:
        return []
    mine = assigned_to(user) if team else Q(assignee=user)
    found = (
        rows.work_orders_for(actor)
        .filter(mine, planned_on=day, place__in=[WorkOrder.Place.HOME, WorkOrder.Place.UNIT])
        .exclude(status=WorkOrder.Status.CANCELLED)
        .select_related("item__article", "article", "patient", "unit", "plan", "assignee")
        # Protected addresses last: their place in postal-code order would tell the area (R55).
        .order_by("confidential_address", "postal_code", "street", "pk")
    )
    visits: dict[tuple[str, ...], Visit] = {}
    for order in found:
        if order.confidential_address or not order.street:
            # Nothing to group on: each protected or address-less work order is its own stop.
            key: tuple[str, ...] = ("order", str(order.pk))
        else:
            key = (" ".join(order.street.lower().split()), order.postal_code.replace(" ", ""))
        visit = visits.get(key)
        if visit is None:
            visit = visits[key] = Visit(
                order.street, order.postal_code, order.city, order.confidential_address
            )
        visit.orders.append(order)
    result = sorted(visits.values(), key=lambda v: (v.postal_code.replace(" ", ""), v.street))
    _listed(
        actor,
        ((o.patient, o, "") for v in result for o in v.orders),
        "day_plan",
    )
    return result


# --- One inspection work order ----------------------------------------------------------------


def inspection_order(*, actor: Actor, order_id: int) -> WorkOrder:
    """The work order to record an inspection on; the same 404 for missing and not allowed. The
    read is recorded with its patient (on the case)."""
    require(actor, Cap.WORKORDERS_HANDLE)
    order = (
        rows.work_orders_for(actor)
        .filter(pk=order_id)
        .select_related("item__article", "article", "patient", "unit", "plan")
        .first()
    )
    if order is None:
        raise denied(actor, "workorders.workorder", order_id)
    record(
        action=Action.WORKORDER_VIEWED,
        actor=actor,
        target=order,
        patient_id=order.patient_id,
        legal_basis=LegalBasis.CASE,
        legal_basis_ref=f"workorder:{order.number}",
        detail={"page": "inspection"},
        owner_provider_id=order.unit.provider_id,
        owner_unit_id=order.unit_id,
    )
    return order


def open_repair(actor: Actor, order: WorkOrder) -> WorkOrder | None:
    """The repair work order a failed inspection opened (the newest open repair of the item)."""
    if order.item_id is None:
        return None
    return (
        rows.work_orders_for(actor)
        .filter(item_id=order.item_id, kind=WorkOrder.Kind.REPAIR, status__in=WorkOrder.OPEN)
        .order_by("-pk")
        .first()
    )
