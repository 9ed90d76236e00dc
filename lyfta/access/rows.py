"""The one way to rows linked to a patient (R93; docs/decisions/0003-access-by-construction.md).

Every model whose rows name a patient (loans, orders and their lines, pick-ups and their lines,
loss reports, prescriptions, stock movements) has `PatientLinkedManager` as its default manager.
Its querysets refuse to be evaluated unless this module built them: `_route` names the legal route
the rows were selected on, and a queryset without one raises `UnscopedRead` when it is iterated,
counted, tested or aggregated. Filtering, ordering and slicing a routed queryset keep the route; a
fresh `Loan.objects…` does not have one, nor does a reverse relation such as `item.loans`.

Code that writes (services, jobs, seeds, management commands) reads the rows it changes through the
model's second manager, `unscoped`; `lyfta/core/tests/test_r93_access_by_construction.py` fails
the build when `unscoped` (or raw SQL on these tables) appears in a module that renders or returns
rows to a user: views, selectors, forms, templates tags, the API.

The builders below pick the rows from the actor and, where there is one, the grant and its data
scope (R39–R49); the selectors that call them record the read (R57, R61)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from lyfta.access import patients as access
from lyfta.access.actor import Actor
from lyfta.access.guard import _PREFETCHING, PatientLinkedQuerySet, UnscopedRead
from lyfta.access.patients import DataScope, Denial, PatientGrant
from lyfta.access.policies import can
from lyfta.access.prepared import Prepared, columns, instances
from lyfta.access.roles import Cap

if TYPE_CHECKING:
    from lyfta.billing.models import BillingLine, PatientHousing
    from lyfta.inventory.models import Item, Reservation, StockMovement
    from lyfta.orders.models import (
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
    from lyfta.patients.models import Patient
    from lyfta.quality.models import (
        Campaign,
        CampaignDevice,
        Complaint,
        Deviation,
        IncidentReport,
    )
    from lyfta.workorders.models import Inspection, ItemInspection, WorkOrder

M = TypeVar("M", bound=models.Model)

__all__ = ["UnscopedRead", "PatientLinkedQuerySet"]


def _routed(queryset: models.QuerySet[M], route: str) -> models.QuerySet[M]:
    """Mark `queryset` as built here on `route` (only this module calls it)."""
    if isinstance(queryset, PatientLinkedQuerySet):
        queryset = queryset._clone()
        queryset._route = route or "route"
    return queryset


@contextmanager
def trusted_prefetch() -> Iterator[None]:
    """Let code in this module fetch relatives of rows it has already chosen."""
    token = _PREFETCHING.set(True)
    try:
        yield
    finally:
        _PREFETCHING.reset(token)


# --- The data scope as SQL ------------------------------------------------------------------


def scope_q(scope: DataScope, provider: str, unit: str, day: str | None) -> Q:
    """The rows whose owner (`provider`, `unit` field paths, dated by `day`) the scope shows: the
    same rule as `DataScope.visible`, as a condition the database applies (R39–R49)."""
    condition = Q() if scope.cross_provider_basis else Q(**{provider: scope.actor_provider_id})
    for block in (*scope.internal_blocks, *scope.external_blocks):
        if block.pk in scope.lifted_blocks:
            continue
        blocked = Q(**{provider: block.owner_provider_id})
        if block.owner_unit_id is not None:
            blocked &= Q(**{unit: block.owner_unit_id})
        if day is not None and block.info_from:
            blocked &= Q(**{f"{day}__gte": block.info_from})
        if day is not None and block.info_until:
            blocked &= Q(**{f"{day}__lte": block.info_until})
        if block.scope == block.Scope.INTERNAL:
            blocked &= ~Q(**{unit: scope.actor_unit_id})
        elif block.owner_provider_id == scope.actor_provider_id:
            continue
        condition &= ~blocked
    return condition


# --- One patient's rows, on a grant ---------------------------------------------------------


@dataclass
class PatientLoans:
    loans: list[Loan]
    scope: DataScope
    hidden: int  # other providers' loans, not shown for want of consent or emergency (R39)
    blocked: bool = False  # some are under a block: that they exist is all that is said (R48)


def patient_loans(actor: Actor, grant: PatientGrant, *related: str) -> PatientLoans:
    """The patient's loans (newest first) from every owner the grant's data scope shows, and how
    many others exist, for the notice that some are hidden (R39)."""
    from lyfta.orders.models import Loan

    scope = access.data_scope(actor, grant)
    everything = _routed(Loan.objects.filter(patient=grant.patient), grant.basis)
    shown, hidden, blocked = [], 0, False
    for loan in everything.select_related("unit", *related).order_by("-started_on", "-pk"):
        if scope.visible(loan.unit.provider_id, loan.unit_id, loan.started_on):
            shown.append(loan)
        elif scope.blocked(loan.unit.provider_id, loan.unit_id, loan.started_on):
            blocked = True
        else:
            hidden += 1
    return PatientLoans(shown, scope, hidden, blocked)


def waiting_pickup_loans(actor: Actor, grant: PatientGrant, loan_ids: list[int]) -> set[int]:
    """Which of `loan_ids` (already shown to the actor) wait for a pick-up."""
    from lyfta.orders.models import PickupLine

    lines = PickupLine.objects.filter(
        loan_id__in=loan_ids, loan__patient=grant.patient, status=PickupLine.Status.WAITING
    )
    return set(_routed(lines, grant.basis).values_list("loan_id", flat=True))


def provider_loans(
    actor: Actor, grant: PatientGrant, scope: DataScope | None = None
) -> models.QuerySet[Loan]:
    """The patient's loans from the actor's own provider (what it may pick up or report lost)."""
    from lyfta.orders.models import Loan

    if actor.unit is None:
        raise Http404
    loans = Loan.objects.filter(patient=grant.patient, unit__provider_id=actor.unit.provider_id)
    scope = scope or access.data_scope(actor, grant)
    visible = loans.filter(scope_q(scope, "unit__provider_id", "unit_id", "started_on"))
    return _routed(visible, grant.basis)


def patient_open_orders(
    actor: Actor, grant: PatientGrant, scope: DataScope | None = None
) -> models.QuerySet[Order]:
    """The patient's open orders from the actor's provider."""
    from lyfta.orders.models import Order

    if actor.unit is None:
        raise Http404
    orders = Order.objects.filter(
        patient=grant.patient, status__in=Order.OPEN, unit__provider_id=actor.unit.provider_id
    )
    scope = scope or access.data_scope(actor, grant)
    visible = orders.filter(scope_q(scope, "unit__provider_id", "unit_id", None))
    return _routed(visible, grant.basis)


def patient_losses(
    actor: Actor, grant: PatientGrant, scope: DataScope | None = None
) -> models.QuerySet[LossReport]:
    """The patient's unfound losses, from owners the data scope shows (R39–R49)."""
    from lyfta.orders.models import LossReport

    scope = scope or access.data_scope(actor, grant)
    losses = LossReport.objects.filter(loan__patient=grant.patient, found_at__isnull=True).filter(
        scope_q(scope, "loan__unit__provider_id", "loan__unit_id", "loan__started_on")
    )
    return _routed(losses, grant.basis)


# --- One patient's holdings as tuples (issue 19 point 5) ----------------------------------------
#
# The holdings page lists every loan, open order, unfound loss and open work order of a patient:
# read as tuples of the columns it shows, not as model objects, and compiled once (`Prepared`).
# A scope with blocks (rare) is built by the ORM with `scope_q` each time; without blocks,
# `scope_q` is the provider rule alone, which the compiled reads apply themselves.

LOAN_ROW = (
    "pk",
    "article_id",
    "article__name",
    "article__article_number",
    "article__iso_class__code",
    "item_id",
    "item__individual_number",
    "item__out_of_use_since",
    "quantity",
    "billing_type",
    "started_on",
    "expected_end",
    "rent_stop_on",
    "ended_on",
    "end_reason",
    "unit_id",
    "unit__name",
    "unit__provider_id",
    "unit__provider__short_name",
    "order_line__order_id",
    "waiting_pickup",  # a pick-up order waits for it
    "late_inspection",  # its item is overdue for an inspection
)
OPEN_ORDER_ROW = (
    "pk",
    "number",
    "status",
    "patient_id",
    "unit_id",
    "urgent",
    "registered_at",
    "expected_on",
)
LOSS_ROW = ("pk", "item__article__name", "item__individual_number", "lost_on", "loan__unit_id")
WORK_ORDER_ROW = (
    "pk",
    "number",
    "kind",
    "status",
    "unit_id",
    "item_id",
    "item__article__name",
    "item__individual_number",
    "done_due",
)
_LOAN_PROVIDER, _LOAN_UNIT, _LOAN_STARTED = (
    LOAN_ROW.index(name) for name in ("unit__provider_id", "unit_id", "started_on")
)


def _loan_rows(patient_id: int, today: dt.date) -> models.QuerySet[Loan, tuple[Any, ...]]:
    from lyfta.orders.models import Loan, PickupLine
    from lyfta.workorders.models import ItemInspection

    waiting = PickupLine.objects.filter(loan=OuterRef("pk"), status=PickupLine.Status.WAITING)
    late = ItemInspection.objects.filter(item=OuterRef("item_id"), next_due__lt=today)
    loans = Loan.objects.filter(patient_id=patient_id).annotate(
        waiting_pickup=Exists(waiting), late_inspection=Exists(late)
    )
    return _routed(loans, "grant").order_by("-started_on", "-pk").values_list(*LOAN_ROW)


def _open_order_rows(patient_id: int, provider_id: int) -> models.QuerySet[Order, tuple[Any, ...]]:
    from lyfta.orders.models import Order

    orders = Order.objects.filter(
        patient_id=patient_id, status__in=Order.OPEN, unit__provider_id=provider_id
    )
    return _routed(orders, "grant").order_by("-registered_at").values_list(*OPEN_ORDER_ROW)


def _loss_rows(patient_id: int, *provider_id: int) -> models.QuerySet[LossReport, tuple[Any, ...]]:
    from lyfta.orders.models import LossReport

    losses = LossReport.objects.filter(loan__patient_id=patient_id, found_at__isnull=True)
    if provider_id:  # the shape "own": only the actor's provider's (no cross-provider route)
        losses = losses.filter(loan__unit__provider_id=provider_id[0])
    return _routed(losses, "grant").values_list(*LOSS_ROW)


def _work_order_rows(
    patient_id: int, *provider_id: int
) -> models.QuerySet[WorkOrder, tuple[Any, ...]]:
    from lyfta.workorders.models import WorkOrder

    found = WorkOrder.objects.filter(patient_id=patient_id, status__in=WorkOrder.OPEN)
    if provider_id:
        found = found.filter(unit__provider_id=provider_id[0])
    return _routed(found, "grant").order_by("done_due", "pk").values_list(*WORK_ORDER_ROW)


_LOAN_ROWS = Prepared(_loan_rows)
_OPEN_ORDER_ROWS = Prepared(_open_order_rows)
_LOSS_ROWS = Prepared(_loss_rows)
_WORK_ORDER_ROWS = Prepared(_work_order_rows)


def _has_blocks(scope: DataScope) -> bool:
    return bool(scope.internal_blocks or scope.external_blocks)


def _own_provider(scope: DataScope) -> tuple[int, ...]:
    """The provider argument of a read over every owner: none on a cross-provider route."""
    return () if scope.cross_provider_basis else (scope.actor_provider_id,)


@dataclass
class PatientLoanRows:
    rows: list[tuple[Any, ...]]  # LOAN_ROW's columns, newest first
    scope: DataScope
    hidden: int  # other providers' loans, not shown for want of consent or emergency (R39)
    blocked: bool = False  # some are under a block: that they exist is all that is said (R48)


def patient_loan_rows(actor: Actor, grant: PatientGrant, today: dt.date) -> PatientLoanRows:
    """`patient_loans` as tuples, with whether each waits for a pick-up and whether its item is
    overdue for an inspection on `today`: the same loans shown, hidden and blocked."""
    scope = access.data_scope(actor, grant)
    shown, hidden, blocked = [], 0, False
    for row in _LOAN_ROWS.rows(grant.patient.pk, today):
        owner = (row[_LOAN_PROVIDER], row[_LOAN_UNIT], row[_LOAN_STARTED])
        if scope.visible(*owner):
            shown.append(row)
        elif scope.blocked(*owner):
            blocked = True
        else:
            hidden += 1
    return PatientLoanRows(shown, scope, hidden, blocked)


def patient_open_order_rows(
    actor: Actor, grant: PatientGrant, scope: DataScope
) -> list[tuple[Any, ...]]:
    """`patient_open_orders`, newest first, as tuples of OPEN_ORDER_ROW."""
    if actor.unit is None:
        raise Http404
    if _has_blocks(scope):
        found = patient_open_orders(actor, grant, scope).order_by("-registered_at")
        return list(found.values_list(*OPEN_ORDER_ROW))
    return _OPEN_ORDER_ROWS.rows(grant.patient.pk, actor.unit.provider_id)


def patient_loss_rows(actor: Actor, grant: PatientGrant, scope: DataScope) -> list[tuple[Any, ...]]:
    """`patient_losses` as tuples of LOSS_ROW."""
    if _has_blocks(scope):
        return list(patient_losses(actor, grant, scope).values_list(*LOSS_ROW))
    own = _own_provider(scope)
    return _LOSS_ROWS.rows(grant.patient.pk, *own, shape=len(own))


def patient_work_order_rows(
    actor: Actor, grant: PatientGrant, scope: DataScope
) -> list[tuple[Any, ...]]:
    """The patient's open work orders from owners the data scope shows (`patient_work_orders`),
    by due day, as tuples of WORK_ORDER_ROW."""
    from lyfta.workorders.models import WorkOrder

    if _has_blocks(scope):
        found = patient_work_orders(actor, grant, scope).filter(status__in=WorkOrder.OPEN)
        return list(found.order_by("done_due", "pk").values_list(*WORK_ORDER_ROW))
    own = _own_provider(scope)
    return _WORK_ORDER_ROWS.rows(grant.patient.pk, *own, shape=len(own))


# --- Work lists: the unit's own, or the centre's on the case ---------------------------------


def _protected_not_named(actor: Actor, patient: str) -> Q:
    """Rows of a protected patient for whom the actor is not named staff: a unit's own orders,
    pick-ups and losses of such a patient are for the named staff only (R54)."""
    return _protected_not_named_of(actor.user.pk if actor.user else None, patient)


def _protected_not_named_of(user_id: int | None, patient: str) -> Q:
    from lyfta.patients.models import Patient, ProtectedStaff

    named = ProtectedStaff.objects.filter(user=user_id, ended_at__isnull=True).values("patient")
    # The few protected patients the user is not named for, as a list the database reads once
    # (the `patient_protected` partial index) and tests each row's own patient id against: a
    # condition on the patient's columns joined every row to its patient (a unit's work orders
    # or lent devices counted on its start page: tens of thousands of joins at national size).
    unnamed = Patient.objects.exclude(protection="").exclude(pk__in=named).values("pk")
    # Rows without a patient (a buffer store's refill order, a stock item's repair) are the
    # unit's own: without the first term the negation would match them too and hide them.
    return Q(**{f"{patient}__isnull": False}) & Q(**{f"{patient}__in": unnamed})


def orders_for(actor: Actor) -> models.QuerySet[Order]:
    """The orders the actor may see: the centre every order (on the case it handles), a unit its
    own; nobody else any."""
    return _orders_on(_orders_route(actor), *_unit_and_user(actor))


def _orders_route(actor: Actor) -> str:
    if can(actor, Cap.ORDERS_HANDLE):
        return "case"
    if (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.ORDERS_PRESCRIBE)) and actor.unit:
        return "unit"
    return "none"


def _unit_and_user(actor: Actor) -> tuple[int | None, int | None]:
    return (actor.unit.pk if actor.unit else None, actor.user.pk if actor.user else None)


def _orders_on(route: str, unit_id: int | None, user_id: int | None) -> models.QuerySet[Order]:
    """`orders_for` on its route ("case", "unit" or "none") from the unit's and user's ids."""
    from lyfta.orders.models import Order

    base = Order.objects.all()
    if route == "case":
        return _routed(base, "case")
    if route == "unit":
        own = base.filter(unit=unit_id).exclude(_protected_not_named_of(user_id, "patient"))
        return _routed(own, "unit")
    return _routed(base.none(), "none")


def _order_numbers_case(numbers: list[str]) -> models.QuerySet[Order, tuple[Any, ...]]:
    return _orders_on("case", None, None).filter(number__in=numbers).values_list("number", "pk")


def _order_numbers_unit(
    unit_id: int, user_id: int | None, numbers: list[str]
) -> models.QuerySet[Order, tuple[Any, ...]]:
    found = _orders_on("unit", unit_id, user_id).filter(number__in=numbers)
    return found.values_list("number", "pk")


_ORDER_NUMBERS = {"case": Prepared(_order_numbers_case), "unit": Prepared(_order_numbers_unit)}


def order_numbers(actor: Actor, numbers: set[str]) -> list[tuple[str, int]]:
    """(number, id) of the orders among `numbers` that `orders_for` gives the actor (an item
    card's references), compiled once per route and count."""
    route = _orders_route(actor)
    if route == "case":
        return _ORDER_NUMBERS["case"].rows(numbers)
    if route == "unit":
        return _ORDER_NUMBERS["unit"].rows(*_unit_and_user(actor), numbers)
    return []


def lines_of(actor: Actor, order: Order) -> models.QuerySet[OrderLine]:
    """The lines of an order the actor was given by `orders_for`."""
    from lyfta.orders.models import OrderLine

    if not orders_for(actor).filter(pk=order.pk).exists():
        raise Http404
    return _routed(OrderLine.objects.filter(order=order), "order")


def patient_order_lines(actor: Actor, grant: PatientGrant) -> models.QuerySet[OrderLine]:
    """The lines of the patient's orders that the actor may see (`orders_for`: a unit its own),
    once the grant has opened the patient: the FHIR DeviceRequest and DeviceDispense searches."""
    from lyfta.orders.models import OrderLine

    orders = orders_for(actor).filter(patient=grant.patient)
    return _routed(OrderLine.objects.filter(order__in=orders.values("pk")), grant.basis)


def attempts_of(actor: Actor, order: Order) -> models.QuerySet[DeliveryAttempt]:
    """The failed delivery attempts of an order the actor was given by `orders_for`."""
    from lyfta.orders.models import DeliveryAttempt

    if not orders_for(actor).filter(pk=order.pk).exists():
        raise Http404
    return _routed(DeliveryAttempt.objects.filter(order=order), "order")


def receipts_of(actor: Actor, order: Order) -> models.QuerySet[Receipt]:
    """The delivery receipts of an order the actor was given by `orders_for`."""
    from lyfta.orders.models import Receipt

    if not orders_for(actor).filter(pk=order.pk).exists():
        raise Http404
    return _routed(Receipt.objects.filter(order=order), "order")


def centre_orders(actor: Actor) -> models.QuerySet[Order]:
    """Every order, for the centre's logistics on the case (pick lists, deliveries)."""
    from lyfta.orders.models import Order

    if not can(actor, Cap.ORDERS_HANDLE):
        return _routed(Order.objects.none(), "none")
    return _routed(Order.objects.all(), "case")


def centre_order_lines(actor: Actor) -> models.QuerySet[OrderLine]:
    from lyfta.orders.models import OrderLine

    if not can(actor, Cap.ORDERS_HANDLE):
        return _routed(OrderLine.objects.none(), "none")
    return _routed(OrderLine.objects.all(), "case")


def pickups_for(actor: Actor) -> models.QuerySet[PickupOrder]:
    """Pick-up orders: the centre's (it collects them) or the unit's own."""
    return _pickups_on(_pickups_route(actor), *_unit_and_user(actor))


def _pickups_route(actor: Actor) -> str:
    if can(actor, Cap.ORDERS_HANDLE):
        return "case"
    if can(actor, Cap.ORDERS_PLACE) and actor.unit is not None:
        return "unit"
    return "none"


def _pickups_on(
    route: str, unit_id: int | None, user_id: int | None
) -> models.QuerySet[PickupOrder]:
    from lyfta.orders.models import PickupOrder

    if route == "case":
        return _routed(PickupOrder.objects.all(), "case")
    if route == "unit":
        own = PickupOrder.objects.filter(unit=unit_id)
        return _routed(own.exclude(_protected_not_named_of(user_id, "patient")), "unit")
    return _routed(PickupOrder.objects.none(), "none")


def _pickup_numbers_case(ids: list[int]) -> models.QuerySet[PickupOrder, tuple[Any, ...]]:
    return _pickups_on("case", None, None).filter(pk__in=ids).values_list("pk", "number")


def _pickup_numbers_unit(
    unit_id: int, user_id: int | None, ids: list[int]
) -> models.QuerySet[PickupOrder, tuple[Any, ...]]:
    return _pickups_on("unit", unit_id, user_id).filter(pk__in=ids).values_list("pk", "number")


_PICKUP_NUMBERS = {"case": Prepared(_pickup_numbers_case), "unit": Prepared(_pickup_numbers_unit)}


def pickup_numbers(actor: Actor, ids: set[int]) -> dict[int, str]:
    """The numbers of the pick-up orders among `ids` that `pickups_for` gives the actor (an item
    card's references), compiled once per route and count."""
    route = _pickups_route(actor)
    if route == "case":
        return dict(_PICKUP_NUMBERS["case"].rows(ids))
    if route == "unit":
        return dict(_PICKUP_NUMBERS["unit"].rows(*_unit_and_user(actor), ids))
    return {}


def pickup_lines_for(actor: Actor) -> models.QuerySet[PickupLine]:
    """Pick-up lines for the centre: collecting and receiving returns."""
    from lyfta.orders.models import PickupLine

    if not (can(actor, Cap.ORDERS_HANDLE) or can(actor, Cap.STOCK_MANAGE)):
        return _routed(PickupLine.objects.none(), "none")
    return _routed(PickupLine.objects.all(), "case")


def losses_for(actor: Actor) -> models.QuerySet[LossReport]:
    """Loss reports the actor may act on: the centre's stock staff every one, a unit its own."""
    from lyfta.orders.models import LossReport

    if can(actor, Cap.STOCK_MANAGE):
        return _routed(LossReport.objects.all(), "case")
    if actor.unit is not None and can(actor, Cap.ORDERS_PLACE):
        own = LossReport.objects.filter(loan__unit=actor.unit)
        return _routed(own.exclude(_protected_not_named(actor, "loan__patient")), "unit")
    return _routed(LossReport.objects.none(), "none")


def article_lines(article_id: int) -> models.QuerySet[OrderLine]:
    """An article's order lines, for stock planning: only counts and sums are read from them
    (what is on its way to a store, what is reserved), never a patient."""
    from lyfta.orders.models import OrderLine

    return _routed(OrderLine.objects.filter(article_id=article_id), "stock")


def unit_order_lines(actor: Actor, since: dt.date) -> models.QuerySet[OrderLine]:
    """The lines of the actor's unit's own patient orders since `since`, for the order page's
    "often ordered here" list: only article ids and counts are read from them, never a patient."""
    from lyfta.orders.models import OrderLine

    if actor.unit is None or not can(actor, Cap.ORDERS_PRESCRIBE):
        return _routed(OrderLine.objects.none(), "none")
    lines = OrderLine.objects.filter(
        order__unit=actor.unit, order__patient__isnull=False, order__registered_at__date__gte=since
    )
    return _routed(lines, "unit")


# --- A device's history (the item card) and recalls ----------------------------------------


@dataclass(frozen=True)
class HistoryLoan:
    loan: Loan
    patient_shown: bool  # the actor has a legal route to the patient and the owner's data
    basis: str = ""
    basis_ref: str = ""


def _patient_visible(
    actor: Actor,
    patient: Patient,
    owner_provider_id: int,
    owner_unit_id: int,
    day: dt.date | None,
    session_ref: str,
) -> tuple[bool, str, str]:
    """Whether the actor may see that `patient` had data with this owner: a legal route to the
    patient (R32, R54) and the owner's data within its data scope (R39–R49)."""
    if actor.unit is None or actor.user is None:
        return False, "", ""
    grant = access.grant_for(actor, patient, session_ref)
    if isinstance(grant, Denial):
        return False, "", ""
    scope = access.data_scope(actor, grant)
    if not scope.visible(owner_provider_id, owner_unit_id, day):
        return False, "", ""
    if owner_provider_id != scope.actor_provider_id:
        return True, scope.cross_provider_basis, scope.cross_provider_ref
    return True, grant.basis, grant.basis_ref


def item_history(actor: Actor, item: Item, session_ref: str) -> list[HistoryLoan]:
    """The item's loans, oldest first. The centre's stock staff see every loan's unit and no
    patient; a care role sees only the loans of patients it has a legal route to, on data it may
    see, and nothing of the others (R93)."""
    from lyfta.orders.models import Loan

    with trusted_prefetch():
        loans = instances(_ITEM_LOANS.rows(item.pk), Loan, "patient", "unit")
    access.decide_together(actor, {loan.patient_id for loan in loans}, session_ref)
    rows = []
    for loan in loans:
        shown, basis, ref = _patient_visible(
            actor, loan.patient, loan.unit.provider_id, loan.unit_id, loan.started_on, session_ref
        )
        if shown or can(actor, Cap.STOCK_VIEW):
            rows.append(HistoryLoan(loan, shown, basis, ref))
    return rows


def item_read_only(actor: Actor, history: list[HistoryLoan]) -> bool:
    """Whether what `item_history` shows the actor rests on a route that gives read access only
    (an emergency, R50), so that nothing may be written about it (a deviation from the item
    card): the patient of the open loan is shown on such a route, or, for an actor who does not
    see every item's card, every loan shown is."""
    current = next((h for h in reversed(history) if h.loan.ended_on is None), None)
    if current is not None and current.patient_shown and current.basis in access.READ_ONLY_BASES:
        return True
    if can(actor, Cap.STOCK_VIEW):
        return False
    shown = [h for h in history if h.patient_shown]
    return bool(shown) and all(h.basis in access.READ_ONLY_BASES for h in shown)


def _item_loans(item_id: int) -> models.QuerySet[Loan, tuple[Any, ...]]:
    from lyfta.orders.models import Loan

    loans = Loan.objects.filter(item_id=item_id).order_by("started_on", "pk")
    return loans.values_list(*columns(Loan, "patient", "unit"))


# The item card's reads, compiled once (issue 19 point 5); the rows become the same objects
# `select_related` gives (`instances`).
_ITEM_LOANS = Prepared(_item_loans)


def item_movements(actor: Actor, item: Item) -> models.QuerySet[StockMovement]:
    """The item's stock movements (places and references, no patient shown)."""
    from lyfta.inventory.models import StockMovement

    return _routed(StockMovement.objects.filter(item=item), "stock")


def _item_movement_rows(item_id: int) -> models.QuerySet[StockMovement, tuple[Any, ...]]:
    from lyfta.inventory.models import StockMovement

    found = _routed(StockMovement.objects.filter(item_id=item_id), "stock")
    names = columns(StockMovement, "from_location", "to_location", "actor")
    return found.order_by("occurred_at", "pk").values_list(*names)


_ITEM_MOVEMENTS = Prepared(_item_movement_rows)


def item_movement_list(actor: Actor, item: Item) -> list[StockMovement]:
    """`item_movements` in the order they happened, with their places and actor (the card)."""
    from lyfta.inventory.models import StockMovement

    rows = _ITEM_MOVEMENTS.rows(item.pk)
    return instances(rows, StockMovement, "from_location", "to_location", "actor")


def _loans_decided(
    actor: Actor, loans: list[Loan], session_ref: str
) -> list[tuple[Loan, HistoryLoan]]:
    """Each loan with whether the actor may see its patient and on which route, the patients'
    access decided together (one query for up to `MANY_AT_ONCE` of them, not one per loan)."""
    with access.one_decision_per_patient():
        access.decide_together(actor, {loan.patient_id for loan in loans}, session_ref)
        decided = []
        for loan in loans:
            owner = (loan.unit.provider_id, loan.unit_id)
            shown, basis, ref = _patient_visible(
                actor, loan.patient, *owner, loan.started_on, session_ref
            )
            decided.append((loan, HistoryLoan(loan, shown, basis, ref)))
    return decided


def open_loans_of_items(
    actor: Actor, item_ids: models.QuerySet[Any], session_ref: str
) -> dict[int, HistoryLoan]:
    """The open loan of each item (a recall): the unit always, the patient only where the actor
    has a legal route to him and the owner's data (R35, R93)."""
    from lyfta.orders.models import Loan

    with trusted_prefetch():
        loans = list(
            Loan.objects.filter(item__in=item_ids, ended_on__isnull=True).select_related(
                "patient", "unit"
            )
        )
    return {
        loan.item_id: entry
        for loan, entry in _loans_decided(actor, loans, session_ref)
        if loan.item_id is not None
    }


# --- Safety campaigns (issue 15 point 4) ---------------------------------------------------

CAMPAIGN_WORKERS = (Cap.QUALITY_MANAGE, Cap.RECALL, Cap.WORKORDERS_HANDLE, Cap.STOCK_MANAGE)


def campaign_devices(actor: Actor, campaign: Campaign) -> models.QuerySet[CampaignDevice]:
    """A campaign's affected devices for those who carry it out: the quality officer, those who
    read recalls, the technicians and logistics. The rows name the device, the place and the
    holding unit; the holder is named only by `campaign_holders`."""
    from lyfta.quality.models import CampaignDevice

    base = CampaignDevice.objects.filter(campaign=campaign)
    if any(can(actor, cap) for cap in CAMPAIGN_WORKERS):
        return _routed(base, "campaign")
    return _routed(base.none(), "none")


def campaign_holders(
    actor: Actor, campaign: Campaign, loan_ids: list[int], session_ref: str
) -> dict[int, HistoryLoan]:
    """The patients holding a campaign's devices on loan (by loan id), each with whether the
    actor may see who it is: only on a legal route of the actor's own to the patient and the
    owner's data (R35, R93). The campaign's owner, the quality officer, has none: she sees the
    holding unit, which is told, never the patient (the quality role's patients are
    pseudonymised, and a protected patient is for the named staff only, R54). The caller
    records every patient it names (R57)."""
    from lyfta.orders.models import Loan
    from lyfta.quality.models import CampaignDevice

    if not loan_ids or not any(can(actor, cap) for cap in CAMPAIGN_WORKERS):
        return {}
    in_campaign = CampaignDevice.unscoped.filter(campaign=campaign, loan_id__in=loan_ids)
    with trusted_prefetch():
        loans = list(
            Loan.objects.filter(pk__in=in_campaign.values("loan_id")).select_related(
                "patient", "unit"
            )
        )
    return {loan.pk: entry for loan, entry in _loans_decided(actor, loans, session_ref)}


# --- The technicians' desk: work orders and inspections (DOMAIN.md §3.4) --------------------


def work_orders_for(actor: Actor) -> models.QuerySet[WorkOrder]:
    """The work orders the actor may see: the technicians every one (on the case they handle),
    a unit those it asked for or holds the device of; nobody else any. A unit's work orders of a
    protected patient are for the named staff only (R54)."""
    from lyfta.workorders.models import WorkOrder

    base = WorkOrder.objects.all()
    if can(actor, Cap.WORKORDERS_HANDLE):
        return _routed(base, "case")
    if actor.unit is not None and (
        can(actor, Cap.WORKORDERS_REQUEST) or can(actor, Cap.WORKORDERS_APPROVE)
    ):
        own = base.filter(unit=actor.unit).exclude(_protected_not_named(actor, "patient"))
        return _routed(own, "unit")
    return _routed(base.none(), "none")


def patient_work_orders(
    actor: Actor, grant: PatientGrant, scope: DataScope | None = None
) -> models.QuerySet[WorkOrder]:
    """The patient's work orders from owners the grant's data scope shows (the holdings)."""
    from lyfta.workorders.models import WorkOrder

    scope = scope or access.data_scope(actor, grant)
    found = WorkOrder.objects.filter(patient=grant.patient).filter(
        scope_q(scope, "unit__provider_id", "unit_id", None)
    )
    return _routed(found, grant.basis)


_WORK_ORDER_RELATED = ("patient", "unit", "assignee", "team")


def _item_work_order_rows(item_id: int) -> models.QuerySet[WorkOrder, tuple[Any, ...]]:
    from lyfta.workorders.models import WorkOrder

    found = WorkOrder.objects.filter(item_id=item_id).order_by("-registered_at", "-pk")
    return found.values_list(*columns(WorkOrder, *_WORK_ORDER_RELATED))


_ITEM_WORK_ORDERS = Prepared(_item_work_order_rows)


@dataclass(frozen=True)
class HistoryWorkOrder:
    work_order: WorkOrder
    patient_shown: bool
    basis: str = ""
    basis_ref: str = ""


def item_work_orders(actor: Actor, item: Item, session_ref: str) -> list[HistoryWorkOrder]:
    """The item's work orders, newest first, for its card. The technicians see each one and its
    patient on the case; the centre's stock staff every one without the patient; a care role
    only those of patients it has a legal route to, on data it may see (R93)."""
    from lyfta.workorders.models import WorkOrder

    with trusted_prefetch():
        rows = _ITEM_WORK_ORDERS.rows(item.pk)
    found = instances(rows, WorkOrder, *_WORK_ORDER_RELATED)
    handles = can(actor, Cap.WORKORDERS_HANDLE)
    if not handles:
        access.decide_together(
            actor, {o.patient_id for o in found if o.patient_id is not None}, session_ref
        )
    result = []
    for order in found:
        if order.patient is None:
            shown, basis, ref = False, "", ""
            if (
                handles
                or can(actor, Cap.STOCK_VIEW)
                or order.unit_id == getattr(actor.unit, "pk", None)
            ):
                result.append(HistoryWorkOrder(order, False))
            continue
        if handles:
            result.append(HistoryWorkOrder(order, True, "case", f"workorder:{order.number}"))
            continue
        shown, basis, ref = _patient_visible(
            actor,
            order.patient,
            order.unit.provider_id,
            order.unit_id,
            order.registered_at.date(),
            session_ref,
        )
        if shown or can(actor, Cap.STOCK_VIEW):
            result.append(HistoryWorkOrder(order, shown, basis, ref))
    return result


def due_inspections(actor: Actor) -> models.QuerySet[ItemInspection]:
    """Items' inspection schedules, for the technicians only: who holds each item is named on
    the case of the inspection (the due list records each patient it names)."""
    from lyfta.workorders.models import ItemInspection

    if not can(actor, Cap.WORKORDERS_HANDLE):
        return ItemInspection.objects.none()
    return ItemInspection.objects.all()


def item_inspections(actor: Actor, item: Item) -> models.QuerySet[Inspection]:
    """The inspections of an item, newest first, for its card: the centre's stock staff and the
    technicians (the protocol, the result and the inspector; never the patient)."""
    from lyfta.workorders.models import Inspection

    found = Inspection.objects.filter(item=item)
    if can(actor, Cap.STOCK_VIEW) or can(actor, Cap.WORKORDERS_HANDLE):
        return _routed(found, "stock")
    return _routed(found.none(), "none")


def work_order_inspection(actor: Actor, order: WorkOrder) -> models.QuerySet[Inspection]:
    """The inspection protocol of a work order the actor was given by `work_orders_for`."""
    from lyfta.workorders.models import Inspection

    if not work_orders_for(actor).filter(pk=order.pk).exists():
        return _routed(Inspection.objects.none(), "none")
    return _routed(Inspection.objects.filter(work_order=order), "workorder")


def item_holding(actor: Actor, item: Item) -> Loan | None:
    """The open loan of an item (its patient and unit), for a technician registering a work order
    on it from the item card (on the case the work order becomes); nobody else."""
    from lyfta.orders.models import Loan

    if item.holder_id is None or not can(actor, Cap.WORKORDERS_HANDLE):
        return None
    loans = Loan.objects.filter(item=item, ended_on__isnull=True).select_related("patient", "unit")
    return _routed(loans, "case").order_by("-started_on", "-pk").first()


def unit_overdue_inspections(actor: Actor, today: dt.date) -> models.QuerySet[ItemInspection]:
    """Inspection schedules past due of the devices the actor's unit has lent out, for its start
    page and its work-order list (which names each holder, recorded, on the unit's own loan)."""
    from lyfta.orders.models import Loan
    from lyfta.workorders.models import ItemInspection

    if actor.unit is None or not can(actor, Cap.WORKORDERS_REQUEST):
        return ItemInspection.objects.none()
    # A protected patient's devices are for the unit's named staff only (R54), as his orders are.
    # The unit's open loans as a subquery on the schedule's own item: joined through the item's
    # loans, PostgreSQL walked every open loan by item to find the unit's (at national size).
    lent = Loan.objects.filter(unit=actor.unit, ended_on__isnull=True, item__isnull=False).values(
        "item_id"
    )
    return ItemInspection.objects.filter(
        next_due__lt=today,
        item_id__in=lent,
        item__status__in=["on_loan", "awaiting_pickup"],
    ).exclude(_protected_not_named(actor, "item__holder"))


# --- A unit's work on its start page (issue 16) ---------------------------------------------


def unit_follow_ups(actor: Actor) -> models.QuerySet[Prescription]:
    """The prescriptions of the actor's unit, for the follow-ups due on its start page: the unit
    owns them (R39); a protected patient's are for the named staff only (R54). Follow-up dates
    are clinical (R34): only roles that see clinical fields get any."""
    from lyfta.access.roles import ROLE_PATIENT_FIELDS, Fields
    from lyfta.orders.models import Prescription

    clinical = Fields.CLINICAL in ROLE_PATIENT_FIELDS.get(actor.role or "", frozenset())
    if actor.unit is None or not clinical or not can(actor, Cap.ORDERS_PRESCRIBE):
        return _routed(Prescription.objects.none(), "none")
    own = Prescription.objects.filter(unit=actor.unit)
    return _routed(own.exclude(_protected_not_named(actor, "patient")), "unit")


def unit_open_loans(actor: Actor) -> models.QuerySet[Loan]:
    """The open loans the actor's unit prescribed (its own information, R39), for the short-term
    loans ending on its start page; a protected patient's for the named staff only (R54)."""
    from lyfta.orders.models import Loan

    if actor.unit is None or not can(actor, Cap.ORDERS_PLACE):
        return _routed(Loan.objects.none(), "none")
    own = Loan.objects.filter(unit=actor.unit, ended_on__isnull=True)
    return _routed(own.exclude(_protected_not_named(actor, "patient")), "unit")


def statistics_unit_loans(actor: Actor, article_id: int) -> models.QuerySet[Loan]:
    """The statistics' drill-down (issue 17 point 2): the open loans of one article that the
    actor's own unit prescribed, of patients the unit has a care relationship with in force (a
    protected one only for the named staff, R33, R55). Nothing for anyone else."""
    from lyfta.orders.models import Loan

    if not can(actor, Cap.STATISTICS_VIEW):
        return _routed(Loan.objects.none(), "none")
    in_care = access.patients_in_scope(actor).values("pk")
    return unit_open_loans(actor).filter(article_id=article_id, patient__in=in_care)


# --- Returns and reservations (issue 16 points 4-5) -----------------------------------------


def item_reservations(actor: Actor, item: Item) -> models.QuerySet[Reservation]:
    """An item's reservations, for the centre's stock staff on its card: the unit, the day and
    whether it is for a patient; the patient is never named there."""
    from lyfta.inventory.models import Reservation

    found = Reservation.objects.filter(item=item)
    if can(actor, Cap.STOCK_VIEW):
        return _routed(found, "stock")
    return _routed(found.none(), "none")


def reservations_to_change(actor: Actor) -> models.QuerySet[Reservation]:
    """Reservations the actor may cancel: the centre's stock managers, every one."""
    from lyfta.inventory.models import Reservation

    if can(actor, Cap.STOCK_MANAGE):
        return _routed(Reservation.objects.all(), "stock")
    return _routed(Reservation.objects.none(), "none")


# Condition reports and their photos show a patient's home and belongings (a phone photo taken
# at a pick-up, of a protected patient's too): only for the centre's staff who do the returns and
# the reconditioning, i.e. who handle the orders AND keep the stock (logistics: the drivers who
# collect, the warehouse that receives, the staff who recondition). Customer service handles
# orders but keeps no stock, the catalogue manager and the technicians only view it: none of them
# needs to see where or how a device was collected.
def may_see_conditions(actor: Actor) -> bool:
    return can(actor, Cap.ORDERS_HANDLE) and can(actor, Cap.STOCK_MANAGE)


def condition_reports(actor: Actor) -> models.QuerySet[ConditionReport]:
    """Condition reports of returned devices, for the centre on the case: the drivers and the
    warehouse who write them, and the stock staff who recondition the devices."""
    from lyfta.orders.models import ConditionReport

    if may_see_conditions(actor):
        return _routed(ConditionReport.objects.all(), "case")
    return _routed(ConditionReport.objects.none(), "none")


def condition_photos(actor: Actor) -> models.QuerySet[ConditionPhoto]:
    """Photos of returned devices, for the same roles as the condition reports."""
    from lyfta.orders.models import ConditionPhoto

    if may_see_conditions(actor):
        return _routed(ConditionPhoto.objects.all(), "case")
    return _routed(ConditionPhoto.objects.none(), "none")


# --- The quality desk: deviations, reports out, complaints (DOMAIN.md §3.5) -----------------


def deviations_for(actor: Actor) -> models.QuerySet[Deviation]:
    """The deviations the actor may see: the quality role every one, on the quality route (the
    patient pseudonymised, `deviation_patient` names him only on a recorded reason); a unit those
    it reported (a protected patient's for the named staff only, R54); nobody else any."""
    from lyfta.quality.models import Deviation

    if can(actor, Cap.QUALITY_MANAGE):
        return _routed(Deviation.objects.all(), "quality")
    if actor.unit is not None and can(actor, Cap.DEVIATIONS_REPORT):
        own = Deviation.objects.filter(unit=actor.unit).exclude(
            _protected_not_named(actor, "patient")
        )
        return _routed(own, "unit")
    return _routed(Deviation.objects.none(), "none")


def incident_reports_for(actor: Actor) -> models.QuerySet[IncidentReport]:
    """Reports out of incidents (to the manufacturer, to Läkemedelsverket): the quality role's;
    they name no patient, only an age band and sex."""
    from lyfta.quality.models import IncidentReport

    if can(actor, Cap.QUALITY_MANAGE):
        return _routed(IncidentReport.objects.all(), "quality")
    return _routed(IncidentReport.objects.none(), "none")


def complaints_for(actor: Actor) -> models.QuerySet[Complaint]:
    """Supplier complaints: the quality role's (they name a device, never a patient)."""
    from lyfta.quality.models import Complaint

    if can(actor, Cap.QUALITY_MANAGE):
        return _routed(Complaint.objects.all(), "quality")
    return _routed(Complaint.objects.none(), "none")


def deviation_order(actor: Actor, deviation: Deviation) -> models.QuerySet[Order]:
    """The order a deviation was reported from, for the quality role: its delivery day starts a
    supplier complaint's window (its patient is not read from it)."""
    from lyfta.orders.models import Order

    if deviation.order_id is None or not can(actor, Cap.QUALITY_MANAGE):
        return _routed(Order.objects.none(), "none")
    return _routed(Order.objects.filter(pk=deviation.order_id), "quality")


@dataclass(frozen=True)
class DeviationPatient:
    patient: Patient | None  # named: the actor may see who it is
    basis: str = ""
    basis_ref: str = ""


def deviation_patient(actor: Actor, deviation: Deviation, session_ref: str) -> DeviationPatient:
    """The patient of a deviation the actor was given by `deviations_for`, named where the actor
    may: the quality role only once the case's need of identity is recorded on it (and a
    protected patient only to his named staff, R54); the reporting unit where it has a legal
    route to the patient and his data (R32, R39). Otherwise nobody is named."""
    patient = deviation.patient
    if patient is None or not deviations_for(actor).filter(pk=deviation.pk).exists():
        return DeviationPatient(None)
    if can(actor, Cap.QUALITY_MANAGE):
        if not deviation.identity_reason:
            return DeviationPatient(None)
        if patient.is_protected and not access.is_named_staff(actor, patient):
            return DeviationPatient(None)
        return DeviationPatient(patient, "case", f"deviation:{deviation.number}")
    shown, basis, ref = _patient_visible(
        actor,
        patient,
        deviation.unit.provider_id,
        deviation.unit_id,
        deviation.reported_at.date(),
        session_ref,
    )
    return DeviationPatient(patient if shown else None, basis, ref)


# --- Whose row a refusal was about ------------------------------------------------------------

_OWNER_PATHS = {
    "orders.order": ("patient_id", "unit__provider_id", "unit_id"),
    "orders.orderline": ("order__patient_id", "order__unit__provider_id", "order__unit_id"),
    "orders.loan": ("patient_id", "unit__provider_id", "unit_id"),
    "orders.pickuporder": ("patient_id", "unit__provider_id", "unit_id"),
    "orders.pickupline": ("pickup__patient_id", "pickup__unit__provider_id", "pickup__unit_id"),
    "orders.lossreport": ("loan__patient_id", "loan__unit__provider_id", "loan__unit_id"),
    "workorders.workorder": ("patient_id", "unit__provider_id", "unit_id"),
    "quality.deviation": ("patient_id", "unit__provider_id", "unit_id"),
    "inventory.reservation": ("patient_id", "unit__provider_id", "unit_id"),
    "orders.conditionphoto": (
        "report__line__pickup__patient_id",
        "report__line__pickup__unit__provider_id",
        "report__line__pickup__unit_id",
    ),
    "workorders.attachment": (
        "work_order__patient_id",
        "work_order__unit__provider_id",
        "work_order__unit_id",
    ),
}


def owner_of_refused(resource_type: str, pk: object) -> tuple[int | None, int | None, int | None]:
    """The patient, provider and unit behind a row the actor was refused, for the record of the
    refusal only (R38, R54: a refusal about a protected patient goes to targeted review). Never
    shown to the actor."""
    from django.apps import apps

    paths = _OWNER_PATHS.get(resource_type)
    if paths is None or not isinstance(pk, int) or not 0 < pk < 2**63:
        return None, None, None
    model = apps.get_model(resource_type)
    found = model.unscoped.filter(pk=pk).values_list(*paths).first()
    if found is None:
        return None, None, None
    return found[0], found[1], found[2]


# --- Failure statistics (issue 15 point 5) ----------------------------------------------------
#
# The quality role (and the catalogue managers, for procurement) count deviations and repairs per
# article, supplier, lot and holding unit. Those rows name patients, but statistics need none of
# it: the builders below are the route "statistics" and return only counts per group key (an
# article, supplier or unit id, a lot, a month), never a row, so no patient column can reach a
# page or an export. The group keys and filters are fixed here; nothing a caller passes becomes a
# field path.


def may_see_failure_statistics(actor: Actor) -> bool:
    return can(actor, Cap.QUALITY_MANAGE) or can(actor, Cap.CATALOGUE_MANAGE)


@dataclass(frozen=True)
class FailureFilter:
    """What the statistics count: rows registered in [since, until) (aware datetimes), of
    `kinds` (deviation kinds; empty: all), of articles in `articles` (ids; None: all)."""

    since: dt.datetime
    until: dt.datetime
    kinds: tuple[str, ...] = ()
    articles: models.QuerySet[Any] | None = None


# The groupings: each as (which rows, the path to their key); the conditions of a grouping split
# the rows, so that every row counts once. A deviation names its article (or only its item, whose
# article counts then) and its lot (or the item's batch); a work order names its article or only
# its item likewise. The holding unit is the deviation's reporting unit and the unit the work
# order is for (the holding or asking unit).
_OWN_ARTICLE, _ITEMS_ARTICLE = Q(article__isnull=False), Q(article__isnull=True)
_FAILURE_KEYS: dict[str, dict[str, list[tuple[Q, str]]]] = {
    "deviations": {
        "article": [(_OWN_ARTICLE, "article_id"), (_ITEMS_ARTICLE, "item__article_id")],
        "supplier": [
            (_OWN_ARTICLE, "article__supplier_id"),
            (_ITEMS_ARTICLE, "item__article__supplier_id"),
        ],
        "lot": [(~Q(lot=""), "lot"), (Q(lot=""), "item__batch")],
        "unit": [(Q(), "unit_id")],
    },
    "repairs": {
        "article": [(_OWN_ARTICLE, "article_id"), (_ITEMS_ARTICLE, "item__article_id")],
        "supplier": [
            (_OWN_ARTICLE, "article__supplier_id"),
            (_ITEMS_ARTICLE, "item__article__supplier_id"),
        ],
        # The item's batch, kept on the work order when it was registered (no join to items).
        "lot": [(Q(), "lot")],
        "unit": [(Q(), "unit_id")],
    },
}
FAILURE_GROUPS = ("article", "supplier", "lot", "unit")


def _failure_rows(actor: Actor, source: str, where: FailureFilter) -> models.QuerySet[Any]:
    """The deviations, or the repairs (work orders of kind repair, not cancelled), that
    `where` selects, on the route "statistics" (nobody else gets any)."""
    from lyfta.quality.models import Deviation
    from lyfta.workorders.models import WorkOrder

    found: models.QuerySet[Any]
    if source == "deviations":
        found = Deviation.objects.filter(reported_at__gte=where.since, reported_at__lt=where.until)
        if where.kinds:
            found = found.filter(kind__in=where.kinds)
    elif source == "repairs":
        found = WorkOrder.objects.filter(
            kind="repair", registered_at__gte=where.since, registered_at__lt=where.until
        ).exclude(status="cancelled")
    else:
        raise ValueError(source)
    if where.articles is not None:
        found = found.filter(
            Q(article__in=where.articles)
            | Q(article__isnull=True, item__article__in=where.articles)
        )
    if not may_see_failure_statistics(actor):
        return _routed(found.none(), "none")
    return _routed(found, "statistics")


def failure_counts(
    actor: Actor, source: str, group: str, where: FailureFilter
) -> dict[tuple[object, dt.date], int]:
    """How many deviations or repairs (`source`) each group key has in each month (the local
    calendar's): the key an article, supplier or unit id, or a lot (no lot counts under None).
    Counts only, read from the covering indexes (COUNT(*), no other column)."""
    from django.db.models.functions import TruncMonth

    field = "reported_at" if source == "deviations" else "registered_at"
    counts: dict[tuple[object, dt.date], int] = {}
    rows = _failure_rows(actor, source, where)
    for condition, path in _FAILURE_KEYS[source][group]:
        grouped = rows.filter(condition).values(key=models.F(path), month=TruncMonth(field))
        for found in grouped.annotate(n=models.Count("*")).order_by():
            month = found["month"]
            day = month.date() if isinstance(month, dt.datetime) else month
            cell = (found["key"] or None, day)
            counts[cell] = counts.get(cell, 0) + found["n"]
    return counts


def open_loans_per_article_and_unit(actor: Actor) -> list[tuple[int, int, int]]:
    """The devices on open loans as (article id, unit id, quantity), summed: the denominator of
    the failure statistics. Sums only, read from the open loans' covering index."""
    from lyfta.orders.models import Loan

    if not may_see_failure_statistics(actor):
        return []
    found = _routed(Loan.objects.filter(ended_on__isnull=True), "statistics")
    grouped = found.values("article_id", "unit_id").annotate(n=models.Sum("quantity")).order_by()
    return [(row["article_id"], row["unit_id"], row["n"]) for row in grouped]


# --- The economy desk: billing lines and patients' housing (DOMAIN.md §3.8) ------------------


def billing_lines_for(actor: Actor) -> models.QuerySet[BillingLine]:
    """Billing lines for the economy role: every line on the billing route. The role has no
    patient fields (R34): pages show a line's device, unit and period, never who holds it; a
    search by a patient's number goes through `billing_lines_of_patient` and is recorded."""
    from lyfta.billing.models import BillingLine

    if can(actor, Cap.BILLING_VIEW):
        return _routed(BillingLine.objects.all(), "billing")
    return _routed(BillingLine.objects.none(), "none")


def housing_of(actor: Actor, grant: PatientGrant) -> models.QuerySet[PatientHousing]:
    """A patient's housing periods on a grant (those who may open the patient), oldest first."""
    from lyfta.billing.models import PatientHousing

    return _routed(
        PatientHousing.objects.filter(patient_id=grant.patient.pk).order_by("valid_from"),
        "grant",
    )


def loan_for_billing(actor: Actor, loan_id: int) -> Loan | None:
    """One loan on the billing route, for the economy role's "Vem betalar?" page: the device,
    the prescribing unit and the period. The role has no patient fields (R34): the page shows the
    individual number, article, unit, housing form and home municipality, never who it is."""
    from lyfta.orders.models import Loan

    if not can(actor, Cap.BILLING_VIEW):
        return None
    found = Loan.objects.filter(pk=loan_id).select_related(
        "article", "article__iso_class", "item", "unit", "unit__provider"
    )
    return _routed(found, "billing").first()


def loan_for_billing_by_item(actor: Actor, individual_number: str) -> Loan | None:
    """The latest loan of the device with `individual_number`, on the billing route."""
    from lyfta.orders.models import Loan

    if not can(actor, Cap.BILLING_VIEW):
        return None
    found = Loan.objects.filter(item__individual_number=individual_number).select_related(
        "article", "article__iso_class", "item", "unit", "unit__provider"
    )
    return _routed(found, "billing").order_by("-started_on", "-pk").first()


def housing_for_billing(actor: Actor, patient_id: int) -> models.QuerySet[PatientHousing]:
    """A patient's housing periods on the billing route (form of housing and home municipality,
    the facts that decide the payer), oldest first; none for other roles."""
    from lyfta.billing.models import PatientHousing

    found = PatientHousing.objects.filter(patient_id=patient_id).order_by("valid_from")
    if not can(actor, Cap.BILLING_VIEW):
        return _routed(found.none(), "none")
    return _routed(found, "billing")


def billing_patient_id(actor: Actor, identifier: str) -> tuple[int | None, str]:
    """The patient whose billed lines the economy role searches by number, and why the search
    is withheld ("" when it is not): the number is matched exactly (normalised), never by name or
    part. A protected patient (R54) is searched only by her named staff, and a patient with a
    block in force (R48) not at all: the lines of a device would tie the number to a unit, a
    payer and a home municipality. The caller records the search, withheld or not, as a patient
    read with the administration purpose before it shows any line (R57, R61), and answers a
    withheld search as it answers a number nobody has; the pages never show the patient's name
    or number (R34)."""
    from lyfta.patients.models import Block, Patient, ProtectedStaff

    if not can(actor, Cap.BILLING_VIEW):
        return None, ""
    found = Patient.objects.filter(identifier=identifier).values_list("pk", "protection").first()
    if found is None:
        return None, ""
    patient_id, protection = found
    if (
        protection
        and not ProtectedStaff.objects.filter(
            patient_id=patient_id, user=actor.user, ended_at__isnull=True
        ).exists()
    ):
        return patient_id, "protected"
    if Block.objects.filter(patient_id=patient_id, status=Block.Status.ACTIVE).exists():
        return patient_id, "blocked"
    return patient_id, ""


def billing_unbilled_loans(actor: Actor) -> models.QuerySet[Loan]:
    """Loans for the unbilled-loans report of the economy role: every loan on the billing route
    (the report shows device, unit and dates, never who holds it)."""
    from lyfta.orders.models import Loan

    if can(actor, Cap.BILLING_VIEW):
        return _routed(Loan.objects.all(), "billing")
    return _routed(Loan.objects.none(), "none")
