"""The quality desk's pages: safety notices carried out as campaigns (issue 15 point 4). The
list of campaigns, a new campaign from a field safety notice with a preview count before it is
created, a campaign with its progress per holding unit and its devices a page at a time, a
device's status (phone-sized, found by a scanned or typed number), closing and the final report.

Each view parses input with a form, calls one selector or service, and renders or redirects
with a Swedish message; bad input gets the message, never a 500."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.accounts.sessions import session_ref
from lyfta.core.http import LyftaRequest
from lyfta.quality.forms.campaigns import (
    CloseForm,
    DeviceListForm,
    DeviceStatusForm,
    FindDeviceForm,
    ListForm,
    NoticeForm,
)
from lyfta.quality.models import Campaign, CampaignDevice
from lyfta.quality.selectors import campaigns as selectors
from lyfta.quality.services import campaigns as services


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


def _readable(request: LyftaRequest) -> None:
    if not selectors.may_read(request.actor):
        raise PermissionDenied


@require_GET
def campaign_list(request: LyftaRequest) -> HttpResponse:
    """The open campaigns with their progress (or the closed ones)."""
    _readable(request)
    form = ListForm(request.GET)
    closed = bool(form.is_valid() and form.cleaned_data.get("avslutade"))
    return render(
        request,
        "quality/campaigns/list.html",
        {
            "rows": selectors.campaigns_list(actor=request.actor, closed=closed),
            "closed": closed,
            "may_create": _may_create(request),
        },
    )


def _may_create(request: LyftaRequest) -> bool:
    return can(request.actor, Cap.QUALITY_MANAGE)


@require_http_methods(["GET", "POST"])
def campaign_new(request: LyftaRequest) -> HttpResponse:
    """A new campaign from a field safety notice: "Förhandsgranska" counts the devices it would
    list; "Skapa kampanj" creates it."""
    require(request.actor, Cap.QUALITY_MANAGE)
    initial: dict[str, Any] = {"notice_date": timezone.localdate(), "blocks_stock": True}
    if request.method == "GET":
        # From the recall page: the article, lot and serial range already chosen.
        for key, field in (("artikel", "articles"), ("batch", "lots")):
            value = request.GET.get(key, "")
            if isinstance(value, str) and value.strip() and len(value) <= 60:
                initial[field] = value.strip()
        low, high = request.GET.get("fran", ""), request.GET.get("till", "")
        if low.strip() and high.strip() and len(low) <= 60 and len(high) <= 60:
            initial["serial_ranges"] = f"{low.strip()};{high.strip()}"
    form = NoticeForm(request.POST if request.method == "POST" else None, initial=initial)
    preview = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if request.POST.get("steg") == "skapa":
                    campaign = services.campaign_create(actor=request.actor, notice=form.notice())
                    messages.success(
                        request,
                        _("Kampanj %(number)s är skapad.") % {"number": campaign.number},
                    )
                    return redirect("quality:campaign", number=campaign.number)
                preview = services.campaign_preview(actor=request.actor, notice=form.notice())
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
        else:
            status = 400
    return render(
        request, "quality/campaigns/new.html", {"form": form, "preview": preview}, status=status
    )


@require_GET
def campaign_detail(request: LyftaRequest, number: str) -> HttpResponse:
    """A campaign: the notice, overall progress and per holding unit, and its devices."""
    campaign = selectors.campaign_for(actor=request.actor, number=number)
    form = DeviceListForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    page, shown = selectors.device_page(
        actor=request.actor,
        campaign=campaign,
        page=data.get("sida") or 1,
        status=data.get("status") or "",
        session_ref=session_ref(request),
    )
    return render(
        request,
        "quality/campaigns/detail.html",
        {
            "campaign": campaign,
            "progress": services.campaign_progress(campaign),
            "per_unit": selectors.progress_per_unit(actor=request.actor, campaign=campaign),
            "counts": selectors.status_counts(actor=request.actor, campaign=campaign),
            "page": page,
            "rows": shown,
            "form": form,
            "find": FindDeviceForm(),
            "close": CloseForm(),
            "status_filter": data.get("status") or "",
            "may_set": services.may_set_status(request.actor),
            "may_close": _may_create(request) and campaign.status == Campaign.Status.OPEN,
        },
        status=200 if valid else 400,
    )


@require_GET
def device_find(request: LyftaRequest, number: str) -> HttpResponse:
    """A scanned or typed individual or serial number: the device's row of the campaign."""
    campaign = selectors.campaign_for(actor=request.actor, number=number)
    form = FindDeviceForm(request.GET)
    if form.is_valid():
        device = services.campaign_device_by_number(campaign, form.cleaned_data["nummer"])
        if device is not None:
            return redirect("quality:campaign_device", number=campaign.number, device=device.pk)
        messages.error(
            request,
            _("Ingen produkt med numret %(n)s ingår i kampanjen.")
            % {"n": form.cleaned_data["nummer"]},
        )
    else:
        _invalid(request, form)
    return redirect("quality:campaign", number=campaign.number)


@require_http_methods(["GET", "POST"])
def device_status(request: LyftaRequest, number: str, device: int) -> HttpResponse:
    """One device: where it is, and its status with a note (phone-sized)."""
    campaign = selectors.campaign_for(actor=request.actor, number=number)
    row = selectors.device_for(
        actor=request.actor, campaign=campaign, device_id=device, session_ref=session_ref(request)
    )
    form = DeviceStatusForm(
        request.POST if request.method == "POST" else None,
        initial={"status": row.device.status, "note": row.device.note},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.campaign_device_set(
                    actor=request.actor,
                    device=row.device,
                    status=form.cleaned_data["status"],
                    note=form.cleaned_data["note"] or "",
                )
            except (ValidationError, PermissionDenied) as error:
                _fail(request, error)
                status = 400
            else:
                messages.success(request, _("Status sparad."))
                return redirect("quality:campaign", number=campaign.number)
        else:
            status = 400
    return render(
        request,
        "quality/campaigns/device.html",
        {
            "campaign": campaign,
            "row": row,
            "form": form,
            "find": FindDeviceForm(),
            "may_set": services.may_set_status(request.actor)
            and campaign.status == Campaign.Status.OPEN,
        },
        status=status,
    )


@require_POST
def campaign_close(request: LyftaRequest, number: str) -> HttpResponse:
    """Close the campaign with the final report's text (every device has a status)."""
    campaign = selectors.campaign_for(actor=request.actor, number=number)
    require(request.actor, Cap.QUALITY_MANAGE)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.campaign_close(
                actor=request.actor, campaign=campaign, report=form.cleaned_data["report"] or ""
            )
        except (ValidationError, PermissionDenied) as error:
            _fail(request, error)
        else:
            messages.success(request, _("Kampanjen är avslutad."))
    else:
        _invalid(request, form)
    return redirect("quality:campaign", number=campaign.number)


@require_GET
def campaign_report(request: LyftaRequest, number: str) -> HttpResponse:
    """The final report as a PDF: the notice, the counts per status and per holding unit."""
    import weasyprint

    campaign = selectors.campaign_for(actor=request.actor, number=number)
    table = selectors.report_rows(actor=request.actor, campaign=campaign)
    statuses = list(CampaignDevice.Status.choices)
    html = render_to_string(
        "quality/campaigns/report_pdf.html",
        {
            "campaign": campaign,
            "progress": services.campaign_progress(campaign),
            "counts": selectors.status_counts(actor=request.actor, campaign=campaign),
            "statuses": [label for _value, label in statuses],
            "table": [
                (unit, [by.get(value, 0) for value, _label in statuses], total)
                for unit, by, total in table
            ],
            "printed": timezone.localtime(),
        },
        request=request,
    )
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(False, f"slutrapport-{campaign.number}.pdf") or "inline"
    )
    return response


urlpatterns: list[URLPattern | URLResolver] = [
    path("kampanjer/", campaign_list, name="campaigns"),
    path("kampanjer/ny/", campaign_new, name="campaign_new"),
    path("kampanjer/<str:number>/", campaign_detail, name="campaign"),
    path("kampanjer/<str:number>/hitta/", device_find, name="campaign_find"),
    path("kampanjer/<str:number>/produkt/<int:device>/", device_status, name="campaign_device"),
    path("kampanjer/<str:number>/avsluta/", campaign_close, name="campaign_close"),
    path("kampanjer/<str:number>/slutrapport.pdf", campaign_report, name="campaign_report"),
]
