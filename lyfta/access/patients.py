"""Who may see which patient, on what legal ground, and which of the patient's data (R32–R55).

Every patient read starts here:

- `patients_in_scope(actor)`: the patients related to the actor's unit (the default search scope,
  R33), without protected patients the actor is not named for (R55);
- `grant_for(actor, patient, session_ref)`: the legal route to one patient — care relationship,
  documented need, emergency — or None (R32, R50), never for a protected patient unless the actor
  is named staff (R54), never for roles without patient access (R9, R34);
- `data_scope(actor, patient, grant)`: which providers' and units' data about the patient the
  actor may see — their own provider's, others' only with consent, emergency or open access
  (R39–R41), and never blocked data without a lift (R44–R49).

Nothing here writes or records; the selectors record what is read (R57, R61)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import ROLE_PATIENT_FIELDS, Cap, Fields
from lyfta.audit.models import LegalBasis
from lyfta.patients.models import (
    Block,
    BlockLift,
    CareRelationship,
    Consent,
    DocumentedNeed,
    EmergencyAccess,
    Patient,
    ProtectedStaff,
)


def active_relationships(day: dt.date | None = None) -> Q:
    day = day or timezone.localdate()
    return Q(relationships__ended_at__isnull=True, relationships__valid_from__lte=day) & (
        Q(relationships__valid_until__isnull=True) | Q(relationships__valid_until__gte=day)
    )


def relationship_active(day: dt.date | None = None) -> Q:
    day = day or timezone.localdate()
    return Q(ended_at__isnull=True, valid_from__lte=day) & (
        Q(valid_until__isnull=True) | Q(valid_until__gte=day)
    )


def is_named_staff(actor: Actor, patient: Patient) -> bool:
    return (
        actor.user is not None
        and ProtectedStaff.objects.filter(
            patient=patient, user=actor.user, ended_at__isnull=True
        ).exists()
    )


def patients_in_scope(actor: Actor) -> QuerySet[Patient]:
    """Patients with a care relationship in force at the actor's unit (R33); protected patients
    only for their named staff (R55)."""
    if actor.unit is None or not can(actor, Cap.PATIENTS_VIEW) or actor.is_system:
        return Patient.objects.none()
    unit_relationships = CareRelationship.objects.filter(relationship_active(), unit=actor.unit)
    patients = Patient.objects.filter(pk__in=unit_relationships.values("patient"))
    named = ProtectedStaff.objects.filter(user=actor.user, ended_at__isnull=True).values("patient")
    return patients.filter(Q(protection="") | Q(pk__in=named))


@dataclass(frozen=True)
class PatientGrant:
    """The actor may open `patient` on `basis` (with `basis_ref` naming the record behind it)."""

    patient: Patient
    basis: str
    basis_ref: str
    read_only: bool
    fields: frozenset[str]
    show_contact: bool
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class Denial:
    """Why a patient could not be opened (for the audit log, R38); the user sees a 404."""

    reason: str


def grant_for(actor: Actor, patient: Patient, session_ref: str) -> PatientGrant | Denial:
    """The legal route for `actor` to open `patient`, or why there is none."""
    if actor.user is None or actor.assignment is None or not can(actor, Cap.PATIENTS_VIEW):
        return Denial("role")
    fields = ROLE_PATIENT_FIELDS.get(actor.role, frozenset())
    if not fields:
        return Denial("role")
    named = is_named_staff(actor, patient) if patient.is_protected else True
    now = timezone.now()
    emergency = (
        EmergencyAccess.objects.filter(
            user=actor.user, patient=patient, ended_at__isnull=True, expires_at__gt=now
        )
        .order_by("-started_at")
        .first()
    )
    if patient.is_protected and not named:
        # Only an emergency opens a protected patient to someone not named (R54), read only and
        # without the address (R53), whatever relationships their unit has.
        if emergency is None:
            return Denial("protected_identity")
        return PatientGrant(
            patient,
            LegalBasis.EMERGENCY,
            f"emergency:{emergency.pk}",
            True,
            fields,
            False,
            emergency.expires_at,
        )
    relationship = (
        CareRelationship.objects.filter(relationship_active(), unit=actor.unit, patient=patient)
        .order_by("valid_from")
        .first()
    )
    # A protected patient's contact details are for named staff only (R53), also in an emergency.
    show_contact = Fields.CONTACT in fields and named
    if relationship is not None:
        return PatientGrant(
            patient,
            LegalBasis.RELATIONSHIP,
            f"relationship:{relationship.pk}",
            False,
            fields,
            show_contact,
        )
    need = (
        DocumentedNeed.objects.filter(
            user=actor.user, patient=patient, session_ref=session_ref, assignment=actor.assignment
        )
        .order_by("-created_at")
        .first()
    )
    if need is not None:
        return PatientGrant(
            patient, LegalBasis.NEED, f"need:{need.pk}", False, fields, show_contact
        )
    if emergency is not None:
        return PatientGrant(
            patient,
            LegalBasis.EMERGENCY,
            f"emergency:{emergency.pk}",
            True,
            fields,
            show_contact,
            emergency.expires_at,
        )
    return Denial("no_relationship")


# --- Whose data about the patient the actor may see -----------------------------------------


@dataclass
class DataScope:
    """Visibility of data about one patient by its owner (provider and unit).

    Own provider: visible, except units under an internal block without a lift. Other providers:
    visible with consent, emergency or open access, except providers under an external block
    without a content lift. `hidden_*` say what exists but is not shown, for the patient page's
    notices (R39, R48)."""

    actor_provider_id: int
    actor_unit_id: int
    cross_provider_basis: str  # "", consent, emergency or open
    cross_provider_ref: str = ""
    internal_blocks: list[Block] = field(default_factory=list)
    external_blocks: list[Block] = field(default_factory=list)
    lifted_blocks: set[int] = field(default_factory=set)
    revealed_providers: set[int] = field(default_factory=set)

    def _blocked(
        self, owner_provider_id: int, owner_unit_id: int | None, day: dt.date | None
    ) -> Block | None:
        for block in (*self.internal_blocks, *self.external_blocks):
            if block.pk in self.lifted_blocks or block.owner_provider_id != owner_provider_id:
                continue
            if block.owner_unit_id is not None and block.owner_unit_id != owner_unit_id:
                continue
            if day is not None and block.info_from and day < block.info_from:
                continue
            if day is not None and block.info_until and day > block.info_until:
                continue
            if block.scope == Block.Scope.INTERNAL:
                # Inside the provider, the owning unit itself still sees its own data.
                if owner_unit_id is not None and owner_unit_id == self.actor_unit_id:
                    continue
                return block
            if owner_provider_id != self.actor_provider_id:
                return block
        return None

    def visible(
        self, owner_provider_id: int, owner_unit_id: int | None, day: dt.date | None = None
    ) -> bool:
        if self._blocked(owner_provider_id, owner_unit_id, day) is not None:
            return False
        return owner_provider_id == self.actor_provider_id or bool(self.cross_provider_basis)

    def blocked(
        self, owner_provider_id: int, owner_unit_id: int | None, day: dt.date | None = None
    ) -> bool:
        return self._blocked(owner_provider_id, owner_unit_id, day) is not None


def data_scope(actor: Actor, grant: PatientGrant) -> DataScope:
    """Which owners' data about `grant.patient` the actor may see now (R39–R49)."""
    if actor.unit is None or actor.user is None:
        raise ValueError("a data scope belongs to a person in an assignment")
    patient = grant.patient
    now = timezone.now()
    basis, ref = "", ""
    if settings.LYFTA_CROSS_PROVIDER_ACCESS == "open":
        basis = LegalBasis.OPEN
    elif grant.basis == LegalBasis.EMERGENCY:
        basis, ref = LegalBasis.EMERGENCY, grant.basis_ref
    else:
        consent = valid_consent(actor, patient)
        if consent is not None:
            basis, ref = LegalBasis.CONSENT, f"consent:{consent.pk}"
    blocks = list(Block.objects.filter(patient=patient, status=Block.Status.ACTIVE))
    lifts = list(
        BlockLift.objects.filter(
            patient=patient, unit=actor.unit, starts_at__lte=now, ends_at__gt=now
        )
        .filter(Q(user__isnull=True) | Q(user=actor.user))
        .select_related("block")
    )
    return DataScope(
        actor_provider_id=actor.unit.provider_id,
        actor_unit_id=actor.unit.pk,
        cross_provider_basis=basis,
        cross_provider_ref=ref,
        internal_blocks=[b for b in blocks if b.scope == Block.Scope.INTERNAL],
        external_blocks=[b for b in blocks if b.scope == Block.Scope.EXTERNAL],
        lifted_blocks={
            lift.block_id for lift in lifts if lift.block_id and lift.step == BlockLift.Step.CONTENT
        },
        revealed_providers={
            lift.block.owner_provider_id for lift in lifts if lift.block is not None
        },
    )


def valid_consent(actor: Actor, patient: Patient) -> Consent | None:
    """A consent in force for the actor's unit (or the actor personally), R40."""
    today = timezone.localdate()
    return (
        Consent.objects.filter(
            patient=patient,
            status=Consent.Status.ACTIVE,
            grantee_unit=actor.unit,
            valid_from__lte=today,
            valid_until__gte=today,
        )
        .filter(Q(grantee_user__isnull=True) | Q(grantee_user=actor.user))
        .order_by("-valid_from")
        .first()
    )
