"""The stock pages that orders draw (under /lager/, in the namespace "stock"): the buffer stores
with their refill needs and refill orders, the item card with its loans, and the recall list with
each device's holder. They read orders' loans and lines, so they live here: stock knows no orders.
Each view parses input, calls one service or selector and renders."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.accounts.sessions import session_ref
from lyfta.core import csvsafe
from lyfta.core.forms import add_service_errors
from lyfta.core.http import LyftaRequest
from lyfta.inventory import services as stock
from lyfta.inventory.forms import BufferLevelForm, RecallForm, ReservationForm
from lyfta.inventory.models import Item, StockLocation
from lyfta.orders import selectors
from lyfta.orders import services as order_services
from lyfta.orders.selectors import RecallRow

HIDDEN_PATIENT = gettext_lazy("Patient (visas inte för dig)")


# --- Buffer stores ----------------------------------------------------------------------------


def _store(request: LyftaRequest, store_id: int) -> StockLocation:
    store = selectors.stores_visible(request.actor).filter(pk=store_id).first()
    if store is None:
        raise Http404
    return store


@require_GET
def stores(request: LyftaRequest) -> HttpResponse:
    """Every buffer store with its total refill need."""
    require(request.actor, Cap.STOCK_VIEW)
    rows = [
        (store, sum(need.need for need in selectors.refill_needs(store)))
        for store in selectors.stores_visible(request.actor).order_by("name")
    ]
    return render(request, "stock/stores.html", {"rows": rows})


def _store_page(
    request: LyftaRequest, store: StockLocation, form: BufferLevelForm, *, failed: bool = False
) -> HttpResponse:
    return render(
        request,
        "stock/store.html",
        {
            "store": store,
            "needs": selectors.refill_needs(store),
            "form": form,
            "manager": can(request.actor, Cap.STOCK_MANAGE),
            "can_refill": can(request.actor, Cap.ORDERS_HANDLE),
        },
        status=400 if failed or form.errors else 200,
    )


@require_GET
def store(request: LyftaRequest, store_id: int) -> HttpResponse:
    """One buffer store: safety levels, what is there, what is on its way, what to send."""
    require(request.actor, Cap.STOCK_VIEW)
    return _store_page(request, _store(request, store_id), BufferLevelForm())


@require_POST
def store_level(request: LyftaRequest, store_id: int) -> HttpResponse:
    require(request.actor, Cap.STOCK_MANAGE)
    store = _store(request, store_id)
    form = BufferLevelForm(request.POST)
    if form.is_valid():
        try:
            stock.buffer_level_set(
                actor=request.actor,
                location=store,
                article=form.cleaned_data["article"],
                safety_level=form.cleaned_data["safety_level"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Säkerhetsnivån är sparad."))
            return redirect("stock:store", store_id=store.pk)
    return _store_page(request, store, form)


@require_POST
def store_refill(request: LyftaRequest, store_id: int) -> HttpResponse:
    """Order what the store needs up to its safety levels, from the central warehouse."""
    require(request.actor, Cap.ORDERS_HANDLE)
    store = _store(request, store_id)
    # One line may ask for at most the service's maximum; the rest shows as a need afterwards.
    lines = [
        order_services.LineInput(need.article, min(need.need, order_services.MAX_QUANTITY))
        for need in selectors.refill_needs(store)
        if need.need > 0
    ]
    if not lines:
        messages.error(request, _("Förrådet behöver ingen påfyllning just nu."))
        return _store_page(request, store, BufferLevelForm(), failed=True)
    try:
        order = order_services.order_store_place(actor=request.actor, store=store, lines=lines)
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
        return _store_page(request, store, BufferLevelForm(), failed=True)
    messages.success(request, _("Påfyllningsorder %(number)s är lagd.") % {"number": order.number})
    return redirect("logistics:order", order_id=order.pk)


# --- The item card --------------------------------------------------------------------------


@require_GET
def item(request: LyftaRequest, individual_number: str) -> HttpResponse:
    """An item's card (individkort): where it has been and who has had it, patients named only
    where the viewer may open them."""
    card = selectors.item_card(
        actor=request.actor,
        individual_number=individual_number,
        session_ref=session_ref(request),
    )
    may_new_work = can(request.actor, Cap.WORKORDERS_HANDLE) or (
        can(request.actor, Cap.STOCK_MANAGE) and card.item.holder_id is None
    )
    return _item_page(request, card, may_new_work=may_new_work)


def _item_page(
    request: LyftaRequest,
    card: Any,
    *,
    may_new_work: bool = False,
    reserve_form: ReservationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_reserve = can(request.actor, Cap.STOCK_MANAGE)
    return render(
        request,
        "stock/item.html",
        {
            "card": card,
            "hidden": HIDDEN_PATIENT,
            "may_new_work": may_new_work,
            "today": timezone.localdate(),
            "may_reserve": may_reserve,
            "reservable": card.item.status in stock.RESERVABLE
            and not any(r.in_force for r in card.reservations),
            "reserve_form": reserve_form or (ReservationForm() if may_reserve else None),
        },
        status=status,
    )


@require_POST
def item_reserve(request: LyftaRequest, individual_number: str) -> HttpResponse:
    """Hold the item for a unit's planned need or one of its patients until a day."""
    require(request.actor, Cap.STOCK_MANAGE)
    item = Item.objects.filter(individual_number=individual_number).first()
    if item is None:
        raise Http404
    form = ReservationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        # The patient is looked up by the service, after every other field, through the access
        # layer's rule; any failure to find her gives one message (no existence or death oracle).
        try:
            stock.reservation_create(
                actor=request.actor,
                item=item,
                unit=data["unit"],
                until=data["until"],
                identifier=data["identifier"],
                note=data["note"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Individ %(number)s är reserverad till och med %(day)s.")
                % {"number": item.individual_number, "day": data["until"].isoformat()},
            )
            return redirect("stock:item", individual_number=item.individual_number)
    card = selectors.item_card(
        actor=request.actor, individual_number=individual_number, session_ref=session_ref(request)
    )
    return _item_page(request, card, reserve_form=form, status=400)


# --- Recall -----------------------------------------------------------------------------------


def _recall(request: LyftaRequest, *, required: bool) -> tuple[RecallForm, list[RecallRow] | None]:
    require(request.actor, Cap.RECALL)
    form = RecallForm(request.GET if required or request.GET else None)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    rows = selectors.recall_list(
        actor=request.actor,
        article=data["artikel"],
        batch=data["batch"],
        serial_from=data["serie_fran"],
        serial_to=data["serie_till"],
        session_ref=session_ref(request),
    )
    return form, rows


def _campaign_query(form: RecallForm) -> str:
    """The new-campaign form's query for the recall list's article, lot and serial range."""
    from urllib.parse import urlencode

    if not form.is_valid():
        return ""
    data = form.cleaned_data
    return urlencode(
        {
            "artikel": data["artikel"].article_number,
            "batch": data["batch"] or "",
            "fran": data["serie_fran"] or "",
            "till": data["serie_till"] or "",
        }
    )


@require_GET
def recall(request: LyftaRequest) -> HttpResponse:
    """Every unit of an article (a batch or a serial range) and who has it now (a field safety
    notice): the holding unit always, the patient only where the viewer may see them."""
    form, rows = _recall(request, required=False)
    return render(
        request,
        "stock/recall.html",
        {
            "form": form,
            "rows": rows,
            "hidden": HIDDEN_PATIENT,
            "query": request.GET.urlencode(),
            # The quality officer turns the list into a safety campaign (the quality desk's
            # page, linked by its URL only: stock knows nothing of campaigns).
            "campaign_query": _campaign_query(form)
            if can(request.actor, Cap.QUALITY_MANAGE)
            else "",
        },
        status=400 if form.errors else 200,
    )


@require_GET
def recall_csv(request: LyftaRequest) -> HttpResponse:
    """The recall list as CSV for a spreadsheet (UTF-8 with BOM, semicolons): the same rows as
    the page, from the same audited call; it names who produced it and when (R87)."""
    form, rows = _recall(request, required=True)
    if rows is None:
        return render(
            request,
            "stock/recall.html",
            {"form": form, "rows": None, "hidden": HIDDEN_PATIENT, "query": ""},
            status=400,
        )
    article = form.cleaned_data["artikel"]
    now = timezone.localtime()
    buffer = io.StringIO()
    # Cells a spreadsheet would read as a formula are written as text (CSV injection).
    writer = csvsafe.writer(buffer, delimiter=";")
    writer.writerow(
        [
            _("Återkallelselista för %(article)s") % {"article": article},
            _("Framtagen av %(name)s") % {"name": request.actor.display_name},
            now.strftime("%Y-%m-%d %H:%M"),
        ]
    )
    writer.writerow(
        [
            _("Individnummer"),
            _("Serienummer"),
            _("Batch/lot"),
            _("Status"),
            _("Enhet eller lagerplats"),
            _("Patient"),
            _("Utlånad sedan"),
        ]
    )
    for row in rows:
        writer.writerow(_recall_cells(row))
    response = HttpResponse(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    number = article.article_number.replace("/", "-")
    filename = f"aterkallelse-{number}-{now:%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _recall_cells(row: RecallRow) -> list[str]:
    patient = ""
    if row.loan is not None:
        patient = row.patient_label or str(HIDDEN_PATIENT)
    return [
        row.item.individual_number,
        row.item.serial_number,
        row.item.batch,
        str(row.item.get_status_display()),
        row.unit_name,
        patient,
        row.loan.started_on.isoformat() if row.loan is not None else "",
    ]
