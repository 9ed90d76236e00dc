"""Sign-in, the gates after it (agreement, second factor, assignment), sign-out and self-service:
password change, password set with a one-time code, re-authentication and one's own sessions."""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lyfta.access.actor import Actor
from lyfta.accounts import agreement as agreement_text
from lyfta.accounts import oidc, selectors, services, sessions, throttle
from lyfta.accounts.forms import (
    CodeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordSetForm,
    ReauthForm,
)
from lyfta.accounts.models import User, UserSession
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record
from lyfta.core.http import LyftaRequest

# One answer for every failed sign-in, whether or not the username exists (R21).
SIGN_IN_FAILED = _(
    "Inloggningen misslyckades. Kontrollera användarnamn och lösenord. Om ditt konto har upphört "
    "att gälla, kontakta din användaradministratör."
)


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """Where to go after a step: a path on this site, else `default`. Only a path (starting with
    "/"): `redirect()` takes anything else for the name of a view, and "next=abc" was a 500."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _failure_reason(username: str) -> str:
    """Why a sign-in failed, for the audit log only; the user always sees the same answer."""
    user = User.objects.filter(username=username).first()
    if user is None:
        return "unknown_user"
    if not user.account_valid_on(timezone.localdate()):
        return "account_not_valid"
    return "bad_password"


def _login_page(
    request: HttpRequest, form: LoginForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "error": error,
            "next": safe_next(request, ""),
            "local_passwords": oidc.local_passwords(),
            "oidc_enabled": oidc.enabled(),
        },
        status=status,
    )


def complete_sign_in(
    request: HttpRequest, user: User, *, method: str, backend: str | None = None, **detail: Any
) -> None:
    """The one end of every sign-in, whatever proved who the person is: Django's login, a new
    session key and the session's stamps and row (R26, R29), and the sign-in event (R22). The gates
    (agreement, second factor, assignment) follow in ActorMiddleware on the next request."""
    auth_login(request, user, backend=backend)
    sessions.session_started(request, user)
    request.session[oidc.AUTH_METHOD] = method
    services.login_recorded(user=user, method=method, **detail)


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Username and password (R17–R22), or the button for OpenID Connect; the gates that follow
    are in ActorMiddleware. With LYFTA_LOCAL_PASSWORDS=false only the button is left."""
    if request.user.is_authenticated:
        return redirect(safe_next(request))
    form = LoginForm(request.POST or None)
    if not oidc.local_passwords():
        if request.method == "POST":
            # Refused without checking the password (it counts towards no lockout either).
            attempted = form.cleaned_data["username"] if form.is_valid() else ""
            services.login_failed_recorded(username=attempted, reason="local_passwords_off")
            error = _("Inloggning med lösenord är avstängd. Logga in med SITHS eID.")
            return _login_page(request, LoginForm(), error=error, status=403)
        return _login_page(request, LoginForm())
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        refused = throttle.blocked_reason(request, username)
        if refused is not None:
            services.login_failed_recorded(
                username=username, reason=f"locked_{refused}", action=Action.LOCKED_OUT
            )
            return locked_out(request)
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            services.login_failed_recorded(
                username=username, reason="locked_out", action=Action.LOCKED_OUT
            )
            return locked_out(request)
        if user is None:
            throttle.failed(request, username)
            services.login_failed_recorded(username=username, reason=_failure_reason(username))
            form.add_error(None, SIGN_IN_FAILED)
        elif isinstance(user, User):
            complete_sign_in(request, user, method="password")
            return redirect(safe_next(request))
    return _login_page(request, form)


@login_not_required
def locked_out(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """After too many failed attempts (R18); the same page for known and unknown usernames."""
    error = _(
        "För många misslyckade försök. Vänta 15 minuter och försök igen, eller be din "
        "användaradministratör låsa upp kontot."
    )
    return render(
        request,
        "accounts/login.html",
        {
            "form": LoginForm(),
            "error": error,
            "next": "",
            "local_passwords": oidc.local_passwords(),
            "oidc_enabled": oidc.enabled(),
        },
        status=429,
    )


# --- OpenID Connect (decision 0017) --------------------------------------------------------------


def _oidc_redirect_uri(request: HttpRequest) -> str:
    return settings.LYFTA_OIDC_REDIRECT_URI or request.build_absolute_uri(
        reverse("accounts:oidc_callback")
    )


def _oidc_failed(request: HttpRequest, *, status: int, unknown: bool = False) -> HttpResponse:
    return render(
        request,
        "accounts/oidc_refused.html",
        {"unknown": unknown, "local_passwords": oidc.local_passwords()},
        status=status,
    )


@login_not_required
@require_http_methods(["GET"])
def oidc_start(request: HttpRequest) -> HttpResponse:
    """The "Logga in med SITHS eID" button: off to the identity provider. For someone already
    signed in it is a re-authentication (R30): the provider is asked to authenticate again."""
    if not oidc.enabled():
        raise Http404
    purpose = oidc.REAUTH if request.user.is_authenticated else oidc.SIGN_IN
    try:
        return oidc.begin(
            request,
            purpose=purpose,
            next_path=safe_next(request, ""),
            redirect_uri=_oidc_redirect_uri(request),
        )
    except oidc.OidcError as error:
        services.login_failed_recorded(username="", reason=error.reason, method="oidc")
        return _oidc_failed(request, status=502)


@login_not_required
@require_http_methods(["GET"])
def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer: the code is exchanged and the ID token checked (oidc.complete), then
    the identity is matched to an account by its HSA id. An identity that matches none is refused
    with a page that says so; no account is ever created here."""
    from axes.handlers.proxy import AxesProxyHandler

    from lyfta.accounts.backends import WindowedModelBackend

    if not oidc.enabled():
        raise Http404
    try:
        flow, identity = oidc.complete(request)
    except oidc.OidcError as error:
        if request.user.is_authenticated:
            record(
                action=Action.REAUTH_FAILED,
                actor=getattr(request, "actor", None) or Actor(user=request.user),
                outcome=Outcome.DENIED,
                detail={"method": "oidc", "reason": error.reason},
            )
        else:
            services.login_failed_recorded(username="", reason=error.reason, method="oidc")
        return _oidc_failed(request, status=400)
    user = oidc.account_for(identity)
    next_path = str(flow.get("next") or "/")
    if flow.get("purpose") == oidc.REAUTH and request.user.is_authenticated:
        actor = getattr(request, "actor", None) or Actor(user=request.user)
        if user is None or user.pk != request.user.pk:
            record(
                action=Action.REAUTH_FAILED,
                actor=actor,
                outcome=Outcome.DENIED,
                detail={"method": "oidc", "reason": "other_identity"},
            )
            return _oidc_failed(request, status=403)
        sessions.mark_reauthenticated(request)
        if identity.two_factor:
            request.session[oidc.OIDC_MFA] = True
        record(action=Action.REAUTHENTICATED, actor=actor, detail={"method": "oidc"})
        return redirect(next_path)
    if user is None:
        services.login_failed_recorded(
            username=identity.label, reason="unknown_identity", method="oidc"
        )
        return _oidc_failed(request, status=403, unknown=True)
    refused = throttle.blocked_reason(request, user.username)
    if refused is None and AxesProxyHandler.is_locked(request, {"username": user.username}):
        refused = "username"
    if refused is not None:
        services.login_failed_recorded(
            username=user.username,
            reason=f"locked_{refused}",
            action=Action.LOCKED_OUT,
            method="oidc",
        )
        return locked_out(request)
    if not WindowedModelBackend().user_can_authenticate(user):
        services.login_failed_recorded(
            username=user.username, reason="account_not_valid", method="oidc"
        )
        # The account exists but may not sign in now (deactivated, outside its dates, suspended).
        refusal = _(
            "Inloggningen misslyckades. Ditt konto i Lyfta gäller inte just nu. Kontakta din "
            "användaradministratör."
        )
        return _login_page(request, LoginForm(), error=refusal, status=403)
    complete_sign_in(
        request,
        user,
        method="oidc",
        backend="lyfta.accounts.backends.WindowedModelBackend",
        acr=identity.acr,
        amr=list(identity.amr),
        second_factor=identity.two_factor,
    )
    if identity.two_factor:
        request.session[oidc.OIDC_MFA] = True
    return redirect(next_path)


@require_POST
def logout(request: LyftaRequest) -> HttpResponseBase:
    """End the session on the server (R25)."""
    actor = getattr(request, "actor", None) or Actor(user=request.user)
    record(action=Action.LOGOUT, actor=actor)
    row = sessions.current_row(request)
    if row is not None:
        UserSession.objects.filter(pk=row.pk).update(
            ended_at=timezone.now(), end_reason=UserSession.EndReason.LOGOUT, session_key=None
        )
    auth_logout(request)
    messages.success(request, _("Du är utloggad."))
    return redirect("accounts:login")


@require_POST
def keepalive(request: LyftaRequest) -> HttpResponse:
    """ "Stay signed in" in the idle warning: counts as activity."""
    request.session[sessions.LAST_ACTIVITY] = timezone.now().timestamp()
    return HttpResponse(status=204)


# --- Gates after sign-in -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def agreement(request: LyftaRequest) -> HttpResponse:
    """Read and accept the current user agreement (R10)."""
    error = ""
    if request.method == "POST":
        if request.POST.get("accept") == "yes":
            services.agreement_accept(user=request.user)
            messages.success(request, _("Tack. Ditt godkännande av användaravtalet är sparat."))
            return redirect(safe_next(request))
        error = _("Kryssa i att du har läst och godkänner avtalet för att fortsätta.")
    accepted = selectors.agreement_acceptance(user=request.user)
    return render(
        request,
        "accounts/agreement.html",
        {
            "title": agreement_text.AGREEMENT_TITLE,
            "version": agreement_text.AGREEMENT_VERSION,
            "sections": agreement_text.AGREEMENT_SECTIONS,
            "accepted": accepted,
            "error": error,
            "next": safe_next(request, ""),
        },
        status=400 if error else 200,
    )


def agreement_pdf(request: LyftaRequest) -> HttpResponse:
    """One's own filled-in user agreement as a PDF, for a signature in ink."""
    return agreement_pdf_response(request, request.user)


def agreement_pdf_response(request: LyftaRequest, user: User) -> HttpResponse:
    from lyfta.accounts.agreement import agreement_pdf as render_pdf

    pdf = render_pdf(
        user=user,
        valid_from=user.valid_from,
        valid_until=user.valid_until,
        produced_by=request.user.display_name,
    )
    record(
        action=Action.AGREEMENT_PRINTED,
        actor=getattr(request, "actor", None),
        target=user,
        detail={"version": agreement_text.AGREEMENT_VERSION},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="forbindelse-{user.username}.pdf"'
    return response


def _totp_device(user: User) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Lyfta", confirmed=False)


def _qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    buffer = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@require_http_methods(["GET", "POST"])
def mfa_enrol(request: LyftaRequest) -> HttpResponse:
    """Set up the second factor: scan the QR code (or type the key) and confirm one code (R12)."""
    from django_otp import login as otp_login

    from lyfta.accounts.middleware import has_confirmed_device, mfa_required

    # A step of sign-in, or a voluntary choice right after one: once a device exists, or long after
    # signing in, whoever holds an open session could add their own second factor (R12, R30).
    if has_confirmed_device(request.user):
        return redirect(safe_next(request))
    if not mfa_required(request.user) and not sessions.recently_authenticated(request):
        return redirect(
            f"{reverse('accounts:reauthenticate')}?{urlencode({'next': request.get_full_path()})}"
        )
    device = _totp_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                record(
                    action=Action.MFA_ENROLLED, actor=Actor(user=request.user), target=request.user
                )
            otp_login(request, device)
            sessions.cycle(request)
            messages.success(request, _("Tvåfaktorsinloggningen är aktiverad."))
            return redirect(safe_next(request))
        record(
            action=Action.MFA_FAILED,
            actor=Actor(user=request.user),
            outcome=Outcome.DENIED,
            detail={"step": "enrol"},
        )
        form.add_error(
            "code",
            _(
                "Koden stämmer inte. Kontrollera att klockan i telefonen går rätt "
                "och skriv den kod som visas nu."
            ),
        )
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/mfa_enrol.html",
        {
            "form": form,
            "qr": _qr_data_uri(device.config_url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": safe_next(request, ""),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def mfa_verify(request: LyftaRequest) -> HttpResponse:
    """The second step of sign-in: a code from the authenticator app (R12)."""
    from django_otp import login as otp_login
    from django_otp import match_token

    from lyfta.accounts.middleware import has_confirmed_device

    if request.user.is_verified() or not has_confirmed_device(request.user):  # type: ignore[attr-defined]
        return redirect(safe_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            sessions.cycle(request)
            record(action=Action.MFA_VERIFIED, actor=Actor(user=request.user))
            return redirect(safe_next(request))
        record(
            action=Action.MFA_FAILED,
            actor=Actor(user=request.user),
            outcome=Outcome.DENIED,
            detail={"step": "verify"},
        )
        form.add_error("code", _("Koden stämmer inte eller har gått ut. Försök med nästa kod."))
    return render(
        request,
        "accounts/mfa_verify.html",
        {"form": form, "next": safe_next(request, "")},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def choose_assignment(request: LyftaRequest) -> HttpResponse:
    """Pick the assignment to act in; automatic when there is only one (R31)."""
    options = list(selectors.assignments_available(user=request.user))
    current = request.actor.assignment if hasattr(request, "actor") else None
    if request.method == "POST":
        chosen = next((a for a in options if str(a.pk) == request.POST.get("assignment")), None)
        if chosen is None:
            return render(
                request,
                "accounts/choose_assignment.html",
                {
                    "options": options,
                    "current": current,
                    "next": safe_next(request, ""),
                    "error": _("Välj ett av dina uppdrag."),
                },
                status=400,
            )
        services.assignment_choose(
            request=request, user=request.user, assignment=chosen, automatic=False
        )
        messages.success(
            request,
            _("Du arbetar nu som %(role)s på %(unit)s.")
            % {"role": chosen.get_role_display(), "unit": chosen.unit.name},
        )
        return redirect(safe_next(request))
    if len(options) == 1 and current is None:
        services.assignment_choose(
            request=request, user=request.user, assignment=options[0], automatic=True
        )
        return redirect(safe_next(request))
    return render(
        request,
        "accounts/choose_assignment.html",
        {"options": options, "current": current, "next": safe_next(request, "")},
    )


# --- Self-service --------------------------------------------------------------------------------


def reauth_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sensitive steps ask for the password (and code) again unless the user authenticated in the
    last few minutes (R30)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not sessions.recently_authenticated(request):
            target = (
                request.get_full_path()
                if request.method == "GET"
                else request.META.get("HTTP_REFERER", request.get_full_path())
            )
            return redirect(f"{reverse('accounts:reauthenticate')}?{urlencode({'next': target})}")
        return view(request, *args, **kwargs)

    return wrapped


@require_http_methods(["GET", "POST"])
def reauthenticate(request: LyftaRequest) -> HttpResponse:
    """Confirm who you are before a sensitive step (R30); issues a new session key (R26)."""
    from django_otp import match_token

    from lyfta.accounts.middleware import has_confirmed_device

    needs_code = has_confirmed_device(request.user)
    form = ReauthForm(request.POST or None, needs_code=needs_code)
    if request.method == "POST" and not oidc.local_passwords():
        # Only the identity provider can confirm who it is (the button on the page).
        record(
            action=Action.REAUTH_FAILED,
            actor=request.actor,
            outcome=Outcome.DENIED,
            detail={"reason": "local_passwords_off"},
        )
        return render(
            request,
            "accounts/reauthenticate.html",
            {
                "form": ReauthForm(needs_code=needs_code),
                "error": _("Bekräfta med SITHS eID: lösenord används inte här."),
                "next": safe_next(request, ""),
                "local_passwords": False,
                "oidc_enabled": oidc.enabled(),
            },
            status=400,
        )
    if request.method == "POST" and throttle.blocked_reason(request, request.user.username):
        return signed_out_for_guessing(request)
    if request.method == "POST" and form.is_valid():
        ok = request.user.check_password(form.cleaned_data["password"])
        if ok and needs_code:
            ok = match_token(request.user, form.cleaned_data["code"].strip()) is not None
        if ok:
            sessions.mark_reauthenticated(request)
            record(action=Action.REAUTHENTICATED, actor=request.actor)
            return redirect(safe_next(request))
        throttle.failed(request, request.user.username)
        record(action=Action.REAUTH_FAILED, actor=request.actor, outcome=Outcome.DENIED)
        form.add_error(None, _("Lösenordet eller koden stämmer inte."))
    return render(
        request,
        "accounts/reauthenticate.html",
        {
            "form": form,
            "needs_code": needs_code,
            "next": safe_next(request, ""),
            "local_passwords": oidc.local_passwords(),
            "oidc_enabled": oidc.enabled(),
        },
        status=400 if form.errors else 200,
    )


def signed_out_for_guessing(request: LyftaRequest) -> HttpResponse:
    """Too many wrong passwords inside a session: the session ends (R18)."""
    record(
        action=Action.LOCKED_OUT,
        actor=request.actor,
        outcome=Outcome.DENIED,
        detail={"reason": "guessing_in_session"},
    )
    row = sessions.current_row(request)
    if row is not None:
        sessions.end_session_row(row, UserSession.EndReason.REFUSED)
    auth_logout(request)
    return locked_out(request)


@require_http_methods(["GET", "POST"])
def password_change(request: LyftaRequest) -> HttpResponse:
    """Change one's own password; the current one is required (R19)."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and throttle.blocked_reason(request, request.user.username):
        return signed_out_for_guessing(request)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                request=request,
                user=request.user,
                current=form.cleaned_data["current"],
                new=form.cleaned_data["new"],
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(
                request, _("Ditt lösenord är bytt. Dina andra sessioner har avslutats.")
            )
            return redirect(safe_next(request))
    from django.contrib.auth.password_validation import password_validators_help_texts

    return render(
        request,
        "accounts/password_change.html",
        {
            "form": form,
            "forced": request.user.must_change_password,
            "rules": password_validators_help_texts(),
            "next": safe_next(request, ""),
        },
        status=400 if form.errors else 200,
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def password_set(request: HttpRequest, code: str) -> HttpResponse:
    """Set a password with the one-time code from the user administrator (R19)."""
    reset = services.password_reset_code_user(code)
    if reset is None:
        return render(request, "accounts/password_set.html", {"invalid": True}, status=404)
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_complete(code=code, password=form.cleaned_data["new"])
        except ValidationError as error:
            for problem in error.messages:
                form.add_error("new", problem)
        else:
            messages.success(request, _("Ditt lösenord är sparat. Logga in med det."))
            return redirect("accounts:login")
    from django.contrib.auth.password_validation import password_validators_help_texts

    return render(
        request,
        "accounts/password_set.html",
        {
            "form": form,
            "person": reset.user,
            "rules": password_validators_help_texts(),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET"])
def my_sessions(request: LyftaRequest) -> HttpResponse:
    """One's own open sessions (R28)."""
    return render(
        request,
        "accounts/sessions.html",
        {
            "sessions": selectors.open_sessions(user=request.user),
            "current_key": request.session.session_key,
            "max_sessions": settings.LYFTA_MAX_SESSIONS,
        },
    )


@require_POST
@reauth_required
def my_session_end(request: LyftaRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(
        UserSession, pk=session_id, user=request.user, ended_at__isnull=True
    )
    services.session_end_own(
        actor=request.actor, session=session, current_key=request.session.session_key
    )
    messages.success(request, _("Sessionen är avslutad."))
    return redirect("accounts:sessions")
