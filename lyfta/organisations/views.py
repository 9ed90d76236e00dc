"""Pages for care providers and units."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lyfta.audit.views import history_template
from lyfta.core.http import LyftaRequest
from lyfta.organisations import selectors


@require_GET
def providers(request: LyftaRequest) -> HttpResponse:
    return render(
        request,
        "organisations/providers.html",
        {"providers": selectors.providers_list(actor=request.actor)},
    )


@require_GET
def provider_detail(request: LyftaRequest, provider_id: int) -> HttpResponse:
    provider = selectors.provider_get(actor=request.actor, provider_id=provider_id)
    return render(
        request,
        "organisations/provider_detail.html",
        {
            "provider": provider,
            "units": selectors.units_of(actor=request.actor, provider=provider),
            "can_view_history": selectors.can_view_history(request.actor),
        },
    )


@require_GET
def unit_detail(request: LyftaRequest, unit_id: int) -> HttpResponse:
    unit = selectors.unit_get(actor=request.actor, unit_id=unit_id)
    return render(
        request,
        "organisations/unit_detail.html",
        {"unit": unit, "can_view_history": selectors.can_view_history(request.actor)},
    )


@require_GET
def provider_history(request: LyftaRequest, provider_id: int) -> HttpResponse:
    provider = selectors.provider_get(actor=request.actor, provider_id=provider_id)
    events = selectors.history_for(actor=request.actor, obj=provider)
    return render(request, history_template(request), {"events": events, "subject": provider})


@require_GET
def unit_history(request: LyftaRequest, unit_id: int) -> HttpResponse:
    unit = selectors.unit_get(actor=request.actor, unit_id=unit_id)
    events = selectors.history_for(actor=request.actor, obj=unit)
    return render(request, history_template(request), {"events": events, "subject": unit})
