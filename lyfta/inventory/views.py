"""The centre's stock pages: stock per location, goods receipt, stock-takes, finding an item and
ending its reservations. The stock pages that read orders (buffer stores and their refills, the
item card, recalls) are orders': lyfta/orders/stock_views.py. Each view parses input, calls one
service or selector and renders; bad input gets a Swedish message and a 400, never a 500."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access import rows
from lyfta.access.policies import can, require
from lyfta.access.refusals import denied
from lyfta.access.roles import Cap
from lyfta.core.forms import add_service_errors
from lyfta.core.http import LyftaRequest
from lyfta.inventory import selectors as stock_selectors
from lyfta.inventory import services
from lyfta.inventory.forms import (
    ItemFindForm,
    LocationForm,
    ReceiveForm,
    StocktakeForm,
)
from lyfta.inventory.models import StockLocation


def _page(request: LyftaRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    form = context.get("form")
    return render(request, template, context, status=400 if form and form.errors else 200)


# --- Stock per location ---------------------------------------------------------------------


def _overview(request: LyftaRequest, find_form: ItemFindForm) -> HttpResponse:
    locations = stock_selectors.locations_visible(request.actor)
    default = locations.filter(kind=StockLocation.Kind.CENTRAL).first() or locations.first()
    form = LocationForm(
        request.GET if "plats" in request.GET else None,
        locations=locations,
        initial={"plats": default},
    )
    location: StockLocation | None = None
    if form.is_bound and form.is_valid():
        location = form.cleaned_data["plats"]
    if location is None and not form.errors:
        location = default
    rows = [
        (article, on_hand, reserved, on_hand - reserved)
        for article, on_hand, reserved in (
            stock_selectors.stock_overview(actor=request.actor, location=location)
            if location
            else []
        )
    ]
    return render(
        request,
        "stock/overview.html",
        {
            "form": form,
            "location": location,
            "rows": rows,
            "find_form": find_form,
            "manager": can(request.actor, Cap.STOCK_MANAGE),
        },
        status=400 if form.errors or find_form.errors else 200,
    )


@require_GET
def overview(request: LyftaRequest) -> HttpResponse:
    """What is on hand and reserved at a location (the central warehouse unless one is chosen)."""
    return _overview(request, ItemFindForm())


@require_http_methods(["GET", "POST"])
def receive(request: LyftaRequest) -> HttpResponse:
    """Goods receipt from a supplier (inleverans)."""
    require(request.actor, Cap.STOCK_MANAGE)
    locations = stock_selectors.receiving_locations(request.actor)
    form = ReceiveForm(
        request.POST if request.method == "POST" else None,
        locations=locations,
        initial={"location": locations.filter(kind=StockLocation.Kind.CENTRAL).first()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            items = services.goods_receive(
                actor=request.actor,
                location=data["location"],
                article=data["article"],
                quantity=form.total(),
                items=form.received_items(),
                acquired_on=data["acquired_on"],
                value=data["value"],
                reference=data["reference"],
                lot=data["batch"] or "",
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            numbers = [item.individual_number for item in items]
            messages.success(
                request,
                _("Inlevererat: %(n)s st %(article)s till %(place)s.")
                % {"n": form.total(), "article": data["article"], "place": data["location"]}
                + (
                    " "
                    + _("Individnummer %(first)s–%(last)s.")
                    % {"first": numbers[0], "last": numbers[-1]}
                    if numbers
                    else ""
                ),
            )
            return redirect(f"{reverse('stock:overview')}?plats={data['location'].pk}")
    return _page(request, "stock/receive.html", {"form": form})


# --- Stock-takes ------------------------------------------------------------------------------


@require_GET
def stocktakes(request: LyftaRequest) -> HttpResponse:
    """Past stock-takes with their differences, and where to count next."""
    return render(
        request,
        "stock/stocktakes.html",
        {
            "takes": stock_selectors.stocktakes_recent(actor=request.actor),
            "locations": stock_selectors.locations_visible(request.actor),
            "manager": can(request.actor, Cap.STOCK_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
def stocktake(request: LyftaRequest, location_id: int) -> HttpResponse:
    """Count one location: quantities of non-tracked articles, individual numbers seen."""
    require(request.actor, Cap.STOCK_MANAGE)
    location = stock_selectors.location_for(actor=request.actor, location_id=location_id)
    form = StocktakeForm(
        request.POST if request.method == "POST" else None,
        articles=stock_selectors.countable_articles(location),
    )
    if request.method == "POST" and form.is_valid():
        try:
            take = services.stocktake_register(
                actor=request.actor,
                location=location,
                counts=form.counts(),
                items_seen=form.items(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                ngettext(
                    "Inventeringen är registrerad med %(n)s differens.",
                    "Inventeringen är registrerad med %(n)s differenser.",
                    len(take.differences),
                )
                % {"n": len(take.differences)},
            )
            return redirect("stock:stocktakes")
    return _page(request, "stock/stocktake.html", {"form": form, "location": location})


# --- The item card: finding it (the card itself is orders' page: lyfta/orders/stock_views.py) --


@require_GET
def item_find(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.STOCK_VIEW)
    form = ItemFindForm(request.GET)
    if form.is_valid():
        return redirect("stock:item", individual_number=form.cleaned_data["nummer"])
    return _overview(request, form)


# --- Reservations (issue 16 point 5) ----------------------------------------------------------


@require_POST
def reservation_cancel(request: LyftaRequest, reservation_id: int) -> HttpResponse:
    """End a reservation before its day: the item is offered to anyone again."""
    require(request.actor, Cap.STOCK_MANAGE)
    reservation = (
        rows.reservations_to_change(request.actor)
        .filter(pk=reservation_id)
        .select_related("item", "unit")
        .first()
    )
    if reservation is None:
        raise denied(request.actor, "inventory.reservation", reservation_id)
    number = reservation.item.individual_number
    try:
        services.reservation_cancel(actor=request.actor, reservation=reservation)
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
    else:
        messages.success(request, _("Reservationen är avbruten."))
    return redirect("stock:item", individual_number=number)
