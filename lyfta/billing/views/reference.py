"""The economy desk's reference-data pages (issue 14 points 1-3, 6): customers and cost centres,
price lists, payer rules and "Vem betalar?". The economy role (billing.view) sees them; with
billing.manage it changes them. Other roles get 403 before any object is looked up.

Each view parses input with a form, calls one selector or service, and renders or redirects with
a Swedish message; bad input gets the message and a 400, never a 500 or a half-write."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.billing.forms.reference import (
    CostCentreEditForm,
    CostCentreForm,
    CustomerForm,
    EndRuleForm,
    NewPriceListForm,
    PayerRuleForm,
    PriceListForm,
    UnitCostCentreForm,
    WhoPaysForm,
    rule_initial,
)
from lyfta.billing.models import Price
from lyfta.billing.selectors import reference as selectors
from lyfta.billing.services import payers
from lyfta.billing.services import reference as services
from lyfta.core.http import LyftaRequest


def _view(request: LyftaRequest) -> None:
    require(request.actor, Cap.BILLING_VIEW)


def _manage(request: LyftaRequest) -> None:
    require(request.actor, Cap.BILLING_MANAGE)


def _fail(request: LyftaRequest, error: ValidationError | PermissionDenied) -> None:
    if isinstance(error, PermissionDenied):
        messages.error(request, _("Du har inte behörighet att göra det här."))
        return
    for problem in error.messages:
        messages.error(request, problem)


def _invalid(request: LyftaRequest, form: Any) -> None:
    for problems in form.errors.values():
        for problem in problems:
            messages.error(request, str(problem))


# --- Customers and cost centres -------------------------------------------------------------


@require_GET
def customers(request: LyftaRequest) -> HttpResponse:
    _view(request)
    return render(
        request,
        "billing/ref_customers.html",
        {"customers": selectors.customers(), "may_manage": selectors.may_manage(request.actor)},
    )


def _customer_page(
    request: LyftaRequest, customer_id: int, status: int = 200, **forms: Any
) -> HttpResponse:
    customer = selectors.customer(customer_id)
    units = selectors.unit_periods(customer)
    context: dict[str, Any] = {
        "customer": customer,
        "units": units,
        "may_manage": selectors.may_manage(request.actor),
        "locked_day": selectors.last_locked_day(),
        "centre_form": forms.get("centre_form") or CostCentreForm(prefix="kst"),
        "unit_form": forms.get("unit_form")
        or UnitCostCentreForm(prefix="enhet", customer=customer, units=[row.unit for row in units]),
    }
    return render(request, "billing/ref_customer.html", context, status=status)


@require_GET
def customer(request: LyftaRequest, customer_id: int) -> HttpResponse:
    _view(request)
    return _customer_page(request, customer_id)


@require_http_methods(["GET", "POST"])
def customer_edit(request: LyftaRequest, customer_id: int) -> HttpResponse:
    _manage(request)
    found = selectors.customer(customer_id)
    form = CustomerForm(request.POST if request.method == "POST" else None, instance=found)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.customer_update(
                    actor=request.actor, customer=found, data=dict(form.cleaned_data)
                )
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
            else:
                messages.success(request, _("Kunden är sparad."))
                return redirect("billing:customer", customer_id=found.pk)
        else:
            status = 400
        found.refresh_from_db()
    return render(
        request, "billing/ref_customer_edit.html", {"customer": found, "form": form}, status=status
    )


@require_POST
def cost_centre_new(request: LyftaRequest, customer_id: int) -> HttpResponse:
    _manage(request)
    found = selectors.customer(customer_id)
    form = CostCentreForm(request.POST, prefix="kst")
    if not form.is_valid():
        return _customer_page(request, customer_id, status=400, centre_form=form)
    try:
        services.cost_centre_create(actor=request.actor, customer=found, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as error:
        _fail(request, error)
        return _customer_page(request, customer_id, status=400, centre_form=form)
    messages.success(request, _("Kostnadsstället är skapat."))
    return redirect("billing:customer", customer_id=found.pk)


@require_http_methods(["GET", "POST"])
def cost_centre_edit(request: LyftaRequest, customer_id: int, centre_id: int) -> HttpResponse:
    _manage(request)
    found = selectors.customer(customer_id)
    centre = selectors.centre_of_customer(found, centre_id)
    if centre is None:
        raise Http404
    form = CostCentreEditForm(
        request.POST if request.method == "POST" else None,
        initial={"name": centre.name, "valid_until": centre.valid_until},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.cost_centre_update(
                    actor=request.actor,
                    centre=centre,
                    name=form.cleaned_data["name"],
                    valid_until=form.cleaned_data.get("valid_until"),
                )
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
            else:
                messages.success(request, _("Kostnadsstället är sparat."))
                return redirect("billing:customer", customer_id=found.pk)
        else:
            status = 400
    return render(
        request,
        "billing/ref_cost_centre_edit.html",
        {"customer": found, "centre": centre, "form": form},
        status=status,
    )


@require_POST
def unit_cost_centre(request: LyftaRequest, customer_id: int) -> HttpResponse:
    """A unit belongs to a cost centre from a day (the previous period ends the day before)."""
    _manage(request)
    found = selectors.customer(customer_id)
    units = [row.unit for row in selectors.unit_periods(found)]
    form = UnitCostCentreForm(request.POST, prefix="enhet", customer=found, units=units)
    if not form.is_valid():
        return _customer_page(request, customer_id, status=400, unit_form=form)
    unit = selectors.unit_of_customer(found, form.cleaned_data["unit"])
    centre = selectors.centre_of_customer(found, form.cleaned_data["cost_centre"])
    try:
        if unit is None or centre is None:
            raise ValidationError(_("Välj en av kundens enheter och kostnadsställen."))
        services.unit_cost_centre_set(
            actor=request.actor,
            unit=unit,
            centre=centre,
            valid_from=form.cleaned_data["valid_from"],
        )
    except (ValidationError, PermissionDenied) as error:
        _fail(request, error)
        return _customer_page(request, customer_id, status=400, unit_form=form)
    messages.success(
        request,
        _("%(unit)s hör till %(centre)s från %(day)s.")
        % {
            "unit": unit.name,
            "centre": f"{centre.code} {centre.name}",
            "day": form.cleaned_data["valid_from"].isoformat(),
        },
    )
    return redirect("billing:customer", customer_id=found.pk)


# --- Price lists ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def price_lists(request: LyftaRequest) -> HttpResponse:
    """The price lists, newest first; "Ny prislista från" copies the list in force that day."""
    _view(request)
    form = NewPriceListForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        _manage(request)
        if form.is_valid():
            try:
                created = services.price_list_new(
                    actor=request.actor,
                    valid_from=form.cleaned_data["valid_from"],
                    name=form.cleaned_data["name"],
                )
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
            else:
                messages.success(
                    request, _("Prislistan är skapad med priserna kopierade: ändra dem här.")
                )
                return redirect("billing:price_list_edit", list_id=created.pk)
        else:
            status = 400
    lists = selectors.price_lists()
    return render(
        request,
        "billing/ref_price_lists.html",
        {
            "lists": lists,
            "form": form,
            "may_manage": selectors.may_manage(request.actor),
            "locked_day": selectors.last_locked_day(),
        },
        status=status,
    )


@require_GET
def price_list(request: LyftaRequest, list_id: int) -> HttpResponse:
    _view(request)
    found = selectors.price_list(list_id)
    prices = selectors.prices_of(found)
    sections: dict[str, list[Any]] = {}
    for price in prices:
        sections.setdefault(price.kind_label, []).append(price)
    return render(
        request,
        "billing/ref_price_list.html",
        {
            "price_list": found,
            "next": selectors.next_price_list(found),
            "sections": sections,
            "billed": selectors.price_list_billed(found),
            "may_manage": selectors.may_manage(request.actor),
            "fees": {fee.value: fee.label for fee in Price.Fee},
        },
    )


@require_http_methods(["GET", "POST"])
def price_list_edit(request: LyftaRequest, list_id: int) -> HttpResponse:
    _manage(request)
    found = selectors.price_list(list_id)
    billed = selectors.price_list_billed(found)
    keys = selectors.price_keys(found)
    amounts = {(p.kind, p.key): p.amount for p in selectors.prices_of(found)}
    initial: dict[str, Any] = {
        "name": found.name,
        "rent_rule": found.rent_rule,
        "hourly_rate": found.hourly_rate,
        "residual_yearly_writedown": found.residual_yearly_writedown,
        "residual_floor": found.residual_floor,
        "note": found.note,
    }
    for index, key in enumerate(keys):
        initial[f"price_{index}"] = amounts.get(key)
    form = PriceListForm(
        request.POST if request.method == "POST" else None, keys=keys, initial=initial
    )
    status = 200
    if billed:
        messages.warning(
            request,
            _(
                "Prislistan har använts i en låst debitering och kan inte ändras. Skapa en ny "
                "prislista som gäller från en senare dag."
            ),
        )
        if request.method == "POST":
            status = 400
    elif request.method == "POST":
        if form.is_valid():
            try:
                services.price_list_update(
                    actor=request.actor,
                    price_list=found,
                    header=form.header(),
                    prices=form.prices(),
                )
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
            else:
                messages.success(request, _("Prislistan är sparad."))
                return redirect("billing:price_list", list_id=found.pk)
        else:
            status = 400
    return render(
        request,
        "billing/ref_price_list_edit.html",
        {"price_list": found, "form": form, "billed": billed},
        status=status,
    )


# --- Payer rules ----------------------------------------------------------------------------


@require_GET
def payer_rules(request: LyftaRequest) -> HttpResponse:
    _view(request)
    rules = [(rule, payers.describe(rule)) for rule in selectors.payer_rules()]
    return render(
        request,
        "billing/ref_payer_rules.html",
        {"rules": rules, "may_manage": selectors.may_manage(request.actor)},
    )


@require_http_methods(["GET", "POST"])
def payer_rule_new(request: LyftaRequest) -> HttpResponse:
    _manage(request)
    form = PayerRuleForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.payer_rule_create(actor=request.actor, data=form.rule())
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
            else:
                messages.success(request, _("Regeln är sparad."))
                return redirect("billing:payer_rules")
        else:
            status = 400
    return render(
        request, "billing/ref_payer_rule_edit.html", {"form": form, "rule": None}, status=status
    )


@require_http_methods(["GET", "POST"])
def payer_rule_edit(request: LyftaRequest, rule_id: int) -> HttpResponse:
    _manage(request)
    rule = selectors.payer_rule(rule_id)
    form = PayerRuleForm(
        request.POST if request.method == "POST" else None, initial=rule_initial(rule)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.payer_rule_update(actor=request.actor, rule=rule, data=form.rule())
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
            else:
                messages.success(request, _("Regeln är sparad."))
                return redirect("billing:payer_rules")
        else:
            status = 400
    return render(
        request,
        "billing/ref_payer_rule_edit.html",
        {
            "form": form,
            "rule": rule,
            "conditions": payers.describe(rule),
            "end_form": EndRuleForm(initial={"last_day": rule.valid_until}),
        },
        status=status,
    )


@require_POST
def payer_rule_end(request: LyftaRequest, rule_id: int) -> HttpResponse:
    _manage(request)
    rule = selectors.payer_rule(rule_id)
    form = EndRuleForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
        return redirect("billing:payer_rule_edit", rule_id=rule.pk)
    try:
        services.payer_rule_end(
            actor=request.actor, rule=rule, last_day=form.cleaned_data["last_day"]
        )
    except (ValidationError, PermissionDenied) as error:
        _fail(request, error)
        return redirect("billing:payer_rule_edit", rule_id=rule.pk)
    messages.success(
        request,
        _("Regeln gäller till och med %(day)s.") % {"day": form.cleaned_data["last_day"]},
    )
    return redirect("billing:payer_rules")


# --- Who pays -------------------------------------------------------------------------------


@require_GET
def who_pays(request: LyftaRequest) -> HttpResponse:
    """ "Vem betalar?": a loan's days in a month with the payer, cost centre and reason of each."""
    _view(request)
    form = WhoPaysForm(request.GET or None)
    derivation = None
    status = 200
    if request.GET:
        if form.is_valid():
            loan = None
            if form.cleaned_data.get("lan"):
                loan = selectors.loan_for_payer(request.actor, form.cleaned_data["lan"])
            elif (form.cleaned_data.get("individ") or "").strip():
                loan = selectors.loan_by_item(request.actor, form.cleaned_data["individ"].strip())
                if loan is None:
                    messages.error(request, _("Inget lån av en produkt med det individnumret."))
                    status = 404
            else:
                messages.error(request, _("Ange lånets nummer eller produktens individnummer."))
                status = 400
            if loan is not None:
                derivation = services.who_pays(
                    actor=request.actor, loan=loan, month=form.cleaned_data["manad"]
                )
        else:
            status = 400
    return render(
        request,
        "billing/ref_who_pays.html",
        {"form": form, "d": derivation},
        status=status,
    )


urlpatterns: list[URLPattern] = [
    path("kunder/", customers, name="customers"),
    path("kunder/<int:customer_id>/", customer, name="customer"),
    path("kunder/<int:customer_id>/andra/", customer_edit, name="customer_edit"),
    path("kunder/<int:customer_id>/kostnadsstallen/", cost_centre_new, name="cost_centre_new"),
    path(
        "kunder/<int:customer_id>/kostnadsstallen/<int:centre_id>/",
        cost_centre_edit,
        name="cost_centre_edit",
    ),
    path("kunder/<int:customer_id>/enheter/", unit_cost_centre, name="unit_cost_centre"),
    path("prislistor/", price_lists, name="price_lists"),
    path("prislistor/<int:list_id>/", price_list, name="price_list"),
    path("prislistor/<int:list_id>/andra/", price_list_edit, name="price_list_edit"),
    path("betalarregler/", payer_rules, name="payer_rules"),
    path("betalarregler/ny/", payer_rule_new, name="payer_rule_new"),
    path("betalarregler/<int:rule_id>/", payer_rule_edit, name="payer_rule_edit"),
    path("betalarregler/<int:rule_id>/avsluta/", payer_rule_end, name="payer_rule_end"),
    path("vem-betalar/", who_pays, name="who_pays"),
]
