"""The device flow in the API (issue 18): stock availability of an article, a patient's holdings,
orders (placed by the same service as the order page, with the same rules) and pick-up orders.

Every operation goes through the access layer as the client's actor: a patient only on a legal
route (a care relationship of the client's unit), orders and pick-ups only the unit's own; each
read and write of patient data is recorded by the selector or service it calls."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.params.functions import Path, Query
from pydantic import Field

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting, session_ref
from lyfta.api.paging import (
    CURSOR_MAX_LENGTH,
    DEFAULT_LIMIT,
    cursor_after,
    etag_of,
    next_cursor,
    page_size,
    require_match,
)
from lyfta.api.schema import (
    MAX_ID,
    Day,
    Id,
    Identifier,
    Line6,
    Line30,
    Line100,
    Line120,
    Line200,
    Line300,
    Reason,
    Text500,
)
from lyfta.catalogue import selectors as catalogue
from lyfta.catalogue.models import Article
from lyfta.inventory import services as stock
from lyfta.orders import selectors, services
from lyfta.orders.models import Order, OrderLine, PickupLine, PickupOrder
from lyfta.patients import selectors as patients

router = Router(tags=["Hjälpmedel och ordrar"])
# Read by lyfta.api.main when it writes the document: the problems an operation may answer
# beyond the common ones, and whether its answer carries an ETag.
ORDER_PROBLEMS = {"x-problems": [409], "x-etag": True}
UPDATE_PROBLEMS = {"x-problems": [412, 428], "x-etag": True}
ETAGGED = {"x-etag": True}


# --- Stock availability ----------------------------------------------------------------------


class AvailabilityOut(Schema):
    """What of the article is free in the central warehouse for an order from the client's
    unit now, and when an order placed today is expected (working days, DOMAIN.md §3.2)."""

    article_id: int
    article_number: str
    available: int
    expected_delivery: dt.date


@router.get(
    "/articles/{article_id}/availability",
    response=AvailabilityOut,
    url_name="article_availability",
    summary="Lagertillgång för en artikel",
)
def availability(
    request: HttpRequest, article_id: int = Path(..., ge=1, le=MAX_ID)
) -> AvailabilityOut:
    actor = acting(request, ApiScope.CATALOGUE_READ)
    article = catalogue.article_get(actor=actor, article_id=article_id)
    try:
        central = services.central()
    except ValidationError:
        free = 0
    else:
        # Only the unit's planned need counts as its own: no patient is named here.
        free = stock.available(article, central, unit_id=actor.unit.pk if actor.unit else None)
    return AvailabilityOut(
        article_id=article.pk,
        article_number=article.article_number,
        available=free,
        expected_delivery=services.expected_delivery(
            [article], urgent=False, today=timezone.localdate()
        ),
    )


# --- Holdings -----------------------------------------------------------------------------------


class LoanOut(Schema):
    id: int
    article_id: int
    article_number: str
    article_name: str
    iso_code: str
    individual_number: str | None
    quantity: int
    billing_type: str
    started_on: dt.date
    expected_end: dt.date | None
    rent_stop_on: dt.date | None
    ended_on: dt.date | None
    end_reason: str
    unit_id: int
    unit_name: str
    own_provider: bool
    waiting_pickup: bool


class OrderSummary(Schema):
    id: int
    number: str
    status: str
    patient_id: int | None
    unit_id: int
    urgent: bool
    registered_at: dt.datetime
    expected_on: dt.date


class HoldingsOut(Schema):
    """The patient's devices from every provider the client may see (R39): `hidden` counts
    those of other providers it may not, `blocked` says some are under a block (R48)."""

    patient_id: int
    active: list[LoanOut]
    past: list[LoanOut]
    hidden: int
    blocked: bool
    open_orders: list[OrderSummary]


def _loan(row: selectors.HoldingRow) -> LoanOut:
    return LoanOut(
        id=row.pk,
        article_id=row.article_id,
        article_number=row.article_number,
        article_name=row.article_name,
        iso_code=row.iso_code,
        individual_number=row.individual_number,
        quantity=row.quantity,
        billing_type=row.billing_type,
        started_on=row.started_on,
        expected_end=row.expected_end,
        rent_stop_on=row.rent_stop_on,
        ended_on=row.ended_on,
        end_reason=row.end_reason,
        unit_id=row.unit_id,
        unit_name=row.unit_name,
        own_provider=row.own_provider,
        waiting_pickup=row.waiting_pickup,
    )


def _summary(order: Order | selectors.OpenOrderRow) -> OrderSummary:
    return OrderSummary(
        id=order.pk,
        number=order.number,
        status=order.status,
        patient_id=order.patient_id,
        unit_id=order.unit_id,
        urgent=order.urgent,
        registered_at=order.registered_at,
        expected_on=order.expected_on,
    )


@router.get(
    "/patients/{patient_id}/holdings",
    response=HoldingsOut,
    url_name="holdings",
    summary="En patients hjälpmedelsinnehav",
)
def holdings(request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)) -> HoldingsOut:
    """The id comes from POST /patients/lookup. 404 for a patient the client may not open."""
    actor = acting(request, ApiScope.HOLDINGS_READ)
    grant = patients.grant_or_404(
        actor=actor, patient_id=patient_id, session_ref=session_ref(request)
    )
    view = selectors.holdings(actor=actor, grant=grant)
    return HoldingsOut(
        patient_id=grant.patient.pk,
        active=[_loan(row) for row in view.active],
        past=[_loan(row) for row in view.past],
        hidden=view.hidden,
        blocked=view.blocked,
        open_orders=[_summary(order) for order in view.open_orders],
    )


# --- Orders -----------------------------------------------------------------------------------


class OrderLineOut(Schema):
    id: int
    article_id: int
    article_number: str
    quantity: int
    status: str
    individual_number: str | None
    substitute_for_id: int | None


class OrderOut(OrderSummary):
    """An order as its unit sees it. The delivery address is not repeated: it is the patient's,
    the unit's or the one given when the order was placed."""

    delivery: str
    delivered_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    lines: list[OrderLineOut]


class OrderPage(Schema):
    items: list[OrderSummary]
    next_cursor: str | None


class LineIn(Schema):
    article_id: Id
    quantity: int = Field(1, ge=1, le=services.MAX_QUANTITY)


class DeliveryIn(Schema):
    """Where the order goes: the patient's address (protected identity: the approved delivery
    address), another address (street, postal code, city), the unit's, or collected at the
    centre."""

    kind: Literal["patient", "other", "unit", "centre"] = "patient"
    street: Line200 = ""
    postal_code: Line6 = ""
    city: Line100 = ""
    contact_name: Line120 = ""
    contact_phone: Line30 = ""
    note: Line300 = ""
    urgent: bool = False


class PrescriptionIn(Schema):
    goal: Text500 = ""
    follow_up_on: Day | None = None
    short_term_until: Day | None = None


class OrderIn(Schema):
    """An order for the patient with this personnummer, from the client's unit: the same rules
    as the order page (DOMAIN.md §3.2). Over LYFTA_MAX_PER_ISO_CLASS devices of one ISO class
    answers 409 until `over_limit_reason` says why."""

    identifier: Identifier
    lines: list[LineIn] = Field(min_length=1, max_length=services.MAX_LINES)
    delivery: DeliveryIn = Field(default_factory=DeliveryIn)
    prescription: PrescriptionIn = Field(default_factory=PrescriptionIn)
    over_limit_reason: Line200 = ""


class CancelIn(Schema):
    reason: Reason


def order_out(order: Order, lines: list[OrderLine]) -> OrderOut:
    return OrderOut(
        **_summary(order).model_dump(),
        delivery=order.delivery,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
        lines=[
            OrderLineOut(
                id=line.pk,
                article_id=line.article_id,
                article_number=line.article.article_number,
                quantity=line.quantity,
                status=line.status,
                individual_number=line.item.individual_number if line.item else None,
                substitute_for_id=line.substitute_for_id,
            )
            for line in lines
        ],
    )


def _shown(actor: Actor, response: HttpResponse, order: Order) -> OrderOut:
    """The order as the client sees it, with its ETag (for If-Match on an update)."""
    out = order_out(order, selectors.order_lines(actor, order))
    response["ETag"] = etag_of(out.model_dump(mode="json"))
    return out


@router.get("/orders", response=OrderPage, url_name="orders", summary="Enhetens ordrar")
def orders(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> OrderPage:
    """The unit's orders, oldest first; follow `next_cursor` for newer ones."""
    actor = acting(request, ApiScope.ORDERS_READ)
    page = selectors.orders_after(actor=actor, after=cursor_after(cursor), size=page_size(limit))
    return OrderPage(items=[_summary(o) for o in page.rows], next_cursor=next_cursor(page.last))


@router.post(
    "/orders",
    response={201: OrderOut},
    url_name="order_create",
    summary="Lägg en order för en patient",
    openapi_extra=ORDER_PROBLEMS,
)
def order_create(request: HttpRequest, response: HttpResponse, body: OrderIn) -> Status[OrderOut]:
    actor = acting(request, ApiScope.ORDERS_WRITE)
    require(actor, Cap.ORDERS_PRESCRIBE)
    grant = patients.grant_by_identifier(
        actor=actor, identifier=body.identifier, session_ref=session_ref(request)
    )
    found = Article.objects.select_related("iso_class", "substitution_group").in_bulk(
        [line.article_id for line in body.lines]
    )
    unknown = sorted({line.article_id for line in body.lines} - set(found))
    if unknown:
        raise ValidationError(
            {"lines": _("Okänd artikel: %(ids)s.") % {"ids": ", ".join(map(str, unknown))}}
        )
    delivery, rx = body.delivery, body.prescription
    order = services.order_place(
        actor=actor,
        grant=grant,
        lines=[services.LineInput(found[line.article_id], line.quantity) for line in body.lines],
        delivery=services.DeliveryInput(
            kind=delivery.kind,
            street=delivery.street,
            postal_code=delivery.postal_code,
            city=delivery.city,
            contact_name=delivery.contact_name,
            contact_phone=delivery.contact_phone,
            note=delivery.note,
            urgent=delivery.urgent,
        ),
        prescription=services.PrescriptionInput(
            goal=rx.goal, follow_up_on=rx.follow_up_on, short_term_until=rx.short_term_until
        ),
        over_limit_reason=body.over_limit_reason,
    )
    response["Location"] = reverse("api:order", kwargs={"order_id": order.pk})
    return Status(201, _shown(actor, response, order))


@router.get(
    "/orders/{order_id}",
    response=OrderOut,
    url_name="order",
    summary="En order",
    openapi_extra=ETAGGED,
)
def order(
    request: HttpRequest, response: HttpResponse, order_id: int = Path(..., ge=1, le=MAX_ID)
) -> OrderOut:
    """The order and its lines, with an ETag for If-Match."""
    actor = acting(request, ApiScope.ORDERS_READ)
    return _shown(actor, response, selectors.order_for(actor=actor, order_id=order_id))


@router.post(
    "/orders/{order_id}/cancel",
    response=OrderOut,
    url_name="order_cancel",
    summary="Makulera en order",
    openapi_extra=UPDATE_PROBLEMS,
)
def order_cancel(
    request: HttpRequest,
    response: HttpResponse,
    body: CancelIn,
    order_id: int = Path(..., ge=1, le=MAX_ID),
) -> OrderOut:
    """Cancel every open line of the order, as on the order page. Needs `If-Match` with the
    order's ETag: an order that changed since the client read it (a line picked, say) is not
    cancelled blind."""
    actor = acting(request, ApiScope.ORDERS_WRITE)
    found = selectors.order_for(actor=actor, order_id=order_id)
    current = order_out(found, selectors.order_lines(actor, found))
    require_match(request, etag_of(current.model_dump(mode="json")))
    cancelled = services.order_cancel(actor=actor, order=found, reason=body.reason)
    return _shown(actor, response, cancelled)


# --- Pick-up orders ---------------------------------------------------------------------------


class PickupLineOut(Schema):
    id: int
    loan_id: int
    status: str


class PickupSummary(Schema):
    id: int
    number: str
    status: str
    patient_id: int
    unit_id: int
    registered_at: dt.datetime
    rent_stop_on: dt.date
    collect_by: dt.date
    collected_at: dt.datetime | None


class PickupOut(PickupSummary):
    lines: list[PickupLineOut]


class PickupPage(Schema):
    items: list[PickupSummary]
    next_cursor: str | None


class PickupIn(Schema):
    """Devices to collect from the patient with this personnummer (loan ids from the holdings,
    the client's own provider's only). Without a street, the patient's address is used."""

    identifier: Identifier
    loan_ids: list[Id] = Field(min_length=1, max_length=services.MAX_LINES)
    street: Line200 = ""
    postal_code: Line6 = ""
    city: Line100 = ""
    contact_phone: Line30 = ""


def _pickup_summary(pickup: PickupOrder) -> PickupSummary:
    return PickupSummary(
        id=pickup.pk,
        number=pickup.number,
        status=pickup.status,
        patient_id=pickup.patient_id,
        unit_id=pickup.unit_id,
        registered_at=pickup.registered_at,
        rent_stop_on=pickup.rent_stop_on,
        collect_by=pickup.collect_by,
        collected_at=pickup.collected_at,
    )


def pickup_out(pickup: PickupOrder, lines: list[PickupLine]) -> PickupOut:
    return PickupOut(
        **_pickup_summary(pickup).model_dump(),
        lines=[
            PickupLineOut(id=line.pk, loan_id=line.loan_id, status=line.status) for line in lines
        ],
    )


@router.get("/pickups", response=PickupPage, url_name="pickups", summary="Enhetens hämtordrar")
def pickups(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> PickupPage:
    actor = acting(request, ApiScope.PICKUPS_READ)
    page = selectors.pickups_after(actor=actor, after=cursor_after(cursor), size=page_size(limit))
    return PickupPage(
        items=[_pickup_summary(p) for p in page.rows], next_cursor=next_cursor(page.last)
    )


@router.post(
    "/pickups",
    response={201: PickupOut},
    url_name="pickup_create",
    summary="Beställ hämtning hos en patient",
)
def pickup_create(
    request: HttpRequest, response: HttpResponse, body: PickupIn
) -> Status[PickupOut]:
    actor = acting(request, ApiScope.PICKUPS_WRITE)
    require(actor, Cap.ORDERS_PLACE)
    grant = patients.grant_by_identifier(
        actor=actor, identifier=body.identifier, session_ref=session_ref(request)
    )
    wanted = set(body.loan_ids)
    loans = list(selectors.loans_for_pickup(actor=actor, grant=grant).filter(pk__in=wanted))
    unknown = sorted(wanted - {loan.pk for loan in loans})
    if unknown:
        raise ValidationError(
            {
                "loan_ids": _("Hjälpmedel som inte kan hämtas hos patienten: %(ids)s.")
                % {"ids": ", ".join(map(str, unknown))}
            }
        )
    pickup = services.pickup_register(
        actor=actor,
        grant=grant,
        pickup=services.PickupInput(
            street=body.street,
            postal_code=body.postal_code,
            city=body.city,
            contact_phone=body.contact_phone,
            loans=loans,
        ),
    )
    response["Location"] = reverse("api:pickup", kwargs={"pickup_id": pickup.pk})
    return Status(201, pickup_out(pickup, selectors.pickup_lines(pickup)))


@router.get("/pickups/{pickup_id}", response=PickupOut, url_name="pickup", summary="En hämtorder")
def pickup(request: HttpRequest, pickup_id: int = Path(..., ge=1, le=MAX_ID)) -> PickupOut:
    actor = acting(request, ApiScope.PICKUPS_READ)
    found = selectors.pickup_for(actor=actor, pickup_id=pickup_id)
    return pickup_out(found, selectors.pickup_lines(found))
