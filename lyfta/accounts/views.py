"""Sign-in, sign-out and the choice of assignment."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lyfta.access.actor import Actor
from lyfta.accounts import selectors, services
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.core.http import LyftaRequest


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponseBase:
    view = auth_views.LoginView.as_view(
        template_name="accounts/login.html", redirect_authenticated_user=True
    )
    response = view(request)
    if request.method == "POST" and request.user.is_authenticated:
        request.session.cycle_key()
        services.login_recorded(user=request.user, method="password")
    elif request.method == "POST":
        services.login_failed_recorded(
            username=request.POST.get("username", ""), reason="credentials"
        )
    return response


@require_POST
def logout(request: LyftaRequest) -> HttpResponseBase:
    record(action=Action.LOGOUT, actor=getattr(request, "actor", None) or Actor(user=request.user))
    return auth_views.LogoutView.as_view()(request)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
def choose_assignment(request: LyftaRequest) -> HttpResponse:
    """Pick the assignment to act in; automatic when there is only one (R31)."""
    options = list(selectors.assignments_available(user=request.user))
    current = request.actor.assignment if hasattr(request, "actor") else None
    if request.method == "POST":
        chosen = next((a for a in options if str(a.pk) == request.POST.get("assignment")), None)
        if chosen is None:
            context: dict[str, Any] = {
                "options": options,
                "error": _("Välj ett av dina uppdrag."),
                "next": _safe_next(request),
            }
            return render(request, "accounts/choose_assignment.html", context, status=400)
        services.assignment_choose(
            request=request, user=request.user, assignment=chosen, automatic=False
        )
        return redirect(_safe_next(request))
    if len(options) == 1 and current is None:
        services.assignment_choose(
            request=request, user=request.user, assignment=options[0], automatic=True
        )
        return redirect(_safe_next(request))
    return render(
        request,
        "accounts/choose_assignment.html",
        {"options": options, "current": current, "next": _safe_next(request)},
    )
