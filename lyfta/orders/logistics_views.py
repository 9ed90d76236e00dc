"""The centre's logistics pages: the day's pick list, an order to pick and deliver, pick-ups to
collect, returns to receive and the reconditioning queue (DOMAIN.md §3.2 points 5–6, §3.6).

Each view parses input, calls one service or selector and renders or redirects. A refused step
gets its Swedish message and a 400 on the page it came from; a protected patient's name and
address are never shown here (R55)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.patients import is_named_staff
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.core.http import LyftaRequest
from lyfta.core.paging import page_number
from lyfta.core.workdays import next_working_day
from lyfta.inventory import selectors as stock_selectors
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item
from lyfta.orders import selectors, services, signature
from lyfta.orders.logistics_forms import (
    CollectForm,
    ConditionForm,
    DayForm,
    FailedDeliveryForm,
    PickForm,
    PicklistForm,
    ReasonForm,
    ReceiptForm,
    ReconditionedForm,
)
from lyfta.orders.models import ConditionReport, Order, OrderLine, PickupLine, PickupOrder


@dataclass(frozen=True)
class Shown:
    """What of a recipient the centre's pages show. A protected patient's name is never shown,
    nor an address that is or may be theirs (R55): a confidential address, or the patient's own
    or another address of a patient protected since the order was placed. A unit's address and
    pick-up at the centre are not the patient's and stay visible."""

    name: bool
    address: bool


def shown_order(order: Order) -> Shown:
    protected = order.patient is not None and order.patient.is_protected
    theirs = order.delivery in (Order.Delivery.PATIENT, Order.Delivery.OTHER)
    return Shown(
        name=not (protected or order.confidential_address),
        address=not (order.confidential_address or (protected and theirs)),
    )


def shown_to(actor: Actor, order: Order) -> Shown:
    """What of the recipient the actor's order pages, and the order's loan agreement, show: as
    on the centre's pages, and all of it to a protected patient's named staff (R53–R55)."""
    if order.patient is not None and is_named_staff(actor, order.patient):
        return Shown(name=True, address=True)
    return shown_order(order)


def shown_pickup(pickup: PickupOrder) -> Shown:
    hidden = pickup.confidential_address or pickup.patient.is_protected
    return Shown(name=not hidden, address=not hidden)


def _refused(request: LyftaRequest, error: ValidationError) -> None:
    for problem in error.messages:
        messages.error(request, problem)


def _invalid(request: LyftaRequest, form: Any) -> None:
    for problems in form.errors.values():
        for problem in problems:
            messages.error(request, problem)


# --- The pick list ----------------------------------------------------------------------------


LATER_SHOWN = 50  # orders due after the pick list's day, listed under it


@require_GET
def picklist(request: LyftaRequest) -> HttpResponse:
    """The orders to pick for a delivery day (the next working day unless chosen) and area,
    printable. A protected patient's address is never on it (R55)."""
    require(request.actor, Cap.ORDERS_HANDLE)
    default_day = next_working_day(timezone.localdate())
    form = PicklistForm(request.GET or None, initial={"dag": default_day})
    if form.is_bound and not form.is_valid():
        return render(request, "logistics/picklist.html", {"form": form}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    day, area = data.get("dag") or default_day, data.get("omrade") or ""
    stops = selectors.picklist(
        actor=request.actor, day=day, area=area, page=page_number(request.GET.get("sida"))
    )
    # Orders due after the day are listed under it (number, unit, day: no patient), so that an
    # order due later is not hidden until the day is changed.
    later = selectors.picks_later(actor=request.actor, day=day)
    if area:
        later = later.filter(postal_code__startswith=area[:3], confidential_address=False)
    return render(
        request,
        "logistics/picklist.html",
        {
            "form": form,
            "rows": [(stop, shown_order(stop.order)) for stop in stops],
            "page": stops,
            "page_size": selectors.PICK_PAGE,
            "query": urlencode({"dag": day.isoformat(), **({"omrade": area} if area else {})}),
            "day": day,
            "area": area,
            "now": timezone.localtime(),
            "later": list(later[:LATER_SHOWN]),
        },
    )


# --- One order --------------------------------------------------------------------------------


def _order_page(
    request: LyftaRequest,
    order_id: int,
    *,
    status: int = 200,
    template: str = "logistics/order.html",
    receipt_form: ReceiptForm | None = None,
    failed_form: FailedDeliveryForm | None = None,
) -> HttpResponse:
    order = selectors.order_for(actor=request.actor, order_id=order_id)
    lines = selectors.order_lines(request.actor, order)
    return render(
        request,
        template,
        {
            "order": order,
            "lines": lines,
            "picked": [line for line in lines if line.status == OrderLine.Status.PICKED],
            "open": order.status in Order.OPEN,
            "shown": shown_order(order),
            "address": ", ".join(
                part for part in (order.street, f"{order.postal_code} {order.city}".strip()) if part
            ),
            "attempts": selectors.order_attempts(request.actor, order),
            "receipts": [
                (receipt, signature.svg(receipt.signature))
                for receipt in selectors.order_receipts(request.actor, order)
            ],
            "receipt_form": receipt_form or ReceiptForm(),
            "failed_form": failed_form
            or FailedDeliveryForm(
                initial={"new_day": next_working_day(timezone.localdate()), "fee": "1"}
            ),
        },
        status=status,
    )


def _order(request: LyftaRequest, order_id: int) -> Order:
    """An order to act on, without recording a read: nothing of the patient is shown."""
    require(request.actor, Cap.ORDERS_HANDLE)
    order = selectors.orders_visible(request.actor).filter(pk=order_id).first()
    if order is None:
        raise selectors.denied(request.actor, "orders.order", order_id)
    return order


def _line(request: LyftaRequest, order_id: int, line_id: int) -> OrderLine:
    order = _order(request, order_id)
    line = (
        rows.lines_of(request.actor, order)
        .filter(pk=line_id)
        .select_related("order__unit", "order__orderer", "article", "item", "source")
        .first()
    )
    if line is None:
        raise Http404
    return line


@require_GET
def order(request: LyftaRequest, order_id: int) -> HttpResponse:
    """An order as the centre handles it: pick each line, deliver, or report a failed delivery."""
    require(request.actor, Cap.ORDERS_HANDLE)
    return _order_page(request, order_id)


@require_POST
def line_pick(request: LyftaRequest, order_id: int, line_id: int) -> HttpResponse:
    """Pick a line; for a tracked article the picker scans the individual taken."""
    line = _line(request, order_id, line_id)
    form = PickForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
        return _order_page(request, order_id, status=400)
    try:
        picked = services.line_pick(
            actor=request.actor,
            line=line,
            individual_number=form.cleaned_data["individual_number"],
        )
    except ValidationError as error:  # OutOfStock included
        _refused(request, error)
        return _order_page(request, order_id, status=400)
    messages.success(
        request,
        _("Plockad: %(article)s%(item)s.")
        % {
            "article": picked.article,
            "item": f", {picked.item.individual_number}" if picked.item else "",
        },
    )
    return redirect("logistics:order", order_id=order_id)


@require_POST
def line_cancel(request: LyftaRequest, order_id: int, line_id: int) -> HttpResponse:
    """Cancel one line with a reason; the orderer is told."""
    line = _line(request, order_id, line_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
        return _order_page(request, order_id, status=400)
    try:
        services.order_line_cancel(
            actor=request.actor, line=line, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        _refused(request, error)
        return _order_page(request, order_id, status=400)
    messages.success(request, _("Raden är makulerad."))
    return redirect("logistics:order", order_id=order_id)


@require_GET
def delivery(request: LyftaRequest, order_id: int) -> HttpResponse:
    """The driver's delivery page, made for a phone: what to hand over, who received it with a
    signature drawn on the screen (or why not), or that nobody was home."""
    require(request.actor, Cap.ORDERS_HANDLE)
    return _order_page(request, order_id, template="logistics/delivery.html")


@require_POST
def deliver(request: LyftaRequest, order_id: int) -> HttpResponse:
    """Confirm delivery of the picked lines with the receipt: loans start on the patient (or
    stock arrives in the unit's buffer store) and the orderer is told."""
    order = _order(request, order_id)
    form = ReceiptForm(request.POST)
    page = "logistics/delivery.html"
    if not form.is_valid():
        _invalid(request, form)
        return _order_page(request, order_id, status=400, template=page, receipt_form=form)
    try:
        loans = services.order_deliver(actor=request.actor, order=order, receipt=form.receipt())
    except ValidationError as error:
        _refused(request, error)
        return _order_page(request, order_id, status=400, template=page, receipt_form=form)
    if order.store_id is not None:
        messages.success(request, _("Leveransen till buffertförrådet är registrerad."))
    else:
        messages.success(
            request,
            _("Leveransen är registrerad: %(n)s hjälpmedel utlånade.") % {"n": len(loans)},
        )
    return redirect("logistics:order", order_id=order_id)


@require_POST
def delivery_failed(request: LyftaRequest, order_id: int) -> HttpResponse:
    """Nobody home (bomkörning): the attempt is recorded, the order keeps its devices and gets a
    new delivery day, the fee is decided and the orderer is told."""
    order = _order(request, order_id)
    form = FailedDeliveryForm(request.POST)
    page = (
        "logistics/delivery.html"
        if request.POST.get("from") == "delivery"
        else "logistics/order.html"
    )
    if not form.is_valid():
        _invalid(request, form)
        return _order_page(request, order_id, status=400, template=page, failed_form=form)
    data = form.cleaned_data
    try:
        failed = services.order_delivery_failed(
            actor=request.actor,
            order=order,
            reason=data["reason"],
            new_day=data["new_day"],
            fee=data["fee"],
        )
    except ValidationError as error:
        _refused(request, error)
        return _order_page(request, order_id, status=400, template=page, failed_form=form)
    messages.success(
        request,
        _("Bomkörningen är registrerad. Ny leveransdag %(day)s; förskrivaren är underrättad.")
        % {"day": failed.expected_on.isoformat()},
    )
    return redirect("logistics:order", order_id=order_id)


# --- Pick-ups and returns ---------------------------------------------------------------------


def _pickups_page(request: LyftaRequest, *, status: int = 200) -> HttpResponse:
    form = DayForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "logistics/pickups.html", {"form": form}, status=400)
    day = form.cleaned_data.get("dag") if form.is_bound else None
    pickups = selectors.pickups_open(actor=request.actor, day=day)
    return render(
        request,
        "logistics/pickups.html",
        {
            "form": form,
            "rows": [(pickup, shown_pickup(pickup)) for pickup in pickups],
            "now": timezone.localtime(),
        },
        status=status,
    )


@require_GET
def pickups(request: LyftaRequest) -> HttpResponse:
    """Pick-up orders to collect, by the day they must be collected."""
    require(request.actor, Cap.ORDERS_HANDLE)
    return _pickups_page(request)


@require_POST
def pickup_collect(request: LyftaRequest, pickup_id: int) -> HttpResponse:
    """The driver's report: all collected, except lines marked missing with a reason."""
    require(request.actor, Cap.ORDERS_HANDLE)
    pickup = rows.pickups_for(request.actor).filter(pk=pickup_id).first()
    if pickup is None:
        raise selectors.denied(request.actor, "orders.pickuporder", pickup_id)
    waiting = rows.pickup_lines_for(request.actor).filter(
        pickup=pickup, status=PickupLine.Status.WAITING
    )
    form = CollectForm(request.POST, lines=list(waiting))
    if not form.is_valid():
        _invalid(request, form)
        return _pickups_page(request, status=400)
    # The receipt signed at collection: who handed the devices over (unless none was there).
    receipt = None
    if len(form.missing()) < len(form.lines):
        receipt_form = ReceiptForm(request.POST)
        if not receipt_form.is_valid():
            _invalid(request, receipt_form)
            return _pickups_page(request, status=400)
        receipt = receipt_form.receipt()
    try:
        services.pickup_collect(
            actor=request.actor, pickup=pickup, missing=form.missing(), receipt=receipt
        )
    except ValidationError as error:
        _refused(request, error)
        return _pickups_page(request, status=400)
    messages.success(request, _("Hämtorder %(number)s är hämtad.") % {"number": pickup.number})
    return redirect("logistics:pickups")


def _returns_page(request: LyftaRequest, *, status: int = 200) -> HttpResponse:
    lines = selectors.returns_to_receive(actor=request.actor)
    conditions = selectors.conditions_of_lines(
        actor=request.actor, line_ids=[line.pk for line in lines]
    )
    return render(
        request,
        "logistics/returns.html",
        {"rows": [(line, conditions.get(line.pk, [])) for line in lines]},
        status=status,
    )


@require_GET
def returns(request: LyftaRequest) -> HttpResponse:
    """Collected devices to receive at the centre."""
    return _returns_page(request)


@require_POST
def return_receive(request: LyftaRequest, line_id: int) -> HttpResponse:
    """A collected device arrives: the loan ends and it goes to reconditioning."""
    require(request.actor, Cap.STOCK_MANAGE)
    line = rows.pickup_lines_for(request.actor).filter(pk=line_id).first()
    if line is None:
        raise selectors.denied(request.actor, "orders.pickupline", line_id)
    try:
        loan = services.pickup_receive(actor=request.actor, line=line)
    except ValidationError as error:
        _refused(request, error)
        return _returns_page(request, status=400)
    messages.success(request, _("Mottagen: %(article)s.") % {"article": loan.article})
    return redirect("logistics:returns")


# --- Reconditioning ---------------------------------------------------------------------------


def _reconditioning_page(request: LyftaRequest, *, status: int = 200) -> HttpResponse:
    items = selectors.reconditioning_queue(actor=request.actor)
    # The condition at collection and at receipt, with the photos, first (issue 16 point 4).
    conditions = selectors.conditions_of_items(actor=request.actor, items=items)
    manager = can(request.actor, Cap.STOCK_MANAGE)
    form = (
        ReconditionedForm(locations=stock_selectors.central_locations(request.actor))
        if manager
        else None
    )
    return render(
        request,
        "logistics/reconditioning.html",
        {
            "rows": [(item, conditions.get(item.pk, [])) for item in items],
            "manager": manager,
            "form": form,
            "see_conditions": rows.may_see_conditions(request.actor),
        },
        status=status,
    )


@require_GET
def reconditioning(request: LyftaRequest) -> HttpResponse:
    """Items being cleaned and checked: back to stock, or scrapped with a reason."""
    return _reconditioning_page(request)


@require_POST
def recondition_done(request: LyftaRequest, item_id: int) -> HttpResponse:
    require(request.actor, Cap.STOCK_MANAGE)
    item = get_object_or_404(Item, pk=item_id)
    form = ReconditionedForm(
        request.POST, locations=stock_selectors.central_locations(request.actor)
    )
    if not form.is_valid():
        _invalid(request, form)
        return _reconditioning_page(request, status=400)
    try:
        stock.item_recondition_done(actor=request.actor, item=item, to=form.cleaned_data["to"])
    except ValidationError as error:
        _refused(request, error)
        return _reconditioning_page(request, status=400)
    messages.success(
        request,
        _("Individ %(number)s är tillbaka i lager.") % {"number": item.individual_number},
    )
    return redirect("logistics:reconditioning")


@require_POST
def scrap(request: LyftaRequest, item_id: int) -> HttpResponse:
    require(request.actor, Cap.STOCK_MANAGE)
    item = get_object_or_404(Item, pk=item_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
        return _reconditioning_page(request, status=400)
    try:
        stock.item_scrap(actor=request.actor, item=item, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        _refused(request, error)
        return _reconditioning_page(request, status=400)
    messages.success(
        request, _("Individ %(number)s är skrotad.") % {"number": item.individual_number}
    )
    return redirect("logistics:reconditioning")


# --- The condition of a returned device (issue 16 point 4) ------------------------------------


def _condition(request: LyftaRequest, line_id: int, stage: str) -> HttpResponse:
    """The checklist of one returned device, on a phone: each point, a remark and photos."""
    line = selectors.condition_line(actor=request.actor, line_id=line_id, stage=stage)
    points = services.condition_points(line.loan.article)
    done = selectors.conditions_of_lines(actor=request.actor, line_ids=[line.pk]).get(line.pk, [])
    recorded = next((report for report in done if report.stage == stage), None)
    back = "logistics:returns" if stage == ConditionReport.Stage.RECEIPT else "logistics:pickups"
    form = ConditionForm(request.POST or None, request.FILES or None, points=points)
    status = 200
    if request.method == "POST" and recorded is None:
        if form.is_valid():
            try:
                uploads = [
                    upload
                    for upload in (form.cleaned_data[f"photo_{n}"] for n in range(1, 4))
                    if upload is not None
                ]
                # Refused before it is read into memory.
                if any(upload.size > services.MAX_PHOTO_BYTES for upload in uploads):
                    raise ValidationError(_("Fotot är större än 10 MB."))
                photos = [(upload.name or "", upload.read()) for upload in uploads]
                services.condition_record(
                    actor=request.actor,
                    line=line,
                    stage=stage,
                    results=form.results(),
                    note=form.cleaned_data["note"],
                    photos=photos,
                )
            except ValidationError as error:
                for problem in error.messages:
                    form.add_error(None, problem)
            else:
                messages.success(request, _("Skicket är registrerat."))
                return redirect(back)
        status = 400
    elif request.method == "POST":
        messages.error(request, _("Skicket är redan registrerat."))
        status = 400
    return render(
        request,
        "logistics/condition.html",
        {
            "line": line,
            "stage": stage,
            "stage_label": ConditionReport.Stage(stage).label,
            "form": form,
            "recorded": [recorded] if recorded else [],
            "earlier": [report for report in done if report.stage != stage],
            "back": back,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def pickup_condition(request: LyftaRequest, line_id: int) -> HttpResponse:
    """The driver's checklist when a device is collected."""
    return _condition(request, line_id, ConditionReport.Stage.COLLECTION)


@require_http_methods(["GET", "POST"])
def return_condition(request: LyftaRequest, line_id: int) -> HttpResponse:
    """The warehouse's checklist when a device is received."""
    return _condition(request, line_id, ConditionReport.Stage.RECEIPT)


@require_GET
def condition_photo(request: LyftaRequest, photo_id: int) -> HttpResponse:
    """A photo of a returned device, only after the access check, recorded."""
    photo = selectors.condition_photo_for(actor=request.actor, photo_id=photo_id)
    try:
        data = services.condition_photo_bytes(photo)
    except OSError as error:
        raise Http404 from error
    response = HttpResponse(data, content_type=photo.content_type)
    response["Content-Disposition"] = content_disposition_header(False, photo.name) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
