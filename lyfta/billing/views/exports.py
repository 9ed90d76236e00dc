"""The invoice basis out (issue 14 point 5): the page of locked runs × customers with their
downloads, and the download of one customer's basis in one format (PDF, spreadsheet, CSV for
the financial system, Peppol invoice). For the economy role (billing.view); a run that is not
locked is a preview and cannot be downloaded (404). Every download is recorded."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.billing.selectors import invoices as selectors
from lyfta.billing.services import invoices as services
from lyfta.core.http import LyftaRequest


@require_GET
def invoices(request: LyftaRequest) -> HttpResponse:
    """Every locked run's customers with the downloads of their invoice basis."""
    require(request.actor, Cap.BILLING_VIEW)
    return render(
        request,
        "billing/invoices.html",
        {"invoice_rows": selectors.downloads(request.actor)},
    )


@require_GET
def invoice_export(request: LyftaRequest, run_id: int, customer_id: int, fmt: str) -> HttpResponse:
    """One customer's invoice basis of a locked run in `fmt` (pdf, xlsx, csv, ubl)."""
    require(request.actor, Cap.BILLING_VIEW)
    if fmt not in selectors.FORMATS:
        raise Http404(_("Okänt format."))
    basis = selectors.basis(request.actor, run_id, customer_id)
    download = services.export(request.actor, basis, fmt)
    response = HttpResponse(download.content, content_type=download.content_type)
    response["Content-Disposition"] = (
        content_disposition_header(True, download.filename) or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("fakturaunderlag/", invoices, name="invoices"),
    path(
        "fakturaunderlag/<int:run_id>/<int:customer_id>/<str:fmt>/",
        invoice_export,
        name="invoice_export",
    ),
]
