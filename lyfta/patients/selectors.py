"""Reads of patients. Each starts from `lyfta.access.patients`, returns only what the actor's role
may see (R34), and records the read before returning it (R57, R61): one `patient.read` per patient
opened, one `patient.listed` per patient in a result list, and one `patient.cross_provider_read`
per other provider whose data is shown (R42)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from lyfta.access import patients as access
from lyfta.access.actor import Actor
from lyfta.access.patients import Denial, PatientGrant
from lyfta.access.roles import Fields
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis, Outcome
from lyfta.audit.services import record
from lyfta.organisations.models import CareProvider
from lyfta.patients import identifiers
from lyfta.patients.models import Block, CareRelationship, Consent, EmergencyAccess, Patient

SEARCH_LIMIT = 50


@dataclass(frozen=True)
class PatientRow:
    """A patient in a result list: never more than name, number and the protection flag."""

    pk: int
    name: str
    identifier: str
    protected: bool
    deceased: bool


def _row(patient: Patient) -> PatientRow:
    return PatientRow(
        patient.pk,
        str(patient),
        patient.display_identifier,
        patient.is_protected,
        patient.deceased_date is not None,
    )


def patient_search(*, actor: Actor, query: str) -> list[PatientRow]:
    """Search the actor's own patients (care relationship with their unit, R33) by name or exact
    number. Outside that scope nothing is found here: see `patient_lookup_outside`."""
    text = " ".join(query.split())[:60]
    scope = access.patients_in_scope(actor)
    try:
        parsed = identifiers.parse(text)
    except ValidationError:
        parsed = None
    if parsed is not None:
        found = scope.filter(identifier=parsed.value)
        kind = "identifier"
    else:
        if len(text) < 2:
            return []
        words = text.split()
        condition = Q()
        for word in words:
            condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        found = scope.filter(condition)
        kind = "name"
    patients = list(found.order_by("last_name", "first_name")[:SEARCH_LIMIT])
    # The query's parameters and the ids shown; never the results' contents (R60).
    record(
        action=Action.PATIENT_SEARCHED,
        actor=actor,
        detail={
            "kind": kind,
            "query": text if kind == "name" else "",
            "shown": [p.pk for p in patients],
        },
    )
    for patient in patients:
        record(
            action=Action.PATIENT_LISTED,
            actor=actor,
            patient_id=patient.pk,
            resource_type="patients.patient",
            resource_id=patient.pk,
            legal_basis=LegalBasis.RELATIONSHIP,
        )
    return [_row(p) for p in patients]


def patient_lookup_outside(*, actor: Actor, identifier: str) -> Patient | None:
    """An exact number outside the unit's relationships (R33): nothing about the patient is shown
    until a need is documented or emergency access opened; the attempt is recorded (R38)."""
    parsed = identifiers.parse(identifier)
    patient = Patient.objects.filter(identifier=parsed.value).first()
    record(
        action=Action.PATIENT_SEARCH_OUTSIDE,
        actor=actor,
        outcome=Outcome.DENIED,
        patient_id=patient.pk if patient else None,
        detail={"kind": "identifier", "exists": patient is not None, "reason": "no_relationship"},
    )
    return patient


def in_scope(actor: Actor, patient: Patient) -> bool:
    return access.patients_in_scope(actor).filter(pk=patient.pk).exists()


def grant_or_404(*, actor: Actor, patient_id: int, session_ref: str) -> PatientGrant:
    """The grant to open a patient, or the same 404 for "missing" and "not allowed"; a refusal is
    recorded with its reason (R38), and one for a protected patient is flagged for review (R54)."""
    patient = Patient.objects.select_related("home_municipality").filter(pk=patient_id).first()
    if patient is None:
        raise Http404
    grant = access.grant_for(actor, patient, session_ref)
    if isinstance(grant, Denial):
        record(
            action=Action.PATIENT_ACCESS_DENIED,
            actor=actor,
            outcome=Outcome.DENIED,
            patient_id=patient.pk,
            resource_type="patients.patient",
            resource_id=patient.pk,
            detail={"reason": grant.reason, "review": grant.reason == "protected_identity"},
        )
        raise Http404
    return grant


# --- The patient page ----------------------------------------------------------------------


@dataclass(frozen=True)
class RelationshipRow:
    pk: int
    unit: str
    provider: str
    origin: str
    valid_from: dt.date
    valid_until: dt.date | None
    own_unit: bool


@dataclass
class PatientView:
    """What one actor may see of one patient, built in the selector so that no template can show
    more (R34)."""

    pk: int
    basis: str
    read_only: bool
    expires_at: dt.datetime | None
    name: str
    identifier: str = ""
    id_kind: str = ""
    protected: str = ""
    deceased: dt.date | None = None
    contact: dict[str, str] | None = None
    contact_hidden: bool = False
    approved_delivery_address: str = ""
    home_municipality: str = ""
    relationships: list[RelationshipRow] = field(default_factory=list)
    other_providers_have_data: bool = False
    blocked_here: bool = False
    blocked_elsewhere: bool = False
    revealed_blocks: list[dict[str, Any]] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    own_blocks: list[Block] = field(default_factory=list)
    cross_provider_basis: str = ""
    admin: bool = False


def patient_view(*, actor: Actor, grant: PatientGrant) -> PatientView:
    """The patient page for `actor`, recorded as one read before it is returned."""
    patient = grant.patient
    fields = grant.fields
    scope = access.data_scope(actor, grant)
    view = PatientView(
        pk=patient.pk,
        basis=grant.basis,
        read_only=grant.read_only,
        expires_at=grant.expires_at,
        name=str(patient),
        protected=patient.get_protection_display() if patient.is_protected else "",
        deceased=patient.deceased_date,
        cross_provider_basis=scope.cross_provider_basis,
        admin=Fields.ADMIN in fields,
    )
    if Fields.IDENTITY in fields:
        view.identifier = patient.display_identifier
        view.id_kind = patient.get_id_kind_display()
    if Fields.CONTACT in fields:
        if grant.show_contact:
            view.contact = {
                "street": patient.street,
                "postal_code": patient.postal_code,
                "city": patient.city,
                "phone": patient.phone,
            }
            view.approved_delivery_address = patient.approved_delivery_address
        else:
            view.contact_hidden = True
            view.approved_delivery_address = patient.approved_delivery_address
    shown_owners: dict[int, set[int]] = {}
    if Fields.ADMIN in fields:
        view.home_municipality = patient.home_municipality.name if patient.home_municipality else ""
        relationships = (
            CareRelationship.objects.filter(access.relationship_active(), patient=patient)
            .select_related("unit__provider")
            .order_by("-valid_from")
        )
        for rel in relationships:
            owner_provider, owner_unit = rel.unit.provider_id, rel.unit_id
            if scope.visible(owner_provider, owner_unit, rel.valid_from):
                view.relationships.append(
                    RelationshipRow(
                        rel.pk,
                        rel.unit.name,
                        rel.unit.provider.name,
                        rel.get_origin_display(),
                        rel.valid_from,
                        rel.valid_until,
                        rel.unit_id == scope.actor_unit_id,
                    )
                )
                shown_owners.setdefault(owner_provider, set()).add(owner_unit)
            elif scope.blocked(owner_provider, owner_unit, rel.valid_from):
                if owner_provider == scope.actor_provider_id:
                    view.blocked_here = True
                else:
                    view.blocked_elsewhere = True
            else:
                view.other_providers_have_data = True
        view.consents = list(
            Consent.objects.filter(patient=patient)
            .select_related("grantee_unit", "grantee_user")
            .order_by("-valid_from")[:20]
        )
        view.own_blocks = list(
            Block.objects.filter(patient=patient, owner_provider_id=scope.actor_provider_id)
            .select_related("owner_unit")
            .order_by("-created_at")[:20]
        )
        view.blocked_elsewhere = view.blocked_elsewhere or any(
            b.owner_provider_id != scope.actor_provider_id and b.pk not in scope.lifted_blocks
            for b in scope.external_blocks
        )
        names = dict(
            CareProvider.objects.filter(pk__in=scope.revealed_providers).values_list("pk", "name")
        )
        view.revealed_blocks = [
            {
                "block": b,
                "provider": names.get(b.owner_provider_id, ""),
                "lifted": b.pk in scope.lifted_blocks,
            }
            for b in scope.external_blocks
            if b.owner_provider_id in scope.revealed_providers
            and b.owner_provider_id != scope.actor_provider_id
        ]
    _record_read(actor, grant, scope, shown_owners)
    return view


def _record_read(
    actor: Actor, grant: PatientGrant, scope: access.DataScope, shown: dict[int, set[int]]
) -> None:
    """One `patient.read` for the page (R57), and for each other provider whose data it shows a
    `patient.cross_provider_read` naming both providers and the legal route (R42)."""
    record(
        action=Action.PATIENT_READ,
        actor=actor,
        patient_id=grant.patient.pk,
        resource_type="patients.patient",
        resource_id=grant.patient.pk,
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
        owner_provider_id=scope.actor_provider_id,
        detail={"fields": sorted(grant.fields), "owners": sorted(shown)},
    )
    for provider_id, unit_ids in sorted(shown.items()):
        if provider_id == scope.actor_provider_id:
            continue
        record(
            action=Action.PATIENT_CROSS_PROVIDER_READ,
            actor=actor,
            patient_id=grant.patient.pk,
            resource_type="patients.patient",
            resource_id=grant.patient.pk,
            owner_provider_id=provider_id,
            owner_unit_id=next(iter(unit_ids)) if len(unit_ids) == 1 else None,
            legal_basis=scope.cross_provider_basis,
            legal_basis_ref=scope.cross_provider_ref,
            detail={"units": sorted(unit_ids)},
        )


def emergency_of(*, actor: Actor, emergency_id: int) -> EmergencyAccess:
    found = EmergencyAccess.objects.filter(pk=emergency_id, user=actor.user).first()
    if found is None:
        raise Http404
    return found


def emergency_queue(*, actor: Actor) -> list[EmergencyAccess]:
    """Emergency accesses by the reviewer's provider's staff awaiting a verdict (R52)."""
    from lyfta.access.policies import require
    from lyfta.access.roles import Cap

    require(actor, Cap.AUDIT_REVIEW)
    return list(
        EmergencyAccess.objects.filter(assignment__unit__provider=actor.provider, verdict="")
        .select_related("user", "assignment__unit")
        .order_by("started_at")
    )


def now_local() -> dt.datetime:
    return timezone.localtime()
