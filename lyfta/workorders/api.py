"""Work orders in the API (issue 18): the client's work orders as its role sees them on the
pages (a unit those for its own unit; rows.work_orders_for decides), one work order, and the
holdings' fault report ("Felanmälan") through the same service and rules as the page.

A work order names its patient only by id, and only where the page would name him (never a
protected patient to a client, which is nobody's named staff); each patient a list or a read
names is recorded by the selector it calls (R57), a refused id is the recorded 404 (R38)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema, Status
from ninja.params.functions import Path, Query

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting, session_ref
from lyfta.api.paging import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, cursor_after, next_cursor, page_size
from lyfta.api.schema import MAX_ID, Id, Line30, Said2000
from lyfta.orders import selectors as order_selectors
from lyfta.patients import selectors as patients
from lyfta.workorders import selectors, services
from lyfta.workorders.models import WorkOrder

router = Router(tags=["Arbetsordrar"])


class WorkOrderSummary(Schema):
    id: int
    number: str
    kind: str
    status: str
    priority: str
    unit_id: int
    patient_id: int | None
    individual_number: str | None
    article_id: int | None
    article_number: str | None
    registered_at: dt.datetime
    start_due: dt.date
    done_due: dt.date
    planned_on: dt.date | None


class WorkOrderOut(WorkOrderSummary):
    """A work order as the client's unit sees it. The visit address is not repeated: it is the
    patient's or the unit's."""

    place: str
    origin: str
    description: str
    waiting_note: str
    started_at: dt.datetime | None
    done_at: dt.datetime | None
    closed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    warranty: bool


class WorkOrderPage(Schema):
    items: list[WorkOrderSummary]
    next_cursor: str | None


class FaultIn(Schema):
    """A fault report on a device the patient holds from the client's unit: the patient's id
    (from POST /patients/lookup) and the loan's (from the holdings)."""

    patient_id: Id
    loan_id: Id
    kind: Literal[
        "repair", "adaptation", "special_adaptation", "trial", "installation", "off_catalogue"
    ] = "repair"
    description: Said2000
    place: Literal["home", "unit", "workshop"] = "home"
    priority: Literal["normal", "urgent"] = "normal"
    contact_phone: Line30 = ""


def _summary(actor: Actor, order: WorkOrder) -> WorkOrderSummary:
    article = order.article or (order.item.article if order.item else None)
    return WorkOrderSummary(
        id=order.pk,
        number=order.number,
        kind=order.kind,
        status=order.status,
        priority=order.priority,
        unit_id=order.unit_id,
        # As the pages: a protected patient is named to his named staff only (R54, R55).
        patient_id=order.patient_id if selectors.patient_shown(actor, order) else None,
        individual_number=order.item.individual_number if order.item else None,
        article_id=article.pk if article else None,
        article_number=article.article_number if article else None,
        registered_at=order.registered_at,
        start_due=order.start_due,
        done_due=order.done_due,
        planned_on=order.planned_on,
    )


def work_order_out(actor: Actor, order: WorkOrder) -> WorkOrderOut:
    return WorkOrderOut(
        **_summary(actor, order).model_dump(),
        place=order.place,
        origin=order.origin,
        description=order.description,
        waiting_note=order.waiting_note,
        started_at=order.started_at,
        done_at=order.done_at,
        closed_at=order.closed_at,
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
        warranty=order.warranty,
    )


@router.get(
    "/workorders", response=WorkOrderPage, url_name="workorders", summary="Enhetens arbetsordrar"
)
def work_orders(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> WorkOrderPage:
    """The unit's work orders, oldest first; follow `next_cursor` for newer ones."""
    actor = acting(request, ApiScope.WORKORDERS_READ)
    page = selectors.unit_after(actor=actor, after=cursor_after(cursor), size=page_size(limit))
    return WorkOrderPage(
        items=[_summary(actor, order) for order in page.rows], next_cursor=next_cursor(page.last)
    )


@router.post(
    "/workorders",
    response={201: WorkOrderOut},
    url_name="workorder_create",
    summary="Felanmäl ett hjälpmedel hos en patient",
)
def work_order_create(
    request: HttpRequest, response: HttpResponse, body: FaultIn
) -> Status[WorkOrderOut]:
    """As "Felanmälan" in the holdings: a device of an open loan from the client's provider,
    for a patient the client's unit may open. 404 for a patient or loan it may not."""
    actor = acting(request, ApiScope.WORKORDERS_WRITE)
    require(actor, Cap.WORKORDERS_REQUEST)
    grant = patients.grant_or_404(
        actor=actor, patient_id=body.patient_id, session_ref=session_ref(request)
    )
    loan = order_selectors.loan_of(actor=actor, grant=grant, loan_id=body.loan_id)
    if loan.ended_on is not None or actor.unit is None:
        raise order_selectors.denied(actor, "orders.loan", body.loan_id, patient_id=body.patient_id)
    order = services.work_order_create(
        actor=actor,
        grant=grant,
        unit=actor.unit,
        item=loan.item,
        article=loan.article,
        kind=body.kind,
        description=body.description,
        place=body.place,
        priority=body.priority,
        contact_phone=body.contact_phone,
        origin=WorkOrder.Origin.PRESCRIBER,
    )
    response["Location"] = reverse("api:workorder", kwargs={"workorder_id": order.pk})
    shown = selectors.work_order_to_change(actor=actor, pk=order.pk)
    return Status(201, work_order_out(actor, shown))


@router.get(
    "/workorders/{workorder_id}",
    response=WorkOrderOut,
    url_name="workorder",
    summary="En arbetsorder",
)
def work_order(
    request: HttpRequest, workorder_id: int = Path(..., ge=1, le=MAX_ID)
) -> WorkOrderOut:
    """The work order, recorded as a read of its patient; 404 for one the client may not see."""
    actor = acting(request, ApiScope.WORKORDERS_READ)
    return work_order_out(actor, selectors.work_order_for(actor=actor, pk=workorder_id))
