"""The quality desk's pages: deviations (DOMAIN.md §3.5). Reporting one from the thing it
happened with (a loan of the holdings, the item card, a work order, an order, a pick-up), the
quality officer's list and a deviation's page with its steps, the quarantine label, the reports
out (PDF and structured export), and supplier complaints.

The thing a deviation is reported from is looked up again here, through the selectors its own
page uses, from the id in the URL: the patient is taken from it, never from the form."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access.policies import can, require
from lyfta.access.refusals import Refused
from lyfta.access.roles import Cap
from lyfta.accounts.sessions import session_ref
from lyfta.catalogue.models import Article
from lyfta.core.http import LyftaRequest
from lyfta.inventory.models import Item
from lyfta.quality.forms.deviations import (
    ComplaintFilterForm,
    ComplaintForm,
    ComplaintUpdateForm,
    DecideForm,
    DeviationForm,
    FilterForm,
    IdentityForm,
    IncidentForm,
    InvestigateForm,
    NewComplaintForm,
    SentForm,
)
from lyfta.quality.models import Complaint, Deviation, IncidentReport
from lyfta.quality.selectors import deviations as selectors
from lyfta.quality.services import deviations as services
from lyfta.workorders import selectors as workorder_selectors

Source = Deviation.Source


def _problems(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, Refused):
        return [error.user_message]
    if isinstance(error, PermissionDenied):
        return [_("Du har inte behörighet att göra det här.")]
    return list(error.messages)


def _fail(request: LyftaRequest, error: ValidationError | PermissionDenied) -> None:
    for problem in _problems(error):
        messages.error(request, problem)


def _invalid(request: LyftaRequest, form: Any) -> None:
    for problems in form.errors.values():
        for problem in problems:
            messages.error(request, problem)


def _pdf(template: str, context: dict[str, Any], filename: str) -> HttpResponse:
    import weasyprint

    with override("sv"):
        html = render_to_string(template, context)
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Reporting a deviation --------------------------------------------------------------------


def _register(
    request: LyftaRequest,
    *,
    source: str,
    heading: str,
    back: str,
    things: dict[str, Any],
    lines: dict[str, tuple[str, Item | None, Article]] | None = None,
) -> HttpResponse:
    """The registration form and its submission, for any thing it is reported from. `things`
    holds what the thing gives (patient, item, article, order, pickup, workorder); `lines` the
    devices to choose among (an order's or a pick-up's)."""
    actor = request.actor
    choices = [(key, label) for key, (label, _item, _article) in (lines or {}).items()]
    may_quarantine = things.get("item") is not None or any(
        item is not None for _label, item, _article in (lines or {}).values()
    )
    form = DeviationForm(
        request.POST if request.method == "POST" else None,
        lines=choices,
        may_quarantine=may_quarantine,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = dict(things)
        if lines and data.get("line"):
            _label, chosen["item"], chosen["article"] = lines[data["line"]]
        try:
            deviation = services.deviation_report(
                actor=actor,
                source=source,
                kind=data["kind"],
                severity=data["severity"],
                description=data["description"],
                consequence=data["consequence"],
                immediate_action=data["immediate_action"],
                occurred_on=data["occurred_on"],
                wish=data["wish"],
                lot=data["lot"],
                quarantine=bool(data.get("quarantine")),
                **chosen,
            )
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            messages.success(
                request,
                _("Avvikelse %(number)s är registrerad.") % {"number": deviation.number},
            )
            if deviation.quarantined_at is not None:
                messages.info(
                    request,
                    _("Hjälpmedlet är taget ur bruk. Skriv ut spärretiketten och sätt den på det."),
                )
            return redirect("quality:deviation", pk=deviation.pk)
    return render(
        request,
        "quality/deviations/report.html",
        {"form": form, "heading": heading, "back": back, "things": things},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def report_loan(request: LyftaRequest, patient_id: int, loan_id: int) -> HttpResponse:
    """From a row of the patient's holdings: the loan of the actor's provider, on a grant."""
    require(request.actor, Cap.DEVIATIONS_REPORT)
    try:
        grant, loan = selectors.loan_to_report(
            actor=request.actor,
            patient_id=patient_id,
            loan_id=loan_id,
            session_ref=session_ref(request),
        )
    except Refused as refused:
        # An emergency access gives read access only (R50): recorded by the selector.
        messages.error(request, refused.user_message)
        return redirect("orders:holdings", patient_id=patient_id)
    device = loan.article.name + (f" {loan.item.individual_number}" if loan.item else "")
    return _register(
        request,
        source=Source.HOLDINGS,
        heading=_("%(patient)s: %(device)s") % {"patient": grant.patient, "device": device},
        back=reverse("orders:holdings", args=[patient_id]),
        things={"patient": grant.patient, "item": loan.item, "article": loan.article},
    )


@require_http_methods(["GET", "POST"])
def report_item(request: LyftaRequest, individual_number: str) -> HttpResponse:
    """From the item card: an item the actor may open the card of; the patient is its holder."""
    require(request.actor, Cap.DEVIATIONS_REPORT)
    try:
        item, current = selectors.item_to_report(
            actor=request.actor,
            individual_number=individual_number,
            session_ref=session_ref(request),
        )
    except Refused as refused:
        # The card is seen on an emergency access, read only (R50): recorded by the selector.
        messages.error(request, refused.user_message)
        return redirect("stock:item", individual_number)
    return _register(
        request,
        source=Source.ITEM,
        heading=_("Individ %(number)s: %(name)s")
        % {"number": item.individual_number, "name": item.article.name},
        back=reverse("stock:item", args=[item.individual_number]),
        things={
            "item": item,
            "article": item.article,
            "patient": current.loan.patient if current is not None else None,
        },
    )


@require_http_methods(["GET", "POST"])
def report_workorder(request: LyftaRequest, pk: int) -> HttpResponse:
    """From a work order the actor may see (the technicians, the unit it is for)."""
    require(request.actor, Cap.DEVIATIONS_REPORT)
    order = workorder_selectors.work_order_to_change(actor=request.actor, pk=pk)
    return _register(
        request,
        source=Source.WORKORDER,
        heading=_("Arbetsorder %(number)s") % {"number": order.number},
        back=reverse("workorders:detail", args=[order.pk]),
        things={
            "workorder": order,
            "item": order.item,
            "article": order.article or (order.item.article if order.item else None),
            "patient": order.patient,
        },
    )


@require_http_methods(["GET", "POST"])
def report_order(request: LyftaRequest, order_id: int) -> HttpResponse:
    """From an order or its delivery (the unit's own, or the centre's on the case)."""
    require(request.actor, Cap.DEVIATIONS_REPORT)
    order, order_lines = selectors.order_to_report(actor=request.actor, order_id=order_id)
    lines = {
        str(line.pk): (
            f"{line.article.name}{' ' + line.item.individual_number if line.item else ''}",
            line.item,
            line.article,
        )
        for line in order_lines
    }
    back = (
        reverse("logistics:order", args=[order.pk])
        if can(request.actor, Cap.ORDERS_HANDLE)
        else reverse("orders:order", args=[order.pk])
    )
    return _register(
        request,
        source=Source.DELIVERY,
        heading=_("Order %(number)s") % {"number": order.number},
        back=back,
        things={"order": order, "patient": order.patient},
        lines=lines,
    )


@require_http_methods(["GET", "POST"])
def report_pickup(request: LyftaRequest, pickup_id: int) -> HttpResponse:
    """From a pick-up (the centre's that collect it, or the unit's own)."""
    require(request.actor, Cap.DEVIATIONS_REPORT)
    pickup, pickup_lines = selectors.pickup_to_report(actor=request.actor, pickup_id=pickup_id)
    lines = {
        str(line.pk): (
            f"{line.loan.article.name}"
            f"{' ' + line.loan.item.individual_number if line.loan.item else ''}",
            line.loan.item,
            line.loan.article,
        )
        for line in pickup_lines
    }
    back = (
        reverse("logistics:pickups")
        if can(request.actor, Cap.ORDERS_HANDLE)
        else reverse("orders:holdings", args=[pickup.patient_id])
    )
    return _register(
        request,
        source=Source.PICKUP,
        heading=_("Hämtorder %(number)s") % {"number": pickup.number},
        back=back,
        things={"pickup": pickup, "patient": pickup.patient},
        lines=lines,
    )


# --- The list and a deviation's page ----------------------------------------------------------


@require_GET
def deviation_list(request: LyftaRequest) -> HttpResponse:
    """The quality officer's work page (every deviation), or a unit's own deviations."""
    require(request.actor, Cap.DEVIATIONS_REPORT)
    form = FilterForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    found = selectors.deviation_list(
        actor=request.actor,
        status=data.get("status") or "",
        kind=data.get("typ") or "",
        severity=data.get("grad") or "",
        page=data.get("sida") or 1,
    )
    query = {k: v for k, v in data.items() if v and k != "sida"}
    return render(
        request,
        "quality/deviations/list.html",
        {
            "form": form,
            "found": found,
            "manages": can(request.actor, Cap.QUALITY_MANAGE),
            "query": "&".join(f"{k}={v}" for k, v in query.items()),
        },
        status=200 if valid else 400,
    )


def _may(request: LyftaRequest, deviation: Deviation) -> dict[str, bool]:
    manages = can(request.actor, Cap.QUALITY_MANAGE)
    status = deviation.status
    S = Deviation.Status
    return {
        "manages": manages,
        "investigate": manages and status == S.REGISTERED,
        "decide": manages and status == S.INVESTIGATING,
        "close": manages and status == S.DECIDED,
        "quarantine": manages
        and status in (S.REGISTERED, S.INVESTIGATING)
        and deviation.item_id is not None
        and deviation.quarantined_at is None,
        "incident": manages and status != S.CLOSED and not deviation.is_incident,
        "complaint": manages and status != S.CLOSED and deviation.article_id is not None,
        "label": deviation.item_id is not None and deviation.quarantined_at is not None,
    }


@require_GET
def deviation_detail(request: LyftaRequest, pk: int) -> HttpResponse:
    deviation = selectors.deviation_for(actor=request.actor, pk=pk)
    may = _may(request, deviation)
    reports = selectors.reports_of(actor=request.actor, deviation=deviation)
    today = timezone.localdate()
    return render(
        request,
        "quality/deviations/detail.html",
        {
            "deviation": deviation,
            "patient": selectors.patient_view(
                actor=request.actor, deviation=deviation, session_ref=session_ref(request)
            ),
            "may": may,
            "reports": [(r, r.sent_on is None and r.due_on < today) for r in reports],
            "complaints": selectors.complaints_of(actor=request.actor, deviation=deviation),
            "investigate_form": InvestigateForm(initial={"analysis": deviation.analysis})
            if may["investigate"]
            else None,
            "decide_form": DecideForm(initial={"analysis": deviation.analysis})
            if may["decide"]
            else None,
            "identity_form": IdentityForm() if may["manages"] else None,
            "incident_form": IncidentForm() if may["incident"] else None,
            "today": today,
            "open": deviation.status != Deviation.Status.CLOSED,
        },
    )


def _step(form_class: Any, service: Any, done: Any) -> Any:
    """A step on a deviation page (the quality role's): the form, whose fields are the service's
    arguments, the service, a message, back to the page. The reporting unit sees the deviation
    but takes no step (403); a deviation the actor may not see is the recorded 404."""

    @require_POST
    def step(request: LyftaRequest, pk: int) -> HttpResponse:
        deviation = selectors.deviation_to_change(actor=request.actor, pk=pk)
        require(request.actor, Cap.QUALITY_MANAGE)
        form = form_class(request.POST) if form_class is not None else None
        if form is not None and not form.is_valid():
            _invalid(request, form)
            return redirect("quality:deviation", pk=pk)
        data = form.cleaned_data if form is not None else {}
        try:
            service(actor=request.actor, deviation=deviation, **data)
        except (ValidationError, PermissionDenied) as error:
            _fail(request, error)
        else:
            messages.success(request, str(done))
        return redirect("quality:deviation", pk=pk)

    return step


investigate = _step(
    InvestigateForm, services.deviation_investigate, gettext_lazy("Utredningen är påbörjad.")
)
decide = _step(DecideForm, services.deviation_decide, gettext_lazy("Beslutet är sparat."))
close = _step(None, services.deviation_close, gettext_lazy("Avvikelsen är avslutad."))
quarantine = _step(
    None, services.deviation_quarantine, gettext_lazy("Hjälpmedlet är taget ur bruk.")
)
incident = _step(
    IncidentForm,
    services.deviation_mark_incident,
    gettext_lazy(
        "Avvikelsen är anmälningspliktig: anmälningarna har skapats med sina sista dagar."
    ),
)
identity = _step(
    IdentityForm,
    services.deviation_identity_open,
    gettext_lazy("Skälet är registrerat. Patientens identitet visas nu i ärendet."),
)


@require_GET
def label(request: LyftaRequest, pk: int) -> HttpResponse:
    """The quarantine label: the device's individual number as text and as a QR code."""
    import segno

    deviation = selectors.label_for(actor=request.actor, pk=pk)
    item = deviation.item
    if item is None:  # label_for refuses a deviation without a quarantined item already
        raise Http404
    qr = segno.make(item.individual_number, error="m")
    return _pdf(
        "quality/deviations/label_pdf.html",
        {
            "deviation": deviation,
            "item": item,
            "qr": qr.svg_inline(scale=4, omitsize=False),
            "printed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        },
        f"sparretikett-{item.individual_number}.pdf",
    )


# --- Reports out ---------------------------------------------------------------------------------


def _report(request: LyftaRequest, pk: int, recipient: str) -> IncidentReport:
    if recipient not in IncidentReport.Recipient.values:
        raise Http404
    return selectors.report_for(actor=request.actor, pk=pk, recipient=recipient)


@require_GET
def report_pdf(request: LyftaRequest, pk: int, recipient: str) -> HttpResponse:
    """The pre-filled report to the manufacturer or to Läkemedelsverket, to print (Lyfta does
    not send it)."""
    report = _report(request, pk, recipient)
    report = services.report_produced(actor=request.actor, report=report, form="pdf")
    content = selectors.report_content(request.actor, report)
    return _pdf(
        "quality/deviations/report_pdf.html",
        {
            "report": report,
            "c": content,
            "printed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "produced_by": request.actor.display_name,
        },
        f"anmalan-{report.recipient}-{report.deviation.number}.pdf",
    )


@require_GET
def report_json(request: LyftaRequest, pk: int, recipient: str) -> HttpResponse:
    """The same report as structured data (JSON), for a recipient's e-service or the archive."""
    report = _report(request, pk, recipient)
    report = services.report_produced(actor=request.actor, report=report, form="json")
    body = json.dumps(selectors.report_content(request.actor, report), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        content_disposition_header(
            True, f"anmalan-{report.recipient}-{report.deviation.number}.json"
        )
        or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def report_sent(request: LyftaRequest, pk: int, recipient: str) -> HttpResponse:
    report = _report(request, pk, recipient)
    form = SentForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
    else:
        try:
            services.report_mark_sent(actor=request.actor, report=report, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            _fail(request, error)
        else:
            messages.success(
                request,
                _("Anmälan till %(recipient)s är markerad som skickad.")
                % {"recipient": report.recipient_label.lower()},
            )
    return redirect("quality:deviation", pk=pk)


# --- Supplier complaints -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def complaint_from_deviation(request: LyftaRequest, pk: int) -> HttpResponse:
    require(request.actor, Cap.QUALITY_MANAGE)
    deviation = selectors.deviation_to_change(actor=request.actor, pk=pk)
    if deviation.article is None:
        raise Http404
    delivered = selectors.delivered_on(
        actor=request.actor, deviation=deviation, item=deviation.item
    )
    form = ComplaintForm(
        request.POST if request.method == "POST" else None,
        initial={"delivered_on": delivered, "lot": deviation.lot, "description": ""},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_create(
                actor=request.actor,
                article=deviation.article,
                item=deviation.item,
                deviation=deviation,
                description=data["description"],
                delivered_on=data["delivered_on"],
                lot=data["lot"],
            )
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            messages.success(
                request, _("Reklamation %(number)s är registrerad.") % {"number": complaint.number}
            )
            return redirect("quality:complaint", pk=complaint.pk)
    return render(
        request,
        "quality/deviations/complaint_new.html",
        {"form": form, "deviation": deviation},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def complaint_new(request: LyftaRequest) -> HttpResponse:
    """A complaint on its own (not from a deviation): an article and perhaps one item of it."""
    require(request.actor, Cap.QUALITY_MANAGE)
    form = NewComplaintForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        article = Article.objects.filter(article_number=data["article_number"]).first()
        item = None
        if article is None:
            form.add_error("article_number", _("Det finns ingen artikel med det numret."))
        elif data["individual_number"]:
            item = Item.objects.filter(
                individual_number=data["individual_number"], article=article
            ).first()
            if item is None:
                form.add_error(
                    "individual_number", _("Det finns ingen individ av artikeln med det numret.")
                )
        if article is not None and not form.errors:
            delivered = data["delivered_on"] or selectors.delivered_on(
                actor=request.actor, deviation=None, item=item
            )
            try:
                complaint = services.complaint_create(
                    actor=request.actor,
                    article=article,
                    item=item,
                    description=data["description"],
                    delivered_on=delivered,
                    lot=data["lot"],
                )
            except (ValidationError, PermissionDenied) as error:
                for problem in _problems(error):
                    form.add_error(None, problem)
            else:
                messages.success(
                    request,
                    _("Reklamation %(number)s är registrerad.") % {"number": complaint.number},
                )
                return redirect("quality:complaint", pk=complaint.pk)
    return render(
        request,
        "quality/deviations/complaint_new.html",
        {"form": form, "deviation": None},
        status=400 if form.errors else 200,
    )


@require_GET
def complaint_list(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.QUALITY_MANAGE)
    form = ComplaintFilterForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    page = selectors.complaint_list(
        actor=request.actor, status=data.get("status") or "", page=data.get("sida") or 1
    )
    today = timezone.localdate()
    return render(
        request,
        "quality/deviations/complaint_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(c, selectors.window_text(c, today)) for c in page.object_list],
            "query": f"status={data['status']}" if data.get("status") else "",
        },
        status=200 if valid else 400,
    )


@require_http_methods(["GET", "POST"])
def complaint_detail(request: LyftaRequest, pk: int) -> HttpResponse:
    complaint = selectors.complaint_for(actor=request.actor, pk=pk)
    is_open = complaint.status != Complaint.Status.CLOSED
    form = ComplaintUpdateForm(
        request.POST if request.method == "POST" else None,
        initial={
            "sent_on": complaint.sent_on,
            "supplier_reference": complaint.supplier_reference,
            "answer": complaint.answer,
            "answered_on": complaint.answered_on,
            "outcome": complaint.outcome,
            "credit_amount": complaint.credit_amount,
        },
    )
    if request.method == "POST" and is_open and form.is_valid():
        try:
            services.complaint_update(actor=request.actor, complaint=complaint, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            messages.success(request, _("Reklamationen är sparad."))
            return redirect("quality:complaint", pk=pk)
    elif request.method == "POST" and not is_open:
        form.add_error(None, _("Reklamationen är avslutad och kan inte ändras."))
    return render(
        request,
        "quality/deviations/complaint_detail.html",
        {
            "complaint": complaint,
            "window": selectors.window_text(complaint),
            "form": form if is_open else None,
        },
        status=400 if form.errors else 200,
    )


urlpatterns: list[URLPattern | URLResolver] = [
    path("avvikelser/", deviation_list, name="deviations"),
    path("avvikelser/<int:pk>/", deviation_detail, name="deviation"),
    path("avvikelser/<int:pk>/utred/", investigate, name="deviation_investigate"),
    path("avvikelser/<int:pk>/besluta/", decide, name="deviation_decide"),
    path("avvikelser/<int:pk>/avsluta/", close, name="deviation_close"),
    path("avvikelser/<int:pk>/sparra/", quarantine, name="deviation_quarantine"),
    path("avvikelser/<int:pk>/anmalningspliktig/", incident, name="deviation_incident"),
    path("avvikelser/<int:pk>/identitet/", identity, name="deviation_identity"),
    path("avvikelser/<int:pk>/etikett/", label, name="deviation_label"),
    path("avvikelser/<int:pk>/anmalan/<slug:recipient>/", report_pdf, name="report_pdf"),
    path("avvikelser/<int:pk>/anmalan/<slug:recipient>/json/", report_json, name="report_json"),
    path("avvikelser/<int:pk>/anmalan/<slug:recipient>/skickad/", report_sent, name="report_sent"),
    path(
        "avvikelser/<int:pk>/reklamation/",
        complaint_from_deviation,
        name="complaint_from_deviation",
    ),
    path("rapportera/innehav/<int:patient_id>/<int:loan_id>/", report_loan, name="report_loan"),
    path("rapportera/individ/<str:individual_number>/", report_item, name="report_item"),
    path("rapportera/arbetsorder/<int:pk>/", report_workorder, name="report_workorder"),
    path("rapportera/order/<int:order_id>/", report_order, name="report_order"),
    path("rapportera/hamtning/<int:pickup_id>/", report_pickup, name="report_pickup"),
    path("reklamationer/", complaint_list, name="complaints"),
    path("reklamationer/ny/", complaint_new, name="complaint_new"),
    path("reklamationer/<int:pk>/", complaint_detail, name="complaint"),
]
