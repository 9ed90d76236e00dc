"""The log reviewer's pages (R63, R70, R75–R82, R52 queue on the overview, R43 report)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lyfta.access.policies import require
from lyfta.access.refusals import Refused
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import ReviewCheck, ReviewItem, Verdict
from lyfta.audit.services import record
from lyfta.core.http import LyftaRequest
from lyfta.core.replica import reading_replica
from lyfta.logreview import review
from lyfta.logreview.chart import chart
from lyfta.logreview.forms import (
    CloseForm,
    ExtractForm,
    SampleForm,
    ScheduleForm,
    SearchForm,
    VerdictForm,
)
from lyfta.logreview.reports import cross_provider_report
from lyfta.organisations.models import Unit
from lyfta.patients.selectors import emergency_queue


def _units(request: LyftaRequest) -> Any:
    return Unit.objects.filter(provider=request.actor.provider, active=True).order_by("name")


@require_http_methods(["GET"])
def overview(request: LyftaRequest) -> HttpResponse:
    """Schedules with overdue checks (R79), the emergency queue (R52), open checks, extracts due."""
    rows = review.schedules(actor=request.actor)
    return render(
        request,
        "audit/review/overview.html",
        {
            "schedules": rows,
            "overdue": [r for r in rows if r.overdue],
            "emergencies": emergency_queue(actor=request.actor),
            "open_checks": ReviewCheck.objects.filter(
                provider=request.actor.provider, closed_at__isnull=True
            ),
            "closed_checks": ReviewCheck.objects.filter(
                provider=request.actor.provider, closed_at__isnull=False
            )[:20],
            "extracts": review.extract_requests(actor=request.actor).filter(
                delivered_at__isnull=True
            ),
            "targeted": review.TARGETED.values(),
            "today": timezone.localdate(),
        },
    )


def _params(data: dict[str, Any]) -> review.SearchParams:
    return review.SearchParams(
        data["period_from"],
        data["period_until"],
        data.get("patient"),
        data.get("user"),
        data.get("unit"),
        data.get("action") or "",
        data.get("outcome") or "",
    )


@require_http_methods(["GET"])
@reading_replica(*review.REPLICA_TABLES)
def search(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.AUDIT_REVIEW)
    form = SearchForm(request.GET or None, units=_units(request), actor=request.actor)
    events = None
    graph = None
    if request.GET and form.is_valid():
        data = form.cleaned_data
        params = _params(data)
        events = review.review_search(actor=request.actor, params=params)
        graph = chart(
            review.accesses_per_day(
                actor=request.actor,
                unit=data["unit"],
                period_from=data["period_from"],
                period_until=data["period_until"],
            )
        )
    return render(
        request,
        "audit/review/search.html",
        {
            "form": form,
            "events": events,
            "labels": review.patient_labels(actor=request.actor, events=events or []),
            "chart": graph,
            "save_kind": "search",
            "limit": review.SEARCH_LIMIT,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET"])
@reading_replica(*review.REPLICA_TABLES)
def fhir_export(request: LyftaRequest) -> HttpResponse:
    """The search's events as a FHIR R5 Bundle of AuditEvents (R63); the export is recorded."""
    from lyfta.logreview.fhir import bundle

    require(request.actor, Cap.AUDIT_REVIEW)
    form = SearchForm(request.GET or None, units=_units(request), actor=request.actor)
    if not form.is_valid():
        return render(request, "audit/review/search.html", {"form": form}, status=400)
    params = _params(form.cleaned_data)
    events = review.review_search_events(actor=request.actor, params=params)
    record(
        action=Action.AUDIT_EXPORTED,
        actor=request.actor,
        detail={**params.audit_detail(), "format": "fhir-r5", "events": len(events)},
    )
    response = HttpResponse(
        json.dumps(bundle(events), ensure_ascii=False, indent=1),
        content_type="application/fhir+json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="lyfta-auditevents.json"'
    return response


@require_http_methods(["GET"])
def entry(request: LyftaRequest, event_id: int) -> HttpResponse:
    event = review.review_entry(actor=request.actor, event_id=event_id)
    return render(
        request,
        "audit/review/entry.html",
        {"event": event, "labels": review.patient_labels(actor=request.actor, events=[event])},
    )


@require_http_methods(["GET"])
@reading_replica(*review.REPLICA_TABLES)
def targeted(request: LyftaRequest, name: str) -> HttpResponse:
    require(request.actor, Cap.AUDIT_REVIEW)
    check = review.TARGETED.get(name)
    if check is None:
        raise Http404
    form = SearchForm(request.GET or None, units=_units(request), actor=request.actor)
    events = None
    handover = None
    if request.GET and form.is_valid():
        events, handover = review.targeted_review(
            actor=request.actor,
            name=name,
            period_from=form.cleaned_data["period_from"],
            period_until=form.cleaned_data["period_until"],
            unit=form.cleaned_data["unit"],
        )
    return render(
        request,
        "audit/review/targeted.html",
        {
            "check": check,
            "form": form,
            "events": events,
            "handover": handover,
            "labels": review.patient_labels(actor=request.actor, events=events or []),
            "save_kind": check.name,
            "limit": review.SEARCH_LIMIT,
        },
        status=400 if form.errors else 200,
    )


@require_POST
def check_save(request: LyftaRequest) -> HttpResponse:
    """Keep a search's or a targeted check's result as a check to give verdicts on (R77, R78)."""
    require(request.actor, Cap.AUDIT_REVIEW)
    kind = request.POST.get("kind", "")
    if kind != "search" and kind not in review.TARGETED:
        raise Http404
    form = SearchForm(request.POST, units=_units(request), actor=request.actor)
    if not form.is_valid():
        messages.error(request, _("Sökningen kunde inte sparas: kontrollera fälten."))
        return redirect("review:search")
    try:
        saved = review.check_save(
            actor=request.actor,
            params=_params(form.cleaned_data),
            targeted="" if kind == "search" else kind,
        )
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
        return redirect("review:overview")
    messages.success(request, _("Kontrollen är sparad. Bedöm varje logghändelse."))
    return redirect("review:check", check_id=saved.pk)


@require_http_methods(["GET", "POST"])
def sample_new(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.AUDIT_REVIEW)
    form = SampleForm(request.POST or None, units=_units(request))
    if request.method == "POST" and form.is_valid():
        try:
            check = review.sample_draw(
                actor=request.actor,
                unit=form.cleaned_data["unit"],
                period_from=form.cleaned_data["period_from"],
                period_until=form.cleaned_data["period_until"],
                size=form.cleaned_data["size"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("review:check", check_id=check.pk)
    return render(
        request, "audit/review/sample_new.html", {"form": form}, status=400 if form.errors else 200
    )


def _item_id(value: str | None) -> int | None:
    """The entry a verdict form names: ASCII digits of a database id, else None."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@require_http_methods(["GET", "POST"])
def check(request: LyftaRequest, check_id: int) -> HttpResponse:
    review_check = review.review_check(actor=request.actor, check_id=check_id)
    status = 200
    item_id = _item_id(request.POST.get("item"))
    if request.method == "POST" and "close" not in request.POST and item_id is None:
        # A made-up entry (not a number): the page again with why, never a server error.
        messages.error(request, _("Välj en logghändelse i kontrollen."))
        status = 400
    elif request.method == "POST":
        try:
            if "close" in request.POST:
                form = CloseForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(_("Skriv en slutsats."))
                review.review_close(
                    actor=request.actor,
                    check=review_check,
                    conclusion=form.cleaned_data["conclusion"],
                )
                messages.success(request, _("Kontrollen är avslutad och sparad."))
            else:
                item = get_object_or_404(ReviewItem, pk=item_id, review=review_check)
                verdict_form = VerdictForm(request.POST)
                if not verdict_form.is_valid():
                    raise ValidationError(_("Välj befogad, inte befogad eller oklar."))
                review.review_verdict(actor=request.actor, item=item, **verdict_form.cleaned_data)
        except ValidationError as error:
            for problem in error.messages:
                messages.error(request, problem)
        except Refused as error:
            # His own event (R92): refused and recorded by the service.
            messages.error(request, error.user_message)
        return redirect("review:check", check_id=check_id)
    items = review.review_items(actor=request.actor, check=review_check)
    return render(
        request,
        "audit/review/check.html",
        {
            "check": review_check,
            "items": items,
            "labels": review.patient_labels(
                actor=request.actor, events=[e for _item, e in items if e is not None]
            ),
            "verdicts": Verdict.choices,
            "reasons": review.reason_labels(),
            "close_form": CloseForm(),
            "remaining": sum(1 for item, _e in items if not item.verdict),
            "handover": review.check_handover(review_check),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def schedule(request: LyftaRequest, unit_id: int) -> HttpResponse:
    require(request.actor, Cap.AUDIT_REVIEW)
    unit = get_object_or_404(Unit, pk=unit_id, provider=request.actor.provider)
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review.schedule_set(
                actor=request.actor, unit=unit, interval_days=form.cleaned_data["interval_days"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Schemat är sparat."))
            return redirect("review:overview")
    return render(
        request,
        "audit/review/schedule.html",
        {"unit": unit, "form": form},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def extract_new(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.AUDIT_REVIEW)
    form = ExtractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            extract = review.extract_register(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            # Another provider's patient is refused under the number, as a number unknown to
            # Lyfta is by the form: the same page, so that it tells nobody the number exists.
            theirs = str(review.NO_SUCH_PATIENT) in error.messages
            form.add_error("patient" if theirs else None, error)
        else:
            return redirect("review:extract", request_id=extract.pk)
    return render(
        request, "audit/review/extract_new.html", {"form": form}, status=400 if form.errors else 200
    )


@require_http_methods(["GET"])
def extract(request: LyftaRequest, request_id: int) -> HttpResponse:
    found = review.extract_request(actor=request.actor, request_id=request_id)
    return render(
        request, "audit/review/extract.html", {"extract": found, "today": timezone.localdate()}
    )


@require_http_methods(["GET"])
def extract_file(request: LyftaRequest, request_id: int, fmt: str) -> HttpResponse:
    found = review.extract_request(actor=request.actor, request_id=request_id)
    content, content_type = review.extract_produce(actor=request.actor, request=found, fmt=fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="loggutdrag-{found.pk}.{fmt}"'
    return response


@require_POST
def extract_delivered(request: LyftaRequest, request_id: int) -> HttpResponse:
    found = review.extract_request(actor=request.actor, request_id=request_id)
    try:
        day = dt.date.fromisoformat(request.POST.get("delivered_at", ""))
        review.extract_delivered(actor=request.actor, request=found, delivered_at=day)
    except ValueError:
        messages.error(request, _("Ange datum som ÅÅÅÅ-MM-DD."))
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
    else:
        messages.success(request, _("Utdraget är markerat som lämnat."))
    return redirect("review:extract", request_id=request_id)


@reading_replica(*review.REPLICA_TABLES)
def cross_provider(request: LyftaRequest) -> HttpResponse:
    """R43: who from other providers read our data, and whose data our users read."""
    # Only plain digits, and few of them: "²" passes isdigit() but not int() (never a 500).
    days = request.GET.get("dagar", "")
    valid = days.isascii() and days.isdecimal() and len(days) <= 4
    report = cross_provider_report(actor=request.actor, days=int(days) if valid else 30)
    return render(request, "audit/cross_provider.html", {"report": report})
