"""The work-order pages of the technicians' desk (DOMAIN.md §3.4): the technician's queue, a
work order with its steps, attachments and the inspection letter, the fault report from the
holdings, a new work order from the item card, and a unit's list.

Each view parses input with a form, calls one selector or service, and renders or redirects
with a Swedish message. A refused step gets its message on the page it came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import can, require
from lyfta.access.refusals import Refused
from lyfta.access.roles import Cap
from lyfta.accounts.sessions import session_ref
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.catalogue.models import Article
from lyfta.core.http import LyftaRequest
from lyfta.inventory.models import Item, StockLocation
from lyfta.orders import selectors as order_selectors
from lyfta.patients import selectors as patient_selectors
from lyfta.workorders import selectors, services
from lyfta.workorders.forms import (
    AttachForm,
    EstimateForm,
    NewWorkOrderForm,
    NoteForm,
    PageForm,
    PartForm,
    PlanForm,
    QueueForm,
    ReasonForm,
    ReportForm,
)
from lyfta.workorders.models import WorkOrder

S, K = WorkOrder.Status, WorkOrder.Kind


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


def _page_number(request: LyftaRequest) -> int:
    form = PageForm(request.GET)
    return (form.cleaned_data.get("sida") or 1) if form.is_valid() else 1


# --- The technician's queue ---------------------------------------------------------------


@require_GET
def queue(request: LyftaRequest) -> HttpResponse:
    """The technician's start of work: his own and his teams' open work orders by due date."""
    require(request.actor, Cap.WORKORDERS_HANDLE)
    form = QueueForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    view = data.get("vy") or selectors.MINE
    result = selectors.queue(
        actor=request.actor,
        view=view,
        area=data.get("omrade") or "",
        status=data.get("status") or "",
        page=data.get("sida") or 1,
    )
    query = {k: v for k, v in data.items() if v and k != "sida"}
    return render(
        request,
        "workorders/queue.html",
        {
            "form": form,
            "queue": result,
            "view": view,
            "query": "&".join(f"{k}={v}" for k, v in query.items()),
        },
        status=200 if valid else 400,
    )


@require_GET
def unit_list(request: LyftaRequest) -> HttpResponse:
    """The work orders for the actor's unit, open ones first."""
    page, shown = selectors.unit_list(actor=request.actor, page=_page_number(request))
    late = selectors.unit_late_inspections(actor=request.actor)
    return render(request, "workorders/unit_list.html", {"page": page, "rows": shown, "late": late})


# --- One work order -------------------------------------------------------------------------


def _may(actor: Actor, order: WorkOrder) -> dict[str, bool]:
    """Which steps the page offers (the services decide; this only hides buttons)."""
    handles = can(actor, Cap.WORKORDERS_HANDLE)
    own_unit = actor.unit is not None and actor.unit.pk == order.unit_id
    status = order.status
    special = order.kind == K.SPECIAL_ADAPTATION
    return {
        "plan": handles
        and status in (S.REGISTERED, S.PLANNED, S.WAITING_PARTS, S.WAITING_APPROVAL),
        "start": handles
        and status in (S.REGISTERED, S.PLANNED, S.WAITING_PARTS)
        and (not special or order.approved_at is not None),
        "wait": handles and status in (S.REGISTERED, S.PLANNED, S.IN_PROGRESS),
        "report": handles and status in (S.IN_PROGRESS, S.WAITING_PARTS, S.DONE),
        "part": handles and status == S.IN_PROGRESS,
        "done": handles and status == S.IN_PROGRESS,
        "reopen": handles and status == S.DONE,
        "close": handles and status == S.DONE,
        "cancel": status in WorkOrder.OPEN
        and (
            handles
            or (
                own_unit
                and can(actor, Cap.WORKORDERS_REQUEST)
                and status in (S.REGISTERED, S.PLANNED, S.WAITING_APPROVAL)
            )
        ),
        "estimate": handles and special and order.approved_at is None and status in WorkOrder.OPEN,
        "approve": own_unit
        and can(actor, Cap.WORKORDERS_APPROVE)
        and special
        and status == S.WAITING_APPROVAL
        and order.cost_estimate is not None,
        "attach": status not in WorkOrder.FINAL
        and (handles or (own_unit and can(actor, Cap.WORKORDERS_REQUEST))),
        "inspect": handles and order.kind == K.INSPECTION and status in WorkOrder.OPEN,
        "letter": order.patient_id is not None and order.kind in (K.INSPECTION, K.MAINTENANCE),
        "handles": handles,
    }


def _locations() -> Any:
    return StockLocation.objects.filter(pk__in=[p.pk for p in services.workshop_locations()])


@require_GET
def detail(request: LyftaRequest, pk: int) -> HttpResponse:
    order = selectors.work_order_for(actor=request.actor, pk=pk)
    view = selectors.detail(actor=request.actor, order=order)
    may = _may(request.actor, order)
    return render(
        request,
        "workorders/detail.html",
        {
            "order": order,
            "view": view,
            "may": may,
            "plan_form": PlanForm(
                technicians=selectors.technicians(),
                teams=selectors.teams(),
                initial={"assignee": order.assignee_id, "team": order.team_id},
            )
            if may["plan"]
            else None,
            "note_form": NoteForm() if may["wait"] else None,
            "report_form": ReportForm(
                initial={
                    "findings": order.findings,
                    "actions": order.actions,
                    "minutes_spent": order.minutes_spent,
                    "billable": order.billable,
                }
            )
            if may["report"]
            else None,
            "part_form": PartForm(locations=_locations()) if may["part"] else None,
            "reason_form": ReasonForm() if may["cancel"] else None,
            "estimate_form": EstimateForm(
                initial={
                    "instruction": order.instruction,
                    "risk_analysis": order.risk_analysis,
                    "cost_estimate": order.cost_estimate,
                }
            )
            if may["estimate"]
            else None,
            "attach_form": AttachForm() if may["attach"] else None,
            "inspect_url": f"/teknik/arbetsorder/{order.pk}/besiktning/",
        },
    )


Step = Callable[[LyftaRequest, WorkOrder, dict[str, Any]], str]


def _step(
    request: LyftaRequest,
    pk: int,
    form: Any,
    run: Step,
    *,
    files: bool = False,
    cap: str | None = Cap.WORKORDERS_HANDLE,
) -> HttpResponse:
    """Do one step on a work order the actor may see: parse the form, call the service, and go
    back to the page with its Swedish message. A work order the actor may not see is the same
    404 as a missing one; a step the actor's role does not carry (`cap`) is a 403, before any
    input is read."""
    order = selectors.work_order_to_change(actor=request.actor, pk=pk)
    if cap is not None:
        require(request.actor, cap)
    bound = form(request.POST, request.FILES) if files else form(request.POST)
    if not bound.is_valid():
        _invalid(request, bound)
    else:
        try:
            done = run(request, order, bound.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            _fail(request, error)
        else:
            messages.success(request, done)
    return redirect("workorders:detail", pk=order.pk)


def _empty(*args: Any, **kwargs: Any) -> Any:
    return PageForm({})


def _plan_form(data: Any) -> PlanForm:
    return PlanForm(data, technicians=selectors.technicians(), teams=selectors.teams())


@require_POST
def plan(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_plan(
            actor=request.actor,
            order=order,
            assignee=data["assignee"],
            team=data["team"],
            planned_on=data["planned_on"],
        )
        return _("Arbetsordern är planerad.")

    return _step(request, pk, _plan_form, run)


@require_POST
def start(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_start(actor=request.actor, order=order)
        return _("Arbetet är påbörjat.")

    return _step(request, pk, _empty, run)


@require_POST
def wait_for_parts(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_wait_for_parts(actor=request.actor, order=order, note=data["note"])
        return _("Arbetsordern väntar på reservdelar. Beställaren har fått besked.")

    return _step(request, pk, NoteForm, run)


@require_POST
def report(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_report(actor=request.actor, order=order, **data)
        return _("Rapporten är sparad.")

    return _step(request, pk, ReportForm, run)


@require_POST
def use_part(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        article = Article.objects.filter(article_number=data["article"].strip()).first()
        if article is None:
            raise ValidationError(_("Det finns ingen artikel med det numret."))
        services.work_order_use_part(
            actor=request.actor,
            order=order,
            article=article,
            quantity=data["quantity"],
            location=data["location"],
            form_key=data["form_key"] or None,
        )
        return _("%(n)s st %(article)s är uttagna ur lagret.") % {
            "n": data["quantity"],
            "article": article,
        }

    return _step(request, pk, lambda d: PartForm(d, locations=_locations()), run)


@require_POST
def done(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_done(actor=request.actor, order=order)
        return _("Arbetet är klarmarkerat. Beställaren har fått besked.")

    return _step(request, pk, _empty, run)


@require_POST
def reopen(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_reopen(actor=request.actor, order=order)
        return _("Arbetsordern är återöppnad.")

    return _step(request, pk, _empty, run)


@require_POST
def close(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_close(actor=request.actor, order=order)
        return _("Arbetsordern är avslutad.")

    return _step(request, pk, _empty, run)


@require_POST
def cancel(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_cancel(actor=request.actor, order=order, reason=data["reason"])
        return _("Arbetsordern är makulerad.")

    # The technicians cancel any open work order, the asking unit its own (the service decides).
    return _step(request, pk, ReasonForm, run, cap=None)


@require_POST
def estimate(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_estimate(actor=request.actor, order=order, **data)
        return _("Kostnadsförslaget är skickat till enheten för godkännande.")

    return _step(request, pk, EstimateForm, run)


@require_POST
def approve(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        services.work_order_approve(actor=request.actor, order=order)
        return _("Kostnadsförslaget är godkänt.")

    return _step(request, pk, _empty, run, cap=Cap.WORKORDERS_APPROVE)


@require_POST
def attach(request: LyftaRequest, pk: int) -> HttpResponse:
    def run(request: LyftaRequest, order: WorkOrder, data: dict[str, Any]) -> str:
        upload = data["file"]
        if upload.size > services.MAX_ATTACHMENT_BYTES:
            raise ValidationError(_("Filen är större än 10 MB."))
        services.attachment_add(
            actor=request.actor, order=order, name=upload.name or "", data=upload.read()
        )
        return _("Bilagan är sparad.")

    # The technicians and the asking unit attach photos and documents.
    return _step(request, pk, AttachForm, run, files=True, cap=None)


@require_GET
def attachment(request: LyftaRequest, pk: int, attachment_id: int) -> HttpResponse:
    """A stored attachment, only after the work order's access check, as a download."""
    found = selectors.attachment_for(actor=request.actor, pk=pk, attachment_id=attachment_id)
    try:
        data = services.attachment_bytes(found)
    except OSError as error:
        raise Http404 from error
    response = HttpResponse(data, content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(True, found.name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def letter(request: LyftaRequest, pk: int) -> HttpResponse:
    """The letter to the patient about a coming inspection, as a PDF to print and post (or, for a
    protected address, to hand over through the unit)."""
    order = selectors.letter_for(actor=request.actor, pk=pk)
    import weasyprint

    shown = selectors.patient_shown(request.actor, order)
    context = {
        "order": order,
        "name": str(order.patient) if shown else "",
        "address": selectors.address_of(order) if shown else "",
        "protected": order.confidential_address or not shown,
        "phone": selectors.centre_phone(order),
        "printed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "produced_by": request.actor.user.display_name if request.actor.user else "",
    }
    with override("sv"):
        html = render_to_string("workorders/letter_pdf.html", context)
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(False, f"kallelse-{order.number}.pdf") or "inline"
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- Registering ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def report_fault(request: LyftaRequest, patient_id: int, loan_id: int) -> HttpResponse:
    """Felanmälan from the holdings: a unit asks for work on its patient's device."""
    require(request.actor, Cap.WORKORDERS_REQUEST)
    grant = patient_selectors.grant_or_404(
        actor=request.actor, patient_id=patient_id, session_ref=session_ref(request)
    )
    loan = order_selectors.loan_of(actor=request.actor, grant=grant, loan_id=loan_id)
    if loan.ended_on is not None or request.actor.unit is None:
        raise order_selectors.denied(request.actor, "orders.loan", loan_id, patient_id=patient_id)
    form = NewWorkOrderForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.work_order_create(
                actor=request.actor,
                grant=grant,
                unit=request.actor.unit,
                item=loan.item,
                article=loan.article,
                kind=data["kind"],
                description=data["description"],
                place=data["place"],
                priority=data["priority"],
                contact_phone=data["contact_phone"],
                origin=WorkOrder.Origin.PRESCRIBER,
            )
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            messages.success(
                request,
                _("Arbetsorder %(number)s är registrerad. Den ska vara klar senast %(due)s.")
                % {"number": order.number, "due": order.done_due.isoformat()},
            )
            return redirect("orders:holdings", patient_id=patient_id)
    record(
        action=Action.PATIENT_READ,
        actor=request.actor,
        patient_id=grant.patient.pk,
        resource_type="workorders.fault_form",
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
    )
    return render(
        request,
        "workorders/report_fault.html",
        {"patient": grant.patient, "loan": loan, "form": form},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def new_for_item(request: LyftaRequest, individual_number: str) -> HttpResponse:
    """A work order from the item card: the technician for any item (for its holder and the
    loan's unit, or in stock), the centre's logistics for items in stock."""
    actor = request.actor
    handles = can(actor, Cap.WORKORDERS_HANDLE)
    if not handles:
        require(actor, Cap.STOCK_MANAGE)
    item = (
        Item.objects.filter(individual_number=individual_number[:20])
        .select_related("article", "location__unit")
        .first()
    )
    if item is None:
        raise order_selectors.denied(actor, "inventory.item", individual_number[:64])
    holding = rows.item_holding(actor, item)
    refused = ""
    if item.holder_id is not None and not handles:
        refused = _("Hjälpmedlet är utlånat: felanmälan görs av den förskrivande enheten.")
    elif holding is None and item.location is None:
        refused = _("Hjälpmedlet har ingen plats i lagret och inget pågående lån.")
    form = NewWorkOrderForm(
        request.POST if request.method == "POST" else None,
        centre=True,
        initial={"place": WorkOrder.Place.HOME if holding else WorkOrder.Place.WORKSHOP},
    )
    if request.method == "POST" and not refused and form.is_valid():
        data = form.cleaned_data
        unit = holding.unit if holding else item.location.unit  # type: ignore[union-attr]
        try:
            order = services.work_order_create(
                actor=actor,
                unit=unit,
                item=item,
                patient=holding.patient if holding else None,
                kind=data["kind"],
                description=data["description"],
                place=data["place"],
                priority=data["priority"],
                contact_phone=data["contact_phone"],
                origin=WorkOrder.Origin.TECHNICIAN if handles else WorkOrder.Origin.CENTRE,
            )
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            messages.success(
                request,
                _("Arbetsorder %(number)s är registrerad. Den ska vara klar senast %(due)s.")
                % {"number": order.number, "due": order.done_due.isoformat()},
            )
            if handles:
                return redirect("workorders:detail", pk=order.pk)
            return redirect("stock:item", individual_number=item.individual_number)
    return render(
        request,
        "workorders/new_for_item.html",
        {
            "item": item,
            "holding_unit": holding.unit if holding else None,
            "form": form,
            "refused": refused,
        },
        status=400 if form.errors or (refused and request.method == "POST") else 200,
    )
