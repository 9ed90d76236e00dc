"""The system administrator's pages for the API's machine clients (issue 18): the list, the
registration (whose page shows the token once, or, for a client that reaches patient data, a
request another person approves, R91), a client's page and its revocation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.accounts import api_clients
from lyfta.accounts.forms import ApiClientForm, ReasonForm
from lyfta.accounts.views import reauth_required
from lyfta.core.forms import add_service_errors
from lyfta.core.http import LyftaRequest


@require_GET
def client_list(request: LyftaRequest) -> HttpResponse:
    return render(
        request,
        "accounts/admin/api_clients.html",
        {"clients": api_clients.api_clients_list(actor=request.actor)},
    )


@require_http_methods(["GET", "POST"])
@reauth_required
def client_create(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.API_CLIENTS_MANAGE)
    form = ApiClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        scopes = list(data["scopes"])
        # R91: a client that reaches patient data is a request another person approves; the
        # token is then shown to him, never to the one who asked.
        second = api_clients.needs_second_person(request.actor, role=data["role"], scopes=scopes)
        service = api_clients.api_client_request if second else api_clients.api_client_register
        try:
            done: object = service(
                actor=request.actor,
                name=data["name"],
                description=data["description"],
                unit=data["unit"],
                role=data["role"],
                purpose=data["purpose"] or None,
                scopes=scopes,
                expires_on=data["expires_on"],
                rate_limit=data["rate_limit"],
                decision_reference=data["decision_reference"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if isinstance(done, api_clients.Registered):
                # The token is shown on this answer only: never stored, never redirected with.
                return render(
                    request,
                    "accounts/admin/api_client_token.html",
                    {"client": done.client, "token": done.token},
                )
            messages.info(
                request,
                _(
                    "Klienten når patientuppgifter och registreras först när en annan "
                    "användaradministratör eller systemadministratör har godkänt begäran. "
                    "Nyckeln visas då bara för den som godkänner."
                ),
            )
            return redirect("accounts:admin_privilege_requests")
    return render(
        request,
        "accounts/admin/api_client_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@require_GET
def client_detail(request: LyftaRequest, client_id: int) -> HttpResponse:
    client = api_clients.api_client_get(actor=request.actor, client_id=client_id)
    return render(
        request,
        "accounts/admin/api_client_detail.html",
        {"client": client, "reason_form": ReasonForm()},
    )


@require_POST
@reauth_required
def client_revoke(request: LyftaRequest, client_id: int) -> HttpResponse:
    client = api_clients.api_client_get(actor=request.actor, client_id=client_id)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Ange skälet till att klienten återkallas."))
        api_clients.api_client_revoke(
            actor=request.actor, client=client, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
    else:
        messages.success(request, _("Klienten är återkallad. Dess nyckel fungerar inte längre."))
    return redirect("accounts:admin_api_client", client_id=client.pk)
