"""A patient's form of housing (issue 14: the payer follows it): the housing periods of a patient
one may open, and for prescribers a form to register a move or a change of housing from a day
(a new row, never an overwrite; audited about the patient, R57, R86)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lyfta.access import rows
from lyfta.access.refusals import Refused
from lyfta.accounts.sessions import session_ref
from lyfta.billing.forms.reference import HousingForm
from lyfta.billing.services import reference as services
from lyfta.core.http import LyftaRequest
from lyfta.organisations.models import CareProvider
from lyfta.patients import selectors as patient_selectors


@require_http_methods(["GET", "POST"])
def housing(request: LyftaRequest, patient_id: int) -> HttpResponse:
    grant = patient_selectors.grant_or_404(
        actor=request.actor, patient_id=patient_id, session_ref=session_ref(request)
    )
    may_register = services.may_register_housing(request.actor) and not grant.read_only
    form = HousingForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not services.may_register_housing(request.actor):
            raise PermissionDenied
        if form.is_valid():
            municipality = CareProvider.objects.get(pk=form.cleaned_data["municipality"])
            try:
                services.housing_register(
                    actor=request.actor,
                    grant=grant,
                    patient_id=grant.patient.pk,
                    housing=form.cleaned_data["housing"],
                    municipality=municipality,
                    valid_from=form.cleaned_data["valid_from"],
                )
            except ValidationError as error:
                for problem in error.messages:
                    messages.error(request, problem)
                status = 400
            except Refused as refused:
                # On an emergency access (read only, R50): recorded by the service.
                messages.error(request, refused.user_message)
                status = 403
            else:
                messages.success(request, _("Boendet är registrerat."))
                return redirect("billing:housing", patient_id=grant.patient.pk)
        else:
            status = 400
    periods = list(rows.housing_of(request.actor, grant).select_related("municipality"))
    return render(
        request,
        "billing/ref_housing.html",
        {
            "patient": grant.patient,
            "periods": periods,
            "form": form,
            "may_register": may_register,
        },
        status=status,
    )


urlpatterns: list[URLPattern] = [
    path("boende/<int:patient_id>/", housing, name="housing"),
]
