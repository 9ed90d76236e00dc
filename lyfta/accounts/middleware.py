"""Who acts in each request, and what must happen before they may act.

For a signed-in user, every request: the session's idle and absolute limits (R23, R24), the
account's validity window (R3), then the gates in order — a forced password change, the current
user agreement (R10), the second factor (R12) and the choice of assignment (R31). The gates'
answers and the chosen assignment are kept in the session behind the user's access version, which
every change they depend on raises (lyfta/accounts/gates.py, decision 0018): an ended assignment
still takes effect at the next request (R37), without asking the database on every one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware

from lyfta.access.actor import Actor
from lyfta.accounts import sessions
from lyfta.accounts.gates import gates_of
from lyfta.accounts.gates import has_confirmed_device as has_confirmed_device
from lyfta.accounts.gates import mfa_required as mfa_required
from lyfta.accounts.models import Assignment, User, UserSession
from lyfta.accounts.oidc import OIDC_MFA
from lyfta.audit.actions import Action
from lyfta.audit.context import audit_context
from lyfta.audit.models import Outcome
from lyfta.audit.services import record

# The API and its FHIR endpoint: machine clients with tokens, no sessions.
API_PREFIX = ("/api/", "/fhir/")
# Always reachable for a signed-in user, whatever gate is pending.
ALWAYS_OPEN = {"accounts:logout", "accounts:keepalive", "healthz", "metrics", "set_language"}
# Each gate: the page that resolves it, and what else may be reached while it is pending.
# The second factor comes before a forced password change, so that a stolen password alone can
# never be used to set a new one.
GATES = [
    ("agreement", "accounts:agreement", {"accounts:agreement_pdf"}),
    ("mfa_enrol", "accounts:mfa_enrol", set()),
    ("mfa_verify", "accounts:mfa_verify", set()),
    ("password", "accounts:password_change", set()),
    (
        "assignment",
        "accounts:choose_assignment",
        {
            "accounts:password_change",
            "accounts:sessions",
            "accounts:reauthenticate",
            "accounts:oidc_start",
            "accounts:oidc_callback",
        },
    ),
]


class SecondFactorMiddleware(OTPMiddleware):  # type: ignore[misc]
    """django-otp's middleware, which loads the session's verified device on every request to
    check that it still exists, belongs to the user and is confirmed. This one asks that once and
    keeps the answer with the session's gates (decision 0018): any change to the user's devices
    raises the user's access version, and then it asks again. The device itself is loaded only
    when something uses it; `is_verified()` needs no query."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        self._init_user_fields(user)
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if not persistent_id or not user.is_authenticated or not isinstance(user, User):
            return super()._verify_user_sync(request, user)
        gates = gates_of(request, user)
        if gates.device_confirmed(persistent_id):
            user.otp_device = SimpleLazyObject(  # type: ignore[attr-defined]
                lambda: self._device_from_persistent_id(persistent_id)
            )
            return user
        user = super()._verify_user_sync(request, user)
        gates.keep_device(persistent_id if user.otp_device is not None else None)
        return user


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            # The API knows no sessions: a client's token names its actor (lyfta.api.auth), and
            # a call to it neither keeps a person's session alive nor passes its gates.
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            if request.session.get(SESSION_KEY):
                # The session names a user the backend now refuses (R3): say so, and end it.
                return self._end(
                    request,
                    None,
                    Action.SESSION_REFUSED,
                    "account_not_valid",
                    UserSession.EndReason.REFUSED,
                )
            return self.get_response(request)
        expired = sessions.expiry_reason(request)
        if expired == "idle":
            return self._end(
                request, user, Action.SESSION_IDLE_TIMEOUT, "idle", UserSession.EndReason.IDLE
            )
        if expired:
            return self._end(
                request, user, Action.SESSION_EXPIRED, "absolute", UserSession.EndReason.EXPIRED
            )
        if not user.account_valid_on(timezone.localdate()):
            return self._end(
                request,
                user,
                Action.SESSION_REFUSED,
                "account_not_valid",
                UserSession.EndReason.REFUSED,
            )
        sessions.touch(request)
        assignment = self._assignment(request, user)
        pending = self._first_pending_gate(request, user, assignment)
        if (
            pending is not None
            and pending[0] == "assignment"
            and self._choose_the_only_one(request, user)
        ):
            assignment = self._assignment(request, user)
            pending = None
        actor = Actor(user=user, assignment=assignment)
        request.actor = actor  # type: ignore[attr-defined]
        with audit_context(actor=actor):
            if pending is not None:
                redirect_to = self._gate_redirect(request, pending)
                if redirect_to is not None:
                    return redirect_to
            return self.get_response(request)

    def _end(
        self, request: HttpRequest, user: User | None, action: str, reason: str, end_reason: str
    ) -> HttpResponse:
        user_id = request.session.get(SESSION_KEY)
        record(
            action=action,
            actor=Actor(user=user) if user else None,
            outcome=Outcome.DENIED,
            username=user.username if user else f"user-id:{user_id}",
            detail={"reason": reason},
        )
        row = sessions.current_row(request)
        if row is not None:
            UserSession.objects.filter(pk=row.pk, ended_at__isnull=True).update(
                ended_at=timezone.now(), end_reason=end_reason, session_key=None
            )
        logout(request)
        text = {
            "idle": _(
                "Du har loggats ut eftersom du inte har varit aktiv på en stund. Logga in igen."
            ),
            "absolute": _("Din inloggning har nått sin längsta tid. Logga in igen."),
        }.get(reason, _("Ditt konto gäller inte just nu. Kontakta din användaradministratör."))
        messages.warning(request, text)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=401)
            response["HX-Redirect"] = reverse("accounts:login")
            return response
        return redirect(
            f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}"
        )

    def _assignment(self, request: HttpRequest, user: User) -> Assignment | None:
        chosen = request.session.get("assignment_id")
        if chosen is None:
            return None
        assignment = gates_of(request, user).assignment(chosen)
        if assignment is None:
            del request.session["assignment_id"]
            record(
                action=Action.SESSION_REFUSED,
                actor=Actor(user=user),
                outcome=Outcome.DENIED,
                detail={"reason": "assignment_not_active", "assignment": chosen},
            )
            messages.warning(
                request, _("Uppdraget du arbetade i gäller inte längre. Välj ett annat.")
            )
        return assignment

    def _first_pending_gate(
        self, request: HttpRequest, user: User, assignment: Assignment | None
    ) -> tuple[str, str, set[str]] | None:
        for gate, page, also_open in GATES:
            if self._gate_pending(gate, request, user, assignment):
                return gate, page, also_open
        return None

    def _gate_redirect(
        self, request: HttpRequest, pending: tuple[str, str, set[str]]
    ) -> HttpResponse | None:
        """Where a request goes while a gate is pending: its own page and a few others are open."""
        _gate, page, also_open = pending
        try:
            view_name = resolve(request.path_info).view_name
        except Resolver404:
            return None
        if view_name in ALWAYS_OPEN or view_name == page or view_name in also_open:
            return None
        target = reverse(page)
        if request.method == "GET" and view_name != "start":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)

    def _choose_the_only_one(self, request: HttpRequest, user: User) -> bool:
        """With exactly one assignment in force there is nothing to choose (R31): it is bound to
        the session, recorded as an automatic choice, and the request starts over with it."""
        from lyfta.accounts.services import assignment_choose

        options = list(Assignment.objects.active().filter(user=user)[:2])
        if len(options) != 1:
            return False
        assignment_choose(request=request, user=user, assignment=options[0], automatic=True)
        return True

    def _gate_pending(
        self, gate: str, request: HttpRequest, user: User, assignment: Assignment | None
    ) -> bool:
        if gate == "password":
            return user.must_change_password
        gates = gates_of(request, user)
        if gate == "agreement":
            return not gates.agreement_accepted()
        if gate in {"mfa_enrol", "mfa_verify"}:
            # An OpenID Connect sign-in whose provider vouched for two factors (SITHS eID at
            # LoA 3) is the second factor itself (decision 0017).
            if user.is_verified() or request.session.get(OIDC_MFA):  # type: ignore[attr-defined]
                return False
            enrolled = gates.has_confirmed_device()
            if gate == "mfa_verify":
                # Whoever has a device is asked for its code, required or chosen.
                return enrolled
            return not enrolled and gates.mfa_required()
        return assignment is None
