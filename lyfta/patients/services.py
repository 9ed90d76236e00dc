"""Writes about patients and the grounds for seeing them. Every one is audited (R8, R57), and so
is every refusal (R38); none runs for a grant that is read only (emergency access, R50)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lyfta.access import patients as access
from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.refusals import Refused, read_only_refusal
from lyfta.access.roles import Cap
from lyfta.accounts.models import Assignment, User
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis, Outcome
from lyfta.audit.services import diff, record, snapshot
from lyfta.core.dates import add_months
from lyfta.core.workdays import add_working_days
from lyfta.messages.models import Message
from lyfta.messages.services import messages_send
from lyfta.organisations.models import CareProvider, Unit
from lyfta.patients import identifiers
from lyfta.patients.models import (
    Block,
    BlockLift,
    CareRelationship,
    Consent,
    DocumentedNeed,
    EmergencyAccess,
    Patient,
    PatientCorrection,
    ProtectedStaff,
)

CORRECTABLE = tuple(access.CORRECTABLE_FIELDS)
# What the log holds instead of a protected patient's address or phone (R53).
MASKED = "***"
# An unreviewed emergency access escalates this many working days after it started (R52).
EMERGENCY_REVIEW_WORKING_DAYS = 3
# A consent is given for at most this long; a longer one is registered anew (R40).
CONSENT_MAX_MONTHS = 12
# A reviewer's note: no NUL (which PostgreSQL refuses) nor other control characters; it may run
# over several lines, so tab and line breaks are kept.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NOTE_CONTROL_MESSAGE = gettext_lazy(
    "Kommentaren får inte innehålla styrtecken (till exempel NUL-tecken)."
)


class AlreadyRegistered(Exception):
    """The number is already a patient in Lyfta. Never told as such: whether a number is known is
    answered only by the audited lookup flow (R33), so the caller leads into that flow."""


def _acting(actor: Actor) -> tuple[User, Unit, Assignment]:
    """The person, unit and assignment behind `actor`; these steps are never a system's."""
    if actor.user is None or actor.assignment is None:
        raise PermissionDenied("a person in an assignment acts here")
    return actor.user, actor.assignment.unit, actor.assignment


def refuse(
    *,
    actor: Actor,
    step: str,
    reason: str,
    patient_id: int | None,
    target: Any = None,
    resource_type: str = "",
    resource_id: object = "",
    user_message: str = "",
) -> Refused:
    """Record a refused step with its patient, resource and reason (R38) and return the error to
    raise. Called outside any transaction the refusal would roll back."""
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        target=target,
        resource_type=resource_type,
        resource_id=resource_id,
        patient_id=patient_id,
        # Any attempt on a protected patient goes to targeted review (R54).
        detail={"step": step, "reason": reason, "review": reason == "protected_identity"},
    )
    return Refused(reason, user_message)


def _writable(actor: Actor, grant: PatientGrant, step: str) -> None:
    """Writes need a grant that is not read only (emergency access, R50)."""
    refusal = read_only_refusal(actor, grant, step)
    if refusal is not None:
        raise refusal


def _owner(actor: Actor) -> dict[str, Any]:
    unit = actor.unit
    return {
        "owner_provider_id": unit.provider_id if unit else None,
        "owner_unit_id": unit.pk if unit else None,
    }


# --- Patients ---------------------------------------------------------------------------------


def patient_register(
    *,
    actor: Actor,
    identifier: str,
    first_name: str,
    last_name: str,
    street: str = "",
    postal_code: str = "",
    city: str = "",
    phone: str = "",
    home_municipality: CareProvider | None = None,
) -> Patient:
    """Register a patient not yet known to Lyfta, with a care relationship for the actor's unit.
    A number already known raises `AlreadyRegistered`, which carries nothing to show: the caller
    leads into the audited lookup flow instead (R33)."""
    require(actor, Cap.PATIENTS_REGISTER)
    parsed = identifiers.parse(identifier)
    if Patient.objects.filter(identifier=parsed.value).exists():
        raise AlreadyRegistered
    with transaction.atomic():
        patient = Patient(
            identifier=parsed.value,
            id_kind=parsed.kind,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            street=street,
            postal_code=postal_code,
            city=city,
            phone=phone,
            home_municipality=home_municipality,
        )
        patient.full_clean()
        try:
            with transaction.atomic():
                patient.save(force_insert=True)
        except IntegrityError as error:
            # Someone registered the same number a moment ago.
            raise AlreadyRegistered from error
        record(
            action=Action.PATIENT_CREATED,
            actor=actor,
            target=patient,
            patient_id=patient.pk,
            changes={
                "id_kind": [None, parsed.kind],
                "home_municipality": [None, getattr(home_municipality, "pk", None)],
            },
            **_owner(actor),
        )
        relationship_ensure(
            actor=actor,
            patient=patient,
            origin=CareRelationship.Origin.REGISTERED,
            reason=_("Ny patient registrerad"),
        )
    return patient


def patient_correct(*, actor: Actor, grant: PatientGrant, reason: str, **data: Any) -> Patient:
    """Correct patient details; each earlier value is kept with who changed it and why. Only the
    fields the actor's role may see can be corrected (R34); a protected patient's address and
    phone never reach the log (R53)."""
    _writable(actor, grant, "patient_correct")
    unknown = set(data) - set(CORRECTABLE)
    if unknown:
        raise TypeError(f"not correctable here: {sorted(unknown)}")
    if not set(data) <= access.correctable_fields(grant):
        raise refuse(
            actor=actor,
            step="patient_correct",
            reason="fields",
            patient_id=grant.patient.pk,
            target=grant.patient,
        )
    if not reason.strip():
        raise ValidationError({"reason": _("Ange varför uppgiften rättas.")})
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=grant.patient.pk)
        before = snapshot(patient, CORRECTABLE)
        for name, value in data.items():
            setattr(patient, name, value)
        patient.full_clean()
        after = snapshot(patient, CORRECTABLE)
        changes = diff(before, after)
        if not changes:
            return patient
        logged = changes
        if patient.is_protected or grant.patient.is_protected:
            logged = {
                name: [MASKED, MASKED] if name in access.CONTACT_FIELDS else values
                for name, values in changes.items()
            }
        patient.save(update_fields=[*data.keys(), "updated_at"])
        now = timezone.now()
        PatientCorrection.objects.bulk_create(
            [
                PatientCorrection(
                    patient=patient,
                    field=name,
                    old_value=str(old or ""),
                    new_value=str(new or ""),
                    reason=reason[:200],
                    changed_by=actor.user,
                    changed_at=now,
                )
                for name, (old, new) in changes.items()
            ]
        )
        record(
            action=Action.PATIENT_CORRECTED,
            actor=actor,
            target=patient,
            patient_id=patient.pk,
            changes=logged,
            # The reason is kept with each correction; the log says only that one was given (R60).
            detail={"reason_given": True},
            legal_basis=grant.basis,
            legal_basis_ref=grant.basis_ref,
            **_owner(actor),
        )
    return patient


# --- Care relationships -----------------------------------------------------------------------


def relationship_ensure(
    *, actor: Actor, patient: Patient, origin: str, reason: str = "", unit: Unit | None = None
) -> CareRelationship:
    """The unit's care relationship with the patient, created if there is none in force; called
    when the unit orders or prescribes (the device issue) and when a patient is registered."""
    from lyfta.access.patients import relationship_active

    unit = unit or actor.unit
    if unit is None:
        raise PermissionDenied("no unit")
    # No savepoint inside a caller's transaction: a failure here fails the caller's whole step.
    with transaction.atomic(savepoint=False):
        existing = CareRelationship.objects.filter(
            relationship_active(), unit=unit, patient=patient
        ).first()
        if existing is not None:
            return existing
        relationship = CareRelationship.objects.create(
            unit=unit,
            patient=patient,
            origin=origin,
            reason=reason[:200],
            valid_from=timezone.localdate(),
            created_by=actor.user,
        )
        record(
            action=Action.RELATIONSHIP_CREATED,
            actor=actor,
            target=relationship,
            patient_id=patient.pk,
            owner_provider_id=unit.provider_id,
            owner_unit_id=unit.pk,
            detail={"origin": origin},
        )
    return relationship


def relationship_register(
    *,
    actor: Actor,
    grant: PatientGrant,
    valid_from: dt.date,
    valid_until: dt.date | None,
    reason: str,
) -> CareRelationship:
    """Register a care relationship explicitly, with start, end and reason. Registered on the
    strength of a documented need, it is flagged for review (R32)."""
    _writable(actor, grant, "relationship_register")
    require(actor, Cap.PATIENTS_REGISTER, patient_id=grant.patient.pk)
    if not reason.strip():
        raise ValidationError({"reason": _("Ange skälet till vårdrelationen.")})
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError({"valid_until": _("Slutdatum kan inte vara före startdatum.")})
    user, unit, assignment = _acting(actor)
    with transaction.atomic():
        relationship = CareRelationship(
            unit=unit,
            patient=grant.patient,
            origin=CareRelationship.Origin.REGISTERED,
            reason=reason[:200],
            valid_from=valid_from,
            valid_until=valid_until,
            created_by=user,
        )
        relationship.full_clean()
        relationship.save(force_insert=True)
        record(
            action=Action.RELATIONSHIP_CREATED,
            actor=actor,
            target=relationship,
            patient_id=grant.patient.pk,
            legal_basis=grant.basis,
            legal_basis_ref=grant.basis_ref,
            detail={"origin": "registered", "review": grant.basis == LegalBasis.NEED},
            changes={"valid_from": [None, valid_from], "valid_until": [None, valid_until]},
            **_owner(actor),
        )
    return relationship


def relationship_end(
    *, actor: Actor, grant: PatientGrant, relationship: CareRelationship, reason: str
) -> None:
    """End one's own unit's relationship with the patient; it takes effect at once (R37)."""
    _writable(actor, grant, "relationship_end")
    if (
        relationship.unit_id != getattr(actor.unit, "pk", None)
        or relationship.patient_id != grant.patient.pk
    ):
        raise refuse(
            actor=actor,
            step="relationship_end",
            reason="not_own_unit",
            patient_id=grant.patient.pk,
            target=relationship,
        )
    with transaction.atomic():
        updated = CareRelationship.objects.filter(pk=relationship.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), ended_by=actor.user, end_reason=reason[:200]
        )
        if updated:
            record(
                action=Action.RELATIONSHIP_ENDED,
                actor=actor,
                target=relationship,
                patient_id=grant.patient.pk,
                # The reason is kept on the relationship, not copied into the log (R60).
                detail={"reason_given": bool(reason.strip())},
                **_owner(actor),
            )


# --- Documented need and emergency access -----------------------------------------------------


def need_document(
    *, actor: Actor, patient: Patient, reason_code: str, reason_text: str, session_ref: str
) -> DocumentedNeed:
    """ "Other need in my work" (R32): a separate, active choice with a reason, for one patient,
    lasting until the session ends, flagged for review."""
    require(actor, Cap.PATIENTS_REGISTER, patient_id=patient.pk)
    if reason_code not in DocumentedNeed.Reason.values:
        raise ValidationError({"reason_code": _("Välj ett skäl.")})
    if len(reason_text.strip()) < 5:
        raise ValidationError({"reason_text": _("Beskriv behovet med några ord.")})
    if patient.is_protected and not access.is_named_staff(actor, patient):
        raise refuse(
            actor=actor,
            step="need_document",
            reason="protected_identity",
            patient_id=patient.pk,
            target=patient,
        )
    user, unit, assignment = _acting(actor)
    with transaction.atomic():
        need = DocumentedNeed.objects.create(
            user=user,
            assignment=assignment,
            patient=patient,
            reason_code=reason_code,
            reason_text=reason_text.strip()[:300],
            session_ref=session_ref,
            created_at=timezone.now(),
        )
        record(
            action=Action.NEED_DOCUMENTED,
            actor=actor,
            patient_id=patient.pk,
            target=need,
            legal_basis=LegalBasis.NEED,
            legal_basis_ref=f"need:{need.pk}",
            detail={"reason_code": reason_code, "review": True},
        )
    return need


# The one answer to an emergency access that cannot be opened, whatever the reason: a number or id
# Lyfta does not know, or a protected patient the actor is not named staff for (R54, R55).
EMERGENCY_REFUSED = gettext_lazy(
    "Nödåtkomst kunde inte öppnas: patienten finns inte i Lyfta, eller så får din roll inte "
    "öppna nödåtkomst för patienten. Kontrollera numret."
)


def emergency_open(
    *,
    actor: Actor,
    patient: Patient | None,
    reason_code: str,
    reason_text: str,
    patient_cannot_consent: bool,
    password: str,
    code: str = "",
) -> EmergencyAccess:
    """Nödåtkomst (R50–R52): the password (and code) again, a reason, confirmation that the
    patient cannot consent; read only, one patient, LYFTA_EMERGENCY_MINUTES; the provider's log
    reviewers are told at once and the access waits in their queue for a verdict. A wrong password
    is recorded and counts towards the account's lockout like any other (R18, R22).

    `patient` is None for a number or id Lyfta does not know. The input and the password are
    checked first, the same for every patient; only then is the patient weighed, and no patient
    and one the role may not open (protected identity, R54) get the same refusal, recorded
    (R38): the answer never tells an unknown number from a protected patient (R55)."""
    require(actor, Cap.PATIENTS_EMERGENCY, patient_id=patient.pk if patient else None)
    user, _unit, _assignment = _acting(actor)
    errors: dict[str, str] = {}
    if reason_code not in EmergencyAccess.Reason.values:
        errors["reason_code"] = _("Välj ett skäl.")
    if len(reason_text.strip()) < 10:
        errors["reason_text"] = _("Beskriv nödsituationen (minst tio tecken).")
    if not patient_cannot_consent:
        errors["patient_cannot_consent"] = _(
            "Nödåtkomst får bara användas när patienten inte kan ta ställning. Annars: fråga "
            "patienten om samtycke."
        )
    if not _reauthenticated(actor, user, password, code):
        errors["password"] = _("Lösenordet eller engångskoden stämmer inte.")
    if errors:
        raise ValidationError(errors)
    if patient is None:
        raise refuse(
            actor=actor,
            step="emergency_open",
            reason="no_such_patient",
            patient_id=None,
            user_message=str(EMERGENCY_REFUSED),
        )
    denial = access.emergency_denial(actor, patient)
    if denial is not None:
        # A protected patient the actor is not named for: denied like any other attempt, and
        # routed to targeted review (R54).
        raise refuse(
            actor=actor,
            step="emergency_open",
            reason=denial.reason,
            patient_id=patient.pk,
            target=patient,
            user_message=str(EMERGENCY_REFUSED),
        )
    now = timezone.now()
    with transaction.atomic():
        emergency = EmergencyAccess.objects.create(
            user=user,
            assignment=_assignment,
            patient=patient,
            reason_code=reason_code,
            reason_text=reason_text.strip()[:300],
            patient_cannot_consent=True,
            started_at=now,
            expires_at=now + dt.timedelta(minutes=settings.LYFTA_EMERGENCY_MINUTES),
        )
        # The provider's log reviewers, or whoever stands in when it has none (R52); never the
        # opener himself, should he also be a log reviewer (R92).
        recipients, recipient_role = access.emergency_recipients(
            _unit.provider_id, excluding=user.pk
        )
        # DICOM 110113 "Security Alert" / 110127 "Emergency Override Started" (FHIR break-glass).
        record(
            action=Action.EMERGENCY_STARTED,
            actor=actor,
            patient_id=patient.pk,
            target=emergency,
            legal_basis=LegalBasis.EMERGENCY,
            legal_basis_ref=f"emergency:{emergency.pk}",
            detail={
                "reason_code": reason_code,
                "expires_at": emergency.expires_at,
                "dicom": ["110113", "110127"],
                "review": True,
                "notified": sorted(u.pk for u in recipients),
                "notified_role": recipient_role,
            },
        )
        messages_send(
            recipients=recipients,
            kind=Message.Kind.EMERGENCY_ACCESS,
            subject=_("Nödåtkomst öppnad av %(name)s, %(unit)s")
            % {"name": user.display_name, "unit": _unit.name},
            body=_("Nödåtkomsten väntar på din bedömning i granskningskön."),
            link="/patienter/nodatkomst/granska/",
        )
    return emergency


def _reauthenticated(actor: Actor, user: User, password: str, code: str) -> bool:
    """The password (and the second factor, where the user has one) again (R30). A failure is
    recorded and counted towards the lockout (R18, R22)."""
    from django_otp import devices_for_user, match_token

    from lyfta.accounts import throttle
    from lyfta.audit import context

    ok = user.check_password(password)
    if ok and any(True for _ in devices_for_user(user, confirmed=True)):
        ok = match_token(user, code.strip()) is not None
    if not ok:
        throttle.failed_at(user.username, context.current().client_address)
        record(
            action=Action.REAUTH_FAILED,
            actor=actor,
            outcome=Outcome.DENIED,
            detail={"step": "emergency_open"},
        )
    return ok


def emergency_end(*, actor: Actor, emergency: EmergencyAccess, reason: str = "ended") -> None:
    """End an emergency access now (by its holder) or record its expiry (by the job)."""
    with transaction.atomic():
        locked = EmergencyAccess.objects.select_for_update().get(pk=emergency.pk)
        if locked.end_recorded:
            return
        now = timezone.now()
        locked.ended_at = min(now, locked.expires_at) if reason == "expired" else now
        locked.end_recorded = True
        locked.save(update_fields=["ended_at", "end_recorded"])
        record(
            action=Action.EMERGENCY_ENDED,
            actor=actor,
            patient_id=locked.patient_id,
            target=locked,
            legal_basis=LegalBasis.EMERGENCY,
            legal_basis_ref=f"emergency:{locked.pk}",
            detail={"reason": reason, "dicom": ["110113", "110138"]},
        )


def emergencies_expire(*, actor: Actor) -> int:
    """Record the end of every emergency access whose time is up (run every minute, R51)."""
    due = EmergencyAccess.objects.filter(end_recorded=False, expires_at__lte=timezone.now())
    count = 0
    for emergency in due:
        emergency_end(actor=actor, emergency=emergency, reason="expired")
        count += 1
    return count


def emergency_review_due(emergency: EmergencyAccess) -> dt.date:
    """The day an unreviewed emergency access escalates (R52)."""
    started = timezone.localdate(emergency.started_at)
    return add_working_days(started, EMERGENCY_REVIEW_WORKING_DAYS)


def emergencies_escalate(*, actor: Actor) -> int:
    """Escalate every emergency access still without a verdict EMERGENCY_REVIEW_WORKING_DAYS
    working days after it started (R52): its provider's log reviewers are told again, or whoever
    stands in when there are none; each escalation is recorded and sent once."""
    today = timezone.localdate()
    # Working days are never fewer than calendar days: older ones are the only candidates.
    candidates = EmergencyAccess.objects.filter(
        verdict="",
        escalated_at__isnull=True,
        started_at__lt=timezone.now() - dt.timedelta(days=EMERGENCY_REVIEW_WORKING_DAYS),
    ).select_related("assignment__unit")
    count = 0
    for candidate in candidates:
        due = emergency_review_due(candidate)
        if today < due:
            continue
        with transaction.atomic():
            emergency = (
                EmergencyAccess.objects.select_for_update()
                .filter(pk=candidate.pk, verdict="", escalated_at__isnull=True)
                .first()
            )
            if emergency is None:
                continue
            emergency.escalated_at = timezone.now()
            emergency.save(update_fields=["escalated_at"])
            provider_id = candidate.assignment.unit.provider_id
            recipients, recipient_role = access.emergency_recipients(
                provider_id, excluding=emergency.user_id
            )
            messages_send(
                recipients=recipients,
                kind=Message.Kind.EMERGENCY_ACCESS,
                subject=_("Nödåtkomst ogranskad sedan %(day)s")
                % {"day": timezone.localdate(emergency.started_at).isoformat()},
                body=_(
                    "En nödåtkomst har väntat på bedömning i mer än %(days)d arbetsdagar. "
                    "Granska den i granskningskön."
                )
                % {"days": EMERGENCY_REVIEW_WORKING_DAYS},
                link="/patienter/nodatkomst/granska/",
            )
            record(
                action=Action.EMERGENCY_ESCALATED,
                actor=actor,
                patient_id=emergency.patient_id,
                target=emergency,
                legal_basis=LegalBasis.EMERGENCY,
                legal_basis_ref=f"emergency:{emergency.pk}",
                owner_provider_id=provider_id,
                detail={
                    "due": due,
                    "notified": sorted(u.pk for u in recipients),
                    "notified_role": recipient_role,
                },
            )
            count += 1
    return count


def emergency_review(
    *, actor: Actor, emergency: EmergencyAccess, verdict: str, note: str = ""
) -> None:
    """A log reviewer's verdict on an emergency access (R52). The first verdict stands: a second
    reviewer cannot overwrite it. Nobody judges his own emergency access (R92)."""
    require(actor, Cap.AUDIT_REVIEW, patient_id=emergency.patient_id)
    if verdict not in EmergencyAccess.Verdict.values:
        raise ValidationError({"verdict": _("Välj en bedömning.")})
    if CONTROL_CHARACTERS.search(note):
        raise ValidationError({"note": NOTE_CONTROL_MESSAGE})
    if emergency.assignment.unit.provider_id != getattr(actor.provider, "pk", None):
        raise refuse(
            actor=actor,
            step="emergency_review",
            reason="other_provider",
            patient_id=emergency.patient_id,
            target=emergency,
        )
    if actor.user is not None and emergency.user_id == actor.user.pk:
        raise refuse(
            actor=actor,
            step="emergency_review",
            reason="own_emergency",
            patient_id=emergency.patient_id,
            target=emergency,
            user_message=_(
                "Du kan inte bedöma din egen nödåtkomst. En annan loggranskare bedömer den."
            ),
        )
    with transaction.atomic():
        updated = EmergencyAccess.objects.filter(pk=emergency.pk, verdict="").update(
            verdict=verdict,
            verdict_note=note[:300],
            reviewed_by=actor.user,
            reviewed_at=timezone.now(),
        )
        if not updated:
            raise ValidationError({"verdict": _("Nödåtkomsten har redan bedömts.")})
        record(
            action=Action.EMERGENCY_REVIEWED,
            actor=actor,
            patient_id=emergency.patient_id,
            target=emergency,
            changes={"verdict": [emergency.verdict or None, verdict]},
        )


# --- Consent across providers -----------------------------------------------------------------


def consent_register(
    *,
    actor: Actor,
    grant: PatientGrant,
    valid_from: dt.date,
    valid_until: dt.date,
    for_me_only: bool = False,
    representative: str = "",
) -> Consent:
    """Record the patient's consent that the actor's unit (or the actor alone) may see data
    documented by other care providers (R40), for at most CONSENT_MAX_MONTHS. Only on a care
    relationship: shared documentation rests on a care relationship and the consent (R39), and a
    documented need opens the patient within the own provider only (R32)."""
    _writable(actor, grant, "consent_register")
    require(actor, Cap.CONSENTS_MANAGE, patient_id=grant.patient.pk)
    denial = access.consent_denial(grant)
    if denial is not None:
        raise refuse(
            actor=actor,
            step="consent_register",
            reason=denial.reason,
            patient_id=grant.patient.pk,
            target=grant.patient,
            user_message=_(
                "Samtycke registreras av en enhet som har vårdrelation med patienten. "
                "Registrera vårdrelationen först."
            ),
        )
    user, unit, assignment = _acting(actor)
    if valid_until < valid_from:
        raise ValidationError({"valid_until": _("Slutdatum kan inte vara före startdatum.")})
    if valid_until < timezone.localdate():
        raise ValidationError({"valid_until": _("Slutdatum har redan passerat.")})
    if valid_until > add_months(valid_from, CONSENT_MAX_MONTHS):
        raise ValidationError(
            {"valid_until": _("Ett samtycke gäller högst ett år. Registrera ett nytt därefter.")}
        )
    with transaction.atomic():
        consent = Consent.objects.create(
            patient=grant.patient,
            grantee_unit=unit,
            grantee_user=user if for_me_only else None,
            representative=representative[:200],
            valid_from=valid_from,
            valid_until=valid_until,
            registered_by=user,
        )
        record(
            action=Action.CONSENT_REGISTERED,
            actor=actor,
            target=consent,
            patient_id=grant.patient.pk,
            legal_basis=grant.basis,
            legal_basis_ref=grant.basis_ref,
            changes={
                "grantee_unit": [None, unit.pk],
                "grantee_user": [None, consent.grantee_user_id],
                "valid_from": [None, valid_from],
                "valid_until": [None, valid_until],
            },
            **_owner(actor),
        )
    return consent


def consent_close(
    *, actor: Actor, grant: PatientGrant, consent: Consent, cancel: bool, reason: str
) -> None:
    """End a consent at the patient's request, or cancel an erroneous one; the record stays. Only
    the unit the consent was given to changes it (R40)."""
    _writable(actor, grant, "consent_close")
    require(actor, Cap.CONSENTS_MANAGE, patient_id=grant.patient.pk)
    if consent.patient_id != grant.patient.pk or not access.can_close_consent(actor, consent):
        raise refuse(
            actor=actor,
            step="consent_close",
            reason="not_grantee_unit",
            patient_id=grant.patient.pk,
            target=consent,
        )
    status = Consent.Status.CANCELLED if cancel else Consent.Status.ENDED
    with transaction.atomic():
        updated = Consent.objects.filter(pk=consent.pk, status=Consent.Status.ACTIVE).update(
            status=status, status_changed_at=timezone.now(), status_changed_by=actor.user
        )
        if updated:
            record(
                action=Action.CONSENT_CANCELLED if cancel else Action.CONSENT_ENDED,
                actor=actor,
                target=consent,
                patient_id=grant.patient.pk,
                changes={"status": [Consent.Status.ACTIVE, status]},
                detail={"reason_given": bool(reason.strip())},
            )


# --- Blocks -----------------------------------------------------------------------------------


class Requester:
    PATIENT = "patient"
    REPRESENTATIVE = "representative"
    GUARDIAN = "guardian"


def block_register(
    *,
    actor: Actor,
    grant: PatientGrant,
    scope: str,
    requested_at: dt.date,
    requested_by: str,
    requester_kind: str,
    owner_unit: Unit | None = None,
    info_from: dt.date | None = None,
    info_until: dt.date | None = None,
    reason: str = "",
) -> Block:
    """Register the patient's block of their information (R44–R45). A guardian cannot block a
    child's information (R47); the refusal is recorded."""
    _writable(actor, grant, "block_register")
    require(actor, Cap.BLOCKS_MANAGE, patient_id=grant.patient.pk)
    user, unit, assignment = _acting(actor)
    if requester_kind == Requester.GUARDIAN:
        record(
            action=Action.BLOCK_REFUSED,
            actor=actor,
            patient_id=grant.patient.pk,
            detail={"reason": "guardian_request"},
            **_owner(actor),
        )
        raise ValidationError(
            {
                "requester_kind": _(
                    "En vårdnadshavare kan inte spärra ett barns uppgifter. Spärren kan bara "
                    "begäras av patienten själv."
                )
            }
        )
    if scope not in Block.Scope.values:
        raise ValidationError(
            {"scope": _("Välj om spärren gäller inom vårdgivaren eller mot andra.")}
        )
    if owner_unit is not None and owner_unit.provider_id != unit.provider_id:
        raise refuse(
            actor=actor,
            step="block_register",
            reason="not_owning_provider",
            patient_id=grant.patient.pk,
            target=owner_unit,
        )
    if info_from and info_until and info_until < info_from:
        raise ValidationError({"info_until": _("Slutdatum kan inte vara före startdatum.")})
    if not requested_by.strip():
        raise ValidationError({"requested_by": _("Ange vem som begärde spärren.")})
    with transaction.atomic():
        block = Block.objects.create(
            patient=grant.patient,
            scope=scope,
            owner_provider=unit.provider,
            owner_unit=owner_unit or (unit if scope == Block.Scope.INTERNAL else None),
            info_from=info_from,
            info_until=info_until,
            requested_at=requested_at,
            requested_by=requested_by[:200],
            reason=reason[:300],
            registered_by=user,
        )
        record(
            action=Action.BLOCK_REGISTERED,
            actor=actor,
            target=block,
            patient_id=grant.patient.pk,
            owner_provider_id=block.owner_provider_id,
            owner_unit_id=block.owner_unit_id,
            changes={
                "scope": [None, scope],
                "owner_unit": [None, block.owner_unit_id],
                "info_from": [None, info_from],
                "info_until": [None, info_until],
            },
            detail={"requester_kind": requester_kind},
        )
    return block


def block_close(
    *, actor: Actor, grant: PatientGrant, block: Block, cancel: bool, reason: str
) -> None:
    """Lift a block permanently at the patient's request, or cancel an erroneous one (R45). Only
    the information-owning provider does it, and for an internal block only the owning unit: the
    unit a block is against never lifts it itself."""
    _writable(actor, grant, "block_close")
    require(actor, Cap.BLOCKS_MANAGE, patient_id=grant.patient.pk)
    if block.patient_id != grant.patient.pk or not access.can_close_block(actor, block):
        raise refuse(
            actor=actor,
            step="block_close",
            reason="not_owner",
            patient_id=grant.patient.pk,
            target=block,
        )
    status = Block.Status.CANCELLED if cancel else Block.Status.LIFTED
    with transaction.atomic():
        updated = Block.objects.filter(pk=block.pk, status=Block.Status.ACTIVE).update(
            status=status,
            status_changed_at=timezone.now(),
            status_changed_by=actor.user,
            status_reason=reason[:300],
        )
        if updated:
            record(
                action=Action.BLOCK_CANCELLED if cancel else Action.BLOCK_LIFTED,
                actor=actor,
                target=block,
                patient_id=grant.patient.pk,
                owner_provider_id=block.owner_provider_id,
                owner_unit_id=block.owner_unit_id,
                changes={"status": [Block.Status.ACTIVE, status]},
                # The reason is kept on the block, not copied into the log (R60).
                detail={"reason_given": bool(reason.strip())},
            )


def _lift_window(hours: int) -> tuple[dt.datetime, dt.datetime]:
    if not 1 <= hours <= settings.LYFTA_BLOCK_LIFT_MAX_HOURS:
        raise ValidationError(
            {
                "hours": _("Ett tillfälligt hävande gäller 1–%(max)d timmar.")
                % {"max": settings.LYFTA_BLOCK_LIFT_MAX_HOURS}
            }
        )
    now = timezone.now()
    return now, now + dt.timedelta(hours=hours)


def _lift_basis(actor: Actor, grant: PatientGrant, basis: str, reason: str) -> None:
    """A reveal or temporary lift needs a role that handles consents or blocks, and the patient's
    consent or an emergency access in force (R46, R48, R49); the emergency may stand beside the
    unit's own relationship."""
    if not can(actor, Cap.CONSENTS_MANAGE):
        require(actor, Cap.BLOCKS_MANAGE, patient_id=grant.patient.pk)
    if basis not in BlockLift.Basis.values:
        raise ValidationError(
            {"basis": _("Ange om patienten samtycker eller om det är en nödsituation.")}
        )
    if basis == BlockLift.Basis.EMERGENCY and not grant.emergency_ref:
        raise ValidationError(
            {"basis": _("Öppna nödåtkomst först för att bryta en spärr i en nödsituation.")}
        )
    if len(reason.strip()) < 5:
        raise ValidationError({"reason": _("Ange skälet.")})


def block_reveal_providers(*, actor: Actor, grant: PatientGrant, basis: str, reason: str) -> int:
    """First step for blocks towards other providers (R48): show which providers hold blocked
    information. Recorded; nothing of the content is shown yet."""
    from lyfta.access.patients import data_scope

    _lift_basis(actor, grant, basis, reason)
    user, unit, assignment = _acting(actor)
    scope = data_scope(actor, grant)
    blocks = [b for b in scope.external_blocks if b.owner_provider_id != unit.provider_id]
    start, end = _lift_window(1)
    with transaction.atomic():
        for block in blocks:
            BlockLift.objects.create(
                block=block,
                patient=grant.patient,
                unit=unit,
                user=user,
                step=BlockLift.Step.PROVIDERS,
                basis=basis,
                reason_text=reason[:300],
                created_by=user,
                starts_at=start,
                ends_at=end,
            )
        record(
            action=Action.BLOCK_PROVIDERS_REVEALED,
            actor=actor,
            patient_id=grant.patient.pk,
            legal_basis=basis,
            legal_basis_ref=grant.emergency_ref if basis == "emergency" else grant.basis_ref,
            detail={
                "blocks": [b.pk for b in blocks],
                "providers": sorted({b.owner_provider_id for b in blocks}),
            },
        )
    return len(blocks)


def block_lift_temporarily(
    *,
    actor: Actor,
    grant: PatientGrant,
    block: Block,
    basis: str,
    reason: str,
    hours: int = 2,
    for_me_only: bool = True,
) -> BlockLift:
    """A temporary lift for the actor's unit (or the actor alone), with the patient's consent or
    in an emergency; it expires by itself (R46). Breaking a block inside the provider in an
    emergency is an emergency access (R49); for blocks towards other providers this is the second
    step of the reveal, and the first must have been taken (R48)."""
    _lift_basis(actor, grant, basis, reason)
    user, unit, assignment = _acting(actor)
    if block.patient_id != grant.patient.pk or block.status != Block.Status.ACTIVE:
        raise refuse(
            actor=actor,
            step="block_lift",
            reason="not_active_block_of_patient",
            patient_id=grant.patient.pk,
            target=block,
        )
    now = timezone.now()
    if (
        block.scope == Block.Scope.EXTERNAL
        and not BlockLift.objects.filter(
            block=block,
            unit=unit,
            user=user,
            step=BlockLift.Step.PROVIDERS,
            starts_at__lte=now,
            ends_at__gt=now,
        ).exists()
    ):
        raise ValidationError(
            {"basis": _("Visa först vilka vårdgivare som har spärrade uppgifter.")}
        )
    start, end = _lift_window(hours)
    with transaction.atomic():
        lift = BlockLift.objects.create(
            block=block,
            patient=grant.patient,
            unit=unit,
            user=user if for_me_only else None,
            step=BlockLift.Step.CONTENT,
            basis=basis,
            reason_text=reason[:300],
            created_by=user,
            starts_at=start,
            ends_at=end,
        )
        record(
            action=Action.BLOCK_TEMPORARILY_LIFTED,
            actor=actor,
            target=lift,
            patient_id=grant.patient.pk,
            owner_provider_id=block.owner_provider_id,
            owner_unit_id=block.owner_unit_id,
            legal_basis=basis,
            legal_basis_ref=grant.emergency_ref if basis == "emergency" else f"lift:{lift.pk}",
            detail={"block": block.pk, "until": end, "reason_given": True},
        )
    return lift


# --- Protected identity -----------------------------------------------------------------------


def protection_set(
    *,
    actor: Actor,
    grant: PatientGrant,
    protection: str,
    source: str = "manual",
    approved_delivery_address: str = "",
) -> Patient:
    """Flag (or unflag) a patient's protected identity (R53) and the approved delivery address."""
    _writable(actor, grant, "protection_set")
    require(actor, Cap.PROTECTED_STAFF_MANAGE, patient_id=grant.patient.pk)
    if protection not in Patient.Protection.values:
        raise ValidationError({"protection": _("Välj typ av skydd.")})
    manager, _unit, _assignment = _acting(actor)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=grant.patient.pk)
        before = snapshot(patient, ("protection", "protection_source", "approved_delivery_address"))
        patient.protection = protection
        patient.protection_source = source[:20] if protection else ""
        patient.approved_delivery_address = approved_delivery_address[:300]
        patient.save(
            update_fields=[
                "protection",
                "protection_source",
                "approved_delivery_address",
                "updated_at",
            ]
        )
        after = snapshot(patient, ("protection", "protection_source", "approved_delivery_address"))
        # The address itself is not copied into the log: a protected address must not leak there.
        changes = {k: v for k, v in diff(before, after).items() if k != "approved_delivery_address"}
        record(
            action=Action.PROTECTION_CHANGED,
            actor=actor,
            target=patient,
            patient_id=patient.pk,
            changes=changes,
            **_owner(actor),
        )
        if protection:
            # Whoever flags the patient is named first, so someone can still care for them. This
            # is the one way a manager comes to be named by themselves: through a writable grant.
            _name(actor=actor, patient=patient, user=manager, manager=manager)
    return patient


def _name(*, actor: Actor, patient: Patient, user: User, manager: User) -> ProtectedStaff:
    with transaction.atomic():
        try:
            naming, created = ProtectedStaff.objects.get_or_create(
                patient=patient, user=user, ended_at=None, defaults={"named_by": manager}
            )
        except IntegrityError as error:
            # Another manager named the same person at the same moment.
            raise ValidationError(_("Personen är redan namngiven. Ladda om sidan.")) from error
        if created:
            record(
                action=Action.PROTECTED_STAFF_NAMED,
                actor=actor,
                target=naming,
                patient_id=patient.pk,
                changes={"user": [None, user.pk]},
            )
    return naming


def protected_staff_add(*, actor: Actor, grant: PatientGrant, user: User) -> ProtectedStaff:
    """The unit manager names someone who may see a protected patient (R54). Never under a
    read-only grant, and never the manager themselves: nobody widens their own access."""
    _writable(actor, grant, "protected_staff_add")
    require(actor, Cap.PROTECTED_STAFF_MANAGE, patient_id=grant.patient.pk)
    manager, _unit, _assignment = _acting(actor)
    if user.pk == manager.pk:
        raise refuse(
            actor=actor,
            step="protected_staff_add",
            reason="self_naming",
            patient_id=grant.patient.pk,
            target=grant.patient,
            user_message=_("Du kan inte namnge dig själv. Be en annan enhetschef."),
        )
    return _name(actor=actor, patient=grant.patient, user=user, manager=manager)


def protected_staff_remove(*, actor: Actor, grant: PatientGrant, naming: ProtectedStaff) -> None:
    """End a naming (R54); the patient is closed to that person at their next request (R37)."""
    _writable(actor, grant, "protected_staff_remove")
    require(actor, Cap.PROTECTED_STAFF_MANAGE, patient_id=grant.patient.pk)
    if naming.patient_id != grant.patient.pk:
        raise refuse(
            actor=actor,
            step="protected_staff_remove",
            reason="other_patient",
            patient_id=grant.patient.pk,
            target=naming,
        )
    with transaction.atomic():
        if ProtectedStaff.objects.filter(pk=naming.pk, ended_at__isnull=True).update(
            ended_at=timezone.now()
        ):
            record(
                action=Action.PROTECTED_STAFF_REMOVED,
                actor=actor,
                target=naming,
                patient_id=naming.patient_id,
                changes={"user": [naming.user_id, None]},
            )
