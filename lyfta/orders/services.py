"""Writes of the device flow: prescribing and ordering, picking and delivering, buffer-store
withdrawals, pick-ups and returns, losses (DOMAIN.md §3.1–3.3, 3.6, 3.7).

Each service checks access, runs in one transaction, writes its ledger rows through
`inventory.services` and records its audit event before it returns. Items and stock are changed by
conditional updates ("… WHERE status = 'in_stock'"), so that of two users after the same item or
the last unit exactly one succeeds and the other gets a clear message."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.prepared import Prepared
from lyfta.access.refusals import read_only_refusal
from lyfta.access.roles import Cap
from lyfta.access.users import units_users_with
from lyfta.accounts.models import User
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.catalogue.models import Article, BillingType, DeliveryClass
from lyfta.core.dates import add_months
from lyfta.core.uploads import UnreadableImage, safe_name, upload_dir, without_metadata
from lyfta.core.workdays import add_working_days, is_working_day, next_working_day
from lyfta.inventory import locks
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLocation, StockMovement
from lyfta.messages.models import Message
from lyfta.messages.services import messages_send
from lyfta.orders import signature
from lyfta.orders.models import (
    DEFAULT_CONDITION_POINTS,
    ConditionChecklist,
    ConditionPhoto,
    ConditionReport,
    DeliveryAttempt,
    Loan,
    LossReport,
    Order,
    OrderLine,
    PickupLine,
    PickupOrder,
    Prescription,
    Receipt,
)
from lyfta.organisations.models import DeliveryAddress, Unit
from lyfta.patients.models import Patient, ProtectedStaff
from lyfta.patients.services import refuse, relationship_ensure

MAX_LINES = 50
MAX_QUANTITY = 100
RENT_STOP_WORKING_DAYS = 3  # DOMAIN.md §3.6
COLLECT_WORKING_DAYS = 7
FOUND_WITHIN_MONTHS = 3  # DOMAIN.md §3.7
POSTAL_CODE = re.compile(r"^[0-9]{3} ?[0-9]{2}$")


@dataclass(frozen=True)
class LineInput:
    article: Article
    quantity: int = 1


@dataclass(frozen=True)
class DeliveryInput:
    kind: str = Order.Delivery.PATIENT
    street: str = ""
    postal_code: str = ""
    city: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    note: str = ""
    urgent: bool = False


@dataclass(frozen=True)
class PrescriptionInput:
    goal: str = ""
    follow_up_on: dt.date | None = None
    short_term_until: dt.date | None = None


# --- Helpers -------------------------------------------------------------------------------------


def central() -> StockLocation:
    """The centre's central warehouse, from which orders are picked."""
    location = (
        StockLocation.objects.filter(kind=StockLocation.Kind.CENTRAL, active=True)
        .order_by("pk")
        .first()
    )
    if location is None:
        raise ValidationError(_("Det finns inget centrallager upplagt."))
    return location


def place_of(kind: str) -> StockLocation:
    location = StockLocation.objects.filter(kind=kind, active=True).order_by("pk").first()
    if location is None:
        raise ValidationError(
            _("Det finns ingen lagerplats av typen %(kind)s.")
            % {"kind": StockLocation.Kind(kind).label}
        )
    return location


def _person(actor: Actor) -> tuple[User, Unit]:
    if actor.user is None or actor.unit is None:
        raise PermissionDenied("a person in an assignment acts here")
    return actor.user, actor.unit


def _writable(actor: Actor, grant: PatientGrant, step: str) -> None:
    """Writes need a grant that is not read only (emergency access, R50)."""
    refusal = read_only_refusal(actor, grant, step)
    if refusal is not None:
        raise refusal


def _own_unit(actor: Actor, unit_id: int, step: str, *, patient_id: int | None) -> None:
    """Units act on their own orders, stores and pick-ups; the centre on everyone's."""
    if can(actor, Cap.ORDERS_HANDLE):
        return
    if actor.unit is None or actor.unit.pk != unit_id:
        raise refuse(
            actor=actor,
            step=step,
            reason="other_unit",
            patient_id=patient_id,
            user_message=_("Det här hör till en annan enhet."),
        )


class Owner(TypedDict):
    owner_provider_id: int
    owner_unit_id: int


def _owner(unit: Unit) -> Owner:
    """Whose information a record is: the unit that ordered, and its provider (R42)."""
    return {"owner_provider_id": unit.provider_id, "owner_unit_id": unit.pk}


def expected_delivery(articles: list[Article], *, urgent: bool, today: dt.date) -> dt.date:
    """The day an order is expected at the patient: urgent within a working day, otherwise after
    the longest lead time of its articles, in Swedish working days (DOMAIN.md §3.2)."""
    if urgent:
        return add_working_days(today, 1)
    return add_working_days(today, max((a.lead_time_days for a in articles), default=1))


def _address(
    actor: Actor, grant: PatientGrant, delivery: DeliveryInput
) -> tuple[str, str, str, bool]:
    """Street, postal code, city and whether the address is confidential (R55)."""
    patient = grant.patient
    if delivery.kind == Order.Delivery.PATIENT:
        if patient.is_protected:
            if not patient.approved_delivery_address:
                raise ValidationError(
                    _(
                        "Patienten har skyddad identitet och ingen godkänd leveransadress. "
                        "Välj leverans till enheten eller hämtning."
                    )
                )
            return patient.approved_delivery_address, "", "", True
        if not (patient.street and patient.postal_code and patient.city):
            raise ValidationError(_("Patienten saknar fullständig adress. Ange en annan adress."))
        return patient.street, patient.postal_code, patient.city, False
    if delivery.kind == Order.Delivery.OTHER:
        if not (delivery.street.strip() and delivery.city.strip()):
            raise ValidationError(_("Ange gatuadress, postnummer och postort."))
        if not POSTAL_CODE.match(delivery.postal_code.strip()):
            raise ValidationError(_("Postnumret ska ha fem siffror, till exempel 652 25."))
        return (
            delivery.street.strip()[:200],
            delivery.postal_code.strip(),
            delivery.city.strip()[:100],
            patient.is_protected,
        )
    if delivery.kind == Order.Delivery.UNIT:
        _user, unit = _person(actor)
        return (*_unit_address(unit), False)
    if delivery.kind == Order.Delivery.CENTRE:
        return "", "", "", False
    raise ValidationError(_("Välj vart leveransen ska gå."))


def _unit_address(unit: Unit) -> tuple[str, str, str]:
    address = DeliveryAddress.objects.filter(unit=unit).order_by("-is_default", "pk").first()
    if address is None:
        raise ValidationError(_("Enheten har ingen leveransadress upplagd."))
    return address.street, address.postal_code, address.city


def _check_lines(lines: list[LineInput]) -> None:
    if not lines:
        raise ValidationError(_("Lägg till minst en artikel."))
    if len(lines) > MAX_LINES:
        raise ValidationError(_("En order kan ha högst %(n)s rader.") % {"n": MAX_LINES})
    for line in lines:
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise ValidationError(
                _("Antalet ska vara 1–%(max)s (%(article)s).")
                % {"max": MAX_QUANTITY, "article": line.article}
            )
        if not line.article.in_assortment:
            raise ValidationError(
                _("%(article)s ingår inte längre i sortimentet.") % {"article": line.article}
            )


def _number(prefix: str, series: str) -> str:
    year = timezone.localdate().year
    return f"{prefix}{year}-{locks.counter_next(f'{series}{year}'):06d}"


def _reserve_line(
    order: Order, article: Article, quantity: int, source: StockLocation
) -> list[OrderLine]:
    """Create the order lines for one article: reserved when in stock, otherwise backordered.
    A fixed substitution group swaps in an equivalent article that is in stock."""
    chosen, original = article, None
    # Items held for another patient or unit are not offered to this order (issue 16 point 5).
    whose = {"patient_id": order.patient_id, "unit_id": order.unit_id}
    first: Item | None = None
    if article.tracked:
        # The first reservation is the check of stock: no count before it.
        try:
            first = stock.reserve_item(article, source, **whose)
        except stock.OutOfStock:
            first = None
        short = first is None
    else:
        short = stock.available(article, source, at_most=quantity, **whose) < quantity
    if short:
        group = article.substitution_group
        if group is not None and group.fixed:
            for other in (
                Article.objects.filter(substitution_group=group, in_assortment=True)
                .exclude(pk=article.pk)
                .order_by("article_number")
            ):
                enough = 1 if other.tracked else quantity
                if stock.available(other, source, at_most=enough, **whose) >= enough:
                    chosen, original = other, article
                    break
    if chosen.tracked:
        lines = []
        for n in range(quantity):
            item: Item | None = None
            if n == 0 and chosen is article:
                item = first  # tried above
            else:
                try:
                    item = stock.reserve_item(chosen, source, **whose)
                except stock.OutOfStock:
                    item = None
            lines.append(
                OrderLine.unscoped.create(
                    order=order,
                    article=chosen,
                    quantity=1,
                    substitute_for=original,
                    status=OrderLine.Status.RESERVED if item else OrderLine.Status.BACKORDERED,
                    item=item,
                    source=source,
                )
            )
        return lines
    try:
        stock.reserve_quantity(chosen, source, quantity)
        status = OrderLine.Status.RESERVED
    except stock.OutOfStock:
        status = OrderLine.Status.BACKORDERED
    return [
        OrderLine.unscoped.create(
            order=order,
            article=chosen,
            quantity=quantity,
            substitute_for=original,
            status=status,
            source=source,
        )
    ]


def _summary(order: Order, lines: list[OrderLine]) -> dict[str, object]:
    """The order's number and lines as its audit event tells them (the lines as just written)."""
    return {
        "number": order.number,
        "lines": [
            {
                "article": line.article.article_number,
                "quantity": line.quantity,
                "status": line.status,
                "item": line.item.individual_number if line.item else None,
                "substitute_for": line.substitute_for.article_number
                if line.substitute_for
                else None,
            }
            for line in lines
        ],
    }


def _alive(patient: Patient) -> None:
    """No device goes to a deceased patient: neither an order nor a buffer-store withdrawal."""
    if patient.deceased_date is not None:
        raise ValidationError(
            _(
                "Patienten är avliden (%(day)s). Inga nya hjälpmedel kan beställas eller tas ur "
                "buffertförrådet."
            )
            % {"day": patient.deceased_date.isoformat()}
        )


@dataclass(frozen=True)
class IsoExcess:
    """An ISO class in which an order would take the patient over the limit."""

    code: str
    name: str
    held: int  # on loan now plus on open orders, from the actor's own provider
    ordered: int  # on the new order


class OverIsoLimit(ValidationError):
    """The order would give the patient more than the limit in one ISO class: it needs a
    reason to confirm (nine beds for one patient is far more likely a slip than a need)."""

    def __init__(self, excess: list[IsoExcess]) -> None:
        self.excess = excess
        super().__init__(
            [
                _(
                    "Patienten skulle få %(total)s hjälpmedel i ISO-klass %(code)s %(name)s "
                    "(%(held)s utlånade eller beställda och %(ordered)s på den här ordern). "
                    "Ange skälet om det är rätt."
                )
                % {
                    "total": e.held + e.ordered,
                    "code": e.code,
                    "name": e.name,
                    "held": e.held,
                    "ordered": e.ordered,
                }
                for e in excess
            ]
        )


def _held_per_class(
    patient_id: int, provider_id: int, classes: list[int]
) -> QuerySet[Loan, tuple[Any, ...]]:
    """Tracked devices the patient has on loan from the provider, per ISO class."""
    return (
        Loan.unscoped.filter(
            patient_id=patient_id,
            ended_on__isnull=True,
            unit__provider_id=provider_id,
            article__iso_class_id__in=classes,
            article__tracked=True,
        )
        .values_list("article__iso_class_id")
        .annotate(n=Sum("quantity"))
        .order_by()
    )


def _ordered_per_class(
    patient_id: int, provider_id: int, classes: list[int]
) -> QuerySet[OrderLine, tuple[Any, ...]]:
    """Tracked devices on the provider's open orders for the patient, per ISO class."""
    return (
        OrderLine.unscoped.filter(
            order__patient_id=patient_id,
            order__status__in=Order.OPEN,
            order__unit__provider_id=provider_id,
            article__iso_class_id__in=classes,
            article__tracked=True,
        )
        .exclude(status__in=[OrderLine.Status.CANCELLED, OrderLine.Status.DELIVERED])
        .values_list("article__iso_class_id")
        .annotate(n=Sum("quantity"))
        .order_by()
    )


# Compiled once (issue 19: order create's Python time was mostly the ORM compiling its reads).
_HELD_PER_CLASS = Prepared(_held_per_class)
_ORDERED_PER_CLASS = Prepared(_ordered_per_class)


def iso_class_excess(*, actor: Actor, patient: Patient, lines: list[LineInput]) -> list[IsoExcess]:
    """The ISO classes in which `lines` would give `patient` more devices than
    `LYFTA_MAX_PER_ISO_CLASS`: current loans plus open (not cancelled) order lines plus the new
    lines. Only individually marked (tracked) devices count: beds, lifts, wheelchairs, walkers,
    where one too many is a delivery, a pick-up and months of rent; small untracked aids (a
    cushion, grab bars) come several at a time by design. Only the actor's own provider's loans
    and orders count, so that the warning never tells of another provider's data the actor may
    not see (R39)."""
    limit = settings.LYFTA_MAX_PER_ISO_CLASS
    ordered: dict[int, int] = {}
    classes = {}
    for line in lines:
        if not line.article.tracked:
            continue
        iso = line.article.iso_class
        ordered[iso.pk] = ordered.get(iso.pk, 0) + line.quantity
        classes[iso.pk] = iso
    if not ordered or actor.unit is None:
        return []
    held: dict[int, int] = {}
    classes_in = sorted(ordered)
    provider_id = actor.unit.provider_id
    for read in (_HELD_PER_CLASS, _ORDERED_PER_CLASS):
        for key, n in read.rows(patient.pk, provider_id, classes_in):
            held[key] = held.get(key, 0) + (n or 0)
    return [
        IsoExcess(classes[pk].code, classes[pk].name, held.get(pk, 0), count)
        for pk, count in sorted(ordered.items(), key=lambda kv: classes[kv[0]].code)
        if held.get(pk, 0) + count > limit
    ]


def order_place(
    *,
    actor: Actor,
    grant: PatientGrant,
    lines: list[LineInput],
    delivery: DeliveryInput,
    prescription: PrescriptionInput | None = None,
    over_limit_reason: str = "",
) -> Order:
    """Prescribe and order devices for a patient from the actor's unit. The unit's care
    relationship is created if there is none; lines reserve stock (or are backordered).

    An order that would give the patient more than `LYFTA_MAX_PER_ISO_CLASS` devices of one ISO
    class is refused with `OverIsoLimit` unless `over_limit_reason` says why; the reason and the
    counts go into the audit detail."""
    require(actor, Cap.ORDERS_PRESCRIBE)
    _writable(actor, grant, "order_place")
    user, unit = _person(actor)
    patient = grant.patient
    _alive(patient)
    _check_lines(lines)
    excess = iso_class_excess(actor=actor, patient=patient, lines=lines)
    over_limit_reason = " ".join(over_limit_reason.split())[:200]
    if excess and not over_limit_reason:
        raise OverIsoLimit(excess)
    today = timezone.localdate()
    rx = prescription or PrescriptionInput()
    if rx.follow_up_on is not None and rx.follow_up_on < today:
        raise ValidationError(_("Uppföljningsdatum kan inte ligga i det förflutna."))
    if rx.short_term_until is not None and not (
        today <= rx.short_term_until <= add_months(today, 6)
    ):
        raise ValidationError(_("Ett korttidslån gäller längst sex månader från i dag."))
    street, postal_code, city, confidential = _address(actor, grant, delivery)
    source = central()
    with transaction.atomic():
        if grant.facts is None or grant.facts.relationship_id is None:
            # (The access decision has just read the unit's relationship in force, if any.)
            relationship_ensure(actor=actor, patient=patient, origin="order")
        written = Prescription.unscoped.create(
            patient=patient,
            unit=unit,
            prescriber=user,
            goal=rx.goal.strip()[:500],
            follow_up_on=rx.follow_up_on,
            short_term_until=rx.short_term_until,
            created_at=timezone.now(),
        )
        order = Order.unscoped.create(
            number=_number("KO", "order"),
            patient=patient,
            prescription=written,
            unit=unit,
            payer=unit,
            orderer=user,
            delivery=delivery.kind,
            street=street,
            postal_code=postal_code,
            city=city,
            confidential_address=confidential,
            contact_name=delivery.contact_name.strip()[:120],
            contact_phone=delivery.contact_phone.strip()[:30],
            note=delivery.note.strip()[:300],
            urgent=delivery.urgent,
            urgent_fee=delivery.urgent,
            status=Order.Status.REGISTERED,
            registered_at=timezone.now(),
            expected_on=expected_delivery(
                [line.article for line in lines], urgent=delivery.urgent, today=today
            ),
        )
        written_lines = [
            row
            for line in lines
            for row in _reserve_line(order, line.article, line.quantity, source)
        ]
        record(
            action=Action.ORDER_PLACED,
            actor=actor,
            target=order,
            patient_id=patient.pk,
            legal_basis=grant.basis,
            legal_basis_ref=grant.basis_ref,
            changes={"status": [None, order.status]},
            detail={
                **_summary(order, written_lines),
                **(
                    {
                        "over_iso_limit": [
                            {"iso": e.code, "held": e.held, "ordered": e.ordered} for e in excess
                        ],
                        "over_limit_reason": over_limit_reason,
                        "limit": settings.LYFTA_MAX_PER_ISO_CLASS,
                    }
                    if excess
                    else {}
                ),
            },
            **_owner(unit),
        )
    return order


def order_store_place(*, actor: Actor, store: StockLocation, lines: list[LineInput]) -> Order:
    """An order to refill a unit's buffer store: by the unit itself or by the centre."""
    if not (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.ORDERS_HANDLE)):
        require(actor, Cap.ORDERS_PLACE)
    user, _unit = _person(actor)
    if store.kind != StockLocation.Kind.BUFFER or not store.active:
        raise ValidationError(_("Välj ett buffertförråd."))
    _own_unit(actor, store.unit_id, "order_store_place", patient_id=None)
    _check_lines(lines)
    street, postal_code, city = _unit_address(store.unit)
    source = central()
    with transaction.atomic():
        order = Order.unscoped.create(
            number=_number("KO", "order"),
            store=store,
            unit=store.unit,
            payer=store.unit,
            orderer=user,
            delivery=Order.Delivery.UNIT,
            street=street,
            postal_code=postal_code,
            city=city,
            status=Order.Status.REGISTERED,
            registered_at=timezone.now(),
            expected_on=expected_delivery(
                [line.article for line in lines], urgent=False, today=timezone.localdate()
            ),
        )
        written_lines = [
            row
            for line in lines
            for row in _reserve_line(order, line.article, line.quantity, source)
        ]
        record(
            action=Action.ORDER_PLACED,
            actor=actor,
            target=order,
            changes={"status": [None, order.status]},
            detail={**_summary(order, written_lines), "store": store.code},
            **_owner(store.unit),
        )
    return order


def backorders_fill(*, actor: Actor, article: Article) -> int:
    """Reserve stock for backordered lines of `article`, oldest order first, while it lasts."""
    filled = 0
    waiting = (
        OrderLine.unscoped.filter(article=article, status=OrderLine.Status.BACKORDERED)
        .select_related("order", "source")
        .order_by("order__registered_at", "pk")
    )
    for line in waiting:
        try:
            if article.tracked:
                item = stock.reserve_item(
                    article,
                    line.source,
                    patient_id=line.order.patient_id,
                    unit_id=line.order.unit_id,
                )
                done = OrderLine.unscoped.filter(
                    pk=line.pk, status=OrderLine.Status.BACKORDERED
                ).update(status=OrderLine.Status.RESERVED, item=item)
                if not done:
                    stock.release_item(item)
                    continue
            else:
                stock.reserve_quantity(article, line.source, line.quantity)
                OrderLine.unscoped.filter(pk=line.pk).update(status=OrderLine.Status.RESERVED)
        except stock.OutOfStock:
            break
        filled += 1
        record(
            action=Action.BACKORDER_FILLED,
            actor=actor,
            target=line.order,
            patient_id=line.order.patient_id,
            detail={"line": line.pk, "article": article.article_number},
            **_owner(line.order.unit),
        )
    return filled


def _lock_order(order_id: int) -> None:
    """Lock the order's row before any of its lines or items, as delivery and failed delivery
    do: a picker and a canceller of the same line then queue instead of deadlocking (one holding
    the item and waiting for the line, the other the other way round)."""
    list(Order.unscoped.select_for_update().filter(pk=order_id).values_list("pk", flat=True))


def _release(line: OrderLine) -> None:
    if line.status in (OrderLine.Status.RESERVED, OrderLine.Status.PICKED):
        if line.item_id is not None:
            assert line.item is not None  # noqa: S101 - item_id set
            stock.release_item(line.item)
        elif not line.article.tracked:
            stock.release_quantity(line.article, line.source, line.quantity)


def _notify_orderer(order: Order, subject: str, body: str = "") -> None:
    messages_send(
        recipients=[order.orderer],
        kind=Message.Kind.NOTICE,
        subject=subject,
        body=body,
        link=f"/ordrar/{order.pk}/",
    )


def _refill(articles: Iterable[Article]) -> None:
    """What a cancellation freed goes to the orders waiting for it, oldest first, as a delivery
    into stock would. The system does this, not the canceller: a prescriber who cancels her own
    order has nothing to do with the patients whose backorders it fills."""
    system = Actor.system("backorders")
    for article in {article.pk: article for article in articles}.values():
        backorders_fill(actor=system, article=article)


def order_line_cancel(
    *, actor: Actor, line: OrderLine, reason: str, refill: bool = True
) -> OrderLine:
    """Cancel one line with a reason; its reservation is freed and goes to waiting backorders
    (unless `refill` is false: the caller does that once for a whole order). A line the centre
    cancels is reported to the orderer."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Ange skälet till att raden makuleras."))
    order = line.order
    _own_unit(actor, order.unit_id, "order_line_cancel", patient_id=order.patient_id)
    if not (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.ORDERS_HANDLE)):
        require(actor, Cap.ORDERS_PLACE)
    with transaction.atomic():
        open_states = [
            OrderLine.Status.RESERVED,
            OrderLine.Status.BACKORDERED,
            OrderLine.Status.PICKED,
        ]
        _lock_order(order.pk)
        # Free what the line holds now, not what it held when the caller read it: a backorder
        # filled or a pick of another individual since then changes that.
        current = (
            OrderLine.unscoped.select_for_update(of=("self",))
            .filter(pk=line.pk, status__in=open_states)
            .first()
        )
        if current is None:
            raise ValidationError(_("Raden är redan levererad eller makulerad."))
        before = current.status
        OrderLine.unscoped.filter(pk=line.pk).update(
            status=OrderLine.Status.CANCELLED, cancel_reason=reason[:200]
        )
        _release(current)
        line.refresh_from_db()
        if not order.lines.exclude(
            status__in=[OrderLine.Status.CANCELLED, OrderLine.Status.DELIVERED]
        ).exists():
            delivered = order.lines.filter(status=OrderLine.Status.DELIVERED).exists()
            Order.unscoped.filter(pk=order.pk).update(
                status=Order.Status.DELIVERED if delivered else Order.Status.CANCELLED,
                cancelled_at=None if delivered else timezone.now(),
                cancel_reason="" if delivered else reason[:200],
            )
        record(
            action=Action.ORDER_LINE_CANCELLED,
            actor=actor,
            target=order,
            patient_id=order.patient_id,
            changes={"status": [before, OrderLine.Status.CANCELLED]},
            detail={"line": line.pk, "article": line.article.article_number, "reason": reason},
            **_owner(order.unit),
        )
        if actor.user != order.orderer:
            _notify_orderer(
                order,
                _("Orderrad makulerad: %(number)s") % {"number": order.number},
                _("%(article)s: %(reason)s") % {"article": line.article, "reason": reason},
            )
        if refill and before != OrderLine.Status.BACKORDERED:
            _refill([current.article])
    return line


def _order_state(order_id: int) -> dict[str, str]:
    status, cancel_reason = (
        Order.unscoped.filter(pk=order_id).values_list("status", "cancel_reason").get()
    )
    return {"status": status, "cancel_reason": cancel_reason}


def order_cancel(*, actor: Actor, order: Order, reason: str) -> Order:
    """Cancel every open line of an order (makulering); nothing is deleted."""
    _own_unit(actor, order.unit_id, "order_cancel", patient_id=order.patient_id)
    lines = list(
        order.lines.filter(
            status__in=[
                OrderLine.Status.RESERVED,
                OrderLine.Status.BACKORDERED,
                OrderLine.Status.PICKED,
            ]
        ).select_related("article", "item", "source", "order")
    )
    if not lines:
        raise ValidationError(_("Ordern har inga öppna rader att makulera."))
    with transaction.atomic():
        _lock_order(order.pk)
        before = _order_state(order.pk)
        for line in lines:
            order_line_cancel(actor=actor, line=line, reason=reason, refill=False)
        # After every line is cancelled, so that nothing freed refills a line of this order.
        _refill(line.article for line in lines)
        after = _order_state(order.pk)
        record(
            action=Action.ORDER_CANCELLED,
            actor=actor,
            target=order,
            patient_id=order.patient_id,
            # What the cancellation changed on the order: its status (makulerad, or levererad
            # when delivered lines remain) and the reason kept with it.
            changes={
                name: [before[name], after[name]] for name in before if before[name] != after[name]
            },
            detail={"reason": reason.strip()[:200], "lines": len(lines)},
            **_owner(order.unit),
        )
    order.refresh_from_db()
    return order


# --- Picking and delivery (DOMAIN.md §3.2 points 5–6) --------------------------------------------


def line_pick(*, actor: Actor, line: OrderLine, individual_number: str = "") -> OrderLine:
    """Pick a reserved line. For a tracked article the picker scans the individual taken from
    the shelf: the reserved one, or another free one of the same article, which then takes its
    place. Of two pickers after the same item or line, exactly one succeeds."""
    require(actor, Cap.ORDERS_HANDLE)
    number = individual_number.strip()
    with transaction.atomic():
        _lock_order(line.order_id)
        if line.status != OrderLine.Status.RESERVED:
            raise ValidationError(_("Raden är inte reserverad och kan inte plockas."))
        item = line.item
        if line.article.tracked:
            assert item is not None  # noqa: S101 - a reserved tracked line has its item
            if (not number or number == item.individual_number) and Item.objects.filter(
                pk=item.pk, out_of_use_since__isnull=False
            ).exists():
                raise ValidationError(
                    _("Individ %(number)s är tagen ur bruk; skanna en annan individ.")
                    % {"number": item.individual_number}
                )
            if number and number != item.individual_number:
                other = Item.objects.filter(
                    individual_number=number, article=line.article, location=line.source
                ).first()
                if other is None:
                    raise ValidationError(
                        _("Individ %(number)s är inte %(article)s i %(place)s.")
                        % {"number": number, "article": line.article, "place": line.source}
                    )
                if stock.held_for(other, line.order.patient_id, line.order.unit_id):
                    raise ValidationError(
                        _("Individ %(number)s är reserverad för någon annan.") % {"number": number}
                    )
                if other.out_of_use_since is not None:
                    raise ValidationError(
                        _(
                            "Individ %(number)s är tagen ur bruk (%(reason)s) och får inte "
                            "lämnas ut."
                        )
                        % {"number": number, "reason": other.out_of_use_reason}
                    )
                if not Item.objects.filter(pk=other.pk, status=Item.Status.IN_STOCK).update(
                    status=Item.Status.IN_TRANSIT
                ):
                    raise stock.OutOfStock(
                        _("Individ %(number)s är redan plockad eller reserverad.")
                        % {"number": number}
                    )
                stock.release_item(item)
                item = other
            elif not Item.objects.filter(pk=item.pk, status=Item.Status.RESERVED).update(
                status=Item.Status.IN_TRANSIT
            ):
                raise stock.OutOfStock(_("Individen är redan plockad."))
        if not OrderLine.unscoped.filter(pk=line.pk, status=OrderLine.Status.RESERVED).update(
            status=OrderLine.Status.PICKED, item=item
        ):
            raise stock.OutOfStock(_("Raden har redan plockats eller makulerats av någon annan."))
        order = line.order
        reserved_left = order.lines.filter(status=OrderLine.Status.RESERVED).exists()
        Order.unscoped.filter(pk=order.pk, status__in=Order.OPEN).update(
            status=Order.Status.PICKING if reserved_left else Order.Status.IN_TRANSIT
        )
        record(
            action=Action.ORDER_PICKED,
            actor=actor,
            target=order,
            patient_id=order.patient_id,
            detail={
                "line": line.pk,
                "article": line.article.article_number,
                "item": item.individual_number if item else None,
            },
            **_owner(order.unit),
        )
    line.refresh_from_db()
    return line


def order_deliver(*, actor: Actor, order: Order, receipt: ReceiptInput | None = None) -> list[Loan]:
    """Confirm delivery of an order's picked lines: each becomes a loan on the patient and rent
    starts today (or stock in the unit's buffer store). Backordered lines stay open. With a
    `receipt` (the driver's delivery page always gives one) who received the devices and their
    signature, or why there is none, is kept with the delivery. The orderer gets a message."""
    require(actor, Cap.ORDERS_HANDLE)
    today = timezone.localdate()
    if receipt is not None:
        receipt = _receipt_checked(receipt)
    loans: list[Loan] = []
    with transaction.atomic():
        locked = Order.unscoped.select_for_update().get(pk=order.pk)
        if locked.status not in Order.OPEN:
            raise ValidationError(_("Ordern är redan levererad eller makulerad."))
        picked = list(
            locked.lines.filter(status=OrderLine.Status.PICKED).select_related(
                "article", "item", "source"
            )
        )
        if not picked:
            raise ValidationError(_("Inget är plockat på ordern ännu."))
        # A device taken out of use after it was picked (a failed inspection, a safety notice)
        # is not handed over: it goes back and another is picked.
        unusable = [
            line.item.individual_number
            for line in picked
            if line.item is not None
            and Item.objects.filter(pk=line.item.pk, out_of_use_since__isnull=False).exists()
        ]
        if unusable:
            raise ValidationError(
                _(
                    "Individ %(numbers)s är tagen ur bruk och får inte lämnas ut. Ångra "
                    "plockningen och plocka en annan individ."
                )
                % {"numbers": ", ".join(unusable)}
            )
        prescription = locked.prescription
        for line in picked:
            article = line.article
            if not OrderLine.unscoped.filter(pk=line.pk, status=OrderLine.Status.PICKED).update(
                status=OrderLine.Status.DELIVERED
            ):
                raise stock.OutOfStock(_("Raden har redan levererats."))
            if locked.store is not None:
                _deliver_to_store(actor, locked, line)
                continue
            assert locked.patient is not None  # noqa: S101 - an order is for a patient or a store
            if article.tracked:
                assert line.item is not None  # noqa: S101 - a picked tracked line has its item
                item = line.item
                if not Item.objects.filter(pk=item.pk, status=Item.Status.IN_TRANSIT).update(
                    status=Item.Status.ON_LOAN,
                    holder=locked.patient,
                    location=None,
                    times_lent=item.times_lent + 1,
                ):
                    raise stock.OutOfStock(_("Individen är inte på väg till patienten."))
                stock.reservations_use(
                    actor=actor, item=item, patient_id=locked.patient_id, unit_id=locked.unit_id
                )
            else:
                stock.release_quantity(article, line.source, line.quantity)
            # A non-tracked quantity leaves stock oldest lot first: one loan per lot, so that
            # a safety notice for a lot finds the patient.
            for movement in stock.ledger_lots(
                actor=actor,
                kind=StockMovement.Kind.DELIVERY,
                article=article,
                quantity=line.quantity,
                item=line.item,
                source=line.source,
                patient=locked.patient,
                reference=f"order:{locked.number}",
            ):
                loans.append(
                    Loan.unscoped.create(
                        patient=locked.patient,
                        article=article,
                        item=line.item,
                        quantity=movement.quantity,
                        lot=movement.lot,
                        order_line=line,
                        unit=locked.unit,
                        payer=locked.payer,
                        prescriber=locked.orderer,
                        billing_type=article.billing_type,
                        started_on=today,
                        expected_end=prescription.short_term_until if prescription else None,
                    )
                )
        still_open = locked.lines.filter(
            status__in=[OrderLine.Status.RESERVED, OrderLine.Status.BACKORDERED]
        ).exists()
        Order.unscoped.filter(pk=locked.pk).update(
            status=Order.Status.REGISTERED if still_open else Order.Status.DELIVERED,
            delivered_at=timezone.now(),
        )
        kept = _receipt_create(actor, receipt, order=locked) if receipt is not None else None
        record(
            action=Action.ORDER_DELIVERED,
            actor=actor,
            target=locked,
            patient_id=locked.patient_id,
            changes={"status": [locked.status, Order.Status.DELIVERED]},
            detail={
                "lines": [line.pk for line in picked],
                "partial": still_open,
                **(_receipt_detail(kept) if kept is not None else {}),
            },
            **_owner(locked.unit),
        )
        for loan in loans:
            _loan_started(actor, loan)
        _notify_delivered(actor, locked, len(picked), kept, still_open=still_open)
    return loans


def _notify_delivered(
    actor: Actor, order: Order, lines: int, receipt: Receipt | None, *, still_open: bool
) -> None:
    """The orderer's message that a delivery is done: how much, who received it, signed or not."""
    if actor.user == order.orderer:
        return
    body = _("%(n)s rader levererade.") % {"n": lines}
    if receipt is not None:
        body += " " + _("Mottaget av %(name)s (%(relation)s).") % {
            "name": receipt.name,
            "relation": receipt.get_relation_display(),
        }
        body += " " + (
            _("Signerat på plats.")
            if receipt.signed
            else _("Ej signerat: %(reason)s.") % {"reason": receipt.unsigned_reason}
        )
    if still_open:
        body += " " + _("Resten av ordern levereras senare.")
    _notify_orderer(order, _("Levererad: %(number)s") % {"number": order.number}, body)


def _deliver_to_store(actor: Actor, order: Order, line: OrderLine) -> None:
    assert order.store is not None  # noqa: S101 - a store order
    if line.article.tracked:
        assert line.item is not None  # noqa: S101 - a picked tracked line has its item
        Item.objects.filter(pk=line.item.pk).update(
            status=Item.Status.IN_STOCK, location=order.store
        )
        stock.reservations_use(actor=actor, item=line.item, patient_id=None, unit_id=order.unit_id)
    else:
        stock.release_quantity(line.article, line.source, line.quantity)
    stock.ledger(
        actor=actor,
        kind=StockMovement.Kind.STORE_DELIVERY,
        article=line.article,
        quantity=line.quantity,
        item=line.item,
        source=line.source,
        target=order.store,
        reference=f"order:{order.number}",
    )


def _loan_started(actor: Actor, loan: Loan) -> None:
    record(
        action=Action.LOAN_STARTED,
        actor=actor,
        target=loan,
        patient_id=loan.patient_id,
        detail={
            "article": loan.article.article_number,
            "item": loan.item.individual_number if loan.item else None,
            "quantity": loan.quantity,
            "lot": loan.lot,
            "billing_type": loan.billing_type,
        },
        **_owner(loan.unit),
    )


FAILED_DELIVERY_MAX_DAYS = 60  # how far ahead a new delivery day may be set


def order_delivery_failed(
    *,
    actor: Actor,
    order: Order,
    reason: str,
    new_day: dt.date | None = None,
    fee: bool = True,
) -> Order:
    """Nobody home (bomkörning): the attempt is recorded with its reason, the order gets a new
    delivery day (the next working day unless chosen) and stays open with what was reserved and
    picked for it: the device comes back on the van and waits on the shelf for the new day. The
    failed-delivery fee is a decision (`fee`: by default it applies, as the unit booked the day),
    recorded on the attempt. The orderer gets a message naming the new day. Cancelling the order
    is a separate step (DOMAIN.md §3.2 point 6; issue 16)."""
    require(actor, Cap.ORDERS_HANDLE)
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Ange varför leveransen misslyckades."))
    today = timezone.localdate()
    day = new_day or next_working_day(today)
    if day < today:
        raise ValidationError(_("Den nya leveransdagen har redan passerat. Välj en senare dag."))
    if day > today + dt.timedelta(days=FAILED_DELIVERY_MAX_DAYS):
        raise ValidationError(
            _("Välj en ny leveransdag inom %(n)s dagar.") % {"n": FAILED_DELIVERY_MAX_DAYS}
        )
    if not is_working_day(day):
        raise ValidationError(
            _("%(day)s är ingen arbetsdag (helg eller helgdag). Välj en annan leveransdag.")
            % {"day": day.isoformat()}
        )
    user, _unit = _person(actor)
    with transaction.atomic():
        locked = Order.unscoped.select_for_update().get(pk=order.pk)
        if locked.status not in Order.OPEN:
            raise ValidationError(_("Ordern är redan levererad eller makulerad."))
        if not locked.lines.filter(status=OrderLine.Status.PICKED).exists():
            raise ValidationError(_("Inget är plockat på ordern: det fanns inget att leverera."))
        planned = locked.expected_on
        attempt = DeliveryAttempt.unscoped.create(
            order=locked,
            failed_at=timezone.now(),
            recorded_by=user,
            reason=reason[:200],
            planned_on=planned,
            new_day=day,
            fee=fee,
        )
        attempts = DeliveryAttempt.unscoped.filter(order=locked).count()
        Order.unscoped.filter(pk=locked.pk).update(
            expected_on=day,
            failed_delivery=True,
            failed_fee=locked.failed_fee or fee,
        )
        record(
            action=Action.ORDER_DELIVERY_FAILED,
            actor=actor,
            target=locked,
            patient_id=locked.patient_id,
            changes={"expected_on": [planned.isoformat(), day.isoformat()]},
            detail={
                "reason": reason[:200],
                "fee": fee,
                "attempt": attempts,
                "attempt_id": attempt.pk,
                "status": locked.status,
            },
            **_owner(locked.unit),
        )
        body = _(
            "Ingen kunde ta emot leveransen %(planned)s (%(reason)s). Ordern ligger kvar och "
            "levereras i stället %(day)s."
        ) % {"planned": planned.isoformat(), "reason": reason, "day": day.isoformat()}
        body += " " + (
            _("En avgift för bomkörning debiteras.")
            if fee
            else _("Ingen avgift för bomkörning debiteras.")
        )
        _notify_orderer(
            locked,
            _("Leveransen misslyckades: %(number)s, ny leveransdag %(day)s")
            % {"number": locked.number, "day": day.isoformat()},
            body,
        )
    locked.refresh_from_db()
    return locked


# --- Receipts: who received a delivery or handed over a collection (issue 16) -------------------


@dataclass(frozen=True)
class ReceiptInput:
    """Who took the devices at the door, and their signature (strokes, lyfta.orders.signature)
    or why there is none."""

    name: str
    relation: str
    signature: list[list[int]] | None = None
    unsigned_reason: str = ""


def _receipt_checked(receipt: ReceiptInput) -> ReceiptInput:
    name = receipt.name.strip()
    if not name:
        raise ValidationError(_("Ange vem som tog emot."))
    if len(name) > 120:
        raise ValidationError(_("Namnet får vara högst 120 tecken."))
    if receipt.relation not in Receipt.Relation.values:
        raise ValidationError(_("Välj mottagarens relation till patienten i listan."))
    reason = receipt.unsigned_reason.strip()
    if receipt.signature is not None and reason:
        raise ValidationError(_("Välj antingen signatur eller ej signerat, inte båda."))
    if receipt.signature is None:
        if not reason:
            raise ValidationError(
                _("Låt mottagaren signera, eller välj ej signerat och ange varför.")
            )
        return ReceiptInput(name, receipt.relation, None, reason[:200])
    return ReceiptInput(name, receipt.relation, signature.validate(receipt.signature), "")


def _receipt_create(
    actor: Actor,
    receipt: ReceiptInput,
    *,
    order: Order | None = None,
    pickup: PickupOrder | None = None,
) -> Receipt:
    user, _unit = _person(actor)
    return Receipt.unscoped.create(
        kind=Receipt.Kind.DELIVERY if order is not None else Receipt.Kind.COLLECTION,
        order=order,
        pickup=pickup,
        name=receipt.name,
        relation=receipt.relation,
        signature=receipt.signature,
        unsigned_reason=receipt.unsigned_reason,
        recorded_at=timezone.now(),
        recorded_by=user,
    )


def _receipt_detail(receipt: Receipt) -> dict[str, object]:
    return {
        "receipt": receipt.pk,
        "relation": receipt.relation,
        "signed": receipt.signed,
        "unsigned_reason": receipt.unsigned_reason,
    }


# --- Buffer stores (DOMAIN.md §3.3) ------------------------------------------------------


def buffer_withdraw(
    *,
    actor: Actor,
    grant: PatientGrant,
    store: StockLocation,
    article: Article,
    individual_number: str = "",
    quantity: int = 1,
    taken_on: dt.date | None = None,
) -> Loan:
    """Register a device taken from the unit's buffer store on a patient: the loan and rent
    start on the day it was taken, which must be within the last 24 hours."""
    require(actor, Cap.ORDERS_PLACE)
    _writable(actor, grant, "buffer_withdraw")
    user, unit = _person(actor)
    patient = grant.patient
    _alive(patient)
    if store.kind != StockLocation.Kind.BUFFER or store.unit_id != unit.pk:
        raise refuse(
            actor=actor,
            step="buffer_withdraw",
            reason="other_unit",
            patient_id=patient.pk,
            user_message=_("Du kan bara registrera uttag ur din egen enhets buffertförråd."),
        )
    today = timezone.localdate()
    taken_on = taken_on or today
    if not today - dt.timedelta(days=1) <= taken_on <= today:
        raise ValidationError(_("Ett uttag registreras senast dagen efter att det gjordes."))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(_("Antalet ska vara 1–%(max)s.") % {"max": MAX_QUANTITY})
    with transaction.atomic():
        relationship_ensure(actor=actor, patient=patient, origin="order")
        item = None
        if article.tracked:
            number = individual_number.strip()
            item = Item.objects.filter(
                individual_number=number, article=article, location=store
            ).first()
            if item is None:
                if not number:
                    raise ValidationError(
                        _(
                            "%(article)s är individmärkt: välj individen i listan över "
                            "förrådets innehåll eller ange dess individnummer."
                        )
                        % {"article": article}
                    )
                raise ValidationError(
                    _(
                        "Individ %(number)s av %(article)s finns inte i %(store)s. Välj en "
                        "individ ur listan över förrådets innehåll."
                    )
                    % {"number": number, "article": article, "store": store.name}
                )
            if stock.held_for(item, patient.pk, unit.pk):
                raise ValidationError(
                    _("Individ %(number)s är reserverad för någon annan.") % {"number": number}
                )
            # A device taken out of use (a failed inspection, a safety notice) is lent to no one;
            # the update's condition holds it against a change between the read and the write.
            if item.out_of_use_since is not None:
                raise ValidationError(
                    _(
                        "Individ %(number)s är tagen ur bruk (%(reason)s) och får inte lånas ut. "
                        "Välj en annan individ."
                    )
                    % {"number": number, "reason": item.out_of_use_reason or "–"}
                )
            if not Item.objects.filter(
                pk=item.pk, status=Item.Status.IN_STOCK, out_of_use_since__isnull=True
            ).update(
                status=Item.Status.ON_LOAN,
                holder=patient,
                location=None,
                times_lent=item.times_lent + 1,
            ):
                raise stock.OutOfStock(
                    _("Individ %(number)s är redan uttagen eller reserverad.") % {"number": number}
                )
            stock.reservations_use(actor=actor, item=item, patient_id=patient.pk, unit_id=unit.pk)
            quantity = 1
        elif stock.available(article, store) < quantity:
            # A blocked lot (a safety campaign) is not lent out until it is checked.
            raise stock.OutOfStock(
                _("Det finns inte %(n)s st av %(article)s i %(place)s.")
                % {"n": quantity, "article": article, "place": store}
            )
        # A non-tracked quantity is taken oldest lot first: one loan per lot (the first is
        # returned), so that a safety notice for a lot finds the patient.
        first: Loan | None = None
        for movement in stock.ledger_lots(
            actor=actor,
            kind=StockMovement.Kind.WITHDRAWAL,
            article=article,
            quantity=quantity,
            item=item,
            source=store,
            patient=patient,
            reference=f"store:{store.code}",
        ):
            loan = Loan.unscoped.create(
                patient=patient,
                article=article,
                item=item,
                quantity=movement.quantity,
                lot=movement.lot,
                unit=unit,
                payer=unit,
                prescriber=user,
                billing_type=article.billing_type,
                started_on=taken_on,
            )
            _loan_started(actor, loan)
            first = first or loan
        assert first is not None  # noqa: S101 - the ledger writes at least one row
    return first


# --- Pick-ups and returns (DOMAIN.md §3.6) ----------------------------------------------------


@dataclass(frozen=True)
class PickupInput:
    street: str = ""
    postal_code: str = ""
    city: str = ""
    contact_phone: str = ""
    loans: list[Loan] = field(default_factory=list)


def pickup_register(*, actor: Actor, grant: PatientGrant, pickup: PickupInput) -> PickupOrder:
    """Order devices picked up from a patient. Rent stops three working days after today; the
    centre collects within seven. Sold devices are not picked up."""
    require(actor, Cap.ORDERS_PLACE)
    _writable(actor, grant, "pickup_register")
    user, unit = _person(actor)
    patient = grant.patient
    if not pickup.loans:
        raise ValidationError(_("Välj minst ett hjälpmedel att hämta."))
    for loan in pickup.loans:
        if loan.patient_id != patient.pk or loan.ended_on is not None:
            raise ValidationError(_("Ett valt hjälpmedel är inte utlånat till patienten."))
        if loan.unit.provider_id != unit.provider_id:
            raise refuse(
                actor=actor,
                step="pickup_register",
                reason="other_provider",
                patient_id=patient.pk,
                user_message=_("Hjälpmedel från en annan vårdgivare hämtas på dess begäran."),
            )
        if loan.billing_type == BillingType.SALE:
            raise ValidationError(
                _("%(article)s är sålt och hämtas inte.") % {"article": loan.article}
            )
    today = timezone.localdate()
    if pickup.street.strip():
        if not POSTAL_CODE.match(pickup.postal_code.strip()) or not pickup.city.strip():
            raise ValidationError(_("Ange gatuadress, postnummer (fem siffror) och postort."))
        street, postal_code, city = (
            pickup.street.strip()[:200],
            pickup.postal_code.strip(),
            pickup.city.strip()[:100],
        )
        confidential = patient.is_protected
    elif patient.is_protected:
        street, postal_code, city, confidential = patient.approved_delivery_address, "", "", True
    else:
        street, postal_code, city, confidential = (
            patient.street,
            patient.postal_code,
            patient.city,
            False,
        )
    with transaction.atomic():
        order = PickupOrder.unscoped.create(
            number=_number("HO", "pickup"),
            patient=patient,
            unit=unit,
            registered_by=user,
            registered_at=timezone.now(),
            rent_stop_on=add_working_days(today, RENT_STOP_WORKING_DAYS),
            collect_by=add_working_days(today, COLLECT_WORKING_DAYS),
            street=street,
            postal_code=postal_code,
            city=city,
            confidential_address=confidential,
            contact_phone=pickup.contact_phone.strip()[:30],
            status=PickupOrder.Status.REGISTERED,
        )
        for loan in pickup.loans:
            if PickupLine.unscoped.filter(
                loan=loan, status__in=[PickupLine.Status.WAITING, PickupLine.Status.COLLECTED]
            ).exists():
                raise ValidationError(
                    _("%(article)s finns redan på en hämtorder.") % {"article": loan.article}
                )
            PickupLine.unscoped.create(pickup=order, loan=loan, status=PickupLine.Status.WAITING)
            Loan.unscoped.filter(pk=loan.pk).update(rent_stop_on=order.rent_stop_on)
            if loan.item_id is not None:
                Item.objects.filter(pk=loan.item_id, status=Item.Status.ON_LOAN).update(
                    status=Item.Status.AWAITING_PICKUP
                )
        record(
            action=Action.PICKUP_REGISTERED,
            actor=actor,
            target=order,
            patient_id=patient.pk,
            detail={
                "number": order.number,
                "loans": [loan.pk for loan in pickup.loans],
                "rent_stop_on": order.rent_stop_on,
                "collect_by": order.collect_by,
            },
            **_owner(unit),
        )
    return order


def pickup_collect(
    *,
    actor: Actor,
    pickup: PickupOrder,
    missing: dict[int, str] | None = None,
    receipt: ReceiptInput | None = None,
) -> PickupOrder:
    """The driver's report: every line collected except those missing, which are cancelled with
    the reason; their loans go on, rent restarts and the prescriber gets a message. With a
    `receipt`, who handed the devices over and their signature (or why not) is kept with it."""
    require(actor, Cap.ORDERS_HANDLE)
    missing = {k: v.strip() for k, v in (missing or {}).items()}
    if any(not reason for reason in missing.values()):
        raise ValidationError(_("Ange varför hjälpmedlet saknades."))
    if receipt is not None:
        receipt = _receipt_checked(receipt)
    with transaction.atomic():
        locked = PickupOrder.unscoped.select_for_update().get(pk=pickup.pk)
        if locked.status != PickupOrder.Status.REGISTERED:
            raise ValidationError(_("Hämtordern är redan hämtad eller makulerad."))
        lines = list(
            locked.lines.filter(status=PickupLine.Status.WAITING).select_related(
                "loan__article", "loan__item", "loan__prescriber"
            )
        )
        unknown = set(missing) - {line.pk for line in lines}
        if unknown:
            raise ValidationError(_("En rad hör inte till hämtordern."))
        for line in lines:
            if line.pk in missing:
                PickupLine.unscoped.filter(pk=line.pk).update(
                    status=PickupLine.Status.MISSING, cancel_reason=missing[line.pk][:200]
                )
                Loan.unscoped.filter(pk=line.loan_id).update(rent_stop_on=None)
                if line.loan.item_id is not None:
                    Item.objects.filter(
                        pk=line.loan.item_id, status=Item.Status.AWAITING_PICKUP
                    ).update(status=Item.Status.ON_LOAN)
                recipient = line.loan.prescriber or locked.registered_by
                messages_send(
                    recipients=[recipient],
                    kind=Message.Kind.NOTICE,
                    subject=_("Hjälpmedel saknades vid hämtning: %(number)s")
                    % {"number": locked.number},
                    body=_("%(article)s fanns inte på plats (%(reason)s). Lånet fortsätter.")
                    % {"article": line.loan.article, "reason": missing[line.pk]},
                    link=f"/innehav/{locked.patient_id}/",
                )
            else:
                PickupLine.unscoped.filter(pk=line.pk).update(status=PickupLine.Status.COLLECTED)
        PickupOrder.unscoped.filter(pk=locked.pk).update(
            status=PickupOrder.Status.COLLECTED, collected_at=timezone.now()
        )
        kept = _receipt_create(actor, receipt, pickup=locked) if receipt is not None else None
        record(
            action=Action.PICKUP_COLLECTED,
            actor=actor,
            target=locked,
            patient_id=locked.patient_id,
            detail={
                "collected": len(lines) - len(missing),
                "missing": sorted(missing),
                **(_receipt_detail(kept) if kept is not None else {}),
            },
            **_owner(locked.unit),
        )
    locked.refresh_from_db()
    return locked


def pickup_receive(*, actor: Actor, line: PickupLine) -> Loan:
    """A collected device arrives at the centre: the loan ends, the item leaves the patient and
    goes to reconditioning (a non-tracked quantity goes back to central stock)."""
    require(actor, Cap.STOCK_MANAGE)
    today = timezone.localdate()
    with transaction.atomic():
        if not PickupLine.unscoped.filter(pk=line.pk, status=PickupLine.Status.COLLECTED).update(
            status=PickupLine.Status.RECEIVED
        ):
            raise ValidationError(_("Raden är inte hämtad eller redan mottagen."))
        loan = Loan.unscoped.select_related("article", "item", "unit").get(pk=line.loan_id)
        target = place_of(StockLocation.Kind.RECONDITIONING) if loan.article.tracked else central()
        if loan.item is not None and not Item.objects.filter(
            pk=loan.item.pk, status=Item.Status.AWAITING_PICKUP, holder=loan.patient_id
        ).update(status=Item.Status.RECONDITIONING, holder=None, location=target):
            raise ValidationError(_("Individen väntar inte på hämtning hos patienten."))
        stock.ledger(
            actor=actor,
            kind=StockMovement.Kind.RETURN,
            article=loan.article,
            quantity=loan.quantity,
            item=loan.item,
            target=target,
            patient=loan.patient,
            reference=f"pickup:{line.pickup_id}",
            lot=loan.lot,
        )
        Loan.unscoped.filter(pk=loan.pk).update(ended_on=today, end_reason=Loan.End.RETURNED)
        record(
            action=Action.PICKUP_RECEIVED,
            actor=actor,
            target=loan,
            patient_id=loan.patient_id,
            changes={"ended_on": [None, today]},
            detail={
                "item": loan.item.individual_number if loan.item else None,
                "to": target.code,
            },
            **_owner(loan.unit),
        )
    loan.refresh_from_db()
    return loan


def pickup_cancel(*, actor: Actor, pickup: PickupOrder, reason: str) -> PickupOrder:
    """Cancel a pick-up order not yet collected: rent goes on as before."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Ange skälet till att hämtordern makuleras."))
    if not (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.ORDERS_HANDLE)):
        require(actor, Cap.ORDERS_PLACE)
    _own_unit(actor, pickup.unit_id, "pickup_cancel", patient_id=pickup.patient_id)
    with transaction.atomic():
        if not PickupOrder.unscoped.filter(
            pk=pickup.pk, status=PickupOrder.Status.REGISTERED
        ).update(status=PickupOrder.Status.CANCELLED):
            raise ValidationError(_("Hämtordern är redan hämtad eller makulerad."))
        for line in pickup.lines.filter(status=PickupLine.Status.WAITING).select_related("loan"):
            PickupLine.unscoped.filter(pk=line.pk).update(
                status=PickupLine.Status.CANCELLED, cancel_reason=reason[:200]
            )
            Loan.unscoped.filter(pk=line.loan_id).update(rent_stop_on=None)
            if line.loan.item_id is not None:
                Item.objects.filter(
                    pk=line.loan.item_id, status=Item.Status.AWAITING_PICKUP
                ).update(status=Item.Status.ON_LOAN)
        record(
            action=Action.PICKUP_CANCELLED,
            actor=actor,
            target=pickup,
            patient_id=pickup.patient_id,
            detail={"reason": reason[:200]},
            **_owner(pickup.unit),
        )
    pickup.refresh_from_db()
    return pickup


@dataclass(frozen=True)
class DeathProposal:
    """What a unit is told when the population register reports a patient's death: the loans
    proposed for pick-up, its open orders for the patient, and who was told."""

    unit_id: int
    loans: list[int]
    open_orders: list[str]
    notified: list[int]


def pickups_propose_after_death(*, actor: Actor, patient: Patient) -> list[DeathProposal]:
    """The population register reports that `patient` has died: every unit with devices lent to
    the patient (or orders still open for her) is told, and the pick-up of all of its devices is
    proposed. The proposal is the holdings page's (issue 16 point 6): it offers "Bekräfta
    hämtning av alla" while the patient is deceased and devices are not yet on a pick-up order,
    and the pick-up form comes with every device chosen. Nothing is registered, stopped or
    cancelled here: a death reported by mistake is corrected without a driver at the door, the
    estate's contact and address are known only then, and an open order is the unit's to cancel.
    Only the register's system actor calls this (in the event's transaction)."""
    if not actor.is_system:
        raise PermissionDenied("applied from the population register only")
    loans: dict[int, list[int]] = {}
    for loan_id, unit_id in (
        Loan.unscoped.filter(patient=patient, ended_on__isnull=True)
        .exclude(billing_type=BillingType.SALE)
        .exclude(pickup_lines__status__in=[PickupLine.Status.WAITING, PickupLine.Status.COLLECTED])
        .order_by("unit_id", "pk")
        .values_list("pk", "unit_id")
    ):
        loans.setdefault(unit_id, []).append(loan_id)
    orders: dict[int, list[str]] = {}
    for number, unit_id in (
        Order.unscoped.filter(patient=patient, status__in=Order.OPEN)
        .order_by("unit_id", "registered_at")
        .values_list("number", "unit_id")
    ):
        orders.setdefault(unit_id, []).append(number)
    unit_ids = sorted(set(loans) | set(orders))
    if not unit_ids:
        return []
    staff = units_users_with(unit_ids, Cap.ORDERS_PLACE)
    if patient.is_protected:
        # Only the named staff may open a protected patient (R54); the unit manager, who names
        # them, is told as well so that someone can act.
        named = set(
            ProtectedStaff.objects.filter(patient=patient, ended_at__isnull=True).values_list(
                "user_id", flat=True
            )
        )
        managers = units_users_with(unit_ids, Cap.PROTECTED_STAFF_MANAGE)
        staff = {
            unit_id: sorted(
                {u for u in staff.get(unit_id, []) if u in named} | set(managers.get(unit_id, []))
            )
            for unit_id in unit_ids
        }
    day = patient.deceased_date.isoformat() if patient.deceased_date else ""
    link = reverse("orders:holdings", args=[patient.pk])
    units = {unit.pk: unit for unit in Unit.objects.filter(pk__in=unit_ids)}
    proposals = []
    for unit_id in unit_ids:
        proposal = DeathProposal(
            unit_id=unit_id,
            loans=loans.get(unit_id, []),
            open_orders=orders.get(unit_id, []),
            notified=staff.get(unit_id, []),
        )
        # No name and no number in the message: it leads to the holdings page, behind the access
        # rules, where the patient is shown to those who may see her.
        body = [
            _(
                "Enligt folkbokföringen har en patient med hjälpmedel från er enhet avlidit "
                "(%(day)s)."
            )
            % {"day": day}
        ]
        if proposal.loans:
            body.append(
                ngettext(
                    "Hämtning av %(n)d hjälpmedel föreslås. Bekräfta hämtordern på patientens "
                    "sida Hjälpmedelsinnehav; där finns också brevet till dödsboet.",
                    "Hämtning av %(n)d hjälpmedel föreslås. Bekräfta hämtordern på patientens "
                    "sida Hjälpmedelsinnehav; där finns också brevet till dödsboet.",
                    len(proposal.loans),
                )
                % {"n": len(proposal.loans)}
            )
        if proposal.open_orders:
            body.append(
                _("Pågående beställningar: %(orders)s. Makulera dem om de inte ska levereras.")
                % {"orders": ", ".join(proposal.open_orders)}
            )
        messages_send(
            recipients=User.objects.filter(pk__in=proposal.notified),
            kind=Message.Kind.NOTICE,
            subject=_("Avliden patient: hämtning av hjälpmedel föreslås"),
            body=" ".join(body),
            link=link,
        )
        record(
            action=Action.PICKUP_PROPOSED,
            actor=actor,
            target=patient,
            patient_id=patient.pk,
            detail={
                "loans": proposal.loans,
                "open_orders": proposal.open_orders,
                "notified": proposal.notified,
            },
            **_owner(units[unit_id]),
        )
        proposals.append(proposal)
    return proposals


# --- Loss (DOMAIN.md §3.7) ---------------------------------------------------------------------


def loss_report(
    *,
    actor: Actor,
    grant: PatientGrant,
    loan: Loan,
    lost_on: dt.date,
    circumstances: str,
    negligence: bool = False,
    charge: str = LossReport.Charge.NONE,
) -> LossReport:
    """Report a lent device as lost: the loan ends, the item moves to shrinkage and its residual
    value is noted (charged to the unit or patient only with negligence)."""
    require(actor, Cap.ORDERS_PLACE)
    _writable(actor, grant, "loss_report")
    user, unit = _person(actor)
    circumstances = circumstances.strip()
    if loan.patient_id != grant.patient.pk or loan.ended_on is not None:
        raise ValidationError(_("Hjälpmedlet är inte utlånat till patienten."))
    if loan.item is None:
        raise ValidationError(_("Förlust anmäls för individmärkta hjälpmedel."))
    if not circumstances:
        raise ValidationError(_("Beskriv kort vad som hände."))
    today = timezone.localdate()
    if not loan.started_on <= lost_on <= today:
        raise ValidationError(_("Datumet ska ligga mellan lånets start och i dag."))
    if charge not in LossReport.Charge.values:
        raise ValidationError(_("Välj vem restvärdet debiteras."))
    if charge != LossReport.Charge.NONE and not negligence:
        raise ValidationError(_("Restvärdet debiteras bara vid vårdslöshet."))
    shrinkage = place_of(StockLocation.Kind.SHRINKAGE)
    with transaction.atomic():
        item = locks.items_locked([loan.item.pk])[loan.item.pk]
        if item.status not in Item.WITH_PATIENT or item.holder_id != loan.patient_id:
            raise ValidationError(_("Individen är inte hos patienten."))
        # Collected by the driver: on its way to the centre, not lost at the patient's (its
        # pick-up line would otherwise never be received).
        if PickupLine.unscoped.filter(loan=loan, status=PickupLine.Status.COLLECTED).exists():
            raise ValidationError(_("Individen är inte hos patienten."))
        value = stock.residual_value(item, lost_on)
        # A waiting pick-up of the device is cancelled: a lost device is not collected.
        PickupLine.unscoped.filter(loan=loan, status=PickupLine.Status.WAITING).update(
            status=PickupLine.Status.CANCELLED, cancel_reason="förkommen"
        )
        before = item.status
        item.status = Item.Status.LOST
        item.holder = None
        item.location = shrinkage
        item.lost_on = lost_on
        item.residual_value = value
        item.save(update_fields=["status", "holder", "location", "lost_on", "residual_value"])
        stock.ledger(
            actor=actor,
            kind=StockMovement.Kind.LOST,
            article=loan.article,
            item=item,
            target=shrinkage,
            patient=loan.patient,
            reference=f"loan:{loan.pk}",
        )
        Loan.unscoped.filter(pk=loan.pk).update(ended_on=lost_on, end_reason=Loan.End.LOST)
        report = LossReport.unscoped.create(
            loan=loan,
            item=item,
            reported_by=user,
            reported_at=timezone.now(),
            lost_on=lost_on,
            circumstances=circumstances[:300],
            negligence=negligence,
            charge=charge,
            residual_value=value,
        )
        record(
            action=Action.LOSS_REPORTED,
            actor=actor,
            target=report,
            patient_id=loan.patient_id,
            changes={"status": [before, Item.Status.LOST]},
            detail={
                "item": item.individual_number,
                "residual_value": str(value),
                "negligence": negligence,
                "charge": charge,
            },
            **_owner(unit),
        )
    return report


def loss_found(*, actor: Actor, report: LossReport) -> LossReport:
    """A lost device found within three months is re-registered: it goes to reconditioning.
    After that it is written off and stays in shrinkage."""
    if not (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.STOCK_MANAGE)):
        require(actor, Cap.STOCK_MANAGE)
    if report.found_at is not None:
        raise ValidationError(_("Hjälpmedlet är redan återfunnet."))
    today = timezone.localdate()
    if today > add_months(report.lost_on, FOUND_WITHIN_MONTHS):
        raise ValidationError(_("Mer än tre månader har gått: hjälpmedlet är avskrivet som svinn."))
    recon = place_of(StockLocation.Kind.RECONDITIONING)
    with transaction.atomic():
        item = locks.items_locked([report.item_id])[report.item_id]
        if item.status != Item.Status.LOST:
            raise ValidationError(_("Individen är inte anmäld som förkommen."))
        shrinkage = item.location
        item.status = Item.Status.RECONDITIONING
        item.location = recon
        item.save(update_fields=["status", "location"])
        stock.ledger(
            actor=actor,
            kind=StockMovement.Kind.FOUND,
            article=item.article,
            item=item,
            source=shrinkage,
            target=recon,
            reference=f"loss:{report.pk}",
        )
        LossReport.unscoped.filter(pk=report.pk).update(found_at=timezone.now())
        record(
            action=Action.LOSS_FOUND,
            actor=actor,
            target=report,
            patient_id=report.loan.patient_id,
            changes={"status": [Item.Status.LOST, Item.Status.RECONDITIONING]},
            detail={"item": item.individual_number},
        )
    report.refresh_from_db()
    return report


def delivery_class_label(article: Article) -> str:
    return str(DeliveryClass(article.delivery_class).label)


# --- The condition of a returned device (issue 16 point 4) ------------------------------------

CONDITION_RESULTS = ("yes", "no", "na")
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_CONDITION_PHOTOS = 3
PHOTO_TYPES: dict[bytes, tuple[str, str]] = {
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
}


def condition_points(article: Article) -> list[str]:
    """The checklist of an article: its ISO class's own list, or its nearest parent's, or the
    default list."""
    iso = article.iso_class if article.iso_class_id else None
    while iso is not None:
        found = ConditionChecklist.objects.filter(iso_class=iso).first()
        if found is not None and found.points:
            return [str(point) for point in found.points]
        iso = iso.parent
    return list(DEFAULT_CONDITION_POINTS)


def _condition_photo_dir() -> Path:
    return upload_dir() / "condition"


def condition_record(
    *,
    actor: Actor,
    line: PickupLine,
    stage: str,
    results: dict[str, str],
    note: str = "",
    photos: list[tuple[str, bytes]] | None = None,
) -> ConditionReport:
    """Record the condition of a returned device point by point, with up to three photos: by
    the driver when it is collected (before or just after the collection is registered), by the
    warehouse when it is received (before or just after). Once per stage."""
    stage_ok: dict[str, tuple[str, tuple[str, str]]] = {
        ConditionReport.Stage.COLLECTION: (
            Cap.ORDERS_HANDLE,
            (PickupLine.Status.WAITING, PickupLine.Status.COLLECTED),
        ),
        ConditionReport.Stage.RECEIPT: (
            Cap.STOCK_MANAGE,
            (PickupLine.Status.COLLECTED, PickupLine.Status.RECEIVED),
        ),
    }
    if stage not in stage_ok:
        raise ValidationError(_("Okänt tillfälle."))
    cap, statuses = stage_ok[stage]
    require(actor, cap)
    user = actor.user
    if user is None:
        raise PermissionDenied("a person checks the condition")
    photos = photos or []
    if len(photos) > MAX_CONDITION_PHOTOS:
        raise ValidationError(_("Högst tre foton."))
    typed: list[tuple[str, bytes, str, str]] = []
    for name, data in photos:
        if not data:
            raise ValidationError(_("Fotot är tomt."))
        if len(data) > MAX_PHOTO_BYTES:
            raise ValidationError(_("Fotot är större än 10 MB."))
        kind = next((v for magic, v in PHOTO_TYPES.items() if data.startswith(magic)), None)
        if kind is None:
            raise ValidationError(_("Ett foto ska vara en JPEG- eller PNG-bild."))
        # Kept without its metadata: a phone photo's GPS position would show where the patient
        # lives (a protected patient's too).
        try:
            data = without_metadata(data, kind[0])
        except UnreadableImage:
            raise ValidationError(_("Ett foto ska vara en JPEG- eller PNG-bild.")) from None
        typed.append((name, data, kind[0], kind[1]))
    folder = _condition_photo_dir()
    written: list[Path] = []
    try:
        with transaction.atomic():
            locked = (
                PickupLine.unscoped.select_for_update(of=("self",))
                .select_related("loan__article", "loan__item", "pickup__unit")
                .filter(pk=line.pk)
                .first()
            )
            if locked is None or locked.status not in statuses:
                raise ValidationError(
                    _("Hjälpmedlet är inte hämtat än.")
                    if stage == ConditionReport.Stage.RECEIPT
                    else _("Hjälpmedlet ska inte hämtas.")
                )
            if ConditionReport.unscoped.filter(line=locked, stage=stage).exists():
                raise ValidationError(_("Skicket är redan registrerat."))
            points = condition_points(locked.loan.article)
            missing = [p for p in points if results.get(p) not in CONDITION_RESULTS]
            if missing:
                raise ValidationError(
                    _("Svara på varje punkt: %(points)s.") % {"points": ", ".join(missing)}
                )
            report = ConditionReport.unscoped.create(
                line=locked,
                stage=stage,
                points=[{"point": p, "result": results[p]} for p in points],
                note=note.strip()[:300],
                checked_by=user,
                checked_at=timezone.now(),
            )
            if typed:
                folder.mkdir(parents=True, exist_ok=True)
            for name, data, content_type, extension in typed:
                stored_as = f"{uuid.uuid4().hex}.{extension}"
                path = folder / stored_as
                path.write_bytes(data)
                written.append(path)
                ConditionPhoto.unscoped.create(
                    report=report,
                    name=safe_name(name, extension, "foto"),
                    content_type=content_type,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    stored_as=stored_as,
                    uploaded_by=user,
                    uploaded_at=report.checked_at,
                )
            record(
                action=Action.CONDITION_RECORDED,
                actor=actor,
                target=locked,
                patient_id=locked.pickup.patient_id,
                legal_basis="case",
                legal_basis_ref=f"pickup:{locked.pickup.number}",
                detail={
                    "stage": stage,
                    "item": locked.loan.item.individual_number if locked.loan.item else None,
                    "remarks": [p["point"] for p in report.remarks],
                    "photos": len(typed),
                },
                **_owner(locked.pickup.unit),
            )
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return report


def condition_photo_bytes(photo: ConditionPhoto) -> bytes:
    """The stored photo (the caller has checked access and records the read)."""
    return (_condition_photo_dir() / photo.stored_as).read_bytes()
