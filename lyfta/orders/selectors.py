"""Reads of the device flow: the patient's holdings, orders, pick lists, the item card, buffer
refill needs and recall lists. Each read of patient data records its audit event before the data
is returned (R57, R61); other providers' loans show only on a legal route (R39–R43)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from lyfta.access import patients as access
from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis
from lyfta.audit.services import record, record_many
from lyfta.catalogue.models import Article
from lyfta.inventory.models import BufferLevel, Item, StockLevel, StockLocation, StockMovement
from lyfta.inventory.services import RefillNeed
from lyfta.orders.models import Loan, Order, OrderLine, PickupLine, PickupOrder
from lyfta.patients.models import Patient

# --- Holdings (DOMAIN.md §3.2 point 1, §5) -------------------------------------------------


@dataclass(frozen=True)
class HoldingRow:
    loan: Loan
    own_provider: bool
    waiting_pickup: bool


@dataclass
class Holdings:
    patient: Patient
    active: list[HoldingRow] = field(default_factory=list)
    past: list[HoldingRow] = field(default_factory=list)
    hidden: int = 0  # loans of other providers the actor may not see (R39)
    open_orders: list[Order] = field(default_factory=list)


def holdings(*, actor: Actor, grant: PatientGrant) -> Holdings:
    """Every loan of the patient from every provider the actor may see, with where each came
    from; recorded as one read, plus a cross-provider read per other provider shown (R42)."""
    scope = access.data_scope(actor, grant)
    patient = grant.patient
    loans = (
        Loan.objects.filter(patient=patient)
        .select_related("article__iso_class", "item", "unit__provider", "prescriber")
        .order_by("-started_on", "-pk")
    )
    waiting = set(
        PickupLine.objects.filter(
            loan__patient=patient, status=PickupLine.Status.WAITING
        ).values_list("loan_id", flat=True)
    )
    result = Holdings(patient=patient)
    shown: dict[int, set[int]] = {}
    for loan in loans:
        provider_id = loan.unit.provider_id
        if not scope.visible(provider_id, loan.unit_id, loan.started_on):
            result.hidden += 1
            continue
        shown.setdefault(provider_id, set()).add(loan.unit_id)
        row = HoldingRow(loan, provider_id == scope.actor_provider_id, loan.pk in waiting)
        (result.active if loan.ended_on is None else result.past).append(row)
    result.open_orders = list(
        Order.objects.filter(
            patient=patient, status__in=Order.OPEN, unit__provider_id=scope.actor_provider_id
        )
        .select_related("unit")
        .order_by("-registered_at")
    )
    record(
        action=Action.HOLDINGS_VIEWED,
        actor=actor,
        patient_id=patient.pk,
        resource_type="orders.loan",
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
        owner_provider_id=scope.actor_provider_id,
        detail={"owners": sorted(shown), "hidden": result.hidden},
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
    return result


def loans_for_pickup(*, actor: Actor, grant: PatientGrant) -> QuerySet[Loan]:
    """Open loans of the actor's provider that can be picked up (not sold, not already waiting)."""
    unit = actor.unit
    if unit is None:
        raise Http404
    return (
        Loan.objects.filter(
            patient=grant.patient, ended_on__isnull=True, unit__provider_id=unit.provider_id
        )
        .exclude(billing_type="sale")
        .exclude(pickup_lines__status__in=[PickupLine.Status.WAITING, PickupLine.Status.COLLECTED])
        .select_related("article", "item")
        .distinct()
    )


def loan_of(*, actor: Actor, grant: PatientGrant, loan_id: int) -> Loan:
    """One open loan of the patient from the actor's provider, or 404."""
    unit = actor.unit
    loan = (
        Loan.objects.filter(pk=loan_id, patient=grant.patient)
        .select_related("article", "item", "unit")
        .first()
    )
    if loan is None or unit is None or loan.unit.provider_id != unit.provider_id:
        raise Http404
    return loan


# --- Orders ---------------------------------------------------------------------------------------


def orders_visible(actor: Actor) -> QuerySet[Order]:
    """The centre sees every order; a unit its own."""
    base = Order.objects.select_related("unit", "patient", "orderer", "store")
    if can(actor, Cap.ORDERS_HANDLE):
        return base
    if (can(actor, Cap.ORDERS_PLACE) or can(actor, Cap.ORDERS_PRESCRIBE)) and actor.unit:
        return base.filter(unit=actor.unit)
    require(actor, Cap.ORDERS_PLACE)
    return base.none()


def order_for(*, actor: Actor, order_id: int) -> Order:
    """An order the actor may see, recorded as a read of its patient (the centre's on the case),
    or the same 404 for missing and not allowed."""
    order = orders_visible(actor).filter(pk=order_id).first()
    if order is None:
        raise Http404
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


def order_lines(order: Order) -> list[OrderLine]:
    return list(order.lines.select_related("article", "item", "substitute_for", "source"))


# --- Pick lists (DOMAIN.md §3.2 point 5; R55) -------------------------------------------------


@dataclass(frozen=True)
class PickStop:
    order: Order
    lines: list[OrderLine]
    address: str  # "" for a confidential address: never printed on route lists (R55)


def picklist(*, actor: Actor, day: dt.date, area: str = "") -> list[PickStop]:
    """Orders to pick for delivery on or before `day`, by area, for the centre. A protected
    patient's address is left out; each patient listed is recorded (on the case)."""
    require(actor, Cap.ORDERS_HANDLE)
    to_pick = [OrderLine.Status.RESERVED, OrderLine.Status.PICKED]
    orders = (
        Order.objects.filter(status__in=Order.OPEN, expected_on__lte=day)
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
        .order_by("postal_code", "expected_on", "pk")
    )
    if area:
        orders = orders.filter(postal_code__startswith=area[:3])
    stops = []
    for order in orders:
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
        detail={"day": day, "area": area, "orders": [s.order.number for s in stops][:200]},
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
    return stops


def pickups_open(*, actor: Actor, day: dt.date | None = None) -> list[PickupOrder]:
    """Pick-up orders to collect (by the collect-by day), for the centre."""
    require(actor, Cap.ORDERS_HANDLE)
    query = PickupOrder.objects.filter(status=PickupOrder.Status.REGISTERED).select_related(
        "patient", "unit"
    )
    if day is not None:
        query = query.filter(collect_by__lte=day)
    pickups = list(query.order_by("collect_by", "postal_code"))
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


def returns_to_receive(*, actor: Actor) -> list[PickupLine]:
    require(actor, Cap.STOCK_MANAGE)
    return list(
        PickupLine.objects.filter(status=PickupLine.Status.COLLECTED)
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


def item_card(*, actor: Actor, individual_number: str) -> ItemCard:
    """An item's full history: movements and loans. Patients are named only where the actor may
    open them (and each one named is recorded); otherwise only the unit shows."""
    if not (can(actor, Cap.STOCK_VIEW) or can(actor, Cap.PATIENTS_VIEW)):
        require(actor, Cap.STOCK_VIEW)
    item = (
        Item.objects.filter(individual_number=individual_number)
        .select_related("article", "location", "holder")
        .first()
    )
    if item is None:
        raise Http404
    loans = list(
        Loan.objects.filter(item=item)
        .select_related("patient", "unit")
        .order_by("started_on", "pk")
    )
    if not can(actor, Cap.STOCK_VIEW) and not any(
        access.patients_in_scope(actor).filter(pk=loan.patient_id).exists() for loan in loans
    ):
        # A care role sees the card of a device its own patients have had, no other.
        raise Http404
    visible = (
        set(
            access.patients_in_scope(actor)
            .filter(pk__in=[loan.patient_id for loan in loans])
            .values_list("pk", flat=True)
        )
        if actor.unit is not None
        else set()
    )
    rows = []
    for loan in loans:
        shown = loan.patient_id in visible
        label = f"{loan.patient} ({loan.patient.display_identifier})" if shown else ""
        rows.append(CardLoan(loan, label))
        if shown:
            record(
                action=Action.PATIENT_LISTED,
                actor=actor,
                patient_id=loan.patient_id,
                owner_provider_id=loan.unit.provider_id,
                owner_unit_id=loan.unit_id,
                detail={"list": "item_card", "item": item.individual_number},
            )
    record(action=Action.ITEM_VIEWED, actor=actor, target=item)
    movements = list(
        StockMovement.objects.filter(item=item)
        .select_related("from_location", "to_location", "actor")
        .order_by("occurred_at", "pk")
    )
    return ItemCard(item, movements, rows)


# --- Stock and buffer stores (DOMAIN.md §3.3) ---------------------------------------------------


def stock_overview(*, actor: Actor, location: StockLocation) -> list[tuple[Article, int, int]]:
    """(article, on hand, reserved) at a location: stock levels and counted items."""
    require(actor, Cap.STOCK_VIEW)
    rows: dict[int, list[object]] = {}
    for level in StockLevel.objects.filter(location=location).select_related("article"):
        rows[level.article_id] = [level.article, level.quantity, level.reserved]
    items = (
        Item.objects.filter(
            location=location, status__in=[Item.Status.IN_STOCK, Item.Status.RESERVED]
        )
        .values("article_id", "status")
        .order_by()
    )
    articles = Article.objects.in_bulk({row["article_id"] for row in items})
    for row in items:
        entry = rows.setdefault(row["article_id"], [articles[row["article_id"]], 0, 0])
        entry[1] = int(str(entry[1])) + 1
        if row["status"] == Item.Status.RESERVED:
            entry[2] = int(str(entry[2])) + 1
    return sorted(
        ((a, int(str(n)), int(str(r))) for a, n, r in rows.values()),  # type: ignore[misc]
        key=lambda row: row[0].article_number,
    )


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
            OrderLine.objects.filter(
                order__store=store,
                article=article,
                status__in=[
                    OrderLine.Status.RESERVED,
                    OrderLine.Status.BACKORDERED,
                    OrderLine.Status.PICKED,
                ],
            ).aggregate(n=Sum("quantity"))["n"]
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
) -> list[RecallRow]:
    """Every current holder of an article (optionally one batch or a serial-number range): the
    holding unit always, the patient only where the actor may open them (R35); each patient
    named is recorded, and so is the list."""
    require(actor, Cap.RECALL)
    items = Item.objects.filter(article=article).exclude(status=Item.Status.SCRAPPED)
    if batch.strip():
        items = items.filter(batch=batch.strip())
    if serial_from.strip():
        items = items.filter(serial_number__gte=serial_from.strip())
    if serial_to.strip():
        items = items.filter(serial_number__lte=serial_to.strip())
    items = items.select_related("location__unit").order_by("serial_number", "individual_number")
    open_loans = {
        loan.item_id: loan
        for loan in Loan.objects.filter(item__in=items, ended_on__isnull=True).select_related(
            "patient", "unit"
        )
    }
    visible = (
        set(
            access.patients_in_scope(actor)
            .filter(pk__in=[loan.patient_id for loan in open_loans.values()])
            .values_list("pk", flat=True)
        )
        if actor.unit is not None
        else set()
    )
    rows = []
    for item in items:
        loan = open_loans.get(item.pk)
        if loan is not None:
            shown = loan.patient_id in visible
            label = f"{loan.patient} ({loan.patient.display_identifier})" if shown else ""
            rows.append(RecallRow(item, loan, loan.unit.name, label))
            if shown:
                record(
                    action=Action.PATIENT_LISTED,
                    actor=actor,
                    patient_id=loan.patient_id,
                    owner_provider_id=loan.unit.provider_id,
                    owner_unit_id=loan.unit_id,
                    detail={"list": "recall", "article": article.article_number},
                )
        else:
            place = item.location.unit.name if item.location else ""
            rows.append(RecallRow(item, None, place, ""))
    record(
        action=Action.RECALL_LISTED,
        actor=actor,
        target=article,
        detail={
            "batch": batch.strip(),
            "serial_from": serial_from.strip(),
            "serial_to": serial_to.strip(),
            "items": len(rows),
            "with_patients": sum(1 for r in rows if r.loan is not None),
        },
    )
    return rows


def today() -> dt.date:
    return timezone.localdate()


def open_lines_for(article: Article) -> QuerySet[OrderLine]:
    return OrderLine.objects.filter(
        article=article,
        status__in=[OrderLine.Status.RESERVED, OrderLine.Status.PICKED],
    ).filter(~Q(order__status=Order.Status.CANCELLED))
