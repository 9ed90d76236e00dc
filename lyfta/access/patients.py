"""Who may see which patient, on what legal ground, and which of the patient's data (R32–R55).

Every patient read starts here:

- `patients_in_scope(actor)`: the patients related to the actor's unit (the default search scope,
  R33), without protected patients the actor is not named for (R55);
- `grant_for(actor, patient, session_ref)`: the legal route to one patient — care relationship,
  documented need, emergency — or None (R32, R50), never for a protected patient unless the actor
  is named staff (R54: not in an emergency either), never for roles without patient access (R9,
  R34), an emergency only for the roles that may open one;
- `data_scope(actor, grant)`: which providers' and units' data about the patient the
  actor may see — their own provider's, others' only with consent on a care relationship, an
  emergency, or open access (R39–R41), and never blocked data without a lift (R44–R49);
- `write_denial(grant)`: whether the grant lets its holder change or add anything about the
  patient (never an emergency access, R50); every write about a patient asks it.

Alongside them, the finer questions the patient pages ask: which of the patient's fields the
actor may correct (R34), which consents and blocks the actor's unit may change (R40, R45), who may
register a consent (R39, R40), who may keep the protected-identity page (R54) and who may open an
emergency access (R50, R54).

Nothing here writes or records; the selectors record what is read (R57, R61)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, Lookup, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.prepared import Prepared
from lyfta.access.roles import ROLE_PATIENT_FIELDS, Cap, Fields, Role
from lyfta.accounts.models import Assignment, User
from lyfta.audit.models import LegalBasis
from lyfta.organisations.models import CareProvider
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


def patients_in_scope(actor: Actor, *, unit_first: bool = False) -> QuerySet[Patient]:
    """Patients with a care relationship in force at the actor's unit (R33); protected patients
    only for their named staff (R55). `unit_first`: the same patients, read starting from the
    unit's relationships (see `UnitFirst`), for a filter whose own index reads the whole country."""
    scope = scope_of(actor)
    if scope is None:
        return Patient.objects.none()
    return patients_in_scope_of(*scope, timezone.localdate(), unit_first=unit_first)


def scope_of(actor: Actor) -> tuple[int, int] | None:
    """The unit and user whose patients `patients_in_scope` gives, or None when it gives none."""
    if actor.unit is None or not can(actor, Cap.PATIENTS_VIEW) or actor.user is None:
        return None
    return actor.unit.pk, actor.user.pk


def in_scope(actor: Actor, field: str = "patient") -> Q:
    """`patients_in_scope` as a filter on rows that name a patient in `field` (a loan's, a
    prescription's): the unit's care relationships as a subquery on the row's own patient id, and
    the protection on the patient the row already joins. `patient__in=patients_in_scope(...)`
    means the same, but PostgreSQL answers it by reading every patient (a million at national
    size: 0.8 s on the prescriber's start page, docs/performance.md)."""
    scope = scope_of(actor)
    if scope is None:
        return Q(pk__in=[])
    unit_id, user_id = scope
    unit_relationships = CareRelationship.objects.filter(
        relationship_active(timezone.localdate()), unit=unit_id
    )
    named = ProtectedStaff.objects.filter(user=user_id, ended_at__isnull=True).values("patient")
    return Q(**{f"{field}_id__in": unit_relationships.values("patient")}) & (
        Q(**{f"{field}__protection": ""}) | Q(**{f"{field}_id__in": named})
    )


class UnitFirst(Lookup[Any]):
    """`lhs IN (subquery)`, but on PostgreSQL `lhs = ANY(ARRAY(subquery))`: the subquery is run
    first, once, and the table read by its primary key for each id it gives. For the name search
    (issue 19): with `IN`, PostgreSQL starts from the names' trigram index and reads every patient
    of the country with the word before keeping the unit's (3,071 Bengtssons at national size;
    a common surname is 2 % of a real country), so the search grew with the country; the unit's
    patients are bounded by the unit. Same rows either way."""

    lookup_name = "unit_first"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} IN {rhs}", [*lhs_params, *rhs_params]


def patients_in_scope_of(
    unit_id: int, user_id: int, today: dt.date, *, unit_first: bool = False
) -> QuerySet[Patient]:
    """`patients_in_scope` from its facts (`scope_of` and the day), for a read compiled once."""
    unit_relationships = CareRelationship.objects.filter(relationship_active(today), unit=unit_id)
    related = unit_relationships.order_by().values("patient")
    patients = Patient.objects.filter(
        UnitFirst(F("pk"), related) if unit_first else Q(pk__in=related)
    )
    named = ProtectedStaff.objects.filter(user=user_id, ended_at__isnull=True).values("patient")
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
    # An emergency access in force for the actor and patient, whatever the basis: it is what
    # lets a unit that already has a relationship break a block in an emergency (R49).
    emergency_ref: str = ""
    # The facts the decision was made from (one query, `access_facts`): `data_scope` reuses them
    # instead of asking again. None for a grant made without them.
    facts: AccessFacts | None = None


@dataclass(frozen=True)
class Denial:
    """Why a patient could not be opened (for the audit log, R38); the user sees a 404."""

    reason: str


@dataclass(frozen=True)
class AccessFacts:
    """Everything the access decision for one actor and one patient depends on, read in ONE
    query (issue 19): named staff, the newest emergency access in force, the oldest care
    relationship of the actor's unit in force, the newest documented need of this session, the
    newest valid consent for the unit (or the actor), and whether any block or block lift could
    apply. `grant_for` and `data_scope` decide from these; the block rows themselves are read only
    when a block or lift exists (rare)."""

    named: bool
    emergency_id: int | None
    emergency_expires_at: dt.datetime | None
    relationship_id: int | None
    need_id: int | None
    consent_id: int | None
    blocks_or_lifts: bool


def _with_facts(
    patients: QuerySet[Patient],
    user_id: int | None,
    unit_id: int | None,
    assignment_id: int | None,
    session_ref: str,
    now: dt.datetime,
    today: dt.date,
) -> QuerySet[Patient]:
    """`patients` with the access decision's facts for one actor as columns (`_FACTS`)."""
    here = OuterRef("pk")
    # An emergency access belongs to the assignment it was opened in (its unit, its role and its
    # provider's reviewers), as a documented need does: another assignment of the same person
    # does not inherit it.
    emergency = EmergencyAccess.objects.filter(
        user=user_id,
        assignment=assignment_id,
        patient=here,
        ended_at__isnull=True,
        expires_at__gt=now,
    ).order_by("-started_at", "-pk")
    relationship = CareRelationship.objects.filter(
        relationship_active(today), unit=unit_id, patient=here
    ).order_by("valid_from", "pk")
    need = DocumentedNeed.objects.filter(
        user=user_id, patient=here, session_ref=session_ref, assignment=assignment_id
    ).order_by("-created_at")
    consent = (
        Consent.objects.filter(
            patient=here,
            status=Consent.Status.ACTIVE,
            grantee_unit=unit_id,
            valid_from__lte=today,
            valid_until__gte=today,
        )
        .filter(Q(grantee_user__isnull=True) | Q(grantee_user=user_id))
        .order_by("-valid_from")
    )
    blocks = Block.objects.filter(patient=here, status=Block.Status.ACTIVE)
    lifts = BlockLift.objects.filter(
        patient=here, unit=unit_id, starts_at__lte=now, ends_at__gt=now
    ).filter(Q(user__isnull=True) | Q(user=user_id))
    named = ProtectedStaff.objects.filter(patient=here, user=user_id, ended_at__isnull=True)
    return patients.annotate(
        f_named=Exists(named),
        f_emergency=Subquery(emergency.values("pk")[:1]),
        f_emergency_expires=Subquery(emergency.values("expires_at")[:1]),
        f_relationship=Subquery(relationship.values("pk")[:1]),
        f_need=Subquery(need.values("pk")[:1]),
        f_consent=Subquery(consent.values("pk")[:1]),
        f_blocks=Exists(blocks) | Exists(lifts),
    )


_FACTS = (
    "f_named",
    "f_emergency",
    "f_emergency_expires",
    "f_relationship",
    "f_need",
    "f_consent",
    "f_blocks",
)
# The patient as `grant_or_404` shows her (with her home municipality), beside the facts.
_PATIENT = tuple(f.attname for f in Patient._meta.concrete_fields)
_MUNICIPALITY = tuple(f.attname for f in CareProvider._meta.concrete_fields)


def _facts_only(patient_id: int, *actor: Any) -> QuerySet[Patient, tuple[Any, ...]]:
    return _with_facts(Patient.objects.filter(pk=patient_id), *actor).values_list(*_FACTS)[:1]


def _patient_and_facts(patient_id: int, *actor: Any) -> QuerySet[Patient, tuple[Any, ...]]:
    patients = Patient.objects.filter(pk=patient_id)
    return _with_facts(patients, *actor).values_list(
        *_PATIENT, *(f"home_municipality__{name}" for name in _MUNICIPALITY), *_FACTS
    )[:1]


def _facts_of_many(patient_ids: list[int], *actor: Any) -> QuerySet[Patient, tuple[Any, ...]]:
    patients = Patient.objects.filter(pk__in=patient_ids)
    return _with_facts(patients, *actor).values_list("pk", *_FACTS)


# Compiled once per connection: building the seven subqueries cost far more than running them.
_FACTS_OF = Prepared(_facts_only)
_FACTS_OF_MANY = Prepared(_facts_of_many)
_PATIENT_AND_FACTS_OF = Prepared(_patient_and_facts)


def _actor_args(actor: Actor, session_ref: str) -> tuple[Any, ...]:
    return (
        actor.user.pk if actor.user else None,
        actor.unit.pk if actor.unit else None,
        actor.assignment.pk if actor.assignment else None,
        session_ref,
        timezone.now(),
        timezone.localdate(),
    )


def _facts(row: tuple[Any, ...]) -> AccessFacts:
    return AccessFacts(
        named=bool(row[0]),
        emergency_id=row[1],
        emergency_expires_at=row[2],
        relationship_id=row[3],
        need_id=row[4],
        consent_id=row[5],
        blocks_or_lifts=bool(row[6]),
    )


# Inside `one_decision_per_patient`: the facts already read, by actor, patient and session.
_DECIDED: ContextVar[dict[tuple[Any, ...], AccessFacts] | None] = ContextVar(
    "lyfta_access_decided", default=None
)


@contextmanager
def one_decision_per_patient() -> Iterator[None]:
    """Within this block each patient's access facts are read once per actor and session: one
    page that names the same patient in several lists (the item card: a loan, its movements, its
    work orders) asks the database once, not once per row. For the building of one answer only:
    nothing in the block may change what the facts are made of (relationships, needs,
    emergencies, consents, blocks, named staff), and the facts are forgotten when it ends."""
    token = _DECIDED.set({})
    try:
        yield
    finally:
        _DECIDED.reset(token)


def decide_together(actor: Actor, patient_ids: set[int], session_ref: str) -> None:
    """Inside `one_decision_per_patient`: read the access facts of all of `patient_ids` for the
    actor in one SELECT (the same columns as `access_facts`, a row per patient), so that the
    decisions that follow for them ask the database nothing. Outside such a block, nothing."""
    decided = _DECIDED.get()
    if decided is None:
        return
    args = _actor_args(actor, session_ref)
    wanted = sorted(pk for pk in patient_ids if (pk, args[0], args[2], session_ref) not in decided)
    for start in range(0, len(wanted), MANY_AT_ONCE):
        chunk = wanted[start : start + MANY_AT_ONCE]
        found = {row[0]: _facts(row[1:]) for row in _FACTS_OF_MANY.rows(chunk, *args)}
        for pk in chunk:
            decided[(pk, args[0], args[2], session_ref)] = found.get(
                pk, AccessFacts(False, None, None, None, None, None, False)
            )


MANY_AT_ONCE = 32  # patients a SELECT of `decide_together` asks about


def access_facts(actor: Actor, patient: Patient, session_ref: str) -> AccessFacts:
    """The facts of the access decision for `actor` and `patient`, as columns of one SELECT."""
    decided = _DECIDED.get()
    args = _actor_args(actor, session_ref)
    key = (patient.pk, args[0], args[2], session_ref)  # patient, user, assignment, session
    if decided is not None and key in decided:
        return decided[key]
    row = _FACTS_OF.first(patient.pk, *args)
    facts = AccessFacts(False, None, None, None, None, None, False) if row is None else _facts(row)
    if decided is not None:
        decided[key] = facts
    return facts


def emergency_denial(actor: Actor, patient: Patient) -> Denial | None:
    """Why the actor may not open an emergency access on `patient`, or None (R50, R54): only the
    roles that give care that must start at once hold the capability, and a protected patient is
    opened to the staff her unit manager has named and to nobody else, in an emergency too (any
    other attempt is denied and goes to targeted review)."""
    if not can(actor, Cap.PATIENTS_EMERGENCY):
        return Denial("capability")
    if patient.is_protected and not is_named_staff(actor, patient):
        return Denial("protected_identity")
    return None


def grant_for(actor: Actor, patient: Patient, session_ref: str) -> PatientGrant | Denial:
    """The legal route for `actor` to open `patient`, or why there is none (one query)."""
    if actor.user is None or actor.assignment is None or not can(actor, Cap.PATIENTS_VIEW):
        return Denial("role")
    fields = ROLE_PATIENT_FIELDS.get(actor.role, frozenset())
    if not fields:
        return Denial("role")
    return _decide(actor, patient, fields, access_facts(actor, patient, session_ref))


def patient_and_grant(
    actor: Actor, patient_id: int, session_ref: str
) -> tuple[Patient | None, PatientGrant | Denial]:
    """The patient with this id (and her home municipality) and `grant_for`'s answer for her,
    read in one query: the patient pages open her this way (None for an id that does not
    exist)."""
    fields = ROLE_PATIENT_FIELDS.get(actor.role, frozenset())
    if actor.user is None or actor.assignment is None or not can(actor, Cap.PATIENTS_VIEW):
        fields = frozenset()
    if not fields:
        patient = Patient.objects.select_related("home_municipality").filter(pk=patient_id).first()
        return patient, Denial("role")
    row = _PATIENT_AND_FACTS_OF.first(patient_id, *_actor_args(actor, session_ref))
    if row is None:
        return None, Denial("missing")
    alias = Patient.objects.db
    patient = Patient.from_db(alias, _PATIENT, row[: len(_PATIENT)])
    town = row[len(_PATIENT) : len(_PATIENT) + len(_MUNICIPALITY)]
    Patient._meta.get_field("home_municipality").set_cached_value(
        patient, None if town[0] is None else CareProvider.from_db(alias, _MUNICIPALITY, town)
    )
    facts = _facts(row[len(_PATIENT) + len(_MUNICIPALITY) :])
    return patient, _decide(actor, patient, fields, facts)


def _decide(
    actor: Actor, patient: Patient, fields: frozenset[str], facts: AccessFacts
) -> PatientGrant | Denial:
    """`grant_for`'s decision from the facts of its one query."""
    if patient.is_protected and not facts.named:
        # A protected patient is opened to her named staff only, whatever relationships, needs
        # or emergency accesses there are (R54): an emergency access opened before this rule, or
        # by a role that may no longer open one, opens nothing either.
        return Denial("protected_identity")
    # An emergency counts only for the roles that may open one (R50): the emergency access of
    # someone whose role has since lost that right is no route.
    emergency_id = facts.emergency_id if can(actor, Cap.PATIENTS_EMERGENCY) else None
    emergency_ref = f"emergency:{emergency_id}" if emergency_id is not None else ""
    show_contact = Fields.CONTACT in fields
    if facts.relationship_id is not None:
        return PatientGrant(
            patient,
            LegalBasis.RELATIONSHIP,
            f"relationship:{facts.relationship_id}",
            False,
            fields,
            show_contact,
            emergency_ref=emergency_ref,
            facts=facts,
        )
    if facts.need_id is not None:
        return PatientGrant(
            patient,
            LegalBasis.NEED,
            f"need:{facts.need_id}",
            False,
            fields,
            show_contact,
            emergency_ref=emergency_ref,
            facts=facts,
        )
    if emergency_id is not None:
        return PatientGrant(
            patient,
            LegalBasis.EMERGENCY,
            emergency_ref,
            True,
            fields,
            show_contact,
            facts.emergency_expires_at,
            emergency_ref,
            facts,
        )
    return Denial("no_relationship")


# The legal bases that give read access only (R50): nothing is changed or added about a patient,
# or about data seen on such a basis, by someone who reached it that way.
READ_ONLY_BASES = frozenset({LegalBasis.EMERGENCY})


def write_denial(grant: PatientGrant) -> Denial | None:
    """Why the grant does not let its holder change or add anything about the patient (an order,
    a pick-up, a fault report, a deviation, a consent, a correction ...), or None. An emergency
    access gives read access only (R50). Every write taken on a grant asks this."""
    if grant.read_only or grant.basis in READ_ONLY_BASES:
        return Denial("read_only")
    return None


def consent_denial(grant: PatientGrant) -> Denial | None:
    """Why the actor's unit may not register a consent to see the patient's data held by other
    providers, or None (R39, R40). Shared documentation rests on a care relationship AND the
    patient's consent: a consent is taken by the unit that cares for the patient, so it needs a
    writable grant on a care relationship. A documented need is a route within the user's own
    provider only (R32), and neither opens other providers' data nor lets the user record the
    consent that would."""
    denial = write_denial(grant)
    if denial is not None:
        return denial
    if grant.basis != LegalBasis.RELATIONSHIP:
        return Denial("no_relationship")
    return None


def reservation_denial(actor: Actor, unit_id: int, patient: Patient) -> Denial | None:
    """Why `patient` may not have a device held for her at unit `unit_id`, or None (issue 16
    point 5). The centre's stock staff reserve without opening the patient, so the rule is the
    search's (R33, R55) applied to the chosen unit: a care relationship in force there, and a
    protected patient only for her named staff. A deceased patient is refused too. The caller
    gives every reason the same answer, so the form is no oracle for existence, protection or
    death, and records the refusal with its reason (R38)."""
    if patient.is_protected and not is_named_staff(actor, patient):
        return Denial("protected_identity")
    if not CareRelationship.objects.filter(
        relationship_active(), unit_id=unit_id, patient=patient
    ).exists():
        return Denial("no_relationship")
    if patient.deceased_date is not None:
        return Denial("deceased")
    return None


# --- What the actor may change ---------------------------------------------------------------

# The category (R34) each correctable patient field belongs to.
CORRECTABLE_FIELDS: dict[str, str] = {
    "first_name": Fields.IDENTITY,
    "last_name": Fields.IDENTITY,
    "deceased_date": Fields.IDENTITY,
    "street": Fields.CONTACT,
    "postal_code": Fields.CONTACT,
    "city": Fields.CONTACT,
    "phone": Fields.CONTACT,
    "home_municipality": Fields.ADMIN,
}
CONTACT_FIELDS = frozenset(n for n, c in CORRECTABLE_FIELDS.items() if c == Fields.CONTACT)


def correctable_fields(grant: PatientGrant) -> frozenset[str]:
    """The patient fields the grant lets its holder correct (R34): none under a read-only grant
    or for a role without the administrative fields; contact fields only where they are shown."""
    if grant.read_only or Fields.ADMIN not in grant.fields:
        return frozenset()
    return frozenset(
        name
        for name, category in CORRECTABLE_FIELDS.items()
        if category in grant.fields and (category != Fields.CONTACT or grant.show_contact)
    )


def consents_visible(actor: Actor) -> Q:
    """The consents of a patient the actor's provider may list: its own units' (R40)."""
    return Q(grantee_unit__provider=actor.provider)


def can_close_consent(actor: Actor, consent: Consent) -> bool:
    """Only the grantee unit ends or cancels a consent given to it (R40)."""
    return actor.unit is not None and consent.grantee_unit_id == actor.unit.pk


def blocks_visible(actor: Actor) -> Q:
    """The blocks the actor may list and change: the provider's blocks towards other providers,
    and the internal blocks of the actor's own unit's data. A unit blocked by an internal block
    sees only that something is blocked, never the block itself (R44, R45)."""
    return Q(scope=Block.Scope.EXTERNAL, owner_provider=actor.provider) | Q(
        scope=Block.Scope.INTERNAL, owner_unit=actor.unit
    )


def can_close_block(actor: Actor, block: Block) -> bool:
    """Only the information-owning provider (for an internal block: the owning unit) lifts or
    cancels a block (R45)."""
    if actor.unit is None or block.owner_provider_id != actor.unit.provider_id:
        return False
    return block.scope == Block.Scope.EXTERNAL or block.owner_unit_id == actor.unit.pk


def protection_denial(actor: Actor, grant: PatientGrant) -> Denial | None:
    """Why the actor may not keep `grant.patient`'s protected identity and named staff (R53,
    R54), or None: a unit manager with a writable grant, named if the patient is protected."""
    if not can(actor, Cap.PROTECTED_STAFF_MANAGE):
        return Denial("capability")
    if grant.read_only:
        return Denial("read_only")
    if grant.patient.is_protected and not is_named_staff(actor, grant.patient):
        return Denial("protected_identity")
    return None


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
        # Consent first; an emergency in force beside a relationship or need is the fallback
        # (R39, R41), so the log names the least exceptional route that applies. A consent counts
        # only beside a care relationship: shared documentation is a care relationship AND the
        # patient's consent (R39); a documented need is a route within the own provider (R32).
        facts = grant.facts
        consent_id: int | None = None
        if grant.basis == LegalBasis.RELATIONSHIP and facts is not None:
            consent_id = facts.consent_id
        elif grant.basis == LegalBasis.RELATIONSHIP:
            consent = valid_consent(actor, patient)
            consent_id = consent.pk if consent is not None else None
        if consent_id is not None:
            basis, ref = LegalBasis.CONSENT, f"consent:{consent_id}"
        elif grant.emergency_ref:
            basis, ref = LegalBasis.EMERGENCY, grant.emergency_ref
    blocks: list[Block] = []
    lifts: list[BlockLift] = []
    # The decision's one query said whether any block or lift could apply; only then are they read.
    if grant.facts is None or grant.facts.blocks_or_lifts:
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


# --- Who is told about an emergency access -----------------------------------------------------

# The provider's log reviewers first (R52); when it has none in force, the next group down, so
# that an emergency access never goes unnoticed: unit managers, user administrators, and last the
# system administrators (who serve every provider).
EMERGENCY_RECIPIENT_ROLES = (Role.LOG_REVIEWER, Role.UNIT_MANAGER, Role.USER_ADMIN)


def emergency_recipients(
    provider_id: int, *, excluding: int | None = None
) -> tuple[list[User], str]:
    """The people to tell about an emergency access by the provider's staff, and their role.
    `excluding` is the user who opened it: he never reviews his own emergency access (R92)."""
    active = Assignment.objects.active().filter(user__is_active=True)
    if excluding is not None:
        active = active.exclude(user_id=excluding)
    for role in EMERGENCY_RECIPIENT_ROLES:
        users = list(
            User.objects.filter(
                assignments__in=active.filter(role=role, unit__provider_id=provider_id)
            ).distinct()
        )
        if users:
            return users, role
    users = list(
        User.objects.filter(assignments__in=active.filter(role=Role.SYSTEM_ADMIN)).distinct()
    )
    return users, Role.SYSTEM_ADMIN if users else ""


def other_reviewers(provider_id: int, user_id: int | None) -> tuple[list[User], str]:
    """Who takes a log reviewer's own events and emergency accesses (R92): the provider's other
    log reviewers in force, else the system administrators (who can appoint one), with the role;
    nobody (and "") when there is neither."""
    active = Assignment.objects.active().filter(user__is_active=True)
    if user_id is not None:
        active = active.exclude(user_id=user_id)
    for role, assignments in (
        (Role.LOG_REVIEWER, active.filter(role=Role.LOG_REVIEWER, unit__provider_id=provider_id)),
        (Role.SYSTEM_ADMIN, active.filter(role=Role.SYSTEM_ADMIN)),
    ):
        users = list(
            User.objects.filter(assignments__in=assignments)
            .distinct()
            .order_by("last_name", "first_name", "pk")
        )
        if users:
            return users, role
    return [], ""


def other_reviewers_text(to: list[User], role: str) -> str:
    """Who takes a reviewer's own events or emergency accesses, in a sentence (R92)."""
    names = ", ".join(user.display_name for user in to)
    if role == Role.LOG_REVIEWER:
        return _("Granskas i stället av %(names)s.") % {"names": names}
    if role == Role.SYSTEM_ADMIN:
        return _(
            "Det finns ingen annan loggranskare hos vårdgivaren: systemadministratören "
            "(%(names)s) behöver utse en."
        ) % {"names": names}
    return _(
        "Det finns ingen annan loggranskare hos vårdgivaren och ingen systemadministratör som "
        "kan utse en."
    )
