"""The inspection side of the technicians' desk (DOMAIN.md §3.4): inspection plans, the due list
by area and month, the technician's day plan and the inspection protocol of a work order.

Each view parses input with a form, calls one selector or service and renders or redirects. Bad
input is a Swedish message and a 400 on the same page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.core.http import LyftaRequest
from lyfta.workorders import plan_selectors as selectors
from lyfta.workorders import services
from lyfta.workorders.models import Inspection, InspectionPlan, WorkOrder
from lyfta.workorders.plan_forms import DayPlanForm, DueForm, InspectionForm, PlanForm


def detail_url(order_id: int) -> str:
    """The work order's page (written alongside these pages; its address is fixed)."""
    try:
        return reverse("workorders:detail", args=[order_id])
    except NoReverseMatch:
        return f"/teknik/arbetsorder/{order_id}/"


def _problems(request: LyftaRequest, error: ValidationError) -> None:
    for problem in error.messages:
        messages.error(request, problem)


# --- Inspection plans -------------------------------------------------------------------------


@require_GET
def plans(request: LyftaRequest) -> HttpResponse:
    found = selectors.plans(request.actor)
    return render(request, "workorders/plan_list.html", {"plans": found})


def _plan_form_page(request: LyftaRequest, plan: InspectionPlan | None) -> HttpResponse:
    form = PlanForm(request.POST or None, initial=PlanForm.initial_for(plan) if plan else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.plan_save(
                    actor=request.actor,
                    plan=plan,
                    name=data["name"],
                    article=form.article,
                    iso_class=form.iso_class,
                    interval_months=data["interval_months"],
                    checklist=data["checklist"],
                    active=data["active"],
                )
            except ValidationError as error:
                _problems(request, error)
            else:
                messages.success(
                    request, _("Besiktningsplanen %(name)s är sparad.") % {"name": saved.name}
                )
                return redirect("workorders:plans")
        status = 400
    return render(request, "workorders/plan_form.html", {"form": form, "plan": plan}, status=status)


@require_http_methods(["GET", "POST"])
def plan_new(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.INSPECTION_PLANS_MANAGE)
    return _plan_form_page(request, None)


@require_http_methods(["GET", "POST"])
def plan_edit(request: LyftaRequest, pk: int) -> HttpResponse:
    plan = selectors.plan(request.actor, pk)
    if plan is None:
        raise Http404
    return _plan_form_page(request, plan)


# --- The due list -----------------------------------------------------------------------------


@require_GET
def due(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.WORKORDERS_HANDLE)
    form = DueForm(request.GET or None)
    today = timezone.localdate()
    if form.is_bound and not form.is_valid():
        return render(request, "workorders/due_list.html", {"form": form}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    listing = selectors.due_list(
        actor=request.actor,
        month=form.month(today),
        area=data.get("omrade") or "",
        overdue=bool(data.get("forsenade")),
        page=request.GET.get("sida") or 1,
    )
    query = "&".join(
        f"{k}={v}"
        for k, v in (
            ("omrade", listing.area),
            ("manad", listing.month.strftime("%Y-%m")),
            ("forsenade", "on" if listing.overdue else ""),
        )
        if v
    )
    return render(
        request,
        "workorders/due_list.html",
        {"form": form, "listing": listing, "query": query, "today": today},
    )


# --- The day plan -----------------------------------------------------------------------------


@require_GET
def dayplan(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.WORKORDERS_HANDLE)
    form = DayPlanForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "workorders/dayplan.html", {"form": form}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    day = data.get("dag") or timezone.localdate()
    visits = selectors.day_plan(actor=request.actor, day=day, team=bool(data.get("team")))
    return render(
        request,
        "workorders/dayplan.html",
        {
            "form": form,
            "day": day,
            "visits": visits,
            "count": sum(len(v.orders) for v in visits),
        },
    )


# --- The inspection protocol ------------------------------------------------------------------


def _checklist(order: WorkOrder) -> list[str]:
    return list(order.plan.checklist) if order.plan is not None else []


@require_http_methods(["GET", "POST"])
def inspect(request: LyftaRequest, pk: int) -> HttpResponse:
    order = selectors.inspection_order(actor=request.actor, order_id=pk)
    if order.kind != WorkOrder.Kind.INSPECTION or order.plan is None or order.item is None:
        messages.error(request, _("Arbetsordern är ingen besiktning."))
        return HttpResponseRedirect(detail_url(order.pk))
    recorded = _recorded(order)
    form = InspectionForm(
        request.POST or None,
        checklist=_checklist(order),
        initial={"performed_on": timezone.localdate()},
    )
    context: dict[str, Any] = {"order": order, "form": form, "recorded": recorded}
    if request.method == "GET":
        return render(request, "workorders/inspect.html", context)
    if form.is_valid():
        data = form.cleaned_data
        try:
            inspection = services.inspection_record(
                actor=request.actor,
                order=order,
                results=[services.PointResult(p, r, n) for p, r, n in form.results()],
                condition=data.get("condition") or "",
                performed_on=data["performed_on"],
            )
        except ValidationError as error:
            _problems(request, error)
        else:
            _told_result(request, order, inspection)
            return HttpResponseRedirect(detail_url(order.pk))
    return render(request, "workorders/inspect.html", context, status=400)


def _recorded(order: WorkOrder) -> bool:
    """The protocol is already registered (the work order's reverse relation, read on its
    route)."""
    try:
        order.inspection  # noqa: B018 - the one-to-one reverse relation
    except Inspection.DoesNotExist:
        return False
    return True


def _told_result(request: LyftaRequest, order: WorkOrder, inspection: Inspection) -> None:
    if inspection.result == Inspection.Result.PASSED:
        messages.success(
            request,
            _("Besiktningen är godkänd. Nästa besiktning senast %(due)s.")
            % {"due": inspection.next_due.isoformat() if inspection.next_due else "–"},
        )
        return
    repair = selectors.open_repair(request.actor, order)
    messages.warning(
        request,
        _(
            "Besiktningen är underkänd. Hjälpmedlet %(item)s är taget ur bruk; "
            "reparationsorder %(repair)s är öppnad."
        )
        % {"item": order.item, "repair": repair.number if repair else "–"},
    )
