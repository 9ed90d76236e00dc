"""Reads of patients. Each starts from `lyfta.access.patients`, returns only what the actor's role
may see (R34), and records the read before returning it (R57, R61): one `patient.read` per patient
opened, one `patient.listed` per patient in a result list, and one `patient.cross_provider_read`
per other provider whose data is shown (R42)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.functions import Upper
from django.http import Http404
from django.utils import timezone
from django.utils.translation import ngettext

from lyfta.access import patients as access
from lyfta.access.actor import Actor
from lyfta.access.patients import Denial, PatientGrant
from lyfta.access.prepared import Prepared
from lyfta.access.roles import Fields
from lyfta.accounts.models import User
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis, Outcome
from lyfta.audit.services import record, record_many
from lyfta.core.paging import Window, window
from lyfta.organisations.models import CareProvider
from lyfta.patients import identifiers
from lyfta.patients.models import (
    Block,
    CareRelationship,
    Consent,
    EmergencyAccess,
    Patient,
    ProtectedStaff,
    display_identifier,
)

SEARCH_LIMIT = 50
# A search by a word of the name lists its matches in name order, case folded. Not by the plain
# columns: their b-tree would let PostgreSQL walk every patient in name order, testing each for
# the word and the unit, and stop after a page — a bet on the matches being spread evenly that
# a surname late in the alphabet loses (1.1 s for "Holm" over a million patients, seconds for
# "Öberg"). Ordered so, no index gives the order: the database finds the word's patients by the
# trigram indexes (migration patients/0006), keeps the unit's and sorts those.
BY_NAME = (Upper("last_name"), Upper("first_name"), "pk")


def name_word(word: str) -> Q:
    """A word of the name search: anywhere in the first or last name, case folded; a word of one
    or two letters at the start of either. Two letters anywhere match nearly everyone and no
    trigram index can find them (every patient was read: 0.8 s at national size), while at the
    start of a name they are what a user typing "Ek" means, and the trigram index finds them."""
    lookup = "icontains" if len(word) >= 3 else "istartswith"
    return Q(**{f"first_name__{lookup}": word}) | Q(**{f"last_name__{lookup}": word})


@dataclass(frozen=True)
class PatientRow:
    """A patient in a result list: never more than name, number and the protection flag."""

    pk: int
    name: str
    identifier: str
    protected: bool
    deceased: bool


# What a result list shows of each patient, read as tuples (issue 19 point 5).
ROW_COLUMNS = ("pk", "first_name", "last_name", "identifier", "protection", "deceased_date")


def _row(values: tuple[Any, ...]) -> PatientRow:
    pk, first_name, last_name, identifier, protection, deceased_date = values
    return PatientRow(
        pk,
        f"{first_name} {last_name}",  # as str(Patient)
        display_identifier(identifier),
        bool(protection),
        deceased_date is not None,
    )


def _by_identifier(
    unit_id: int, user_id: int, today: dt.date, identifier: str
) -> QuerySet[Patient, tuple[Any, ...]]:
    found = access.patients_in_scope_of(unit_id, user_id, today).filter(identifier=identifier)
    return found.order_by("last_name", "first_name").values_list(*ROW_COLUMNS)[:SEARCH_LIMIT]


# The search by number, the busiest, compiled once (its scope's subqueries cost the most).
_BY_IDENTIFIER = Prepared(_by_identifier)


def patient_search(*, actor: Actor, query: str) -> list[PatientRow]:
    """Search the actor's own patients (care relationship with their unit, R33) by name or exact
    number. Outside that scope nothing is found here: see `patient_lookup_outside`."""
    text = " ".join(query.split())[:60]
    try:
        parsed = identifiers.parse(text)
    except ValidationError:
        parsed = None
    if parsed is not None:
        scope = access.scope_of(actor)
        found = (
            _BY_IDENTIFIER.rows(*scope, timezone.localdate(), parsed.value)
            if scope is not None
            else []
        )
        kind = "identifier"
    else:
        if len(text) < 2:
            return []
        condition = Q()
        for word in text.split():
            condition &= name_word(word)
        matching = access.patients_in_scope(actor, unit_first=True).filter(condition)
        found = list(matching.order_by(*BY_NAME).values_list(*ROW_COLUMNS)[:SEARCH_LIMIT])
        kind = "name"
    _record_listing(actor, kind, text if kind == "name" else "", [row[0] for row in found])
    return [_row(values) for values in found]


def _record_listing(actor: Actor, kind: str, query: str, shown: list[int]) -> None:
    """The query's parameters and the ids `shown`; never the results' contents (R60); and one
    `patient.listed` per patient shown (R57). One INSERT for them all."""
    record_many(
        [
            {
                "action": Action.PATIENT_SEARCHED,
                "actor": actor,
                "detail": {"kind": kind, "query": query, "shown": shown},
            },
            *(
                {
                    "action": Action.PATIENT_LISTED,
                    "actor": actor,
                    "patient_id": pk,
                    "resource_type": "patients.patient",
                    "resource_id": pk,
                    "legal_basis": LegalBasis.RELATIONSHIP,
                }
                for pk in shown
            ),
        ]
    )


MINE_PAGE = 25


def unit_patients(*, actor: Actor, query: str, page: object) -> Window[PatientRow]:
    """Mina patienter: the patients with a care relationship in force at the actor's unit (R33),
    protected ones only for their named staff (R55), filtered by a fragment of the name or the
    number, a page at a time. Each page shown is recorded like a search (R57, R60): the filter
    (a number fragment is not kept), and one `patient.listed` per patient on the page."""
    text = " ".join(query.split())[:60]
    # Filtered, start from the unit's patients: the country's with the word or digits can be many.
    found = access.patients_in_scope(actor, unit_first=bool(text))
    digits = text.replace("-", "").replace("+", "")
    if digits and digits.isascii() and digits.isdecimal():
        found = found.filter(identifier__contains=digits)
        kind, kept = "list_number", ""
    else:
        for word in text.split():
            found = found.filter(name_word(word))
        kind, kept = "list", text
    # Unfiltered, the unit's patients are dense in name order: walking the name index is right.
    order = BY_NAME if kind == "list" and text else ("last_name", "first_name", "pk")
    ordered = found.order_by(*order).values_list(*ROW_COLUMNS)
    shown = window(ordered, MINE_PAGE, page)
    _record_listing(actor, kind, kept, [values[0] for values in shown.object_list])
    return Window([_row(values) for values in shown.object_list], shown.number, shown.has_next)


@dataclass(frozen=True)
class EmergencySubject:
    """Who an emergency access is about, as the form may show it before access is opened."""

    number: str  # the number the user typed, formatted; "" when she came with a patient id
    name: str  # "" unless the rules allow it (see `emergency_subject`)


def emergency_subject(
    *, actor: Actor, patient: Patient | None, typed: str, session_ref: str
) -> EmergencySubject:
    """The emergency form names the patient so that the user can confirm the right person before
    she opens access (issue 16), as far as the rules allow before access:

    - a number she typed (R33) of a patient without protected identity, or one she is named staff
      for: the name, recorded as `patient.emergency_named` (an emergency is open to her role on
      such a patient anyway, R50);
    - a protected patient she is not named for, and a number Lyfta does not know: the same page
      without a name, so that the form never tells protected from unknown (R54, R55);
    - a patient id in the address (no typed number): the name only if she may already open the
      patient, so that no id can be tried for names."""
    number = f"{typed[:8]}-{typed[8:]}" if typed else ""
    if patient is None:
        return EmergencySubject(number, "")
    if patient.is_protected and not access.is_named_staff(actor, patient):
        return EmergencySubject(number, "")
    if not typed:
        if isinstance(access.grant_for(actor, patient, session_ref), Denial):
            return EmergencySubject("", "")
        number = patient.display_identifier
    record(
        action=Action.EMERGENCY_PATIENT_NAMED,
        actor=actor,
        patient_id=patient.pk,
        resource_type="patients.patient",
        resource_id=patient.pk,
        detail={"fields": ["name"]},
    )
    return EmergencySubject(number, str(patient))


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
    # The patient and the facts of the decision in one query (not the patient twice).
    patient, grant = access.patient_and_grant(actor, patient_id, session_ref)
    if patient is None:
        raise Http404
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


def grant_by_identifier(*, actor: Actor, identifier: str, session_ref: str) -> PatientGrant:
    """The grant to open the patient with this personnummer (or samordnings- or reservnummer),
    for a system that knows the patient by number only (the API; the number comes in a request
    body, never a URL). The same 404 for a number Lyfta does not know and a patient the actor
    may not open; either refusal is recorded (R38). A patient opened is recorded as found by a
    search (R57), on the grant's legal basis. An invalid number raises ValidationError."""
    parsed = identifiers.parse(identifier)
    found = Patient.objects.filter(identifier=parsed.value).values_list("pk", flat=True)
    patient_id = found.first()
    if patient_id is None:
        record(
            action=Action.PATIENT_SEARCH_OUTSIDE,
            actor=actor,
            outcome=Outcome.DENIED,
            detail={"kind": "identifier", "exists": False, "reason": "not_found"},
        )
        raise Http404
    grant = grant_or_404(actor=actor, patient_id=patient_id, session_ref=session_ref)
    record(
        action=Action.PATIENT_SEARCHED,
        actor=actor,
        detail={"kind": "identifier", "query": "", "shown": [patient_id]},
    )
    record(
        action=Action.PATIENT_LISTED,
        actor=actor,
        patient_id=patient_id,
        resource_type="patients.patient",
        resource_id=patient_id,
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
    )
    return grant


def _refused(
    actor: Actor, patient_id: int, reason: str, resource_type: str, resource_id: object
) -> Http404:
    """Record a refusal with its patient, resource and reason (R38) and return the 404 to raise:
    the same answer for "missing" and "not yours"."""
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        detail={"reason": reason, "review": reason == "protected_identity"},
    )
    return Http404()


M = TypeVar("M", bound=models.Model)


def _patient_object(
    actor: Actor, grant: PatientGrant, queryset: models.QuerySet[M], pk: int, reason: str
) -> M:
    """The object `pk` of `queryset` if it belongs to the grant's patient, else a recorded 404."""
    found = queryset.filter(pk=pk, patient=grant.patient).first()
    if found is None:
        raise _refused(actor, grant.patient.pk, reason, queryset.model._meta.label_lower, pk)
    return found


def relationship_of(*, actor: Actor, grant: PatientGrant, relationship_id: int) -> CareRelationship:
    """One of the actor's unit's relationships with the patient, or a recorded 404."""
    queryset = CareRelationship.objects.filter(unit=actor.unit)
    return _patient_object(actor, grant, queryset, relationship_id, "not_own_unit")


def consent_of(*, actor: Actor, grant: PatientGrant, consent_id: int) -> Consent:
    """A consent of the patient given to the actor's unit, or a recorded 404 (R40)."""
    queryset = Consent.objects.filter(grantee_unit=actor.unit)
    return _patient_object(actor, grant, queryset, consent_id, "not_grantee_unit")


def block_of(*, actor: Actor, grant: PatientGrant, block_id: int, owned: bool) -> Block:
    """A block of the patient, or a recorded 404. `owned`: one the actor's unit may lift or
    cancel (R45); otherwise any active block, the kind a temporary lift is for (R46)."""
    queryset = (
        Block.objects.filter(access.blocks_visible(actor))
        if owned
        else Block.objects.filter(status=Block.Status.ACTIVE)
    )
    return _patient_object(
        actor, grant, queryset, block_id, "not_owner" if owned else "not_active_block"
    )


def naming_of(*, actor: Actor, grant: PatientGrant, naming_id: int) -> ProtectedStaff:
    """A naming in force for the patient (R54), or a recorded 404."""
    queryset = ProtectedStaff.objects.filter(ended_at__isnull=True)
    return _patient_object(actor, grant, queryset, naming_id, "not_named")


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


@dataclass(frozen=True)
class ConsentRow:
    """A consent as the patient page lists it; `closable` for the grantee unit only (R40)."""

    pk: int
    grantee_unit: str
    grantee_user: str
    valid_from: dt.date
    valid_until: dt.date
    status: str
    status_display: str
    closable: bool


@dataclass(frozen=True)
class BlockRow:
    """A block the actor's unit owns, as the patient page lists it (R45)."""

    pk: int
    scope: str
    owner_unit: str
    status: str
    status_display: str
    requested_at: dt.date
    closable: bool


@dataclass(frozen=True)
class RevealedBlockRow:
    """A block towards other providers whose provider has been revealed (R48, step 1)."""

    pk: int
    provider: str
    lifted: bool


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
    revealed_blocks: list[RevealedBlockRow] = field(default_factory=list)
    consents: list[ConsentRow] = field(default_factory=list)
    own_blocks: list[BlockRow] = field(default_factory=list)
    cross_provider_basis: str = ""
    admin: bool = False
    # An emergency access in force: the basis a block may be broken on (R49).
    emergency_available: bool = False
    # Whether the actor's unit may register a consent here: on a care relationship only (R39).
    may_register_consent: bool = False


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
        emergency_available=bool(grant.emergency_ref),
        may_register_consent=access.consent_denial(grant) is None,
    )
    if Fields.IDENTITY in fields:
        view.identifier = patient.display_identifier
        view.id_kind = patient.get_id_kind_display()
    if Fields.CONTACT in fields:
        # The address, phone and approved delivery address of a protected patient are for the
        # named staff only (R53); `show_contact` is false for everyone else.
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
        # Consents given to the actor's provider's units (R40), and the blocks the actor's unit
        # owns: a unit under an internal block learns only that something is blocked (R44).
        consents = (
            Consent.objects.filter(access.consents_visible(actor), patient=patient)
            .select_related("grantee_unit", "grantee_user")
            .order_by("-valid_from")[:20]
        )
        view.consents = [
            ConsentRow(
                c.pk,
                c.grantee_unit.name,
                c.grantee_user.display_name if c.grantee_user else "",
                c.valid_from,
                c.valid_until,
                c.status,
                c.get_status_display(),
                c.status == Consent.Status.ACTIVE and access.can_close_consent(actor, c),
            )
            for c in consents
        ]
        blocks = (
            Block.objects.filter(access.blocks_visible(actor), patient=patient)
            .select_related("owner_unit")
            .order_by("-created_at")[:20]
        )
        view.own_blocks = [
            BlockRow(
                b.pk,
                b.get_scope_display(),
                b.owner_unit.name if b.owner_unit else "",
                b.status,
                b.get_status_display(),
                b.requested_at,
                b.status == Block.Status.ACTIVE and access.can_close_block(actor, b),
            )
            for b in blocks
        ]
        view.blocked_elsewhere = view.blocked_elsewhere or any(
            b.owner_provider_id != scope.actor_provider_id and b.pk not in scope.lifted_blocks
            for b in scope.external_blocks
        )
        names = dict(
            CareProvider.objects.filter(pk__in=scope.revealed_providers).values_list("pk", "name")
        )
        view.revealed_blocks = [
            RevealedBlockRow(b.pk, names.get(b.owner_provider_id, ""), b.pk in scope.lifted_blocks)
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


# --- The correction and protection pages ----------------------------------------------------


def _record_page_read(actor: Actor, grant: PatientGrant, page: str, shown: list[str]) -> None:
    record(
        action=Action.PATIENT_READ,
        actor=actor,
        patient_id=grant.patient.pk,
        resource_type="patients.patient",
        resource_id=grant.patient.pk,
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
        owner_provider_id=actor.provider.pk if actor.provider else None,
        detail={"page": page, "fields": shown},
    )


def correction_fields(*, actor: Actor, grant: PatientGrant) -> frozenset[str]:
    """The fields the actor may correct on `grant.patient` (R34), or a recorded 404 when there are
    none (a read-only grant, a role without the administrative fields)."""
    fields = access.correctable_fields(grant)
    if not fields:
        reason = "read_only" if grant.read_only else "role"
        raise _refused(actor, grant.patient.pk, reason, "patients.patient", grant.patient.pk)
    return fields


def correction_form_read(*, actor: Actor, grant: PatientGrant, fields: frozenset[str]) -> None:
    """The correction form shows the current values of `fields`: recorded as a read before it is
    rendered (R57, R61)."""
    _record_page_read(actor, grant, "correct", sorted(fields))


@dataclass(frozen=True)
class NamedStaffRow:
    pk: int
    name: str
    username: str


@dataclass(frozen=True)
class ProtectionView:
    """The protected-identity page (R53, R54): only for a unit manager with a writable grant who,
    for a protected patient, is on its named staff."""

    pk: int
    name: str
    protection: str
    approved_delivery_address: str
    staff: list[NamedStaffRow]


def protection_check(*, actor: Actor, grant: PatientGrant) -> None:
    """Refuse, recorded, with a 404 unless the actor may keep the patient's protection (R54)."""
    denial = access.protection_denial(actor, grant)
    if denial is not None:
        raise _refused(actor, grant.patient.pk, denial.reason, "patients.patient", grant.patient.pk)


def protection_view(*, actor: Actor, grant: PatientGrant) -> ProtectionView:
    """The protection page's data, recorded as a read before it is returned (R57, R61)."""
    protection_check(actor=actor, grant=grant)
    patient = grant.patient
    staff = (
        ProtectedStaff.objects.filter(patient=patient, ended_at__isnull=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )
    view = ProtectionView(
        patient.pk,
        str(patient),
        patient.protection,
        patient.approved_delivery_address,
        [NamedStaffRow(n.pk, n.user.display_name, n.user.username) for n in staff],
    )
    _record_page_read(actor, grant, "protection", ["protection", "named_staff"])
    return view


def emergency_of(*, actor: Actor, emergency_id: int) -> EmergencyAccess:
    found = EmergencyAccess.objects.filter(pk=emergency_id, user=actor.user).first()
    if found is None:
        raise Http404
    return found


def _awaiting_verdict(actor: Actor) -> QuerySet[EmergencyAccess]:
    from lyfta.access.policies import require
    from lyfta.access.roles import Cap

    require(actor, Cap.AUDIT_REVIEW)
    return EmergencyAccess.objects.filter(
        assignment__unit__provider=actor.provider, verdict=""
    ).select_related("user", "assignment__unit")


def emergency_queue(*, actor: Actor) -> list[EmergencyAccess]:
    """Emergency accesses by the reviewer's provider's staff awaiting a verdict (R52), without
    his own: another reviewer judges those (R92)."""
    return list(_awaiting_verdict(actor).exclude(user=actor.user).order_by("started_at"))


def emergency_queue_head(*, actor: Actor, limit: int) -> tuple[list[EmergencyAccess], int]:
    """The first `limit` of `emergency_queue` and how many wait in all, counted up to 100 (the
    start page and the menu)."""
    waiting = _awaiting_verdict(actor).exclude(user=actor.user)
    total = waiting.values("pk")[:100].count()
    return (list(waiting.order_by("started_at", "pk")[:limit]) if total else []), total


def emergency_awaiting(*, actor: Actor, emergency_id: int) -> EmergencyAccess:
    """One emergency access of the reviewer's provider awaiting a verdict, his own included (so
    that the service can refuse and record a verdict on it, R92); else a 404."""
    found = _awaiting_verdict(actor).filter(pk=emergency_id).first()
    if found is None:
        raise Http404
    return found


@dataclass(frozen=True)
class OwnEmergencies:
    """The reviewer's own emergency accesses awaiting a verdict, and who judges them (R92)."""

    count: int
    to: list[User]
    role: str

    @property
    def text(self) -> str:
        waiting = ngettext(
            "Din egen nödåtkomst väntar på bedömning: ingen bedömer sin egen nödåtkomst.",
            "%(count)d av dina egna nödåtkomster väntar på bedömning: ingen bedömer sin egen "
            "nödåtkomst.",
            self.count,
        ) % {"count": self.count}
        return f"{waiting} {access.other_reviewers_text(self.to, self.role)}"


def emergency_own_waiting(*, actor: Actor) -> OwnEmergencies | None:
    """How many of the reviewer's own emergency accesses wait, and for whom (None if none)."""
    count = _awaiting_verdict(actor).filter(user=actor.user).count()
    if not count or actor.provider is None or actor.user is None:
        return None
    to, role = access.other_reviewers(actor.provider.pk, actor.user.pk)
    return OwnEmergencies(count, to, role)


def now_local() -> dt.datetime:
    return timezone.localtime()
