"""The start page, health check and the Swedish error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lyfta.core.http import LyftaRequest
from lyfta.core.navigation import may_open, navigation_for


@require_GET
def start(request: LyftaRequest) -> HttpResponse:
    """The start page: the actor's work queues, each row a link to where the work is done
    (issue 16); for a log reviewer, the units whose review is overdue and the emergency accesses
    awaiting a verdict (R79, R52); who you are acting as and where you can go from here."""
    from lyfta.core.work import start_queues
    from lyfta.workorders.start import desk_summary

    queues = start_queues(request.actor)
    # The first thing a prescriber does, one press from the start page on a phone too (where
    # the menu is folded away).
    shortcuts = [
        (label, reverse(name))
        for label, name in (
            (_("Mina patienter"), "patients:mine"),
            (_("Sök patient"), "patients:search"),
        )
        if may_open(request.actor, name)
    ]
    context: dict[str, object] = {
        "shortcuts": shortcuts,
        "links": navigation_for(request.actor)[1:],
        "queues": [q for q in queues if q.rows or q.note],
        "quiet": [q for q in queues if not (q.rows or q.note)],
        "desk": desk_summary(request.actor),
    }
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
