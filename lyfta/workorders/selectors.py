"""Reads of the technicians' desk (DOMAIN.md §3.4): the technician's queue, a unit's work orders,
one work order with its parts, attachments and protocol, and the work-order history on the item
card. Every row comes from the access layer (lyfta.access.rows); each patient a page names is
recorded (R57), a refused id is recorded and answered with the same 404 as a missing one (R38).

A protected patient's name and address are never shown to the centre (R55): the technician sees
"Skyddad identitet" and contacts the unit, unless he is among the patient's named staff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.patients import is_named_staff
from lyfta.access.policies import can, require
from lyfta.access.prepared import Prepared, columns, instances
from lyfta.access.refusals import denied
from lyfta.access.roles import Cap
from lyfta.accounts.models import User
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis
from lyfta.audit.services import record, record_many
from lyfta.core.paging import Keyset, Window, keyset, window
from lyfta.inventory.models import Item
from lyfta.organisations.models import Unit
from lyfta.workorders.models import (
    Attachment,
    Inspection,
    ItemInspection,
    Team,
    WorkOrder,
    WorkOrderPart,
)

if TYPE_CHECKING:
    from lyfta.access.patients import DataScope, PatientGrant
    from lyfta.orders.selectors import Holdings, ItemCard

# A technician reads the queue on a phone in the patient's hall: 25 cards a page, the most
# urgent first (done-by date), the rest a tap away.
PAGE_SIZE = 25
# Work orders the patient gets a letter about: periodic visits announced ahead.
LETTER_KINDS = (WorkOrder.Kind.INSPECTION, WorkOrder.Kind.MAINTENANCE)
RELATED = ("unit__provider", "patient", "item__article", "article", "team", "assignee")
# What a row of the queue shows (and its audit record needs: the unit's provider id).
QUEUE_RELATED = ("unit", "patient", "item__article", "article", "assignee")


def patient_shown(actor: Actor, order: WorkOrder) -> bool:
    """Whether a page may name the work order's patient to the actor: a protected patient only
    to the named staff (R54, R55)."""
    patient = order.patient
    if patient is None:
        return False
    return not patient.is_protected or is_named_staff(actor, patient)


def patient_label(actor: Actor, order: WorkOrder) -> str:
    if order.patient is None or not patient_shown(actor, order):
        return ""
    return f"{order.patient} ({order.patient.display_identifier})"


def address_of(order: WorkOrder) -> str:
    """Where a visit goes; "" for a confidential address (never printed, R55)."""
    if order.confidential_address:
        return ""
    return ", ".join(
        part for part in (order.street, f"{order.postal_code} {order.city}".strip()) if part
    )


def _listed(actor: Actor, orders: list[WorkOrder], where: str) -> None:
    """One PATIENT_LISTED per patient a list names, written together (R57)."""
    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": order.patient_id,
                "resource_type": "workorders.workorder",
                "resource_id": order.pk,
                "legal_basis": LegalBasis.CASE,
                "legal_basis_ref": f"workorder:{order.number}",
                "owner_provider_id": order.unit.provider_id,
                "owner_unit_id": order.unit_id,
                "detail": {"list": where},
            }
            for order in orders
            if order.patient_id is not None and patient_shown(actor, order)
        ]
    )


# --- The technician's queue ---------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    order: WorkOrder
    patient_label: str
    address: str
    overdue: bool


@dataclass
class Queue:
    page: Window[WorkOrder]
    rows: list[QueueRow] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    today: dt.date = field(default_factory=timezone.localdate)


MINE, TEAM = "mina", "teamets"


def queue(*, actor: Actor, view: str, area: str, status: str, page: int) -> Queue:
    """Open work orders assigned to the technician ("Mina") or to a team he is a member of
    ("Teamets"), by done-by date; overdue ones marked; filtered by area and status."""
    require(actor, Cap.WORKORDERS_HANDLE)
    teams = list(Team.objects.filter(members=actor.user, active=True)) if actor.user else []
    found = rows.work_orders_for(actor).filter(status__in=WorkOrder.OPEN)
    found = found.filter(team__in=teams) if view == TEAM else found.filter(assignee=actor.user)
    if status:
        found = found.filter(status=status)
    if area:
        # A protected address is under no area: the filter must not tell where it is (R55).
        found = found.filter(postal_code__startswith=area, confidential_address=False)
    mine = view != TEAM and actor.user is not None
    # "Mina": every row's assignee is the technician himself, so no join for him (each join
    # of this read costs the planner more than the database's answer: issue 19).
    related = [name for name in QUEUE_RELATED if not (mine and name == "assignee")]
    found = found.select_related(*related).order_by("done_due", "pk")
    paginated = window(found, PAGE_SIZE, page)
    today = timezone.localdate()
    orders: list[WorkOrder] = list(paginated.object_list)
    if mine:
        for order in orders:
            order.assignee = actor.user
    result = Queue(page=paginated, teams=teams, today=today)
    result.rows = [
        QueueRow(order, patient_label(actor, order), address_of(order), order.done_due < today)
        for order in orders
    ]
    _listed(actor, orders, "workorder_queue")
    return result


# --- A unit's work orders --------------------------------------------------------------------


def unit_list(*, actor: Actor, page: int) -> tuple[Window[WorkOrder], list[QueueRow]]:
    """The work orders for the actor's unit, open first, then by done-by date."""
    require(actor, Cap.WORKORDERS_REQUEST)
    found = (
        rows.work_orders_for(actor)
        .filter(unit=actor.unit)
        .select_related(*RELATED)
        .annotate(
            finished=Case(
                When(status__in=WorkOrder.OPEN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("finished", "done_due", "-pk")
    )
    paginated: Window[WorkOrder] = window(found, PAGE_SIZE, page)
    orders: list[WorkOrder] = list(paginated.object_list)
    today = timezone.localdate()
    shown = [
        QueueRow(
            order,
            patient_label(actor, order),
            "",
            order.is_open and order.done_due < today,
        )
        for order in orders
    ]
    _listed(actor, orders, "workorder_unit_list")
    return paginated, shown


def unit_after(*, actor: Actor, after: int, size: int) -> Keyset[WorkOrder]:
    """The work orders for the actor's unit (as `unit_list`) with an id above `after`, ascending:
    the API's pages. Each patient a row names is recorded as listed (R57), as on the page."""
    require(actor, Cap.WORKORDERS_REQUEST)
    found = rows.work_orders_for(actor).filter(unit=actor.unit).select_related(*RELATED)
    page: Keyset[WorkOrder] = keyset(found, after, size)
    _listed(actor, page.rows, "workorder_unit_list")
    return page


@dataclass(frozen=True)
class LateInspection:
    schedule: ItemInspection
    patient_label: str


LATE_SHOWN = 100


def unit_late_inspections(*, actor: Actor) -> list[LateInspection]:
    """The devices the unit has lent out whose inspection is overdue, oldest first, with who
    holds each (a patient of the unit's own loan; each one named is recorded, R57)."""
    require(actor, Cap.WORKORDERS_REQUEST)
    found = list(
        rows.unit_overdue_inspections(actor, timezone.localdate())
        .select_related("item__article", "item__holder", "plan")
        .order_by("next_due", "pk")
        .distinct()[:LATE_SHOWN]
    )
    result = []
    entries = []
    for schedule in found:
        holder = schedule.item.holder
        if holder is None:
            continue
        result.append(LateInspection(schedule, f"{holder} ({holder.display_identifier})"))
        entries.append(
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": holder.pk,
                "resource_type": "workorders.iteminspection",
                "resource_id": schedule.pk,
                "legal_basis": LegalBasis.CASE,
                "legal_basis_ref": f"item:{schedule.item.individual_number}",
                "owner_provider_id": actor.unit.provider_id if actor.unit else None,
                "owner_unit_id": actor.unit.pk if actor.unit else None,
                "detail": {"list": "unit_late_inspections"},
            }
        )
    record_many(entries)
    return result


# --- One work order --------------------------------------------------------------------------


def work_order_to_change(*, actor: Actor, pk: int) -> WorkOrder:
    """A work order the actor may see, for a step on it (the service audits the step), or the
    recorded 404. Roles with no part in technical work are refused outright (403)."""
    if not (
        can(actor, Cap.WORKORDERS_HANDLE)
        or can(actor, Cap.WORKORDERS_REQUEST)
        or can(actor, Cap.WORKORDERS_APPROVE)
    ):
        require(actor, Cap.WORKORDERS_REQUEST)
    order = rows.work_orders_for(actor).filter(pk=pk).select_related(*RELATED).first()
    if order is None:
        raise denied(actor, "workorders.workorder", pk)
    return order


def work_order_for(*, actor: Actor, pk: int) -> WorkOrder:
    """A work order the actor may see, recorded as a read of its patient, or the recorded 404."""
    order = work_order_to_change(actor=actor, pk=pk)
    _viewed(actor, order, Action.WORKORDER_VIEWED)
    return order


def _viewed(actor: Actor, order: WorkOrder, action: str, **detail: Any) -> None:
    record(
        action=action,
        actor=actor,
        target=order,
        patient_id=order.patient_id,
        legal_basis=LegalBasis.CASE,
        legal_basis_ref=f"workorder:{order.number}",
        owner_provider_id=order.unit.provider_id,
        owner_unit_id=order.unit_id,
        detail=detail or None,
    )


@dataclass
class Detail:
    order: WorkOrder
    patient_label: str
    address: str
    parts: list[WorkOrderPart]
    attachments: list[Attachment]
    inspection: Inspection | None
    overdue: bool


def detail(*, actor: Actor, order: WorkOrder) -> Detail:
    """Everything about a work order the layer gave the actor."""
    parts = list(order.parts.select_related("article", "location", "used_by").order_by("pk"))
    attachments = list(order.attachments.select_related("uploaded_by").order_by("pk"))
    inspection = (
        rows.work_order_inspection(actor, order).select_related("inspector", "plan").first()
    )
    return Detail(
        order=order,
        patient_label=patient_label(actor, order),
        address=address_of(order),
        parts=parts,
        attachments=attachments,
        inspection=inspection,
        overdue=order.is_open and order.done_due < timezone.localdate(),
    )


def attachment_for(*, actor: Actor, pk: int, attachment_id: int) -> Attachment:
    """An attachment of a work order the actor may see, recorded as a read (R57), or the 404."""
    order = work_order_to_change(actor=actor, pk=pk)
    attachment = order.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise denied(actor, "workorders.attachment", attachment_id)
    attachment.work_order = order
    _viewed(actor, order, Action.WORKORDER_ATTACHMENT_VIEWED, attachment=attachment.pk)
    return attachment


def letter_for(*, actor: Actor, pk: int) -> WorkOrder:
    """The work order whose inspection letter is printed, recorded (R57, R87)."""
    order = work_order_to_change(actor=actor, pk=pk)
    if order.patient_id is None or order.kind not in LETTER_KINDS:
        # A letter about a coming inspection: a repair or a stock item has none.
        raise denied(actor, "workorders.workorder", pk)
    _viewed(actor, order, Action.WORKORDER_LETTER_PRINTED)
    return order


def centre_phone(order: WorkOrder) -> str:
    if order.team is not None and order.team.unit.phone:
        return order.team.unit.phone
    centre = Unit.objects.filter(kind=Unit.Kind.CENTRE).exclude(phone="").first()
    return centre.phone if centre else ""


def technicians() -> QuerySet[User]:
    """Who a work order can be given to: the members of the active teams."""
    return (
        User.objects.filter(technician_teams__active=True, is_active=True)
        .distinct()
        .order_by("first_name", "last_name")
    )


def teams() -> QuerySet[Team]:
    return Team.objects.filter(active=True).order_by("name")


# --- The item card ------------------------------------------------------------------------


@dataclass(frozen=True)
class CardWorkOrder:
    order: WorkOrder
    patient_label: str
    may_open: bool


@dataclass
class ItemWork:
    work_orders: list[CardWorkOrder]
    inspections: list[Inspection]
    schedule: list[ItemInspection]
    inspection_late: bool


def _schedule(item_id: int) -> QuerySet[ItemInspection, tuple[Any, ...]]:
    found = ItemInspection.objects.filter(item_id=item_id).order_by("next_due")
    return found.values_list(*columns(ItemInspection, "plan"))


_SCHEDULE = Prepared(_schedule)  # the item card's inspection schedule, compiled once


def item_work(*, actor: Actor, item: Item, session_ref: str) -> ItemWork:
    """The item card's work orders and inspections (R93): each patient named is recorded."""
    history = rows.item_work_orders(actor, item, session_ref)
    handles = can(actor, Cap.WORKORDERS_HANDLE)
    unit_id = getattr(actor.unit, "pk", None)
    asks = can(actor, Cap.WORKORDERS_REQUEST) or can(actor, Cap.WORKORDERS_APPROVE)
    shown = []
    for entry in history:
        order = entry.work_order
        label = ""
        if entry.patient_shown and order.patient is not None and patient_shown(actor, order):
            label = f"{order.patient} ({order.patient.display_identifier})"
        may_open = handles or (asks and order.unit_id == unit_id)
        shown.append(CardWorkOrder(order, label, may_open))
    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": entry.work_order.patient_id,
                "resource_type": "workorders.workorder",
                "resource_id": entry.work_order.pk,
                "legal_basis": entry.basis,
                "legal_basis_ref": entry.basis_ref,
                "owner_provider_id": entry.work_order.unit.provider_id,
                "owner_unit_id": entry.work_order.unit_id,
                "detail": {"list": "item_card", "item": item.individual_number},
            }
            for entry, row in zip(history, shown, strict=True)
            if row.patient_label
        ]
    )
    done = rows.item_inspections(actor, item)
    inspections = (
        []
        if done.query.is_empty()
        else list(done.select_related("inspector", "plan", "work_order"))
    )
    schedule = instances(_SCHEDULE.rows(item.pk), ItemInspection, "plan")
    today = timezone.localdate()
    return ItemWork(
        work_orders=shown,
        inspections=inspections,
        schedule=schedule,
        inspection_late=any(s.next_due < today for s in schedule),
    )


# --- The desk's part of orders' pages (registered in lyfta/workorders/apps.py) -----------------


@dataclass(frozen=True)
class WorkOrderRow:
    """An open work order on the holdings page, read as a tuple of the access layer's
    WORK_ORDER_ROW columns (issue 19 point 5)."""

    pk: int
    number: str
    kind: str
    status: str
    unit_id: int
    item_id: int | None
    article_name: str | None  # the item's
    individual_number: str | None
    done_due: dt.date | None

    @property
    def kind_label(self) -> str:
        return str(dict(WorkOrder.Kind.choices).get(self.kind, self.kind))

    @property
    def status_label(self) -> str:
        return str(dict(WorkOrder.Status.choices).get(self.status, self.status))


def holdings_work(
    *, actor: Actor, grant: PatientGrant, scope: DataScope, holdings: Holdings
) -> None:
    """On the holdings page: the patient's open work orders, on the owners the actor's scope
    shows (R39). Which active loans' items are overdue for an inspection comes with the loans."""
    if can(actor, Cap.WORKORDERS_REQUEST) or can(actor, Cap.WORKORDERS_HANDLE):
        holdings.work_orders = [
            WorkOrderRow(*values) for values in rows.patient_work_order_rows(actor, grant, scope)
        ]


def item_card_work(*, actor: Actor, card: ItemCard, session_ref: str) -> None:
    """On the item card: the item's work orders and inspections (`item_work`)."""
    card.work = item_work(actor=actor, item=card.item, session_ref=session_ref)
