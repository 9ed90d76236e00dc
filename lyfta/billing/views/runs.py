"""The run pages of the economy desk (issue 14 points 4 and 6): the runs with a month to start,
a run's progress (htmx polling) and then its preview with totals per customer and cost centre and
the differences against the last locked run, approve and lock, recompute, discard; a correction
of a locked line; the billed-lines search; the unbilled-loans report.

Each view parses input with a form, calls one selector or service, and renders or redirects with
a Swedish message; bad input gets the message, never a 500."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access import rows
from lyfta.billing.forms.runs import CorrectionForm, LineSearchForm, MonthForm
from lyfta.billing.models import BillingLine, BillingRun
from lyfta.billing.selectors import invoices as invoice_selectors
from lyfta.billing.selectors import runs as selectors
from lyfta.billing.services import corrections
from lyfta.billing.services import run as services
from lyfta.core.http import LyftaRequest

WORKING = (BillingRun.Status.QUEUED, BillingRun.Status.RUNNING)


def _readable(request: LyftaRequest) -> None:
    if not selectors.may_view(request.actor):
        raise PermissionDenied


def _manager(request: LyftaRequest) -> None:
    if not selectors.may_manage(request.actor):
        raise PermissionDenied


def _invalid(request: LyftaRequest, form: Any) -> None:
    for problems in form.errors.values():
        for problem in problems:
            messages.error(request, str(problem))


def _run(request: LyftaRequest, pk: int) -> BillingRun:
    run = selectors.run_of(request.actor, pk)
    if run is None:
        raise Http404
    return run


@require_http_methods(["GET", "POST"])
def run_list(request: LyftaRequest) -> HttpResponse:
    """The runs, newest month first, and (for the economy role) a month to start."""
    _readable(request)
    form = MonthForm(request.POST or None)
    if request.method == "POST":
        _manager(request)
        if form.is_valid():
            try:
                run = services.start_run(actor=request.actor, month=form.cleaned_data["month"])
            except services.RunRefused as refused:
                messages.error(request, str(refused))
            else:
                messages.success(
                    request, _("Körningen för %(month)s beräknas.") % {"month": str(run)}
                )
                return redirect("billing:run", pk=run.pk)
        else:
            _invalid(request, form)
        status = 400
    else:
        status = 200
    return render(
        request,
        "billing/runs.html",
        {
            "runs": selectors.runs_list(request.actor)[:60],
            "form": form,
            "may_manage": selectors.may_manage(request.actor),
        },
        status=status,
    )


@require_GET
def run_detail(request: LyftaRequest, pk: int) -> HttpResponse:
    """A run: its progress while it is computed, then its totals and differences."""
    _readable(request)
    run = _run(request, pk)
    context: dict[str, Any] = {
        "run": run,
        "working": run.status in WORKING,
        "may_manage": selectors.may_manage(request.actor),
    }
    if run.status in (BillingRun.Status.PREVIEW, BillingRun.Status.LOCKED):
        context["totals"] = selectors.run_totals(request.actor, run)
        context["differences"] = selectors.differences(request.actor, run)
        context["corrections"] = list(selectors.run_lines(request.actor, run, corrections=True))
    if run.status == BillingRun.Status.LOCKED:
        # The invoice basis per customer: PDF, spreadsheet, CSV and the Peppol e-invoice.
        context["invoice_rows"] = invoice_selectors.downloads(request.actor, run_id=run.pk)
    return render(request, "billing/run.html", context)


@require_GET
def run_progress(request: LyftaRequest, pk: int) -> HttpResponse:
    """The progress bar (the run page polls it; once the run is done the page reloads), or a
    page of its own without JavaScript."""
    _readable(request)
    run = _run(request, pk)
    if not request.headers.get("HX-Request"):
        return render(request, "billing/run_progress_page.html", {"run": run})
    response = render(request, "billing/run_progress.html", {"run": run})
    if run.status not in WORKING:
        response["HX-Refresh"] = "true"
    return response


def _act(request: LyftaRequest, pk: int, action: str) -> HttpResponse:
    _readable(request)
    _manager(request)
    run = _run(request, pk)
    try:
        if action == "approve":
            services.approve_run(actor=request.actor, run=run)
            messages.success(request, _("Körningen är godkänd och låst."))
        elif action == "recompute":
            services.recompute_run(actor=request.actor, run=run)
            messages.success(request, _("Körningen räknas om."))
        else:
            services.discard_run(actor=request.actor, run=run)
            messages.success(request, _("Förhandsgranskningen är kastad."))
            return redirect("billing:runs")
    except services.RunRefused as refused:
        messages.error(request, str(refused))
    return redirect("billing:run", pk=run.pk)


@require_POST
def run_approve(request: LyftaRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "approve")


@require_POST
def run_recompute(request: LyftaRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "recompute")


@require_POST
def run_discard(request: LyftaRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "discard")


@require_http_methods(["GET", "POST"])
def line_correct(request: LyftaRequest, pk: int) -> HttpResponse:
    """A correction of a locked run's line: credit (and debit) in the next open run."""
    _readable(request)
    _manager(request)
    line = (
        rows.billing_lines_for(request.actor)
        .select_related("run", "customer", "cost_centre", "article", "item")
        .filter(pk=pk)
        .first()
    )
    if line is None:
        raise Http404
    form = CorrectionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                made = corrections.correct_line(
                    actor=request.actor,
                    line_id=line.pk,
                    reason=form.cleaned_data["reason"],
                    new_amount=form.cleaned_data["new_amount"],
                )
            except services.RunRefused as refused:
                messages.error(request, str(refused))
            else:
                messages.success(
                    request,
                    _("Rättelsen ligger i körningen för %(month)s.") % {"month": str(made.run)},
                )
                return redirect("billing:run", pk=made.run.pk)
        else:
            _invalid(request, form)
        status = 400
    return render(
        request,
        "billing/run_correct.html",
        {
            "line": line,
            "form": form,
            "target": corrections.correction_run_for(line),
            "credited": line.kind == BillingLine.Kind.CREDIT,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def line_search(request: LyftaRequest) -> HttpResponse:
    """Billed lines by customer or device (GET, linkable) or by a patient's number (POST only,
    so that the number is never in a URL, a log line or the browser's history). A search by
    number is recorded as a patient read; no name or number is shown."""
    _readable(request)
    if request.method == "GET" and "personnummer" in request.GET:
        # A number in a URL would stay in logs and history, and the page would echo it (in the
        # language switch's return address): it is dropped before anything else.
        kept = request.GET.copy()
        kept.pop("personnummer")
        return redirect(f"{request.path}?{kept.urlencode()}" if kept else request.path)
    data = request.POST if request.method == "POST" else request.GET.copy()
    form = LineSearchForm(data or None)
    result = None
    status = 200
    if data:
        if form.is_valid():
            cleaned = form.cleaned_data
            if not (cleaned["kund"] or cleaned["individ"] or cleaned["personnummer"]):
                messages.error(request, _("Ange kund, individnummer eller personnummer."))
                status = 400
            else:
                result = selectors.search_lines(
                    request.actor,
                    customer=cleaned["kund"],
                    individual_number=cleaned["individ"].strip(),
                    identifier=cleaned["personnummer"],
                )
                # The number typed is not echoed back: the page never shows it (R34).
                form = LineSearchForm(
                    initial={"kund": cleaned["kund"], "individ": cleaned["individ"]}
                )
        else:
            _invalid(request, form)
            status = 400
            # The errors stay; the number typed is not echoed back (R34), valid or not.
            echo = dict(form.data.items())
            echo["personnummer"] = ""
            form.data = echo
    return render(
        request,
        "billing/run_lines.html",
        {"form": form, "result": result, "may_manage": selectors.may_manage(request.actor)},
        status=status,
    )


@require_GET
def unbilled_report(request: LyftaRequest) -> HttpResponse:
    """Loans that no customer can be billed for, and loans open past their rent stop."""
    _readable(request)
    return render(
        request, "billing/run_unbilled.html", {"report": selectors.unbilled(request.actor)}
    )


# The run pages' routes (lyfta/billing/urls.py adds them).
urlpatterns: list[URLPattern] = [
    path("korningar/", run_list, name="runs"),
    path("korningar/<int:pk>/", run_detail, name="run"),
    path("korningar/<int:pk>/forlopp/", run_progress, name="run_progress"),
    path("korningar/<int:pk>/godkann/", run_approve, name="run_approve"),
    path("korningar/<int:pk>/rakna-om/", run_recompute, name="run_recompute"),
    path("korningar/<int:pk>/kasta/", run_discard, name="run_discard"),
    path("rader/", line_search, name="lines"),
    path("rader/<int:pk>/rattelse/", line_correct, name="line_correct"),
    path("ofakturerat/", unbilled_report, name="unbilled"),
]
