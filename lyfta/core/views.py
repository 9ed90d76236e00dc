"""The start page, health check and the Swedish error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lyfta.access.policies import can
from lyfta.access.roles import Cap
from lyfta.core.http import LyftaRequest
from lyfta.core.navigation import navigation_for


@require_GET
def start(request: LyftaRequest) -> HttpResponse:
    """The start page: who you are acting as, where you can go from here and, for a log
    reviewer, which units' review is overdue and how many emergency accesses await a verdict
    (R79, R52)."""
    context: dict[str, object] = {"links": navigation_for(request.actor)[1:]}
    if request.actor.assignment is not None and can(request.actor, Cap.AUDIT_REVIEW):
        from lyfta.audit.review import schedules
        from lyfta.patients.selectors import emergency_queue

        context["review_overdue"] = [row for row in schedules(actor=request.actor) if row.overdue]
        context["emergencies_waiting"] = len(emergency_queue(actor=request.actor))
    from lyfta.workorders.start import desk_summary

    context["desk"] = desk_summary(request.actor)
    return render(request, "core/start.html", context)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: whatever failed must not fail again while the error page renders.
    import sys

    from django.db import InterfaceError, OperationalError
    from django.template import loader

    # Django calls this while handling the exception, so it can tell a database that cannot be
    # reached (a restart, a failover) from a fault in Lyfta: 503, and the browser may retry.
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        response = HttpResponse(loader.get_template("errors/503.html").render(), status=503)
        response["Retry-After"] = "10"
        return response
    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A post without a valid CSRF token is refused and recorded (R38): it may be a forged
    request riding on a signed-in session."""
    from lyfta.audit.actions import Action
    from lyfta.audit.models import Outcome
    from lyfta.audit.services import record

    actor = getattr(request, "actor", None)
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        resource_type="csrf",
        resource_id=request.path[:64],
        detail={"reason": "csrf", "why": reason[:100]},
    )
    return render(request, "errors/403_csrf.html", status=403)
