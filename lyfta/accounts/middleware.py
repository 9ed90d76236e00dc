"""Resolves who acts in each request: the signed-in user, checked against the account's validity
window (R3), in the assignment bound to the session (R31), re-checked on every request so that an
ended assignment takes effect at once (R37)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.accounts.models import Assignment, User
from lyfta.audit.actions import Action
from lyfta.audit.context import audit_context
from lyfta.audit.models import Outcome
from lyfta.audit.services import record

# Pages a signed-in user may reach before an assignment is chosen.
OPEN_WITHOUT_ASSIGNMENT = {
    "accounts:logout",
    "accounts:choose_assignment",
    "healthz",
    "set_language",
}


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            return self.get_response(request)
        today = timezone.localdate()
        if not user.account_valid_on(today):
            record(action=Action.SESSION_REFUSED, actor=Actor(user=user), outcome=Outcome.DENIED,
                   detail={"reason": "account_not_valid"})  # fmt: skip
            logout(request)
            messages.error(
                request, _("Ditt konto gäller inte just nu. Kontakta din användaradministratör.")
            )
            return redirect("accounts:login")
        assignment = self._assignment(request, user, today)
        actor = Actor(user=user, assignment=assignment)
        request.actor = actor  # type: ignore[attr-defined]
        with audit_context(actor=actor):
            if assignment is None and not self._open_without_assignment(request):
                return redirect(
                    f"{reverse('accounts:choose_assignment')}?next={request.get_full_path()}"
                )
            return self.get_response(request)

    def _assignment(self, request: HttpRequest, user: User, today: object) -> Assignment | None:
        chosen = request.session.get("assignment_id")
        if chosen is None:
            return None
        assignment = (
            Assignment.objects.active()
            .filter(pk=chosen, user=user)
            .select_related("unit__provider")
            .first()
        )
        if assignment is None:
            del request.session["assignment_id"]
            record(action=Action.SESSION_REFUSED, actor=Actor(user=user), outcome=Outcome.DENIED,
                   detail={"reason": "assignment_not_active", "assignment": chosen})  # fmt: skip
            messages.warning(
                request, _("Uppdraget du arbetade i gäller inte längre. Välj ett annat.")
            )
        return assignment

    def _open_without_assignment(self, request: HttpRequest) -> bool:
        match = request.resolver_match
        if match is None:
            from django.urls import Resolver404, resolve

            try:
                match = resolve(request.path_info)
            except Resolver404:
                return True
        return match.view_name in OPEN_WITHOUT_ASSIGNMENT
