"""User administration for a provider's user administrators (R4–R9, R19, R28): accounts,
assignments, lockouts, one-time codes, sessions, and the follow-up of access rights (R6)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lyfta.access import users as access_users
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.accounts import selectors, services
from lyfta.accounts.forms import (
    AssignmentForm,
    ExtendForm,
    ReasonForm,
    RecertificationForm,
    UserForm,
)
from lyfta.accounts.models import Assignment, PrivilegeRequest, User
from lyfta.accounts.views import agreement_pdf_response, reauth_required
from lyfta.core.forms import add_service_errors
from lyfta.core.http import LyftaRequest
from lyfta.organisations.models import Unit


@require_http_methods(["GET"])
def users(request: LyftaRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    return render(
        request,
        "accounts/admin/users.html",
        {
            "users": selectors.users_list(actor=request.actor, query=query)[:200],
            "query": query,
        },
    )


@require_http_methods(["GET", "POST"])
@reauth_required
def user_create(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.USERS_MANAGE)
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            code = services.password_reset_start(actor=request.actor, user=user)
            return _show_code(request, user.pk, code, created=True)
    return render(
        request, "accounts/admin/user_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _show_code(
    request: LyftaRequest, user_id: int, code: str, created: bool = False
) -> HttpResponse:
    """The one-time code, shown once to hand over; it is stored only as a hash."""
    link = request.build_absolute_uri(reverse("accounts:password_set", args=[code]))
    user = selectors.user_detail(actor=request.actor, user_id=user_id)
    return render(
        request,
        "accounts/admin/reset_code.html",
        {"person": user, "code": code, "link": link, "created": created},
    )


def _detail(
    request: LyftaRequest, user: User, form: AssignmentForm | None = None
) -> dict[str, object]:
    return {
        "person": user,
        "assignments": selectors.assignments_of(actor=request.actor, user=user),
        "manageable": access_users.can_manage_account(request.actor, user),
        "privileged": access_users.holds_privileged_role(user),
        "is_self": user.pk == request.user.pk,
        "sessions": selectors.open_sessions(user=user),
        "assignment_form": form
        or AssignmentForm(units=access_users.units_assignable_by(request.actor)),
        "pending": selectors.privilege_requests_about(actor=request.actor, user=user),
    }


def _requested(request: LyftaRequest, what: str) -> None:
    """The requester sees that the change waits for a second person (R91)."""
    awaits = _(
        "Ändringen väntar på godkännande av en annan användaradministratör eller "
        "systemadministratör och gäller först när den är godkänd."
    )
    messages.info(request, f"{what} {awaits}")


@require_http_methods(["GET"])
def user_detail(request: LyftaRequest, user_id: int) -> HttpResponse:
    user = selectors.user_detail(actor=request.actor, user_id=user_id)
    return render(request, "accounts/admin/user_detail.html", _detail(request, user))


@require_http_methods(["GET", "POST"])
@reauth_required
def user_edit(request: LyftaRequest, user_id: int) -> HttpResponse:
    user = selectors.user_detail(actor=request.actor, user_id=user_id)
    form = UserForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.user_update(actor=request.actor, user=user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Uppgifterna är sparade."))
            return redirect("accounts:admin_user", user_id=user.pk)
    return render(
        request,
        "accounts/admin/user_form.html",
        {"form": form, "person": user},
        status=400 if form.errors else 200,
    )


@require_POST
@reauth_required
def assignment_add(request: LyftaRequest, user_id: int) -> HttpResponse:
    user = selectors.user_detail(actor=request.actor, user_id=user_id)
    form = AssignmentForm(request.POST, units=access_users.units_assignable_by(request.actor))
    if form.is_valid():
        data = form.cleaned_data
        # A system, user or log-review administration role is a request another person approves
        # (R91); other roles are decided in one step.
        privileged = access_users.is_privileged_role(data["role"])
        grant = services.privilege_request_grant if privileged else services.assignment_create
        try:
            grant(
                actor=request.actor,
                user=user,
                unit=data["unit"],
                role=data["role"],
                purpose=data["purpose"] or None,
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                decision_reference=data["decision_reference"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if privileged:
                _requested(request, _("Begäran om uppdraget är registrerad."))
            else:
                messages.success(request, _("Uppdraget är beslutat och registrerat."))
            warning = selectors.review_warning(user, data["unit"], data["role"])
            if warning:
                messages.warning(request, warning)
            return redirect("accounts:admin_user", user_id=user.pk)
    return render(
        request, "accounts/admin/user_detail.html", _detail(request, user, form), status=400
    )


def _assignment(request: LyftaRequest, assignment_id: int) -> Assignment:
    return get_object_or_404(
        access_users.assignments_manageable_by(request.actor).select_related("user", "unit"),
        pk=assignment_id,
    )


@require_http_methods(["GET", "POST"])
@reauth_required
def assignment_extend(request: LyftaRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    form = ExtendForm(request.POST or None)
    privileged = access_users.is_privileged_role(assignment.role)
    if request.method == "POST" and form.is_valid():
        try:
            if privileged:
                services.privilege_request_grant(
                    actor=request.actor,
                    user=assignment.user,
                    unit=assignment.unit,
                    role=assignment.role,
                    purpose=assignment.purpose,
                    valid_from=services.extension_start(assignment),
                    valid_until=form.cleaned_data["valid_until"],
                    decision_reference=form.cleaned_data["decision_reference"],
                    replaces=assignment,
                )
            else:
                services.assignment_extend(
                    actor=request.actor,
                    assignment=assignment,
                    valid_until=form.cleaned_data["valid_until"],
                    decision_reference=form.cleaned_data["decision_reference"],
                )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if privileged:
                _requested(request, _("Begäran om förlängning är registrerad."))
            else:
                messages.success(request, _("Förlängningen är registrerad som ett nytt beslut."))
            return redirect("accounts:admin_user", user_id=assignment.user_id)
    return render(
        request,
        "accounts/admin/assignment_extend.html",
        {"assignment": assignment, "form": form, "privileged": privileged},
        status=400 if form.errors else 200,
    )


@require_POST
@reauth_required
def assignment_end(request: LyftaRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else _("Avslutat av administratör")
    if access_users.is_privileged_role(assignment.role):
        try:
            services.privilege_request_end(
                actor=request.actor, assignment=assignment, reason=reason
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            _requested(request, _("Begäran om att avsluta uppdraget är registrerad."))
        return redirect("accounts:admin_user", user_id=assignment.user_id)
    services.assignment_end(actor=request.actor, assignment=assignment, reason=reason)
    messages.success(request, _("Uppdraget är avslutat. Det gäller från användarens nästa klick."))
    return redirect("accounts:admin_user", user_id=assignment.user_id)


@require_POST
@reauth_required
def user_action(request: LyftaRequest, user_id: int, action: str) -> HttpResponse:
    """Deactivate, reactivate, unlock, start a password reset, reset the second factor, end
    sessions."""
    user = selectors.user_detail(actor=request.actor, user_id=user_id)
    if action in ("deactivate", "reactivate"):
        form = ReasonForm(request.POST)
        default = _("Avaktiverat") if action == "deactivate" else _("Återaktiverat")
        reason = form.cleaned_data["reason"] if form.is_valid() else default
        privileged = access_users.holds_privileged_role(user)
        try:
            if privileged:
                # Closing or reopening the account of an administrator takes away or gives back
                # his role: another person approves (R91).
                ask = (
                    services.privilege_request_deactivate
                    if action == "deactivate"
                    else services.privilege_request_reactivate
                )
                ask(actor=request.actor, user=user, reason=reason)
            elif action == "deactivate":
                services.user_deactivate(actor=request.actor, user=user, reason=reason)
            else:
                services.user_reactivate(actor=request.actor, user=user, reason=reason)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if privileged:
                _requested(
                    request,
                    _(
                        "Kontot har en administrativ roll. Begäran om att avaktivera det är "
                        "registrerad."
                    )
                    if action == "deactivate"
                    else _(
                        "Kontot har en administrativ roll. Begäran om att återaktivera det är "
                        "registrerad."
                    ),
                )
            elif action == "deactivate":
                messages.success(
                    request, _("Kontot är avaktiverat och alla dess sessioner är avslutade.")
                )
            else:
                messages.success(request, _("Kontot är återaktiverat."))
    elif action == "unlock":
        services.user_unlock(actor=request.actor, user=user)
        messages.success(request, _("Kontot är upplåst."))
    elif action in ("reset", "mfa") and access_users.holds_privileged_role(user):
        # The account holds an administration role: another person approves, and only he sees
        # a one-time code (R91).
        kind = (
            PrivilegeRequest.Kind.PASSWORD_RESET
            if action == "reset"
            else PrivilegeRequest.Kind.MFA_RESET
        )
        try:
            services.privilege_request_reset(actor=request.actor, user=user, kind=kind)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            _requested(
                request,
                _(
                    "Kontot har en administrativ roll. Begäran är registrerad; en engångskod "
                    "visas bara för den som godkänner."
                )
                if action == "reset"
                else _("Kontot har en administrativ roll. Begäran är registrerad."),
            )
    elif action == "reset":
        code = services.password_reset_start(actor=request.actor, user=user)
        return _show_code(request, user.pk, code)
    elif action == "mfa":
        services.user_mfa_reset(actor=request.actor, user=user)
        messages.success(
            request,
            _(
                "Tvåfaktorsinloggningen är återställd. Personen aktiverar en ny vid nästa "
                "inloggning."
            ),
        )
    elif action == "force_password":
        services.user_force_password_change(
            actor=request.actor, user=user, reason=_("Misstanke om röjt lösenord")
        )
        messages.success(request, _("Personen måste byta lösenord vid nästa inloggning."))
    elif action == "sessions":
        ended = services.sessions_end_for_user(actor=request.actor, user=user)
        messages.success(request, _("%(count)d sessioner avslutades.") % {"count": ended})
    else:
        return HttpResponse(status=404)
    return redirect("accounts:admin_user", user_id=user.pk)


@require_http_methods(["GET"])
def user_agreement_pdf(request: LyftaRequest, user_id: int) -> HttpResponse:
    user = selectors.user_detail(actor=request.actor, user_id=user_id)
    return agreement_pdf_response(request, user)


@require_http_methods(["GET"])
def recertification(request: LyftaRequest) -> HttpResponse:
    return render(
        request,
        "accounts/admin/recertification_units.html",
        {"units": selectors.recertification_units(actor=request.actor)},
    )


@require_http_methods(["GET", "POST"])
@reauth_required
def recertification_unit(request: LyftaRequest, unit_id: int) -> HttpResponse:
    unit = get_object_or_404(Unit, pk=unit_id)
    rows = selectors.recertification_report(actor=request.actor, unit=unit)
    if request.method == "POST":
        form = RecertificationForm(request.POST)
        assignment = next(
            (r.assignment for r in rows if str(r.assignment.pk) == request.POST.get("assignment")),
            None,
        )
        if assignment is not None and form.is_valid():
            try:
                services.recertification_record(
                    actor=request.actor,
                    assignment=assignment,
                    outcome=form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                )
            except IntegrityError:
                messages.error(request, _("Beslutet kunde inte sparas. Försök igen."))
            else:
                messages.success(request, _("Beslutet är sparat."))
            return redirect("accounts:admin_recertification_unit", unit_id=unit.pk)
        messages.error(request, _("Välj ett beslut för uppdraget."))
    return render(
        request,
        "accounts/admin/recertification_unit.html",
        {"unit": unit, "rows": rows, "form": RecertificationForm()},
    )


# --- Requests to change privileged rights (R91) ---------------------------------------------------


@require_http_methods(["GET"])
def privilege_requests(request: LyftaRequest) -> HttpResponse:
    """What waits for the actor's approval, and the actor's own requests."""
    return render(
        request,
        "accounts/admin/privilege_requests.html",
        {
            "to_decide": selectors.privilege_requests_to_decide(actor=request.actor),
            "mine": selectors.privilege_requests_made_by(actor=request.actor),
            "manages_users": can(request.actor, Cap.USERS_MANAGE),
        },
    )


@require_POST
@reauth_required
def privilege_request_approve(request: LyftaRequest, request_id: int) -> HttpResponse:
    pending = selectors.privilege_request_for(actor=request.actor, request_id=request_id)
    try:
        approval = services.privilege_request_approve(actor=request.actor, request=pending)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:admin_privilege_requests")
    if approval.token is not None and approval.request.api_client is not None:
        # The new API client's token, shown once, to the approver alone (R91): he hands it to
        # whoever runs the system; the requester never sees it.
        return render(
            request,
            "accounts/admin/api_client_token.html",
            {
                "client": approval.request.api_client,
                "token": approval.token,
                "approved": True,
                "client_pages": can(request.actor, Cap.API_CLIENTS_MANAGE),
            },
        )
    if approval.code is not None:
        # Shown once, to the approver alone: he hands it to the person.
        link = request.build_absolute_uri(reverse("accounts:password_set", args=[approval.code]))
        return render(
            request,
            "accounts/admin/reset_code.html",
            {
                "person": approval.request.subject,
                "code": approval.code,
                "link": link,
                "approved": True,
            },
        )
    messages.success(request, _("Begäran är godkänd och ändringen är gjord."))
    return redirect("accounts:admin_privilege_requests")


@require_POST
@reauth_required
def privilege_request_reject(request: LyftaRequest, request_id: int) -> HttpResponse:
    pending = selectors.privilege_request_for(actor=request.actor, request_id=request_id)
    form = ReasonForm(request.POST)
    note = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.privilege_request_reject(actor=request.actor, request=pending, note=note)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Begäran är avslagen. Ingenting har ändrats."))
    return redirect("accounts:admin_privilege_requests")


@require_POST
def privilege_request_cancel(request: LyftaRequest, request_id: int) -> HttpResponse:
    pending = selectors.privilege_request_for(actor=request.actor, request_id=request_id)
    try:
        services.privilege_request_cancel(actor=request.actor, request=pending)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Begäran är återkallad."))
    return redirect("accounts:admin_privilege_requests")
