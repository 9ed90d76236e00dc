"""Deviations in the API (issue 18): the deviations the client's unit reported (as the pages'
list: rows.deviations_for decides), one deviation, and registering one through the same service
and rules as the page, from the thing it happened with: a loan of a patient's holdings, an
order (and one of its lines), a pick-up (and one of its lines), a work order or an item.

The list names no patient, as the page's; one deviation names its patient only by id, and only
where the access layer lets the client see him, each such read recorded (R57). A thing the
client may not see is the recorded 404, as on the pages (R38)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.params.functions import Path, Query
from pydantic import Field

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting, session_ref
from lyfta.api.paging import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, cursor_after, next_cursor, page_size
from lyfta.api.schema import MAX_ID, Day, Id, Line60, Line300, Said4000, Text2000
from lyfta.quality.models import Deviation
from lyfta.quality.selectors import deviations as selectors
from lyfta.quality.services import deviations as services
from lyfta.workorders import selectors as workorder_selectors

router = Router(tags=["Avvikelser"])
Source = Deviation.Source


class DeviationSummary(Schema):
    id: int
    number: str
    kind: str
    severity: str
    status: str
    source: str
    occurred_on: dt.date
    reported_at: dt.datetime
    unit_id: int
    article_id: int | None
    article_number: str | None
    individual_number: str | None
    lot: str
    quarantined: bool
    is_incident: bool


class DeviationOut(DeviationSummary):
    """A deviation as its reporting unit sees it. `patient_id` only where the client may see the
    patient (the same rule as the page's name)."""

    description: str
    consequence: str
    immediate_action: str
    wish: str
    patient_id: int | None
    order_id: int | None
    pickup_id: int | None
    workorder_id: int | None
    decided_at: dt.datetime | None
    closed_at: dt.datetime | None


class DeviationPage(Schema):
    items: list[DeviationSummary]
    next_cursor: str | None


class FromIn(Schema):
    """What the deviation happened with: exactly one of a loan of a patient's holdings
    (`patient_id` and `loan_id`), an order (`order_id`, optionally `order_line_id`), a pick-up
    (`pickup_id`, optionally `pickup_line_id`), a work order (`workorder_id`) or an item
    (`individual_number`). The patient comes from the thing, never typed in."""

    patient_id: Id | None = None
    loan_id: Id | None = None
    order_id: Id | None = None
    order_line_id: Id | None = None
    pickup_id: Id | None = None
    pickup_line_id: Id | None = None
    workorder_id: Id | None = None
    individual_number: str | None = Field(None, min_length=1, max_length=20, pattern=r"^\w+$")


class DeviationIn(Schema):
    """The same as the page's form (DOMAIN.md §3.5)."""

    source: FromIn
    kind: Literal[
        "adverse_event",
        "near_miss",
        "product_fault",
        "delivery_error",
        "service_error",
        "information_error",
    ]
    severity: Literal["none", "minor", "moderate", "serious", "death"] = "none"
    description: Said4000
    consequence: Text2000 = ""
    immediate_action: Text2000 = ""
    occurred_on: Day
    wish: Line300 = ""
    lot: Line60 = ""
    quarantine: bool = False


def _summary(deviation: Deviation) -> DeviationSummary:
    article, item = deviation.article, deviation.item
    return DeviationSummary(
        id=deviation.pk,
        number=deviation.number,
        kind=deviation.kind,
        severity=deviation.severity,
        status=deviation.status,
        source=deviation.source,
        occurred_on=deviation.occurred_on,
        reported_at=deviation.reported_at,
        unit_id=deviation.unit_id,
        article_id=article.pk if article else None,
        article_number=article.article_number if article else None,
        individual_number=item.individual_number if item else None,
        lot=deviation.lot,
        quarantined=deviation.quarantined_at is not None,
        is_incident=deviation.is_incident,
    )


def deviation_out(request: HttpRequest, actor: Actor, deviation: Deviation) -> DeviationOut:
    """The deviation with its patient's id where the client may see him: the page's rule and its
    record (selectors.patient_view records each naming)."""
    view = selectors.patient_view(
        actor=actor, deviation=deviation, session_ref=session_ref(request)
    )
    named = view is not None and bool(view.identifier)
    return DeviationOut(
        **_summary(deviation).model_dump(),
        description=deviation.description,
        consequence=deviation.consequence,
        immediate_action=deviation.immediate_action,
        wish=deviation.wish,
        patient_id=deviation.patient_id if named else None,
        order_id=deviation.order_id,
        pickup_id=deviation.pickup_id,
        workorder_id=deviation.workorder_id,
        decided_at=deviation.decided_at,
        closed_at=deviation.closed_at,
    )


@router.get(
    "/deviations", response=DeviationPage, url_name="deviations", summary="Enhetens avvikelser"
)
def deviations(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> DeviationPage:
    """The deviations the client's unit reported, oldest first; follow `next_cursor`. The list
    names no patient."""
    actor = acting(request, ApiScope.DEVIATIONS_READ)
    page = selectors.deviations_after(
        actor=actor, after=cursor_after(cursor), size=page_size(limit)
    )
    return DeviationPage(items=[_summary(d) for d in page.rows], next_cursor=next_cursor(page.last))


def _line(lines: list[Any], line_id: int | None, field: str) -> Any:
    if line_id is None:
        return None
    found = next((line for line in lines if line.pk == line_id), None)
    if found is None:
        raise ValidationError({field: _("Raden finns inte på den ordern.")})
    return found


def _things(request: HttpRequest, actor: Actor, given: FromIn) -> tuple[str, dict[str, Any]]:
    """The source and what it gives (patient, item, article, order, pickup, workorder), found as
    the page's report views find them, through the same selectors."""
    named = [
        value
        for value in (
            given.loan_id,
            given.order_id,
            given.pickup_id,
            given.workorder_id,
            given.individual_number,
        )
        if value is not None
    ]
    if len(named) != 1 or (given.loan_id is None) != (given.patient_id is None):
        raise ValidationError(
            {
                "source": _(
                    "Ange precis ett av lån (med patient), order, hämtorder, arbetsorder "
                    "eller individ."
                )
            }
        )
    if given.patient_id is not None and given.loan_id is not None:
        grant, loan = selectors.loan_to_report(
            actor=actor,
            patient_id=given.patient_id,
            loan_id=given.loan_id,
            session_ref=session_ref(request),
        )
        return Source.HOLDINGS, {
            "patient": grant.patient,
            "item": loan.item,
            "article": loan.article,
        }
    if given.order_id is not None:
        order, order_lines = selectors.order_to_report(actor=actor, order_id=given.order_id)
        line = _line(order_lines, given.order_line_id, "order_line_id")
        things: dict[str, Any] = {"order": order, "patient": order.patient}
        if line is not None:
            things.update(item=line.item, article=line.article)
        return Source.DELIVERY, things
    if given.pickup_id is not None:
        pickup, pickup_lines = selectors.pickup_to_report(actor=actor, pickup_id=given.pickup_id)
        line = _line(pickup_lines, given.pickup_line_id, "pickup_line_id")
        things = {"pickup": pickup, "patient": pickup.patient}
        if line is not None:
            things.update(item=line.loan.item, article=line.loan.article)
        return Source.PICKUP, things
    if given.workorder_id is not None:
        work = workorder_selectors.work_order_to_change(actor=actor, pk=given.workorder_id)
        return Source.WORKORDER, {
            "workorder": work,
            "item": work.item,
            "article": work.article or (work.item.article if work.item else None),
            "patient": work.patient,
        }
    item, current = selectors.item_to_report(
        actor=actor,
        individual_number=given.individual_number or "",
        session_ref=session_ref(request),
    )
    return Source.ITEM, {
        "item": item,
        "article": item.article,
        "patient": current.loan.patient if current is not None else None,
    }


@router.post(
    "/deviations",
    response={201: DeviationOut},
    url_name="deviation_create",
    summary="Registrera en avvikelse",
)
def deviation_create(
    request: HttpRequest, response: HttpResponse, body: DeviationIn
) -> Status[DeviationOut]:
    actor = acting(request, ApiScope.DEVIATIONS_WRITE)
    require(actor, Cap.DEVIATIONS_REPORT)
    if body.source.order_line_id is not None and body.source.order_id is None:
        raise ValidationError({"source": _("En orderrad anges med sin order.")})
    if body.source.pickup_line_id is not None and body.source.pickup_id is None:
        raise ValidationError({"source": _("En hämtorderrad anges med sin hämtorder.")})
    source, things = _things(request, actor, body.source)
    deviation = services.deviation_report(
        actor=actor,
        source=source,
        kind=body.kind,
        severity=body.severity,
        description=body.description,
        consequence=body.consequence,
        immediate_action=body.immediate_action,
        occurred_on=body.occurred_on,
        wish=body.wish,
        lot=body.lot,
        quarantine=body.quarantine,
        **things,
    )
    response["Location"] = reverse("api:deviation", kwargs={"deviation_id": deviation.pk})
    shown = selectors.deviation_to_change(actor=actor, pk=deviation.pk)
    return Status(201, deviation_out(request, actor, shown))


@router.get(
    "/deviations/{deviation_id}",
    response=DeviationOut,
    url_name="deviation",
    summary="En avvikelse",
)
def deviation(request: HttpRequest, deviation_id: int = Path(..., ge=1, le=MAX_ID)) -> DeviationOut:
    """The deviation, its opening recorded; 404 for one the client may not see."""
    actor = acting(request, ApiScope.DEVIATIONS_READ)
    return deviation_out(request, actor, selectors.deviation_for(actor=actor, pk=deviation_id))
