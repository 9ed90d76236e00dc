"""Writes of the technicians' desk (DOMAIN.md §3.4): registering, planning, starting, waiting,
reporting, finishing, closing and cancelling work orders; spare parts out of stock through the
ledger; special adaptation's estimate and the payer's approval; attachments; inspection plans,
each item's schedule and the inspections done. Every change is audited with its before and
after values; a closed or cancelled work order never changes again.

Status machine (anything else is refused):

    registered → planned, in_progress, waiting_parts, waiting_approval, cancelled
    planned → registered, in_progress, waiting_parts, waiting_approval, cancelled
    in_progress → waiting_parts, waiting_approval, done, cancelled
    waiting_parts → planned, in_progress, cancelled
    waiting_approval → registered, planned, cancelled (approval: the payer's unit)
    done → in_progress (reopened), closed
    closed, cancelled → nothing
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.refusals import read_only_refusal
from lyfta.access.roles import Cap
from lyfta.access.users import unit_users_with
from lyfta.accounts.models import User
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.catalogue.models import Article
from lyfta.core.money import amount
from lyfta.core.uploads import UnreadableImage, safe_name, upload_dir, without_metadata
from lyfta.core.workdays import add_working_days
from lyfta.inventory import locks
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLocation, StockMovement
from lyfta.messages.models import Message
from lyfta.messages.services import messages_send
from lyfta.organisations.models import DeliveryAddress, Unit
from lyfta.patients.models import Patient
from lyfta.workorders.models import (
    Attachment,
    Inspection,
    InspectionPlan,
    ItemInspection,
    Team,
    WorkOrder,
    WorkOrderPart,
)

S = WorkOrder.Status
K = WorkOrder.Kind

TRANSITIONS: dict[str, frozenset[str]] = {
    S.REGISTERED: frozenset(
        {S.PLANNED, S.IN_PROGRESS, S.WAITING_PARTS, S.WAITING_APPROVAL, S.CANCELLED}
    ),
    S.PLANNED: frozenset(
        {S.REGISTERED, S.IN_PROGRESS, S.WAITING_PARTS, S.WAITING_APPROVAL, S.CANCELLED}
    ),
    S.IN_PROGRESS: frozenset({S.WAITING_PARTS, S.WAITING_APPROVAL, S.DONE, S.CANCELLED}),
    S.WAITING_PARTS: frozenset({S.PLANNED, S.IN_PROGRESS, S.CANCELLED}),
    S.WAITING_APPROVAL: frozenset({S.REGISTERED, S.PLANNED, S.CANCELLED}),
    S.DONE: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Service levels in Swedish working days from registration: (started by, done by). Repair:
# started within 3 and done within 10 (Västra Götaland's level); urgent work within 1 and 3.
SERVICE_LEVELS: dict[str, tuple[int, int]] = {
    K.REPAIR: (3, 10),
    K.ADAPTATION: (5, 15),
    K.SPECIAL_ADAPTATION: (5, 20),
    K.TRIAL: (5, 15),
    K.OFF_CATALOGUE: (5, 20),
    K.INSTALLATION: (5, 20),
    K.INSPECTION: (5, 10),
    K.MAINTENANCE: (5, 15),
    K.RECONDITIONING: (3, 10),
}
URGENT_LEVEL = (1, 3)

# A due inspection becomes a work order this many days ahead, and the holding unit is told then:
# the patient is to be contacted at least two weeks before a home visit.
INSPECTION_LEAD_DAYS = 30
MIN_NOTICE_DAYS = 14

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Recognised by their first bytes, never by the name or the browser's word.
ATTACHMENT_TYPES: dict[bytes, tuple[str, str, str]] = {
    b"\xff\xd8\xff": ("image/jpeg", "jpg", Attachment.Kind.PHOTO),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png", Attachment.Kind.PHOTO),
    b"%PDF-": ("application/pdf", "pdf", Attachment.Kind.DOCUMENT),
}
MAX_PART_QUANTITY = 100
MAX_MINUTES = 100 * 60
POINT_RESULTS = ("pass", "fail", "na")


# --- Helpers --------------------------------------------------------------------------------


class Owner(TypedDict):
    owner_provider_id: int
    owner_unit_id: int


def _owner(order: WorkOrder) -> Owner:
    """Whose information a work order is: the unit it is for, and its provider (R42)."""
    return {"owner_provider_id": order.unit.provider_id, "owner_unit_id": order.unit_id}


def _person(actor: Actor) -> User:
    """The signed-in person doing a technician's step (never a system actor)."""
    if actor.user is None:
        raise PermissionDenied("a person's step")
    return actor.user


def _state(order: WorkOrder) -> dict[str, Any]:
    fields = (
        "status",
        "team_id",
        "assignee_id",
        "planned_on",
        "findings",
        "actions",
        "minutes_spent",
        "billable",
        "waiting_note",
        "cancel_reason",
        "instruction",
        "risk_analysis",
        "cost_estimate",
        "approved_by_id",
    )
    state = {name: getattr(order, name) for name in fields}
    state["cost_estimate"] = str(order.cost_estimate) if order.cost_estimate is not None else None
    state["planned_on"] = order.planned_on.isoformat() if order.planned_on else None
    return state


def _audit(
    action: str,
    actor: Actor,
    order: WorkOrder,
    before: dict[str, Any] | None,
    detail: dict[str, Any] | None = None,
) -> None:
    after = _state(order)
    changes = (
        {name: [before[name], after[name]] for name in after if before[name] != after[name]}
        if before is not None
        else None
    )
    record(
        action=action,
        actor=actor,
        target=order,
        patient_id=order.patient_id,
        legal_basis="case",
        legal_basis_ref=f"workorder:{order.number}",
        changes=changes,
        detail=detail,
        **_owner(order),
    )


def _locked(order: WorkOrder) -> WorkOrder:
    """The work order re-read under a row lock (the caller holds the transaction). Only its own
    row is locked: PostgreSQL refuses FOR UPDATE on the nullable side of the outer joins that
    select_related makes for the item, the patient and the article."""
    return (
        WorkOrder.unscoped.select_for_update(of=("self",))
        .select_related("unit", "item__article", "patient", "article")
        .get(pk=order.pk)
    )


def _move(order: WorkOrder, to: str) -> None:
    if to not in TRANSITIONS[order.status]:
        raise ValidationError(
            _("En arbetsorder med status %(from)s kan inte få status %(to)s.")
            % {"from": S(order.status).label, "to": S(to).label}
        )
    order.status = to


def _handler(actor: Actor) -> None:
    require(actor, Cap.WORKORDERS_HANDLE)


def _text(value: str, limit: int, what: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("%(what)s måste fyllas i.") % {"what": what})
    if len(value) > limit:
        raise ValidationError(
            _("%(what)s får vara högst %(n)s tecken.") % {"what": what, "n": limit}
        )
    return value


def _notify(order: WorkOrder, recipients: Iterable[User | None], subject: str, body: str) -> None:
    people = [user for user in recipients if user is not None]
    if people:
        messages_send(
            recipients=people,
            kind=Message.Kind.NOTICE,
            subject=subject,
            body=body,
            link=f"/teknik/arbetsorder/{order.pk}/",
        )


def _told(order: WorkOrder) -> list[User | None]:
    """Who hears of a delay, a cancellation and the result: the one who asked, or the unit's
    requesters when the work order came from an inspection plan."""
    if order.requested_by is not None:
        return [order.requested_by]
    return list(unit_users_with(order.unit, Cap.WORKORDERS_APPROVE))


def due_dates(kind: str, priority: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """(start by, done by) for work registered on `day`, in Swedish working days."""
    start, done = URGENT_LEVEL if priority == WorkOrder.Priority.URGENT else SERVICE_LEVELS[kind]
    return add_working_days(day, start), add_working_days(day, done)


def under_warranty(item: Item | None, day: dt.date) -> bool:
    """The item is within its article's warranty from acquisition: the supplier's case."""
    if item is None:
        return False
    return add_months(item.acquired_on, item.article.warranty_months) >= day


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def team_for_area(area: str) -> Team | None:
    teams = list(Team.objects.filter(active=True).order_by("pk"))
    for team in teams:
        if area and area in team.area_list:
            return team
    return teams[0] if teams else None


def _number() -> str:
    year = timezone.localdate().year
    return f"AO{year}-{locks.counter_next(f'AO{year}'):06d}"


@dataclass(frozen=True)
class Visit:
    street: str
    postal_code: str
    city: str
    confidential: bool
    phone: str


def _visit_address(place: str, patient: Patient | None, unit: Unit) -> Visit:
    if place == WorkOrder.Place.HOME and patient is not None:
        if patient.protection:
            # A protected patient's address is never written onto work lists (R55).
            return Visit("", "", "", True, "")
        return Visit(patient.street, patient.postal_code, patient.city, False, patient.phone)
    if place == WorkOrder.Place.UNIT:
        address = DeliveryAddress.objects.filter(unit=unit).order_by("-is_default", "pk").first()
        if address is not None:
            return Visit(address.street, address.postal_code, address.city, False, unit.phone)
    return Visit("", "", "", False, "")


# --- Registering ----------------------------------------------------------------------------


def work_order_create(
    *,
    actor: Actor,
    kind: str,
    description: str,
    place: str,
    unit: Unit,
    item: Item | None = None,
    article: Article | None = None,
    grant: PatientGrant | None = None,
    patient: Patient | None = None,
    priority: str = WorkOrder.Priority.NORMAL,
    contact_phone: str = "",
    origin: str = WorkOrder.Origin.PRESCRIBER,
    plan: InspectionPlan | None = None,
    due: dt.date | None = None,
) -> WorkOrder:
    """Register a work order. A unit asks for its own patients' devices on a writable grant (the
    holdings' "Felanmälan"); the technicians and the centre for any item they handle; an
    inspection plan (a system actor) for a due inspection."""
    if not actor.is_system:
        require(actor, Cap.WORKORDERS_REQUEST)
    if kind not in K.values:
        raise ValidationError(_("Välj en typ av arbetsorder."))
    if place not in WorkOrder.Place.values:
        raise ValidationError(_("Välj var arbetet ska göras."))
    if priority not in WorkOrder.Priority.values:
        raise ValidationError(_("Välj en prioritet."))
    if item is None and article is None:
        raise ValidationError(_("En arbetsorder gäller en individ eller en artikel."))
    description = _text(description, 2000, _("Beskrivningen"), required=True)
    contact_phone = _text(contact_phone, 30, _("Kontakttelefon"))
    if grant is not None:
        refusal = read_only_refusal(actor, grant, "work_order_create")
        if refusal is not None:
            raise refusal
        patient = grant.patient
    handles = actor.is_system or can(actor, Cap.WORKORDERS_HANDLE) or can(actor, Cap.STOCK_MANAGE)
    if (
        patient is not None
        and grant is None
        and not (actor.is_system or can(actor, Cap.WORKORDERS_HANDLE))
    ):
        raise PermissionDenied("a unit asks on a grant")
    if not handles and (actor.unit is None or actor.unit.pk != unit.pk):
        raise PermissionDenied("another unit")
    if patient is None and place == WorkOrder.Place.HOME:
        raise ValidationError(_("Ett hembesök kräver en patient."))
    if patient is not None and patient.deceased_date is not None and kind != K.INSPECTION:
        raise ValidationError(_("Patienten är avliden; beställ hämtning i stället."))
    today = timezone.localdate()
    start_due, done_due = due_dates(kind, priority, today)
    if due is not None:
        done_due = max(due, today)
        start_due = min(start_due, done_due)
    visit = _visit_address(place, patient, unit)
    article = article or (item.article if item is not None else None)
    with transaction.atomic():
        order = WorkOrder.unscoped.create(
            number=_number(),
            kind=kind,
            status=S.REGISTERED,
            origin=origin,
            place=place,
            priority=priority,
            item=item,
            article=article,
            patient=patient,
            unit=unit,
            requested_by=actor.user,
            team=team_for_area(visit.postal_code.replace(" ", "")[:3]),
            plan=plan,
            description=description,
            street=visit.street,
            postal_code=visit.postal_code,
            city=visit.city,
            confidential_address=visit.confidential,
            contact_phone=contact_phone or visit.phone,
            registered_at=timezone.now(),
            start_due=start_due,
            done_due=done_due,
            warranty=under_warranty(item, today),
        )
        order = _locked(order)
        _audit(Action.WORKORDER_CREATED, actor, order, None, {"kind": kind, "origin": origin})
    return order


# --- The technician's steps -------------------------------------------------------------------


def work_order_plan(
    *,
    actor: Actor,
    order: WorkOrder,
    assignee: User | None,
    team: Team | None,
    planned_on: dt.date | None,
) -> WorkOrder:
    """Give the work to a technician or team and a day (a home visit is planned for a day)."""
    _handler(actor)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if order.status in WorkOrder.FINAL or order.status == S.DONE:
            raise ValidationError(_("Arbetsordern är avslutad och kan inte planeras."))
        if assignee is not None and not assignee.is_active:
            raise ValidationError(_("Teknikern har inget aktivt konto."))
        if planned_on is not None and planned_on < timezone.localdate():
            raise ValidationError(_("Den planerade dagen har redan varit."))
        # The patient is to be contacted at least two weeks before a planned inspection visit
        # (unless the inspection is due sooner than that).
        notice = timezone.localdate() + dt.timedelta(days=MIN_NOTICE_DAYS)
        if (
            order.kind == K.INSPECTION
            and order.place == WorkOrder.Place.HOME
            and order.patient_id is not None
            and planned_on is not None
            and planned_on < notice <= order.done_due
        ):
            raise ValidationError(
                _("Patienten ska kontaktas minst två veckor före en besiktning i hemmet.")
            )
        order.assignee = assignee
        order.team = team or order.team
        order.planned_on = planned_on
        if order.status in (S.REGISTERED, S.WAITING_PARTS) or (
            order.status == S.WAITING_APPROVAL and order.approved_at is not None
        ):
            _move(order, S.PLANNED)
        order.save()
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "plan"})
    return order


def work_order_start(*, actor: Actor, order: WorkOrder) -> WorkOrder:
    _handler(actor)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if order.kind == K.SPECIAL_ADAPTATION and order.approved_at is None:
            raise ValidationError(
                _(
                    "En specialanpassning får inte påbörjas förrän den betalande enheten har "
                    "godkänt kostnadsförslaget."
                )
            )
        _move(order, S.IN_PROGRESS)
        order.started_at = order.started_at or timezone.now()
        order.waiting_note = ""
        if order.assignee_id is None and actor.user is not None:
            order.assignee = actor.user
        order.save()
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "start"})
    return order


def work_order_wait_for_parts(*, actor: Actor, order: WorkOrder, note: str) -> WorkOrder:
    """The work waits for parts: the one who asked is told of the delay."""
    _handler(actor)
    note = _text(note, 200, _("Vad som väntas på"), required=True)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        _move(order, S.WAITING_PARTS)
        order.waiting_note = note
        order.save()
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "wait_parts"})
        _notify(
            order,
            _told(order),
            _("Arbetsorder %(number)s väntar på reservdelar") % {"number": order.number},
            _("Arbetet är försenat: %(note)s.") % {"note": note},
        )
    return order


def work_order_estimate(
    *,
    actor: Actor,
    order: WorkOrder,
    instruction: str,
    risk_analysis: str,
    cost_estimate: Decimal,
) -> WorkOrder:
    """A special adaptation's written instruction, risk analysis and cost estimate, sent to the
    paying unit for approval; work waits until it is approved."""
    _handler(actor)
    instruction = _text(instruction, 4000, _("Instruktionen"), required=True)
    risk_analysis = _text(risk_analysis, 4000, _("Riskanalysen"), required=True)
    if cost_estimate is None or cost_estimate < 0 or cost_estimate >= Decimal("100000000"):
        raise ValidationError(_("Ange ett kostnadsförslag i kronor."))
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if order.kind != K.SPECIAL_ADAPTATION:
            raise ValidationError(_("Kostnadsförslag hör till specialanpassningar."))
        if order.approved_at is not None:
            raise ValidationError(_("Kostnadsförslaget är redan godkänt."))
        if order.status != S.WAITING_APPROVAL:
            _move(order, S.WAITING_APPROVAL)
        order.instruction = instruction
        order.risk_analysis = risk_analysis
        order.cost_estimate = cost_estimate.quantize(Decimal("0.01"))
        order.save()
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "estimate"})
        _notify(
            order,
            unit_users_with(order.unit, Cap.WORKORDERS_APPROVE),
            _("Kostnadsförslag att godkänna: %(number)s") % {"number": order.number},
            _("Specialanpassning, %(cost)s kr. Arbetet påbörjas när enheten har godkänt.")
            % {"cost": amount(order.cost_estimate)},
        )
    return order


def work_order_approve(*, actor: Actor, order: WorkOrder) -> WorkOrder:
    """The paying unit approves a special adaptation's cost estimate."""
    require(actor, Cap.WORKORDERS_APPROVE)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if actor.unit is None or actor.unit.pk != order.unit_id:
            raise PermissionDenied("another unit")
        if order.kind != K.SPECIAL_ADAPTATION or order.status != S.WAITING_APPROVAL:
            raise ValidationError(_("Det finns inget kostnadsförslag att godkänna."))
        if order.cost_estimate is None or not order.instruction or not order.risk_analysis:
            raise ValidationError(
                _("Instruktion, riskanalys och kostnadsförslag måste finnas före godkännandet.")
            )
        order.approved_by = actor.user
        order.approved_at = timezone.now()
        _move(order, S.PLANNED if order.planned_on or order.assignee_id else S.REGISTERED)
        order.save()
        _audit(Action.WORKORDER_APPROVED, actor, order, before)
    return order


def work_order_report(
    *,
    actor: Actor,
    order: WorkOrder,
    findings: str,
    actions: str,
    minutes_spent: int,
    billable: bool,
) -> WorkOrder:
    """The technician's report: what was found, what was done, the time (and whether the work is
    outside the rent, for billing)."""
    _handler(actor)
    findings = _text(findings, 2000, _("Felbeskrivningen"))
    actions = _text(actions, 2000, _("Åtgärderna"))
    if not 0 <= minutes_spent <= MAX_MINUTES:
        raise ValidationError(
            _("Arbetstiden ska vara mellan 0 och %(n)s minuter.") % {"n": MAX_MINUTES}
        )
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if order.status not in (S.IN_PROGRESS, S.WAITING_PARTS, S.DONE):
            raise ValidationError(_("Rapportera när arbetet har påbörjats."))
        order.findings, order.actions = findings, actions
        order.minutes_spent, order.billable = minutes_spent, bool(billable)
        order.save()
        _audit(Action.WORKORDER_REPORTED, actor, order, before)
    return order


def workshop_locations() -> list[StockLocation]:
    return list(StockLocation.objects.filter(kind=StockLocation.Kind.WORKSHOP, active=True))


def work_order_use_part(
    *,
    actor: Actor,
    order: WorkOrder,
    article: Article,
    quantity: int,
    location: StockLocation,
    form_key: str | None = None,
) -> WorkOrderPart:
    """Take a spare part out of the workshop's stock for the work order: the ledger row, the
    stock level and the part row in one transaction (never below zero). A `form_key` already
    used (the same form sent twice) takes nothing more and is refused."""
    _handler(actor)
    if not 1 <= quantity <= MAX_PART_QUANTITY:
        raise ValidationError(_("Antalet ska vara mellan 1 och %(n)s.") % {"n": MAX_PART_QUANTITY})
    if article.tracked:
        raise ValidationError(_("Individmärkta artiklar används inte som reservdelar."))
    if location.kind != StockLocation.Kind.WORKSHOP:
        raise ValidationError(_("Reservdelar tas ur verkstadens lager."))
    with transaction.atomic():
        order = _locked(order)
        if order.status != S.IN_PROGRESS:
            raise ValidationError(_("Reservdelar används när arbetet pågår."))
        # The work order's row lock orders two posts of one form: the second sees the first.
        if form_key and WorkOrderPart.unscoped.filter(form_key=form_key).exists():
            raise ValidationError(
                _("Reservdelen är redan registrerad (formuläret skickades två gånger).")
            )
        try:
            movement = stock.ledger(
                actor=actor,
                kind=StockMovement.Kind.REPAIR_PART,
                article=article,
                quantity=quantity,
                source=location,
                patient=order.patient,
                reference=f"workorder:{order.number}",
            )
        except stock.OutOfStock as error:
            raise ValidationError(
                _("Det finns inte %(n)s st av %(article)s i %(place)s.")
                % {"n": quantity, "article": article, "place": location}
            ) from error
        part = WorkOrderPart.unscoped.create(
            work_order=order,
            article=article,
            quantity=quantity,
            location=location,
            movement=movement,
            used_by=_person(actor),
            used_at=movement.occurred_at,
            form_key=form_key or None,
        )
        record(
            action=Action.WORKORDER_PART_USED,
            actor=actor,
            target=order,
            patient_id=order.patient_id,
            legal_basis="case",
            legal_basis_ref=f"workorder:{order.number}",
            detail={
                "article": article.article_number,
                "quantity": quantity,
                "place": location.code,
            },
            **_owner(order),
        )
    return part


def _item_back_in_use(actor: Actor, order: WorkOrder) -> None:
    item = order.item
    if item is None or item.out_of_use_since is None:
        return
    Item.objects.filter(pk=item.pk).update(out_of_use_since=None, out_of_use_reason="")
    record(
        action=Action.ITEM_BACK_IN_USE,
        actor=actor,
        target=item,
        changes={"out_of_use_since": [item.out_of_use_since.isoformat(), None]},
        detail={"workorder": order.number},
    )


def work_order_done(*, actor: Actor, order: WorkOrder) -> WorkOrder:
    """The work is done: the report must say what was done. A repair puts an item taken out of
    use back; a special adaptation leaves its CE note on the item; the one who asked is told."""
    _handler(actor)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if not order.actions:
            raise ValidationError(
                _("Skriv i rapporten vad som gjordes innan arbetet klarmarkeras.")
            )
        if order.kind == K.INSPECTION and not Inspection.unscoped.filter(work_order=order).exists():
            raise ValidationError(_("Registrera besiktningsprotokollet."))
        _move(order, S.DONE)
        order.done_at = timezone.now()
        order.save()
        if order.kind in (K.REPAIR, K.MAINTENANCE) and not _failed_inspection_open(order):
            _item_back_in_use(actor, order)
        if order.kind == K.SPECIAL_ADAPTATION and order.item is not None:
            note = _(
                "Specialanpassad %(day)s (%(number)s): tillverkarens CE-märkning omfattar inte "
                "längre hjälpmedlet."
            ) % {"day": timezone.localdate().isoformat(), "number": order.number}
            Item.objects.filter(pk=order.item.pk).update(adaptation_note=note[:300])
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "done"})
        _notify(
            order,
            _told(order),
            _("Arbetsorder %(number)s är utförd") % {"number": order.number},
            _("%(kind)s av %(what)s är klar.")
            % {"kind": K(order.kind).label, "what": order.item or order.article},
        )
    return order


def _failed_inspection_open(order: WorkOrder) -> bool:
    """Another open repair of the same item still stands (the item stays out of use)."""
    if order.item_id is None:
        return False
    return (
        WorkOrder.unscoped.filter(item_id=order.item_id, kind=K.REPAIR, status__in=WorkOrder.OPEN)
        .exclude(pk=order.pk)
        .exists()
    )


def work_order_reopen(*, actor: Actor, order: WorkOrder) -> WorkOrder:
    _handler(actor)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if order.status != S.DONE:
            # Only done work is reopened: from anywhere else "reopen" would start the work
            # without the start's checks (a special adaptation without its approval).
            raise ValidationError(
                _("En arbetsorder med status %(from)s kan inte få status %(to)s.")
                % {"from": S(order.status).label, "to": S.IN_PROGRESS.label}
            )
        _move(order, S.IN_PROGRESS)
        order.done_at = None
        order.save()
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "reopen"})
    return order


def work_order_close(*, actor: Actor, order: WorkOrder) -> WorkOrder:
    """Close a done work order: from now on it never changes."""
    _handler(actor)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        _move(order, S.CLOSED)
        order.closed_at = timezone.now()
        order.save()
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "close"})
    return order


def work_order_cancel(*, actor: Actor, order: WorkOrder, reason: str) -> WorkOrder:
    """Cancel with a reason: the technicians any open work order, the asking unit its own while
    nothing has been done. The one who asked is told."""
    reason = _text(reason, 200, _("Skälet"), required=True)
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if not can(actor, Cap.WORKORDERS_HANDLE):
            require(actor, Cap.WORKORDERS_REQUEST)
            if actor.unit is None or actor.unit.pk != order.unit_id:
                raise PermissionDenied("another unit")
            if order.status not in (S.REGISTERED, S.PLANNED, S.WAITING_APPROVAL):
                raise ValidationError(
                    _("Arbetet har påbörjats; kontakta teknikerna för att makulera.")
                )
        _move(order, S.CANCELLED)
        order.cancelled_at = timezone.now()
        order.cancel_reason = reason
        order.save()
        _audit(Action.WORKORDER_CHANGED, actor, order, before, {"step": "cancel"})
        _notify(
            order,
            [u for u in _told(order) if u is None or u.pk != getattr(actor.user, "pk", None)],
            _("Arbetsorder %(number)s är makulerad") % {"number": order.number},
            _("Skäl: %(reason)s") % {"reason": reason},
        )
    return order


# --- Attachments ------------------------------------------------------------------------------


attachment_dir = upload_dir


def attachment_add(*, actor: Actor, order: WorkOrder, name: str, data: bytes) -> Attachment:
    """Attach a photo (JPEG, PNG) or a PDF, recognised by its content, at most 10 MB."""
    if not can(actor, Cap.WORKORDERS_HANDLE):
        require(actor, Cap.WORKORDERS_REQUEST)
        if actor.unit is None or actor.unit.pk != order.unit_id:
            raise PermissionDenied("another unit")
    if not data:
        raise ValidationError(_("Filen är tom."))
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationError(_("Filen är större än 10 MB."))
    kind = next((v for magic, v in ATTACHMENT_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise ValidationError(_("Bifoga ett foto (JPEG eller PNG) eller ett PDF-dokument."))
    content_type, extension, attachment_kind = kind
    if attachment_kind == Attachment.Kind.PHOTO:
        # Kept without its metadata (EXIF with a phone's GPS position, XMP, comments).
        try:
            data = without_metadata(data, content_type)
        except UnreadableImage:
            raise ValidationError(
                _("Bifoga ett foto (JPEG eller PNG) eller ett PDF-dokument.")
            ) from None
    folder = attachment_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored_as = f"{uuid.uuid4().hex}.{extension}"
    path = folder / stored_as
    path.write_bytes(data)
    try:
        with transaction.atomic():
            order = _locked(order)
            if order.status in WorkOrder.FINAL:
                raise ValidationError(_("Arbetsordern är avslutad."))
            attachment = Attachment.unscoped.create(
                work_order=order,
                kind=attachment_kind,
                name=safe_name(name, extension, "bilaga"),
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                stored_as=stored_as,
                uploaded_by=_person(actor),
                uploaded_at=timezone.now(),
            )
            record(
                action=Action.WORKORDER_ATTACHMENT_ADDED,
                actor=actor,
                target=order,
                patient_id=order.patient_id,
                legal_basis="case",
                legal_basis_ref=f"workorder:{order.number}",
                detail={"attachment": attachment.pk, "type": content_type, "size": len(data)},
                **_owner(order),
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


def attachment_bytes(attachment: Attachment) -> bytes:
    """The stored file (the caller has checked access and records the read)."""
    return (attachment_dir() / attachment.stored_as).read_bytes()


# --- Inspection plans, schedules and inspections ---------------------------------------------


def plans_for(article: Article) -> list[InspectionPlan]:
    """The active plans that apply to an article: its own and its ISO class's (or a parent's)."""
    code = article.iso_class.code if article.iso_class_id else ""
    found = []
    for plan in InspectionPlan.objects.filter(active=True).select_related("iso_class"):
        if plan.article_id == article.pk or (
            plan.iso_class is not None and code.startswith(plan.iso_class.code)
        ):
            found.append(plan)
    return found


def plan_save(
    *,
    actor: Actor,
    plan: InspectionPlan | None,
    name: str,
    article: Article | None,
    iso_class: Any,
    interval_months: int,
    checklist: Sequence[str],
    active: bool = True,
) -> InspectionPlan:
    """Create or change an inspection plan; items it covers get their due dates."""
    require(actor, Cap.INSPECTION_PLANS_MANAGE)
    name = _text(name, 120, _("Namnet"), required=True)
    if article is None and iso_class is None:
        raise ValidationError(_("En plan gäller en artikel eller en ISO-klass."))
    if not 1 <= interval_months <= 120:
        raise ValidationError(_("Intervallet ska vara 1–120 månader."))
    points = [p.strip()[:200] for p in checklist if p and p.strip()]
    if not points:
        raise ValidationError(_("Protokollet behöver minst en kontrollpunkt."))
    if len(points) > 50:
        raise ValidationError(_("Protokollet får ha högst 50 kontrollpunkter."))
    with transaction.atomic():
        before = None
        if plan is None:
            plan = InspectionPlan(name=name)
        else:
            before = {
                "name": plan.name,
                "interval_months": plan.interval_months,
                "checklist": plan.checklist,
                "active": plan.active,
            }
        plan.name, plan.article, plan.iso_class = name, article, iso_class
        plan.interval_months, plan.checklist, plan.active = interval_months, points, active
        plan.save()
        after = {
            "name": plan.name,
            "interval_months": plan.interval_months,
            "checklist": plan.checklist,
            "active": plan.active,
        }
        record(
            action=Action.INSPECTION_PLAN_SAVED,
            actor=actor,
            target=plan,
            changes={k: [before[k], v] for k, v in after.items() if before[k] != v}
            if before
            else {k: [None, v] for k, v in after.items()},
        )
        schedule_plan(plan)
    return plan


SCHEDULED_STATUSES = [
    s for s in Item.Status.values if s not in (Item.Status.SCRAPPED, Item.Status.LOST)
]


def schedule_plan(plan: InspectionPlan, batch: int = 2000) -> int:
    """Give every item the plan covers (in stock or on loan, not scrapped or lost) a due date:
    acquisition plus the interval, or today if that has passed. Returns how many were added."""
    if not plan.active:
        return 0
    items = Item.objects.filter(status__in=SCHEDULED_STATUSES).exclude(
        inspection_schedule__plan=plan
    )
    if plan.article_id is not None:
        items = items.filter(article_id=plan.article_id)
    else:
        assert plan.iso_class is not None  # noqa: S101 - the check constraint
        items = items.filter(article__iso_class__code__startswith=plan.iso_class.code)
    today = timezone.localdate()
    added = 0
    rows: list[ItemInspection] = []
    for item_id, acquired in items.values_list("pk", "acquired_on").iterator():
        due = max(add_months(acquired, plan.interval_months), today)
        rows.append(ItemInspection(item_id=item_id, plan=plan, next_due=due))
        if len(rows) >= batch:
            added += len(ItemInspection.objects.bulk_create(rows, ignore_conflicts=True))
            rows = []
    if rows:
        added += len(ItemInspection.objects.bulk_create(rows, ignore_conflicts=True))
    return added


def _holding(item: Item) -> tuple[Patient | None, Unit | None]:
    """Who holds the item now (its open loan's patient and unit), or none (in stock)."""
    from lyfta.orders.models import Loan

    if item.holder_id is None:
        return None, None
    loan = (
        Loan.unscoped.filter(item=item, ended_on__isnull=True)
        .select_related("patient", "unit")
        .order_by("-started_on")
        .first()
    )
    if loan is None:
        return None, None
    return loan.patient, loan.unit


def _centre_unit(item: Item) -> Unit | None:
    if item.location is not None:
        return item.location.unit
    place = StockLocation.objects.filter(kind=StockLocation.Kind.WORKSHOP).first()
    return place.unit if place else None


def inspections_due(*, actor: Actor, today: dt.date | None = None) -> list[WorkOrder]:
    """Turn each schedule due within INSPECTION_LEAD_DAYS into an inspection work order (one per
    item and plan) and tell the holding unit, so that the patient can be contacted at least two
    weeks before. Several plans of one item at one address become one visit in the day plan."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=INSPECTION_LEAD_DAYS)
    due = (
        ItemInspection.objects.filter(next_due__lte=horizon, reminded_on__isnull=True)
        .select_related("item__article", "item__location__unit", "plan")
        .order_by("next_due", "pk")
    )
    created = []
    for schedule in due[:5000]:
        item = schedule.item
        if item.status in (Item.Status.SCRAPPED, Item.Status.LOST):
            continue
        if WorkOrder.unscoped.filter(
            item=item, plan=schedule.plan, kind=K.INSPECTION, status__in=WorkOrder.OPEN
        ).exists():
            ItemInspection.objects.filter(pk=schedule.pk).update(reminded_on=today)
            continue
        patient, unit = _holding(item)
        owner = unit or _centre_unit(item)
        if owner is None:
            continue
        with transaction.atomic():
            order = work_order_create(
                actor=actor,
                kind=K.INSPECTION,
                description=_("%(plan)s, senast %(due)s")
                % {"plan": schedule.plan.name, "due": schedule.next_due.isoformat()},
                place=WorkOrder.Place.HOME if patient is not None else WorkOrder.Place.WORKSHOP,
                unit=owner,
                item=item,
                patient=patient,
                origin=WorkOrder.Origin.INSPECTION_PLAN,
                plan=schedule.plan,
                due=schedule.next_due,
            )
            ItemInspection.objects.filter(pk=schedule.pk).update(reminded_on=today)
            if patient is not None and unit is not None:
                _notify(
                    order,
                    unit_users_with(unit, Cap.WORKORDERS_APPROVE),
                    _("Besiktning senast %(due)s: %(item)s")
                    % {"due": schedule.next_due.isoformat(), "item": item.individual_number},
                    _(
                        "%(plan)s ska göras senast %(due)s. Patienten kontaktas minst två "
                        "veckor före besöket; kallelsebrevet kan skrivas ut från arbetsordern."
                    )
                    % {"plan": schedule.plan.name, "due": schedule.next_due.isoformat()},
                )
            record(
                action=Action.INSPECTION_REMINDED,
                actor=actor,
                target=order,
                patient_id=order.patient_id,
                legal_basis="case",
                legal_basis_ref=f"workorder:{order.number}",
                detail={"due": schedule.next_due, "plan": schedule.plan_id},
                **_owner(order),
            )
        created.append(order)
    return created


@dataclass(frozen=True)
class PointResult:
    point: str
    result: str  # pass | fail | na
    note: str = ""


def inspection_record(
    *,
    actor: Actor,
    order: WorkOrder,
    results: Sequence[PointResult],
    condition: str = "",
    performed_on: dt.date | None = None,
) -> Inspection:
    """Record an inspection point by point. Passed: the next due date is the plan's interval on.
    Failed: the item is taken out of use (picking refuses it, the holdings and the card say so),
    a repair work order is opened, and the next inspection is due when the repair is."""
    _handler(actor)
    today = timezone.localdate()
    performed_on = performed_on or today
    if performed_on > today:
        raise ValidationError(_("Besiktningsdagen kan inte ligga i framtiden."))
    condition = _text(condition, 300, _("Skicket"))
    with transaction.atomic():
        order = _locked(order)
        before = _state(order)
        if order.kind != K.INSPECTION or order.plan_id is None or order.item is None:
            raise ValidationError(_("Arbetsordern är ingen besiktning."))
        if Inspection.unscoped.filter(work_order=order).exists():
            raise ValidationError(_("Besiktningen är redan registrerad."))
        if order.status in (S.REGISTERED, S.PLANNED):
            _move(order, S.IN_PROGRESS)
            order.started_at = timezone.now()
        if order.status != S.IN_PROGRESS:
            raise ValidationError(_("Besiktningen kan inte registreras i den här statusen."))
        plan = InspectionPlan.objects.get(pk=order.plan_id)
        by_point = {r.point: r for r in results}
        points = []
        for point in plan.checklist:
            got = by_point.get(point)
            if got is None or got.result not in POINT_RESULTS:
                raise ValidationError(
                    _("Ange godkänd, underkänd eller ej tillämplig för %(point)s.")
                    % {"point": point}
                )
            points.append({"point": point, "result": got.result, "note": got.note.strip()[:300]})
        failed = [p["point"] for p in points if p["result"] == "fail"]
        item = order.item
        inspection = Inspection.unscoped.create(
            work_order=order,
            item=item,
            plan=plan,
            performed_on=performed_on,
            inspector=_person(actor),
            serial_number=item.serial_number,
            result=Inspection.Result.FAILED if failed else Inspection.Result.PASSED,
            points=points,
            condition=condition,
        )
        order.findings = order.findings or (
            _("Underkänd: %(points)s") % {"points": ", ".join(failed)} if failed else _("Godkänd")
        )
        order.actions = order.actions or _("Besiktning enligt %(plan)s") % {"plan": plan.name}
        _move(order, S.DONE)
        order.done_at = timezone.now()
        order.save()
        repair = None
        if failed:
            Item.objects.filter(pk=item.pk).update(
                out_of_use_since=performed_on,
                out_of_use_reason=(_("Underkänd besiktning %(number)s") % {"number": order.number})[
                    :200
                ],
            )
            record(
                action=Action.ITEM_OUT_OF_USE,
                actor=actor,
                target=item,
                changes={"out_of_use_since": [None, performed_on.isoformat()]},
                detail={"workorder": order.number, "failed": failed[:20]},
            )
            repair = work_order_create(
                actor=actor,
                kind=K.REPAIR,
                description=(
                    _("Underkänd besiktning (%(number)s): %(points)s")
                    % {"number": order.number, "points": "; ".join(failed)}
                )[:2000],
                place=order.place,
                unit=order.unit,
                item=item,
                patient=order.patient,
                origin=WorkOrder.Origin.INSPECTION_PLAN,
                priority=WorkOrder.Priority.URGENT,
            )
            next_due = repair.done_due
        else:
            next_due = add_months(performed_on, plan.interval_months)
        inspection.next_due = next_due
        inspection.save(update_fields=["next_due"])
        ItemInspection.objects.update_or_create(
            item=item,
            plan=plan,
            defaults={"next_due": next_due, "last_done": performed_on, "reminded_on": None},
        )
        _audit(
            Action.INSPECTION_RECORDED,
            actor,
            order,
            before,
            {
                "result": inspection.result,
                "failed": failed[:20],
                "next_due": next_due,
                "repair": repair.number if repair else "",
            },
        )
        _notify(
            order,
            _told(order),
            _("Besiktning %(result)s: %(item)s")
            % {"result": Inspection.Result(inspection.result).label.lower(), "item": item},
            _("Hjälpmedlet är taget ur bruk tills det är reparerat (%(repair)s).")
            % {"repair": repair.number}
            if repair
            else _("Nästa besiktning senast %(due)s.") % {"due": next_due.isoformat()},
        )
    return inspection


def overdue_notify(*, actor: Actor, today: dt.date | None = None) -> int:
    """Tell the one who asked, once, when a work order passes its done-by date."""
    today = today or timezone.localdate()
    late = (
        WorkOrder.unscoped.filter(
            status__in=WorkOrder.OPEN, done_due__lt=today, delay_notified=False
        )
        .select_related("requested_by", "unit")
        .order_by("done_due", "pk")[:2000]
    )
    count = 0
    for order in late:
        with transaction.atomic():
            WorkOrder.unscoped.filter(pk=order.pk).update(delay_notified=True)
            _notify(
                order,
                _told(order),
                _("Arbetsorder %(number)s är försenad") % {"number": order.number},
                _("Arbetet skulle vara klart %(due)s. Teknikerna återkommer med ny tid.")
                % {"due": order.done_due.isoformat()},
            )
        count += 1
    return count
