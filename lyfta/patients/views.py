"""Patient pages: search, the documented-need and emergency routes, the patient page and the
steps on it. Each view parses input, asks the selector or service, and renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access import rows as access_rows
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.refusals import Refused
from lyfta.access.roles import Cap
from lyfta.accounts import throttle
from lyfta.accounts.middleware import has_confirmed_device
from lyfta.accounts.models import User
from lyfta.accounts.sessions import session_ref
from lyfta.accounts.views import signed_out_for_guessing
from lyfta.core.forms import add_service_errors
from lyfta.core.http import LyftaRequest
from lyfta.patients import selectors, services
from lyfta.patients.forms import (
    BlockForm,
    ConsentForm,
    CorrectForm,
    EmergencyForm,
    EmergencyReviewForm,
    FilterForm,
    LiftForm,
    LookupForm,
    NamingForm,
    NeedForm,
    ProtectionForm,
    ReasonForm,
    RegisterForm,
    RelationshipForm,
    SearchForm,
    StaffForm,
)
from lyfta.patients.models import EmergencyAccess, Patient

PENDING = "lyfta_pending_identifier"
# A number the lookup flow has shown to be new to Lyfta, after a documented need: registrable.
CLEARED = "lyfta_cleared_identifier"
# Longer digit strings are no id of ours (and int() refuses over 4,300 digits).
MAX_ID_DIGITS = 18


def _id(value: str | None) -> int | None:
    """A database id from a query or form value, or None for anything else (never a 500)."""
    if value and len(value) <= MAX_ID_DIGITS and value.isascii() and value.isdecimal():
        return int(value)
    return None


def _refusal_message(error: PermissionDenied) -> str:
    """What a refused user is told: a prepared Swedish sentence, never the internal reason."""
    if isinstance(error, Refused):
        return error.user_message
    return _("Du har inte behörighet att göra det här.")


def _grant(request: LyftaRequest, patient_id: int) -> PatientGrant:
    return selectors.grant_or_404(
        actor=request.actor, patient_id=patient_id, session_ref=session_ref(request)
    )


@require_http_methods(["GET", "POST"])
def search(request: LyftaRequest) -> HttpResponse:
    """Find the unit's own patients by name or number; a number outside the unit's relationships
    leads to the documented-need page, never to the patient (R32, R33)."""
    require(request.actor, Cap.PATIENTS_VIEW)
    rows = None
    form = SearchForm(request.GET or None)
    lookup = LookupForm(request.POST or None)
    if request.method == "POST" and lookup.is_valid():
        return _lookup(request, lookup.cleaned_data["identifier"])
    if request.method == "GET" and form.is_valid():
        rows = selectors.patient_search(actor=request.actor, query=form.cleaned_data["q"])
    return render(
        request,
        "patients/search.html",
        {"form": form, "lookup": lookup, "rows": rows},
        status=400 if lookup.errors else 200,
    )


@require_GET
def mine(request: LyftaRequest) -> HttpResponse:
    """Mina patienter: the unit's patients, filtered by a name or number fragment, a page at a
    time; each opens the holdings, where ordering starts (issue 16)."""
    require(request.actor, Cap.PATIENTS_VIEW)
    form = FilterForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = selectors.unit_patients(actor=request.actor, query=query, page=request.GET.get("sida"))
    return render(
        request,
        "patients/mine.html",
        {
            "form": form,
            "page": page,
            "filtered": bool(query.strip()),
            "query": urlencode({"q": query}) if query else "",
            "may_order": can(request.actor, Cap.ORDERS_PRESCRIBE),
        },
    )


def _own_patient(request: LyftaRequest, identifier: str) -> HttpResponse | None:
    """To the patient's holdings if the unit has a relationship with them (a recorded search,
    R33): the holdings are where the day's work on a patient starts (issue 16)."""
    in_scope = selectors.patient_search(actor=request.actor, query=identifier)
    if in_scope:
        return redirect("orders:holdings", patient_id=in_scope[0].pk)
    return None


def _lookup(request: LyftaRequest, identifier: str) -> HttpResponse:
    """The one place that answers whether a number is known: the unit's own patient opens;
    any other number, known or not, is recorded and leads to the documented-need page, which
    looks the same either way (R32, R33)."""
    own = _own_patient(request, identifier)
    if own is not None:
        return own
    selectors.patient_lookup_outside(actor=request.actor, identifier=identifier)
    request.session[PENDING] = identifier
    request.session.pop(CLEARED, None)
    return redirect("patients:outside")


def _pending(request: LyftaRequest) -> str:
    identifier = request.session.get(PENDING, "")
    if not identifier:
        raise Http404
    return str(identifier)


@require_http_methods(["GET", "POST"])
def outside(request: LyftaRequest) -> HttpResponse:
    """The patient is not related to the user's unit: nothing is shown until the user documents
    a need in their work (R32). The page is the same whether or not the number exists."""
    require(request.actor, Cap.PATIENTS_REGISTER)
    identifier = _pending(request)
    form = NeedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = Patient.objects.filter(identifier=identifier).first()
        if patient is None:
            # Only now, with the need documented, may the user learn that the number is new.
            request.session[CLEARED] = identifier
            return redirect(f"{reverse('patients:register')}?ny=1")
        try:
            services.need_document(
                actor=request.actor,
                patient=patient,
                reason_code=form.cleaned_data["reason_code"],
                reason_text=form.cleaned_data["reason_text"],
                session_ref=session_ref(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied:
            # A protected patient: as if the number were new, for anyone not named (R54): the
            # same redirect an unknown number gets (a 404 told the two apart). The service has
            # recorded the refusal for review; registering the number then fails as a number
            # registered meanwhile does, a write that is itself recorded.
            request.session[CLEARED] = identifier
            return redirect(f"{reverse('patients:register')}?ny=1")
        else:
            del request.session[PENDING]
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/outside.html",
        {
            "form": form,
            "shown": f"{identifier[:8]}-{identifier[8:]}",
            "may_emergency": can(request.actor, Cap.PATIENTS_EMERGENCY),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def emergency(request: LyftaRequest) -> HttpResponse:
    """Nödåtkomst (R50): read only, for the pending number or an already known patient. Only
    the roles that give care that must start at once may open one; anyone else is told so, and
    the attempt is recorded (R38)."""
    try:
        require(request.actor, Cap.PATIENTS_EMERGENCY)
    except PermissionDenied:
        return render(request, "patients/emergency_refused.html", status=403)
    patient_id = _id(request.GET.get("patient") or request.POST.get("patient"))
    typed = ""
    if patient_id is not None:
        patient = Patient.objects.filter(pk=patient_id).first()
    else:
        typed = _pending(request)
        patient = Patient.objects.filter(identifier=typed).first()
    if request.method == "POST" and throttle.blocked_reason(request, request.user.username):
        # Too many wrong passwords: re-authentication here counts like any other (R18).
        return signed_out_for_guessing(request)
    form = EmergencyForm(request.POST or None, needs_code=has_confirmed_device(request.user))
    if request.method == "POST" and form.is_valid():
        # The service checks the input and the password before it weighs the patient, and gives
        # an unknown number or id and a protected patient the role may not open one and the same
        # refusal (R54, R55): nothing here may tell them apart.
        try:
            opened = services.emergency_open(
                actor=request.actor,
                patient=patient,
                **{
                    k: form.cleaned_data.get(k, "")
                    for k in (
                        "reason_code",
                        "reason_text",
                        "patient_cannot_consent",
                        "password",
                        "code",
                    )
                },
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Refused as refused:
            # Recorded by the service (R38); the same words for every reason.
            form.add_error(None, refused.user_message)
        else:
            request.session.pop(PENDING, None)
            messages.warning(request, _("Nödåtkomst är öppnad. Den är loggad och granskas."))
            return redirect("patients:detail", patient_id=opened.patient_id)
    subject = selectors.emergency_subject(
        actor=request.actor, patient=patient, typed=typed, session_ref=session_ref(request)
    )
    return render(
        request,
        "patients/emergency.html",
        {
            "form": form,
            # The id as asked for, whether or not it is a patient's (the page is the same).
            "patient_param": patient_id if patient_id is not None else "",
            "subject": subject,
        },
        status=400 if form.errors else 200,
    )


@require_POST
def emergency_end(request: LyftaRequest, emergency_id: int) -> HttpResponse:
    emergency = selectors.emergency_of(actor=request.actor, emergency_id=emergency_id)
    services.emergency_end(actor=request.actor, emergency=emergency)
    messages.success(request, _("Nödåtkomsten är avslutad."))
    return redirect("patients:search")


@require_http_methods(["GET", "POST"])
def register(request: LyftaRequest) -> HttpResponse:
    """Register a patient new to Lyfta; the unit gets a care relationship with them.

    Registration is no way around the lookup flow (R33): only a number that flow has shown to be
    new, after a documented need, is registered here. Any other number goes through the flow
    itself, recorded, to the same documented-need page whether it exists or not; one of the unit's
    own patients simply opens."""
    require(request.actor, Cap.PATIENTS_REGISTER)
    cleared = str(request.session.get(CLEARED, ""))
    form = RegisterForm(request.POST or None, initial={"identifier": cleared})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        identifier = data.pop("identifier")
        if identifier != cleared:
            return _lookup(request, identifier)
        try:
            patient = services.patient_register(actor=request.actor, identifier=identifier, **data)
        except services.AlreadyRegistered:
            # Registered by someone else since the lookup: look it up again, as any number.
            return _lookup(request, identifier)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            request.session.pop(PENDING, None)
            request.session.pop(CLEARED, None)
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/register.html",
        {"form": form, "cleared": bool(cleared)},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET"])
def detail(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """The patient page, recorded as one read (R57) with its legal route (R36)."""
    grant = _grant(request, patient_id)
    view = selectors.patient_view(actor=request.actor, grant=grant)
    return render(
        request,
        "patients/detail.html",
        {
            "view": view,
            "relationship_form": RelationshipForm(),
            "consent_form": ConsentForm(),
            "block_form": BlockForm(),
            "lift_form": LiftForm(),
            "emergency": EmergencyAccess.objects.filter(
                user=request.user, patient_id=patient_id, end_recorded=False
            ).first(),
            "can_protect": can(request.actor, Cap.PROTECTED_STAFF_MANAGE),
            # The form of housing, which decides who pays (issue 14): kept by lyfta.billing.
            "housing": list(
                access_rows.housing_of(request.actor, grant).select_related("municipality")
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def correct(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """Correct the patient's details: only the fields the role may see (R34), never under a
    read-only grant; the form with its current values is recorded as a read (R57)."""
    grant = _grant(request, patient_id)
    fields = selectors.correction_fields(actor=request.actor, grant=grant)
    form = CorrectForm(request.POST or None, instance=grant.patient, fields_allowed=fields)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data if name != "reason"}
        try:
            services.patient_correct(
                actor=request.actor, grant=grant, reason=form.cleaned_data["reason"], **data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, _refusal_message(error))
        else:
            messages.success(request, _("Uppgifterna är rättade. Tidigare värden sparas."))
            return redirect("patients:detail", patient_id=patient_id)
    selectors.correction_form_read(actor=request.actor, grant=grant, fields=fields)
    return render(
        request,
        "patients/correct.html",
        {"form": form, "patient_id": patient_id},
        status=400 if form.errors else 200,
    )


def _post_step(request: LyftaRequest, patient_id: int, step: Any, success: str) -> HttpResponse:
    """Run one write step of the patient page. Bad input and refusals come back as a Swedish
    message, never a 500; another patient's or another unit's object is the same recorded 404 as
    a missing one (R35, R38)."""
    grant = _grant(request, patient_id)
    try:
        step(grant)
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
    except PermissionDenied as error:
        messages.error(request, _refusal_message(error))
    else:
        messages.success(request, success)
    return redirect("patients:detail", patient_id=patient_id)


def _form_or_error(form: Any) -> dict[str, Any]:
    if not form.is_valid():
        raise ValidationError([str(e) for errors in form.errors.values() for e in errors])
    return dict(form.cleaned_data)


@require_POST
def relationship_add(request: LyftaRequest, patient_id: int) -> HttpResponse:
    def step(grant: PatientGrant) -> None:
        services.relationship_register(
            actor=request.actor, grant=grant, **_form_or_error(RelationshipForm(request.POST))
        )

    return _post_step(request, patient_id, step, _("Vårdrelationen är registrerad."))


@require_POST
def relationship_end(request: LyftaRequest, patient_id: int, relationship_id: int) -> HttpResponse:
    def step(grant: PatientGrant) -> None:
        relationship = selectors.relationship_of(
            actor=request.actor, grant=grant, relationship_id=relationship_id
        )
        reason = _form_or_error(ReasonForm(request.POST))["reason"]
        services.relationship_end(
            actor=request.actor, grant=grant, relationship=relationship, reason=reason
        )

    return _post_step(request, patient_id, step, _("Vårdrelationen är avslutad."))


@require_POST
def consent_add(request: LyftaRequest, patient_id: int) -> HttpResponse:
    def step(grant: PatientGrant) -> None:
        services.consent_register(
            actor=request.actor, grant=grant, **_form_or_error(ConsentForm(request.POST))
        )

    return _post_step(request, patient_id, step, _("Samtycket är registrerat."))


@require_POST
def consent_close(
    request: LyftaRequest, patient_id: int, consent_id: int, how: str
) -> HttpResponse:
    if how not in {"end", "cancel"}:
        raise Http404

    def step(grant: PatientGrant) -> None:
        consent = selectors.consent_of(actor=request.actor, grant=grant, consent_id=consent_id)
        reason = _form_or_error(ReasonForm(request.POST))["reason"]
        services.consent_close(
            actor=request.actor, grant=grant, consent=consent, cancel=how == "cancel", reason=reason
        )

    return _post_step(request, patient_id, step, _("Samtycket är ändrat."))


@require_POST
def block_add(request: LyftaRequest, patient_id: int) -> HttpResponse:
    def step(grant: PatientGrant) -> None:
        services.block_register(
            actor=request.actor, grant=grant, **_form_or_error(BlockForm(request.POST))
        )

    return _post_step(request, patient_id, step, _("Spärren är registrerad."))


@require_POST
def block_close(request: LyftaRequest, patient_id: int, block_id: int, how: str) -> HttpResponse:
    if how not in {"lift", "cancel"}:
        raise Http404

    def step(grant: PatientGrant) -> None:
        block = selectors.block_of(actor=request.actor, grant=grant, block_id=block_id, owned=True)
        reason = _form_or_error(ReasonForm(request.POST))["reason"]
        services.block_close(
            actor=request.actor, grant=grant, block=block, cancel=how == "cancel", reason=reason
        )

    return _post_step(request, patient_id, step, _("Spärren är ändrad."))


@require_POST
def block_reveal(request: LyftaRequest, patient_id: int) -> HttpResponse:
    def step(grant: PatientGrant) -> None:
        data = _form_or_error(ReasonForm(request.POST))
        services.block_reveal_providers(
            actor=request.actor,
            grant=grant,
            basis=request.POST.get("basis", ""),
            reason=data["reason"],
        )

    return _post_step(request, patient_id, step, _("Vårdgivarna med spärrade uppgifter visas."))


@require_POST
def block_lift(request: LyftaRequest, patient_id: int, block_id: int) -> HttpResponse:
    def step(grant: PatientGrant) -> None:
        block = selectors.block_of(actor=request.actor, grant=grant, block_id=block_id, owned=False)
        data = _form_or_error(LiftForm(request.POST))
        services.block_lift_temporarily(actor=request.actor, grant=grant, block=block, **data)

    return _post_step(request, patient_id, step, _("Spärren är tillfälligt hävd för dig."))


def _protection_step(request: LyftaRequest, grant: PatientGrant) -> None:
    """One action of the protection page's forms (R53, R54)."""
    action = request.POST.get("action")
    if action == "protect":
        data = _form_or_error(ProtectionForm(request.POST))
        services.protection_set(actor=request.actor, grant=grant, **data)
    elif action == "name":
        username = _form_or_error(StaffForm(request.POST))["username"]
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ValidationError(_("Det finns ingen aktiv användare med det användarnamnet."))
        services.protected_staff_add(actor=request.actor, grant=grant, user=user)
    elif action == "remove":
        naming_id = _form_or_error(NamingForm(request.POST))["naming"]
        naming = selectors.naming_of(actor=request.actor, grant=grant, naming_id=naming_id)
        services.protected_staff_remove(actor=request.actor, grant=grant, naming=naming)
    else:
        raise ValidationError(_("Okänd åtgärd."))


@require_http_methods(["GET", "POST"])
def protection(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """Protected identity and its named staff (R53–R54): for a unit manager with a writable
    grant, and for a protected patient only one on its named staff; the page is a recorded read."""
    require(request.actor, Cap.PROTECTED_STAFF_MANAGE)
    grant = _grant(request, patient_id)
    selectors.protection_check(actor=request.actor, grant=grant)
    if request.method == "POST":
        try:
            _protection_step(request, grant)
        except ValidationError as error:
            for problem in error.messages:
                messages.error(request, problem)
        except PermissionDenied as error:
            messages.error(request, _refusal_message(error))
        else:
            messages.success(request, _("Sparat."))
        return redirect("patients:protection", patient_id=patient_id)
    view = selectors.protection_view(actor=request.actor, grant=grant)
    form = ProtectionForm(
        initial={
            "protection": view.protection,
            "approved_delivery_address": view.approved_delivery_address,
        }
    )
    return render(
        request,
        "patients/protection.html",
        {
            "patient_id": patient_id,
            "name": view.name,
            "form": form,
            "staff_form": StaffForm(),
            "staff": view.staff,
            "protected": bool(view.protection),
        },
    )


@require_http_methods(["GET", "POST"])
def emergency_queue(request: LyftaRequest) -> HttpResponse:
    """Emergency accesses awaiting a log reviewer's verdict (R52)."""
    queue = selectors.emergency_queue(actor=request.actor)
    status = 200
    if request.method == "POST":
        form = EmergencyReviewForm(request.POST)
        if form.is_valid():
            # Any waiting one of the provider's, his own too: the service refuses and records
            # a verdict on his own (R92).
            emergency = selectors.emergency_awaiting(
                actor=request.actor, emergency_id=form.cleaned_data["emergency"]
            )
            try:
                services.emergency_review(
                    actor=request.actor,
                    emergency=emergency,
                    verdict=form.cleaned_data["verdict"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                for problem in error.messages:
                    messages.error(request, problem)
            except PermissionDenied as error:
                messages.error(request, _refusal_message(error))
            else:
                messages.success(request, _("Bedömningen är sparad."))
            return redirect("patients:emergency_queue")
        for field_errors in form.errors.get_json_data().values():
            for problem in field_errors:
                messages.error(request, str(problem["message"]))
        status = 400
    return render(
        request,
        "patients/emergency_queue.html",
        {
            "queue": queue,
            "verdicts": EmergencyAccess.Verdict.choices,
            "own": selectors.emergency_own_waiting(actor=request.actor),
        },
        status=status,
    )
