"""Reads of the device flow: the patient's holdings, orders, pick lists, the item card, buffer
refill needs and recall lists. Each read of patient data records its audit event before the data
is returned (R57, R61); other providers' loans show only on a legal route (R39–R43)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.patients import DataScope, PatientGrant, one_decision_per_patient
from lyfta.access.policies import can, require
from lyfta.access.prepared import Prepared, columns, instances
from lyfta.access.refusals import denied as denied  # re-exported: the pages raise it
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis
from lyfta.audit.services import record, record_many
from lyfta.catalogue.models import Article
from lyfta.core.paging import Keyset, Window, keyset, window
from lyfta.core.serials import serial_in_range as serial_in_range  # the recall list's
from lyfta.core.serials import serial_key as serial_key  # re-exported: where it was first
from lyfta.inventory.models import (
    BufferLevel,
    Item,
    Reservation,
    StockLevel,
    StockLocation,
    StockMovement,
)
from lyfta.inventory.services import RefillNeed
from lyfta.orders.models import (
    ConditionPhoto,
    ConditionReport,
    DeliveryAttempt,
    Loan,
    Order,
    OrderLine,
    PickupLine,
    PickupOrder,
    Receipt,
    billing_type_label,
)
from lyfta.orders.references import Reference, movement_references
from lyfta.patients.models import Patient, ProtectedStaff

if TYPE_CHECKING:
    from lyfta.access.patients import DataScope
    from lyfta.workorders.selectors import ItemWork, WorkOrderRow


class HoldingsPart(Protocol):
    def __call__(
        self, *, actor: Actor, grant: PatientGrant, scope: DataScope, holdings: Holdings
    ) -> None: ...


class ItemCardPart(Protocol):
    def __call__(self, *, actor: Actor, card: ItemCard, session_ref: str) -> None: ...


# What the apps above orders add to the holdings and the item card, registered from their
# AppConfig.ready(): the technicians' desk adds the patient's open work orders and late
# inspections, and the item's work orders and inspections (lyfta/workorders/apps.py). So orders
# know no work orders (issue 19 point 4).
HOLDINGS_PARTS: list[HoldingsPart] = []
ITEM_CARD_PARTS: list[ItemCardPart] = []

# --- Holdings (DOMAIN.md §3.2 point 1, §5) -------------------------------------------------


def _label(choices: list[tuple[Any, Any]], value: str) -> str:
    """A stored code in words, as the model's get_FOO_display gives it."""
    return str(dict(choices).get(value, value))


@dataclass(frozen=True)
class HoldingRow:
    """A loan of the holdings as the page, the order page and the API show it (read as a tuple
    of these columns, not as a Loan with six related objects: issue 19 point 5)."""

    pk: int
    article_id: int
    article_name: str
    article_number: str
    iso_code: str
    item_id: int | None
    individual_number: str | None  # None for a quantity of a non-tracked article
    out_of_use_since: dt.date | None
    quantity: int
    billing_type: str
    started_on: dt.date
    expected_end: dt.date | None
    rent_stop_on: dt.date | None
    ended_on: dt.date | None
    end_reason: str
    unit_id: int
    unit_name: str
    provider_id: int
    provider_short_name: str
    order_id: int | None  # the order whose line delivered it (its loan agreement)
    waiting_pickup: bool
    late_inspection: bool
    own_provider: bool

    @property
    def billing_type_label(self) -> str:
        return billing_type_label(self.billing_type)

    @property
    def end_reason_label(self) -> str:
        return _label(Loan.End.choices, self.end_reason)


@dataclass(frozen=True)
class OpenOrderRow:
    pk: int
    number: str
    status: str
    patient_id: int | None
    unit_id: int
    urgent: bool
    registered_at: dt.datetime
    expected_on: dt.date

    @property
    def status_label(self) -> str:
        return _label(Order.Status.choices, self.status)


@dataclass(frozen=True)
class LossRow:
    pk: int
    article_name: str
    individual_number: str
    lost_on: dt.date
    unit_id: int  # the unit of the loan that was lost


@dataclass
class Holdings:
    patient: Patient
    active: list[HoldingRow] = field(default_factory=list)
    past: list[HoldingRow] = field(default_factory=list)
    hidden: int = 0  # loans of other providers the actor may not see (R39)
    blocked: bool = False  # and data under a block: only that it exists is said (R48)
    open_orders: list[OpenOrderRow] = field(default_factory=list)
    losses: list[LossRow] = field(default_factory=list)  # unfound, on owners shown (R39)
    # open, on owners shown (R39): the technicians' desk fills it (HOLDINGS_PARTS)
    work_orders: list[WorkOrderRow] = field(default_factory=list)
    late_inspections: set[int] = field(default_factory=set)  # items overdue for inspection


def holdings(*, actor: Actor, grant: PatientGrant) -> Holdings:
    """Every loan of the patient from every provider the actor may see, with where each came
    from; recorded as one read, plus a cross-provider read per other provider shown (R42)."""
    found = rows.patient_loan_rows(actor, grant, timezone.localdate())
    scope = found.scope
    result = Holdings(patient=grant.patient, hidden=found.hidden, blocked=found.blocked)
    for values in found.rows:
        row = HoldingRow(*[*values, values[_LOAN_PROVIDER] == scope.actor_provider_id])
        (result.active if row.ended_on is None else result.past).append(row)
    result.late_inspections = {
        row.item_id for row in result.active if row.item_id is not None and row.late_inspection
    }
    result.open_orders = [
        OpenOrderRow(*values) for values in rows.patient_open_order_rows(actor, grant, scope)
    ]
    result.losses = [LossRow(*values) for values in rows.patient_loss_rows(actor, grant, scope)]
    for part in HOLDINGS_PARTS:
        part(actor=actor, grant=grant, scope=scope, holdings=result)
    _record_holdings(
        actor,
        grant,
        scope,
        [(row.provider_id, row.unit_id) for row in (*result.active, *result.past)],
        hidden=result.hidden,
        blocked=result.blocked,
    )
    return result


_LOAN_PROVIDER = rows.LOAN_ROW.index("unit__provider_id")


def holdings_loans(*, actor: Actor, grant: PatientGrant) -> list[Loan]:
    """The loans of `holdings` (active first, newest first) as Loan objects with their article,
    item and unit, for the FHIR mapping; recorded as `holdings` records them."""
    found = rows.patient_loans(actor, grant, "article", "item", "unit__provider")
    _record_holdings(
        actor,
        grant,
        found.scope,
        [(loan.unit.provider_id, loan.unit_id) for loan in found.loans],
        hidden=found.hidden,
        blocked=found.blocked,
    )
    return [
        *(loan for loan in found.loans if loan.ended_on is None),
        *(loan for loan in found.loans if loan.ended_on is not None),
    ]


def _record_holdings(
    actor: Actor,
    grant: PatientGrant,
    scope: DataScope,
    owners: list[tuple[int, int]],
    *,
    hidden: int,
    blocked: bool,
) -> None:
    """One read of the holdings, plus a cross-provider read per other provider whose loans
    (`owners`: provider and unit of each loan shown) were shown (R42)."""
    shown: dict[int, set[int]] = {}
    for provider_id, unit_id in owners:
        shown.setdefault(provider_id, set()).add(unit_id)
    patient = grant.patient
    record(
        action=Action.HOLDINGS_VIEWED,
        actor=actor,
        patient_id=patient.pk,
        resource_type="orders.loan",
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
        owner_provider_id=scope.actor_provider_id,
        detail={"owners": sorted(shown), "hidden": hidden, "blocked": blocked},
    )
    for provider_id, unit_ids in sorted(shown.items()):
        if provider_id == scope.actor_provider_id:
            continue
        record(
            action=Action.PATIENT_CROSS_PROVIDER_READ,
            actor=actor,
            patient_id=patient.pk,
            resource_type="orders.loan",
            owner_provider_id=provider_id,
            owner_unit_id=next(iter(unit_ids)) if len(unit_ids) == 1 else None,
            legal_basis=scope.cross_provider_basis,
            legal_basis_ref=scope.cross_provider_ref,
            detail={"units": sorted(unit_ids)},
        )


def loans_for_pickup(*, actor: Actor, grant: PatientGrant) -> QuerySet[Loan]:
    """Open loans of the actor's provider that can be picked up (not sold, not already waiting)."""
    return (
        rows.provider_loans(actor, grant)
        .filter(ended_on__isnull=True)
        .exclude(billing_type="sale")
        .exclude(pickup_lines__status__in=[PickupLine.Status.WAITING, PickupLine.Status.COLLECTED])
        .select_related("article", "item")
        .distinct()
    )


@dataclass(frozen=True)
class ReturnLetter:
    """A letter asking for devices back (issue 16 point 6): to the patient, or to the estate."""

    patient: Patient
    reason: str  # korttid | behov | dodsbo
    loans: list[Loan]
    to_estate: bool
    protected: bool  # no address is printed: the unit hands it over


def return_letter(
    *, actor: Actor, grant: PatientGrant, reason: str, loan_id: int | None
) -> ReturnLetter:
    """The devices of the actor's provider that the patient (or the estate) is asked to return:
    one loan or every open one that is not sold; recorded as a read of the patient (R57) that
    produced a letter."""
    if not (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.ORDERS_HANDLE)):
        require(actor, Cap.ORDERS_PLACE)
    patient = grant.patient
    loans = (
        rows.provider_loans(actor, grant)
        .filter(ended_on__isnull=True)
        .exclude(billing_type="sale")
        .select_related("article", "item", "unit")
        .order_by("started_on", "pk")
    )
    if loan_id is not None:
        loans = loans.filter(pk=loan_id)
    found = list(loans)
    if loan_id is not None and not found:
        raise denied(actor, "orders.loan", loan_id, patient_id=patient.pk)
    record(
        action=Action.RETURN_LETTER_PRINTED,
        actor=actor,
        patient_id=patient.pk,
        resource_type="orders.loan",
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
        owner_provider_id=actor.unit.provider_id if actor.unit else None,
        owner_unit_id=actor.unit.pk if actor.unit else None,
        detail={"reason": reason, "loans": [loan.pk for loan in found]},
    )
    return ReturnLetter(
        patient=patient,
        reason=reason,
        loans=found,
        to_estate=patient.deceased_date is not None,
        protected=patient.is_protected,
    )


def loan_of(*, actor: Actor, grant: PatientGrant, loan_id: int) -> Loan:
    """One loan of the patient from the actor's provider, or a recorded 404 (R38)."""
    loan = (
        rows.provider_loans(actor, grant)
        .filter(pk=loan_id)
        .select_related("article", "item", "unit")
        .first()
    )
    if loan is None:
        raise denied(actor, "orders.loan", loan_id, patient_id=grant.patient.pk)
    return loan


# --- Orders ---------------------------------------------------------------------------------------


def orders_visible(actor: Actor) -> QuerySet[Order]:
    """The centre sees every order; a unit its own."""
    if not (
        can(actor, Cap.ORDERS_HANDLE)
        or can(actor, Cap.ORDERS_PLACE)
        or can(actor, Cap.ORDERS_PRESCRIBE)
    ):
        require(actor, Cap.ORDERS_PLACE)
    return rows.orders_for(actor).select_related("unit", "patient", "orderer", "store")


FREQUENT = 6
FREQUENT_DAYS = 365


def often_ordered(*, actor: Actor) -> list[Article]:
    """The articles the actor's unit has ordered most for its patients in the last year, still in
    the assortment: offered on the order page so that an everyday device is one press away
    (issue 16). Counts only; no patient is read."""
    since = timezone.localdate() - dt.timedelta(days=FREQUENT_DAYS)
    counted = (
        rows.unit_order_lines(actor, since)
        .exclude(status=OrderLine.Status.CANCELLED)
        .values("article_id")
        .annotate(n=Count("id"))
        .order_by("-n", "article_id")[: FREQUENT * 2]
    )
    ids = [row["article_id"] for row in counted]
    found = Article.objects.filter(pk__in=ids, in_assortment=True).select_related("iso_class")
    by_id = {a.pk: a for a in found}
    return [by_id[pk] for pk in ids if pk in by_id][:FREQUENT]


ORDER_PAGE = 50


@dataclass(frozen=True)
class OrderRow:
    """An order in the unit's (or the centre's) list, with whom it is for (issue 16: "Patient"
    alone told a prescriber nothing)."""

    order: Order
    patient_name: str  # "" for a store's refill, or where the name may not be shown
    patient_number: str
    name_hidden: bool  # a patient whose name is not shown here (R53–R55)


def order_list(*, actor: Actor, status: str, page: object) -> Window[OrderRow]:
    """The actor's orders, newest first, a page at a time, each with its patient's name and
    number. A protected patient's name, or a name behind a confidential address, shows only to
    the patient's named staff (R53–R55), as on the order page. Every patient named on the page
    is recorded as listed, on the order as the case (R57, R61)."""
    orders = orders_visible(actor)
    if status in Order.Status.values:
        orders = orders.filter(status=status)
    shown = window(orders.order_by("-registered_at", "-pk"), ORDER_PAGE, page)
    protected_ids = {
        o.patient_id for o in shown if o.patient is not None and o.patient.is_protected
    }
    named = (
        set(
            ProtectedStaff.objects.filter(
                user=actor.user, patient_id__in=protected_ids, ended_at__isnull=True
            ).values_list("patient_id", flat=True)
        )
        if protected_ids and actor.user is not None
        else set()
    )
    result: list[OrderRow] = []
    listed: dict[int, Order] = {}
    for order in shown:
        patient = order.patient
        if patient is None:
            result.append(OrderRow(order, "", "", False))
            continue
        visible = patient.pk in named or not (patient.is_protected or order.confidential_address)
        if visible:
            result.append(OrderRow(order, str(patient), patient.display_identifier, False))
            listed.setdefault(patient.pk, order)
        else:
            result.append(OrderRow(order, "", "", True))
    for patient_id, order in listed.items():
        record(
            action=Action.PATIENT_LISTED,
            actor=actor,
            patient_id=patient_id,
            resource_type="orders.order",
            resource_id=order.pk,
            legal_basis=LegalBasis.CASE,
            legal_basis_ref=f"order:{order.number}",
            owner_provider_id=order.unit.provider_id,
            owner_unit_id=order.unit_id,
            detail={"list": "orders"},
        )
    return Window(result, shown.number, shown.has_next)


def order_for(*, actor: Actor, order_id: int) -> Order:
    """An order the actor may see, recorded as a read of its patient (the centre's on the case),
    or the same 404 for missing and not allowed."""
    order = orders_visible(actor).filter(pk=order_id).first()
    if order is None:
        raise denied(actor, "orders.order", order_id)
    if order.patient_id is not None:
        record(
            action=Action.ORDER_VIEWED,
            actor=actor,
            target=order,
            patient_id=order.patient_id,
            legal_basis=LegalBasis.CASE,
            legal_basis_ref=f"order:{order.number}",
            owner_provider_id=order.unit.provider_id,
            owner_unit_id=order.unit_id,
        )
    return order


def orders_after(*, actor: Actor, after: int, size: int) -> Keyset[Order]:
    """The actor's orders (as `orders_visible`) with an id above `after`, ascending: the API's
    pages. Each patient an order on the page is for is recorded as listed, on the order as the
    case (R57), as on the order list page."""
    page = keyset(orders_visible(actor), after, size)
    _record_listed(actor, page.rows, "orders.order", "orders", "order")
    return page


def _record_listed(
    actor: Actor, rows: list[Order] | list[PickupOrder], resource_type: str, kind: str, case: str
) -> None:
    listed: dict[int, Order | PickupOrder] = {}
    for row in rows:
        if row.patient_id is not None:
            listed.setdefault(row.patient_id, row)
    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": patient_id,
                "resource_type": resource_type,
                "resource_id": row.pk,
                "legal_basis": LegalBasis.CASE,
                "legal_basis_ref": f"{case}:{row.number}",
                "owner_provider_id": row.unit.provider_id,
                "owner_unit_id": row.unit_id,
                "detail": {"list": kind},
            }
            for patient_id, row in listed.items()
        ]
    )


def order_lines(actor: Actor, order: Order) -> list[OrderLine]:
    return list(
        rows.lines_of(actor, order).select_related("article", "item", "substitute_for", "source")
    )


def order_attempts(actor: Actor, order: Order) -> list[DeliveryAttempt]:
    """The order's failed delivery attempts, oldest first (shown on the order's pages)."""
    return list(rows.attempts_of(actor, order).select_related("recorded_by"))


def order_receipts(actor: Actor, order: Order) -> list[Receipt]:
    """Who received each delivery of the order, with the signature or why there is none."""
    return list(rows.receipts_of(actor, order).select_related("recorded_by"))


# --- Pick lists (DOMAIN.md §3.2 point 5; R55) -------------------------------------------------


@dataclass(frozen=True)
class PickStop:
    order: Order
    lines: list[OrderLine]
    address: str  # "" for a confidential address: never printed on route lists (R55)


PICK_PAGE = 100  # stops on one page of the pick list


def picklist(*, actor: Actor, day: dt.date, area: str = "", page: int = 1) -> Window[PickStop]:
    """Orders to pick for delivery on or before `day`, by area, for the centre, `PICK_PAGE`
    stops a page (a whole nation's day on one page took seconds: issue 19). A protected
    patient's address is left out; each patient listed is recorded (on the case)."""
    require(actor, Cap.ORDERS_HANDLE)
    to_pick = [OrderLine.Status.RESERVED, OrderLine.Status.PICKED]
    orders = (
        rows.centre_orders(actor)
        .filter(status__in=Order.OPEN, expected_on__lte=day)
        .filter(pk__in=OrderLine.objects.filter(status__in=to_pick).values("order_id"))
        .select_related("unit", "patient", "store")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.filter(status__in=to_pick)
                .select_related("article", "item", "substitute_for", "source")
                .order_by("pk"),
                to_attr="lines_to_pick",
            )
        )
        # A protected address's orders last, in no postal-code order, and under no area: neither
        # their place on the list nor an area filter tells where the hidden address is (R55).
        .order_by("confidential_address", "postal_code", "expected_on", "pk")
    )
    if area:
        orders = orders.filter(postal_code__startswith=area[:3], confidential_address=False)
    found: Window[Any] = window(orders, PICK_PAGE, page)  # orders with `lines_to_pick`
    stops = []
    for order in found.object_list:
        if area and order.area != area:
            continue
        lines: list[OrderLine] = order.lines_to_pick
        address = (
            ""
            if order.confidential_address
            else ", ".join(
                p for p in (order.street, f"{order.postal_code} {order.city}".strip()) if p
            )
        )
        stops.append(PickStop(order, lines, address))
    record(
        action=Action.PICKLIST_PRINTED,
        actor=actor,
        detail={
            "day": day,
            "area": area,
            "page": found.number,
            "orders": [s.order.number for s in stops][:200],
        },
    )
    # One event per patient on the list, written together (a day's list is one statement).
    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": stop.order.patient_id,
                "legal_basis": LegalBasis.CASE,
                "legal_basis_ref": f"order:{stop.order.number}",
                "owner_provider_id": stop.order.unit.provider_id,
                "owner_unit_id": stop.order.unit_id,
                "detail": {"list": "picklist"},
            }
            for stop in stops
            if stop.order.patient_id is not None
        ]
    )
    return Window(stops, found.number, found.has_next)


TO_PICK = (OrderLine.Status.RESERVED, OrderLine.Status.PICKED)


def picks_due(*, actor: Actor, day: dt.date) -> QuerySet[Order]:
    """The centre's orders with lines to pick for delivery on or before `day` (overdue ones
    included), soonest first: what the pick list of `day` holds, unordered by area. Nothing of
    the patient is read."""
    return (
        rows.centre_orders(actor)
        .filter(status__in=Order.OPEN, expected_on__lte=day)
        .filter(pk__in=OrderLine.objects.filter(status__in=TO_PICK).values("order_id"))
        .order_by("expected_on", "pk")
    )


def picks_later(*, actor: Actor, day: dt.date) -> QuerySet[Order]:
    """The centre's orders with lines to pick that are due after `day`: shown under the pick
    list, so that an order due later is not hidden until the day is changed."""
    return (
        rows.centre_orders(actor)
        .filter(status__in=Order.OPEN, expected_on__gt=day)
        .filter(pk__in=OrderLine.objects.filter(status__in=TO_PICK).values("order_id"))
        .select_related("unit")
        .order_by("expected_on", "pk")
    )


def failed_deliveries(*, actor: Actor) -> QuerySet[Order]:
    """Open orders whose delivery failed (bomkörning), to be given a new delivery day: the
    centre's every one, a unit its own (through `rows.orders_for`)."""
    return (
        rows.orders_for(actor)
        .filter(status__in=Order.OPEN, failed_delivery=True)
        .order_by("expected_on", "pk")
    )


def pickups_open(*, actor: Actor, day: dt.date | None = None) -> list[PickupOrder]:
    """Pick-up orders to collect (by the collect-by day), for the centre."""
    require(actor, Cap.ORDERS_HANDLE)
    query = (
        rows.pickups_for(actor)
        .filter(status=PickupOrder.Status.REGISTERED)
        .select_related("patient", "unit")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=PickupLine.objects.filter(status=PickupLine.Status.WAITING)
                .select_related("loan__article", "loan__item")
                .order_by("pk"),
                to_attr="waiting",
            )
        )
    )
    if day is not None:
        query = query.filter(collect_by__lte=day)
    pickups: list[PickupOrder] = list(query.order_by("collect_by", "postal_code"))
    # Each patient shown in the list is recorded, as on the pick list (R57).
    for pickup in pickups:
        record(
            action=Action.PATIENT_LISTED,
            actor=actor,
            patient_id=pickup.patient_id,
            legal_basis=LegalBasis.CASE,
            legal_basis_ref=f"pickup:{pickup.number}",
            owner_provider_id=pickup.unit.provider_id,
            owner_unit_id=pickup.unit_id,
            detail={"list": "pickups"},
        )
    return pickups


def pickups_after(*, actor: Actor, after: int, size: int) -> Keyset[PickupOrder]:
    """The actor's pick-up orders (the unit's own; the centre's every one) with an id above
    `after`, ascending: the API's pages. Each patient on the page is recorded as listed (R57)."""
    if not (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.ORDERS_HANDLE)):
        require(actor, Cap.ORDERS_PLACE)
    page = keyset(rows.pickups_for(actor).select_related("unit"), after, size)
    _record_listed(actor, page.rows, "orders.pickuporder", "pickups", "pickup")
    return page


def pickup_for(*, actor: Actor, pickup_id: int) -> PickupOrder:
    """A pick-up order the actor may see, recorded as a read of its patient on the case; the
    same 404 for missing and not allowed (recorded, R38)."""
    pickup = rows.pickups_for(actor).filter(pk=pickup_id).select_related("unit").first()
    if pickup is None:
        raise denied(actor, "orders.pickuporder", pickup_id)
    record(
        action=Action.PICKUP_VIEWED,
        actor=actor,
        target=pickup,
        patient_id=pickup.patient_id,
        legal_basis=LegalBasis.CASE,
        legal_basis_ref=f"pickup:{pickup.number}",
        owner_provider_id=pickup.unit.provider_id,
        owner_unit_id=pickup.unit_id,
    )
    return pickup


def pickup_lines(pickup: PickupOrder) -> list[PickupLine]:
    """The lines of a pick-up order the actor was given by `pickup_for`."""
    return list(pickup.lines.order_by("pk"))


def returns_to_receive(*, actor: Actor) -> list[PickupLine]:
    require(actor, Cap.STOCK_MANAGE)
    return list(
        rows.pickup_lines_for(actor)
        .filter(status=PickupLine.Status.COLLECTED)
        .select_related("loan__article", "loan__item", "pickup")
        .order_by("pickup__collected_at", "pk")
    )


def reconditioning_queue(*, actor: Actor) -> list[Item]:
    require(actor, Cap.STOCK_VIEW)
    return list(
        Item.objects.filter(status=Item.Status.RECONDITIONING)
        .select_related("article", "location")
        .order_by("pk")
    )


# --- The condition of returned devices (issue 16 point 4) --------------------------------------


def condition_line(*, actor: Actor, line_id: int, stage: str) -> PickupLine:
    """A pick-up line whose device's condition is checked: at collection by the drivers, at
    receipt by the warehouse. Nothing of the patient is shown with it."""
    require(
        actor, Cap.STOCK_MANAGE if stage == ConditionReport.Stage.RECEIPT else Cap.ORDERS_HANDLE
    )
    line = (
        rows.pickup_lines_for(actor)
        .filter(pk=line_id)
        .select_related("loan__article__iso_class", "loan__item", "pickup")
        .first()
    )
    if line is None:
        raise denied(actor, "orders.pickupline", line_id)
    return line


def conditions_of_lines(*, actor: Actor, line_ids: list[int]) -> dict[int, list[ConditionReport]]:
    """The condition reports of pick-up lines, collection first, with their photos."""
    found: dict[int, list[ConditionReport]] = {}
    for report in (
        rows.condition_reports(actor)
        .filter(line_id__in=line_ids)
        .select_related("checked_by")
        .prefetch_related("photos")
        .order_by("line_id", "checked_at", "pk")
    ):
        found.setdefault(report.line_id, []).append(report)
    return found


def conditions_of_items(*, actor: Actor, items: list[Item]) -> dict[int, list[ConditionReport]]:
    """For each item, the condition reports of its latest return (collection, then receipt),
    with their photos: what the reconditioning technician reads first."""
    found: dict[int, list[ConditionReport]] = {}
    latest: dict[int, int] = {}
    for report in (
        rows.condition_reports(actor)
        .filter(line__loan__item_id__in=[item.pk for item in items])
        .select_related("checked_by", "line__loan")
        .prefetch_related("photos")
        .order_by("line_id", "checked_at", "pk")
    ):
        item_id = report.line.loan.item_id
        assert item_id is not None  # noqa: S101 - filtered on it
        if latest.get(item_id) != report.line_id:
            latest[item_id] = report.line_id
            found[item_id] = []
        found[item_id].append(report)
    return found


def condition_photo_for(*, actor: Actor, photo_id: int) -> ConditionPhoto:
    """A photo of a returned device, for the centre on the case, recorded as a read (R57)."""
    if not rows.may_see_conditions(actor):
        require(actor, Cap.STOCK_MANAGE)
        require(actor, Cap.ORDERS_HANDLE)
    photo = (
        rows.condition_photos(actor)
        .filter(pk=photo_id)
        .select_related("report__line__pickup__unit")
        .first()
    )
    if photo is None:
        raise denied(actor, "orders.conditionphoto", photo_id)
    pickup = photo.report.line.pickup
    record(
        action=Action.CONDITION_PHOTO_VIEWED,
        actor=actor,
        target=photo.report.line,
        patient_id=pickup.patient_id,
        legal_basis=LegalBasis.CASE,
        legal_basis_ref=f"pickup:{pickup.number}",
        owner_provider_id=pickup.unit.provider_id,
        owner_unit_id=pickup.unit_id,
        detail={"photo": photo.pk, "stage": photo.report.stage},
    )
    return photo


# --- The item card (individkort) ----------------------------------------------------------------


@dataclass(frozen=True)
class CardLoan:
    loan: Loan
    patient_label: str  # "" when the actor may not see who had it


@dataclass
class ItemCard:
    item: Item
    movements: list[StockMovement]
    loans: list[CardLoan]
    work: ItemWork | None = None  # work orders and inspections (the technicians' desk)
    # Each movement with its reference in words and a link where the actor may follow it.
    moves: list[tuple[StockMovement, Reference | None]] = field(default_factory=list)
    # Its reservations, newest first (issue 16 point 5): unit and day, never the patient's name.
    reservations: list[Reservation] = field(default_factory=list)


_ITEM_RELATED = ("article", "location")


def _item_by_number(number: str) -> QuerySet[Item, tuple[Any, ...]]:
    found = Item.objects.filter(individual_number=number)
    return found.values_list(*columns(Item, *_ITEM_RELATED))[:1]


_ITEM_BY_NUMBER = Prepared(_item_by_number)  # the card's item, compiled once (issue 19)


def item_card(*, actor: Actor, individual_number: str, session_ref: str = "") -> ItemCard:
    """An item's history: movements and loans, built by the access layer (R93). The centre's
    stock staff see every loan's unit; a care role only the loans of patients it has a legal route
    to, on data its scope shows (blocks, consent, protected identity: R39–R55). Each patient named
    is recorded with the route (R57). A patient named in several of its lists is decided once."""
    with one_decision_per_patient():
        return _item_card(actor, individual_number, session_ref)


def _item_card(actor: Actor, individual_number: str, session_ref: str) -> ItemCard:
    if not (can(actor, Cap.STOCK_VIEW) or can(actor, Cap.PATIENTS_VIEW)):
        require(actor, Cap.STOCK_VIEW)
    found = _ITEM_BY_NUMBER.rows(individual_number)
    item = instances(found, Item, *_ITEM_RELATED)[0] if found else None
    if item is None:
        raise denied(actor, "inventory.item", individual_number)
    history = rows.item_history(actor, item, session_ref)
    if not can(actor, Cap.STOCK_VIEW) and not history:
        # A care role sees the card of a device its own patients have had, no other.
        raise denied(actor, "inventory.item", individual_number)
    loans = []
    for entry in history:
        loan = entry.loan
        label = f"{loan.patient} ({loan.patient.display_identifier})" if entry.patient_shown else ""
        loans.append(CardLoan(loan, label))
    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": entry.loan.patient_id,
                "resource_type": "orders.loan",
                "resource_id": entry.loan.pk,
                "legal_basis": entry.basis,
                "legal_basis_ref": entry.basis_ref,
                "owner_provider_id": entry.loan.unit.provider_id,
                "owner_unit_id": entry.loan.unit_id,
                "detail": {"list": "item_card", "item": item.individual_number},
            }
            for entry in history
            if entry.patient_shown
        ]
        + [{"action": Action.ITEM_VIEWED, "actor": actor, "target": item}]
    )
    movements = rows.item_movement_list(actor, item)
    references = movement_references(actor, movements)
    held = rows.item_reservations(actor, item)
    # None for a role that sees none: not even compiled (the ORM compiles an empty query too).
    reservations = (
        []
        if held.query.is_empty()
        else list(
            held.select_related("unit", "created_by", "patient").order_by("-created_at", "-pk")[:20]
        )
    )
    card = ItemCard(
        item,
        movements,
        loans,
        None,
        [(move, references.get(move.pk)) for move in movements],
        reservations,
    )
    for part in ITEM_CARD_PARTS:
        part(actor=actor, card=card, session_ref=session_ref)
    return card


# --- Buffer stores (DOMAIN.md §3.3) --------------------------------------------------------------


def refill_needs(store: StockLocation) -> list[RefillNeed]:
    """For each article with a safety level in the store: what is there, what is on its way in
    open store orders, and what the next delivery should bring."""
    needs = []
    levels = BufferLevel.objects.filter(location=store).select_related("article")
    for level in levels.order_by("article__article_number"):
        article = level.article
        if article.tracked:
            on_hand = Item.objects.filter(
                article=article, location=store, status=Item.Status.IN_STOCK
            ).count()
        else:
            stock_level = StockLevel.objects.filter(article=article, location=store).first()
            on_hand = stock_level.quantity if stock_level else 0
        on_the_way = (
            rows.article_lines(article.pk)
            .filter(
                order__store=store,
                status__in=[
                    OrderLine.Status.RESERVED,
                    OrderLine.Status.BACKORDERED,
                    OrderLine.Status.PICKED,
                ],
            )
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        needs.append(RefillNeed(article, level.safety_level, on_hand, int(on_the_way)))
    return needs


def stores_visible(actor: Actor) -> QuerySet[StockLocation]:
    """Buffer stores: the centre sees all, a unit its own."""
    base = StockLocation.objects.filter(kind=StockLocation.Kind.BUFFER, active=True)
    if can(actor, Cap.STOCK_VIEW) or can(actor, Cap.ORDERS_HANDLE):
        return base.select_related("unit")
    if actor.unit is None:
        return base.none()
    return base.filter(unit=actor.unit).select_related("unit")


@dataclass(frozen=True)
class StoreLine:
    """What a buffer store holds of one article: the free items (tracked) or the free quantity."""

    store: StockLocation
    article: Article
    items: list[Item]
    free: int


def store_contents(*, actor: Actor) -> list[StoreLine]:
    """The free contents of the actor's unit's buffer stores, for the withdrawal page to pick
    from (issue 16): tracked articles with their free items' numbers, others with the quantity.
    Stock, not patient data: nothing is recorded."""
    if actor.unit is None:
        return []
    stores = list(stores_visible(actor).filter(unit=actor.unit).order_by("name", "pk"))
    if not stores:
        return []
    items = (
        Item.objects.filter(
            location__in=stores, status=Item.Status.IN_STOCK, out_of_use_since__isnull=True
        )
        .select_related("article", "location")
        .order_by("article__name", "individual_number")[:500]
    )
    grouped: dict[tuple[int, int], list[Item]] = {}
    for item in items:
        grouped.setdefault((item.location_id or 0, item.article_id), []).append(item)
    by_store = {store.pk: store for store in stores}
    lines = [
        StoreLine(by_store[store_id], found[0].article, found, len(found))
        for (store_id, _article), found in grouped.items()
    ]
    levels = (
        StockLevel.objects.filter(location__in=stores, quantity__gt=F("reserved"))
        .select_related("article", "location")
        .order_by("article__name")[:200]
    )
    lines += [
        StoreLine(by_store[level.location_id], level.article, [], level.available)
        for level in levels
    ]
    return sorted(lines, key=lambda line: (line.store.name, line.article.name))


# --- Recall (field safety notice) --------------------------------------------------------------


@dataclass(frozen=True)
class RecallRow:
    item: Item
    loan: Loan | None
    unit_name: str
    patient_label: str  # "" where the actor may not see the patient: the unit is contacted


def recall_list(
    *,
    actor: Actor,
    article: Article,
    batch: str = "",
    serial_from: str = "",
    serial_to: str = "",
    session_ref: str = "",
) -> list[RecallRow]:
    """Every current holder of an article (optionally one batch or a serial-number range): the
    holding unit always, the patient only where the actor may open them (R35); each patient
    named is recorded, and so is the list."""
    require(actor, Cap.RECALL)
    items = Item.objects.filter(article=article).exclude(status=Item.Status.SCRAPPED)
    if batch.strip():
        items = items.filter(batch=batch.strip())
    low, high = serial_from.strip(), serial_to.strip()
    if low or high:
        # Serial numbers are compared as people read them ("SN-9" before "SN-10"), not as text,
        # so that a range never misses a device; the article's serials are few enough to sort here.
        inside = [
            pk
            for pk, serial in items.values_list("pk", "serial_number")
            if serial_in_range(serial, low, high)
        ]
        items = items.filter(pk__in=inside)
    items = items.select_related("location__unit").order_by("serial_number", "individual_number")
    open_loans = rows.open_loans_of_items(actor, items.values("pk"), session_ref)
    result = []
    for item in items:
        entry = open_loans.get(item.pk)
        if entry is not None:
            loan = entry.loan
            label = (
                f"{loan.patient} ({loan.patient.display_identifier})" if entry.patient_shown else ""
            )
            result.append(RecallRow(item, loan, loan.unit.name, label))
            if entry.patient_shown:
                record(
                    action=Action.PATIENT_LISTED,
                    actor=actor,
                    patient_id=loan.patient_id,
                    resource_type="orders.loan",
                    resource_id=loan.pk,
                    legal_basis=entry.basis,
                    legal_basis_ref=entry.basis_ref,
                    owner_provider_id=loan.unit.provider_id,
                    owner_unit_id=loan.unit_id,
                    detail={"list": "recall", "article": article.article_number},
                )
        else:
            place = item.location.unit.name if item.location else ""
            result.append(RecallRow(item, None, place, ""))
    record(
        action=Action.RECALL_LISTED,
        actor=actor,
        target=article,
        detail={
            "batch": batch.strip(),
            "serial_from": serial_from.strip(),
            "serial_to": serial_to.strip(),
            "items": len(result),
            "with_patients": sum(1 for r in result if r.loan is not None),
        },
    )
    return result


def today() -> dt.date:
    return timezone.localdate()


def open_lines_for(article: Article) -> QuerySet[OrderLine]:
    return (
        rows.article_lines(article.pk)
        .filter(
            article=article,
            status__in=[OrderLine.Status.RESERVED, OrderLine.Status.PICKED],
        )
        .filter(~Q(order__status=Order.Status.CANCELLED))
    )
