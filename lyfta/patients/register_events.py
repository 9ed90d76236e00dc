"""Population-register events (folkbokföringshändelser, issue 18 point 4): a death, a change of
address, protected identity set or lifted, as the population register (Skatteverket's Navet,
through the region's integration) reports them. `register_events_apply` takes a list of events
in the JSON form of docs/operations.md ("Folkbokföringshändelser"); the management command
`import_register_events` and the API call it, as the system actor "population-register".

Each event is applied in a transaction of its own, with its audit event, or not at all:

- An event is known by its id (`RegisterEvent`): one applied once is never applied again, so a
  feed sent twice changes nothing the second time (recorded as repeated).
- An event about a person who is not a patient is kept as unmatched (no personnummer stored), never
  an error; if it comes again once the person is a patient, it is applied.
- A malformed event (not an object, no id, an unknown kind, a bad number or date, a missing
  field, an unknown municipality code) is rejected with an error code and a Swedish message;
  nothing of it is written but the audit event, and the events after it are applied.
- An address or protection event older than one already applied for the patient is superseded:
  kept, not applied (the feed's order is not trusted).

What each kind does:

- death: the deceased date is set (no new devices go to the patient from then on), the pick-up of
  every device is proposed to the units that lent them and their staff are told
  (`orders.services.pickups_propose_after_death`); nothing is registered, stopped or cancelled.
- move: the address, and with a municipality code the home municipality; where the patient's
  housing is registered for billing, a new housing row in the new municipality from the day of
  the move, so that the payer derived per day follows (`billing.services.reference.housing_move`).
- protection_set / protection_lifted: the flag changes at once (the access layer reads it on
  every request). A newly protected patient's unit managers (of the units with a care
  relationship in force) are named staff, so that someone can still care for her and name the
  others (R54), and they are told."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.patients import CONTACT_FIELDS, relationship_active
from lyfta.access.roles import Cap
from lyfta.access.users import units_users_with
from lyfta.accounts.models import User
from lyfta.audit.actions import Action
from lyfta.audit.services import diff, record, snapshot
from lyfta.billing.services.reference import housing_move
from lyfta.core.text import control_characters
from lyfta.messages.models import Message
from lyfta.messages.services import messages_send
from lyfta.orders.services import pickups_propose_after_death
from lyfta.organisations.models import CareProvider
from lyfta.patients import identifiers
from lyfta.patients.models import (
    CareRelationship,
    Patient,
    PatientCorrection,
    ProtectedStaff,
    RegisterEvent,
)
from lyfta.patients.services import MASKED

# The system actor the command (and the API's feed) acts as.
SYSTEM_NAME = "population-register"
EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
POSTAL_CODE = re.compile(r"^[0-9]{3} ?[0-9]{2}$")
MUNICIPALITY_CODE = re.compile(r"^[0-9]{4}$")
NAVET_CODE = re.compile(r"^[0-9]{5}$")
# A move or a protection may be registered ahead of the day it takes effect; a death never.
AHEAD = dt.timedelta(days=366)
# How the register's protections are named in the events (the values of Patient.Protection).
PROTECTIONS = frozenset(
    {Patient.Protection.CONFIDENTIALITY, Patient.Protection.PROTECTED_REGISTRATION}
)
LENGTHS = {"street": 200, "city": 100, "forwarding_address": 300}


class Outcome:
    """What became of one event (`EventResult.outcome`)."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"  # the patient's data already said so
    SUPERSEDED = "superseded"  # a later event of the same sort was already applied
    REPEATED = "repeated"  # this event id was already applied
    UNMATCHED = "unmatched"  # no patient with that number
    REJECTED = "rejected"  # malformed: nothing written


@dataclass(frozen=True)
class EventResult:
    """One event's outcome. `error` is a stable code and `message` a Swedish explanation, both
    empty unless the event was rejected."""

    index: int
    event_id: str
    kind: str
    outcome: str
    error: str = ""
    message: str = ""


@dataclass(frozen=True)
class Result:
    """The outcome of every event given, in the order given."""

    events: list[EventResult]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(event.outcome for event in self.events))

    @property
    def rejected(self) -> list[EventResult]:
        return [event for event in self.events if event.outcome == Outcome.REJECTED]


class Rejected(Exception):
    """A malformed event: `code` for machines, `message` in Swedish for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


class _Repeated(Exception):
    """Another import applied the same event id while this one was applying it."""


@dataclass(frozen=True)
class _Event:
    event_id: str
    kind: str
    identifier: str
    day: dt.date
    street: str = ""
    postal_code: str = ""
    city: str = ""
    municipality: CareProvider | None = None
    protection: str = ""
    source: str = ""
    forwarding_address: str = ""


# --- Reading an event -------------------------------------------------------------------------


def _text(raw: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise Rejected(
                f"missing_{name}", _("Fältet %(field)s saknas eller är tomt.") % {"field": name}
            )
        return ""
    if not isinstance(value, str):
        raise Rejected(f"bad_{name}", _("Fältet %(field)s ska vara text.") % {"field": name})
    value = value.strip()
    if control_characters(value):
        raise Rejected(
            f"bad_{name}", _("Fältet %(field)s innehåller styrtecken.") % {"field": name}
        )
    if required and not value:
        raise Rejected(
            f"missing_{name}", _("Fältet %(field)s saknas eller är tomt.") % {"field": name}
        )
    limit = LENGTHS.get(name)
    if limit is not None and len(value) > limit:
        raise Rejected(
            f"bad_{name}",
            _("Fältet %(field)s är för långt (högst %(max)d tecken).")
            % {"field": name, "max": limit},
        )
    return value


def _event_id(raw: object) -> str:
    """The event's id if it has a well-formed one, else "" (for the rejection's record)."""
    if not isinstance(raw, Mapping):
        return ""
    value = raw.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and EVENT_ID.match(value) else ""


def _kind(raw: object) -> str:
    if not isinstance(raw, Mapping):
        return ""
    value = raw.get("kind")
    return value if isinstance(value, str) and value in RegisterEvent.Kind.values else ""


def _parse(raw: object, today: dt.date) -> _Event:
    """The event `raw` checked and read, or `Rejected` with the first thing wrong with it."""
    if not isinstance(raw, Mapping):
        raise Rejected("not_an_object", _("Händelsen är inte ett JSON-objekt."))
    event_id = _event_id(raw)
    if not event_id:
        raise Rejected(
            "bad_id",
            _(
                "Händelsen saknar id, eller id:t är inte 1–100 tecken av bokstäverna A–Z, "
                "siffror och . _ : / -."
            ),
        )
    kind = _kind(raw)
    if not kind:
        raise Rejected(
            "unknown_kind",
            _("Okänt slag av händelse. Tillåtna: %(kinds)s.")
            % {"kinds": ", ".join(RegisterEvent.Kind.values)},
        )
    number = raw.get("identifier")
    if not isinstance(number, str):
        raise Rejected("bad_identifier", _("Fältet identifier ska vara ett personnummer som text."))
    try:
        parsed = identifiers.parse(number, today=today)
    except ValidationError as error:
        raise Rejected(
            "bad_identifier",
            _("Personnumret går inte att läsa: %(reason)s") % {"reason": " ".join(error.messages)},
        ) from error
    day = _date(raw.get("date"))
    if day < parsed.birth_date:
        raise Rejected("bad_date", _("Datumet ligger före personens födelsedatum."))
    if day > today + (dt.timedelta(0) if kind == RegisterEvent.Kind.DEATH else AHEAD):
        raise Rejected("bad_date", _("Datumet ligger för långt fram i tiden."))
    event = _Event(event_id=event_id, kind=kind, identifier=parsed.value, day=day)
    if kind == RegisterEvent.Kind.MOVE:
        return _parse_move(raw, event)
    if kind == RegisterEvent.Kind.PROTECTION_SET:
        return _parse_protection(raw, event)
    return event


def _date(value: object) -> dt.date:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise Rejected("bad_date", _("Fältet date ska vara ett datum skrivet ÅÅÅÅ-MM-DD."))
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise Rejected("bad_date", _("Datumet %(date)s finns inte.") % {"date": value}) from error


def _parse_move(raw: Mapping[str, Any], event: _Event) -> _Event:
    street = _text(raw, "street")
    postal_code = _text(raw, "postal_code")
    if not POSTAL_CODE.match(postal_code):
        raise Rejected("bad_postal_code", _("Postnumret ska ha fem siffror, till exempel 652 25."))
    city = _text(raw, "city")
    code = _text(raw, "municipality_code", required=False)
    municipality = None
    if code:
        if not MUNICIPALITY_CODE.match(code):
            raise Rejected("bad_municipality_code", _("Kommunkoden ska ha fyra siffror."))
        municipality = CareProvider.objects.filter(
            municipality_code=code, kind=CareProvider.Kind.MUNICIPALITY
        ).first()
        if municipality is None:
            raise Rejected(
                "unknown_municipality",
                _("Kommunkoden %(code)s hör inte till någon kommun i Lyfta.") % {"code": code},
            )
    return _Event(
        event_id=event.event_id,
        kind=event.kind,
        identifier=event.identifier,
        day=event.day,
        street=street,
        postal_code=postal_code,
        city=city,
        municipality=municipality,
    )


def _parse_protection(raw: Mapping[str, Any], event: _Event) -> _Event:
    protection = raw.get("protection")
    if protection not in PROTECTIONS:
        raise Rejected(
            "bad_protection",
            _("Fältet protection ska vara %(values)s.")
            % {"values": " eller ".join(sorted(PROTECTIONS))},
        )
    code = _text(raw, "code", required=False)
    if code and not NAVET_CODE.match(code):
        raise Rejected("bad_code", _("Fältet code ska vara Navets kod med fem siffror."))
    return _Event(
        event_id=event.event_id,
        kind=event.kind,
        identifier=event.identifier,
        day=event.day,
        protection=str(protection),
        source=f"navet-{code}" if code else "folkbokforing",
        forwarding_address=_text(raw, "forwarding_address", required=False),
    )


# --- Applying it ------------------------------------------------------------------------------


def register_events_apply(*, actor: Actor, events: Sequence[object]) -> Result:
    """Apply population-register events (see the module's docstring), each in a transaction of
    its own with its audit event; a malformed one is rejected and the rest still applied. Only
    a system actor applies them: a person corrects a patient through `patient_correct`."""
    if not actor.is_system:
        raise PermissionDenied("population-register events are applied by a system actor")
    today = timezone.localdate()
    return Result([_apply_one(actor, index, raw, today) for index, raw in enumerate(events)])


def _apply_one(actor: Actor, index: int, raw: object, today: dt.date) -> EventResult:
    try:
        event = _parse(raw, today)
        with transaction.atomic():
            outcome = _apply(actor, event)
    except Rejected as error:
        return _reject(actor, index, raw, error.code, error.message)
    except ValidationError as error:
        # A rule of a service the event runs into (a housing row it cannot add, say).
        return _reject(actor, index, raw, "refused", " ".join(error.messages))
    except _Repeated:
        with transaction.atomic():
            _repeated(actor, event, None)
        outcome = Outcome.REPEATED
    return EventResult(index, event.event_id, event.kind, outcome)


def _reject(actor: Actor, index: int, raw: object, code: str, message: str) -> EventResult:
    event_id, kind = _event_id(raw), _kind(raw)
    # The event itself is not copied into the log: it may hold a number and an address.
    record(
        action=Action.REGISTER_EVENT_REJECTED,
        actor=actor,
        resource_type="register_event",
        resource_id=event_id,
        detail={"index": index, "event": event_id, "kind": kind, "error": code},
    )
    return EventResult(index, event_id, kind, Outcome.REJECTED, code, message)


def _repeated(actor: Actor, event: _Event, known: RegisterEvent | None) -> None:
    record(
        action=Action.REGISTER_EVENT_REPEATED,
        actor=actor,
        resource_type="register_event",
        resource_id=event.event_id,
        patient_id=known.patient_id if known else None,
        detail={
            "event": event.event_id,
            "kind": event.kind,
            "first_outcome": known.status if known else "",
        },
    )


def _apply(actor: Actor, event: _Event) -> str:
    now = timezone.now()
    known = RegisterEvent.objects.select_for_update().filter(event_id=event.event_id).first()
    if known is not None and known.status != RegisterEvent.Status.UNMATCHED:
        _repeated(actor, event, known)
        return Outcome.REPEATED
    patient = Patient.objects.select_for_update().filter(identifier=event.identifier).first()
    if patient is None:
        if known is not None:
            RegisterEvent.objects.filter(pk=known.pk).update(
                handled_at=now, attempts=known.attempts + 1
            )
        else:
            _keep(event, None, RegisterEvent.Status.UNMATCHED, now, actor)
        record(
            action=Action.REGISTER_EVENT_UNMATCHED,
            actor=actor,
            resource_type="register_event",
            resource_id=event.event_id,
            detail={"event": event.event_id, "kind": event.kind},
        )
        return Outcome.UNMATCHED
    apply = {
        RegisterEvent.Kind.DEATH: _death,
        RegisterEvent.Kind.MOVE: _move,
        RegisterEvent.Kind.PROTECTION_SET: _protection,
        RegisterEvent.Kind.PROTECTION_LIFTED: _protection,
    }[RegisterEvent.Kind(event.kind)]
    outcome, changes, detail = apply(actor, patient, event)
    status = {
        Outcome.APPLIED: RegisterEvent.Status.APPLIED,
        Outcome.UNCHANGED: RegisterEvent.Status.UNCHANGED,
        Outcome.SUPERSEDED: RegisterEvent.Status.SUPERSEDED,
    }[outcome]
    if known is not None:
        RegisterEvent.objects.filter(pk=known.pk).update(
            kind=event.kind,
            event_date=event.day,
            patient=patient,
            status=status,
            handled_at=now,
            attempts=known.attempts + 1,
        )
    else:
        _keep(event, patient, status, now, actor)
    record(
        action=Action.REGISTER_EVENT_APPLIED,
        actor=actor,
        target=patient,
        patient_id=patient.pk,
        changes=changes,
        detail={"event": event.event_id, "kind": event.kind, "outcome": outcome, **detail},
    )
    return outcome


def _keep(
    event: _Event, patient: Patient | None, status: str, now: dt.datetime, actor: Actor
) -> None:
    """Store the event as handled; another import that stored it first wins (`_Repeated`, and
    this event's transaction is rolled back)."""
    try:
        with transaction.atomic():
            RegisterEvent.objects.create(
                event_id=event.event_id,
                kind=event.kind,
                event_date=event.day,
                patient=patient,
                status=status,
                source=actor.username[:150],
                received_at=now,
                handled_at=now,
            )
    except IntegrityError as error:
        raise _Repeated from error


def _superseded(patient: Patient, event: _Event, kinds: Sequence[str]) -> bool:
    """Whether an event of `kinds` dated after this one is already in effect for the patient."""
    return RegisterEvent.objects.filter(
        patient=patient,
        kind__in=kinds,
        status__in=[RegisterEvent.Status.APPLIED, RegisterEvent.Status.UNCHANGED],
        event_date__gt=event.day,
    ).exists()


def _keep_history(patient: Patient, changes: Mapping[str, list[Any]], reason: str) -> None:
    """The earlier values, as a correction by hand keeps them (`patient_correct`)."""
    now = timezone.now()
    PatientCorrection.objects.bulk_create(
        [
            PatientCorrection(
                patient=patient,
                field=name,
                old_value=str(old if old is not None else ""),
                new_value=str(new if new is not None else ""),
                reason=reason[:200],
                changed_by=None,
                changed_at=now,
            )
            for name, (old, new) in changes.items()
        ]
    )


Applied = tuple[str, dict[str, list[Any]], dict[str, Any]]


def _death(actor: Actor, patient: Patient, event: _Event) -> Applied:
    before = patient.deceased_date
    if before == event.day:
        return Outcome.UNCHANGED, {}, {}
    patient.deceased_date = event.day
    patient.save(update_fields=["deceased_date", "updated_at"])
    changes = {"deceased_date": [before, event.day]}
    _keep_history(patient, changes, _("Folkbokföringen: dödsfall"))
    if before is not None:
        # A corrected date of death: the units were told when the first one came.
        return Outcome.APPLIED, changes, {"corrected": True}
    proposals = pickups_propose_after_death(actor=actor, patient=patient)
    return Outcome.APPLIED, changes, {"proposed_to_units": [p.unit_id for p in proposals]}


MOVE_FIELDS = ("street", "postal_code", "city", "home_municipality")


def _move(actor: Actor, patient: Patient, event: _Event) -> Applied:
    if _superseded(patient, event, [RegisterEvent.Kind.MOVE]):
        return Outcome.SUPERSEDED, {}, {}
    before = snapshot(patient, MOVE_FIELDS)
    patient.street = event.street
    patient.postal_code = event.postal_code
    patient.city = event.city
    if event.municipality is not None:
        patient.home_municipality = event.municipality
    # Only what the event changes is checked: an old flaw elsewhere must not stop a move.
    patient.clean_fields(
        exclude=[f.name for f in Patient._meta.fields if f.name not in MOVE_FIELDS]
    )
    changes = diff(before, snapshot(patient, MOVE_FIELDS))
    detail: dict[str, Any] = {}
    if changes:
        patient.save(update_fields=[*changes, "updated_at"])
        _keep_history(patient, changes, _("Folkbokföringen: adressändring"))
    if event.municipality is not None:
        moved = housing_move(
            actor=actor,
            patient_id=patient.pk,
            municipality=event.municipality,
            valid_from=event.day,
        )
        if moved is not None:
            detail["housing"] = moved.housing.pk
            if moved.locked_months:
                detail["locked_months"] = [month.isoformat() for month in moved.locked_months]
    if not changes and "housing" not in detail:
        return Outcome.UNCHANGED, {}, {}
    if patient.is_protected:
        # A protected patient's address never reaches the log (R53).
        changes = {
            name: [MASKED, MASKED] if name in CONTACT_FIELDS else values
            for name, values in changes.items()
        }
    return Outcome.APPLIED, changes, detail


PROTECTION_FIELDS = ("protection", "protection_source", "approved_delivery_address")


def _protection(actor: Actor, patient: Patient, event: _Event) -> Applied:
    kinds = [RegisterEvent.Kind.PROTECTION_SET, RegisterEvent.Kind.PROTECTION_LIFTED]
    if _superseded(patient, event, kinds):
        return Outcome.SUPERSEDED, {}, {}
    newly = not patient.is_protected
    if not event.protection and patient.is_protected and not _from_register(patient):
        # A protection set by hand is not lifted by the register: it may stand for a reason the
        # register does not know (a decision pending at Skatteverket). Its managers are told.
        return Outcome.UNCHANGED, {}, {"manual_protection_kept": _tell_manual_kept(patient)}
    before = snapshot(patient, PROTECTION_FIELDS)
    patient.protection = event.protection
    if event.protection:
        patient.protection_source = event.source
        if event.forwarding_address:
            patient.approved_delivery_address = event.forwarding_address
    else:
        # Lifted: the forwarding address was the protection's; an order goes to the address.
        patient.protection_source = ""
        patient.approved_delivery_address = ""
    changed = diff(before, snapshot(patient, PROTECTION_FIELDS))
    if not changed or (not event.protection and "protection" not in changed):
        return Outcome.UNCHANGED, {}, {}
    patient.save(update_fields=[*PROTECTION_FIELDS, "updated_at"])
    # The forwarding address is not copied into the log: a protected address must not leak there.
    changes = {k: v for k, v in changed.items() if k != "approved_delivery_address"}
    detail: dict[str, Any] = {"delivery_address_changed": "approved_delivery_address" in changed}
    if event.protection and newly:
        detail.update(_name_unit_managers(actor, patient))
    return Outcome.APPLIED, changes, detail


def _from_register(patient: Patient) -> bool:
    """Whether the patient's protection came from the population register (not set by hand)."""
    source = patient.protection_source
    return source == "folkbokforing" or source.startswith("navet")


def _relationship_units(patient: Patient) -> list[int]:
    return sorted(
        set(
            CareRelationship.objects.filter(relationship_active(), patient=patient).values_list(
                "unit_id", flat=True
            )
        )
    )


def _tell_manual_kept(patient: Patient) -> list[int]:
    """Tell the named unit managers that the register lifted a protection set here by hand,
    which stays until one of them lifts it; the ids of those told."""
    managers = units_users_with(_relationship_units(patient), Cap.PROTECTED_STAFF_MANAGE)
    named = set(
        ProtectedStaff.objects.filter(patient=patient, ended_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    told = sorted({u for users in managers.values() for u in users} & named)
    messages_send(
        recipients=User.objects.filter(pk__in=told),
        kind=Message.Kind.NOTICE,
        subject=_("Skyddade personuppgifter upphörda i folkbokföringen"),
        body=_(
            "Enligt folkbokföringen har en patient inte längre skyddade personuppgifter. Skyddet "
            "registrerades för hand i Lyfta och ligger kvar tills du tar bort det."
        ),
        link=reverse("patients:protection", args=[patient.pk]),
    )
    return told


def _name_unit_managers(actor: Actor, patient: Patient) -> dict[str, Any]:
    """Name the unit managers of the units with a care relationship in force as the newly
    protected patient's staff, and tell them: from now on only named staff see her (R54), and
    naming the others is theirs to do. Without this nobody could open her but in an emergency,
    and nobody could name anyone."""
    unit_ids = _relationship_units(patient)
    managers = units_users_with(unit_ids, Cap.PROTECTED_STAFF_MANAGE)
    named: list[int] = []
    for user_id in sorted({u for users in managers.values() for u in users}):
        try:
            with transaction.atomic():
                naming, created = ProtectedStaff.objects.get_or_create(
                    patient=patient,
                    user_id=user_id,
                    ended_at=None,
                    defaults={"named_by_id": user_id},
                )
        except IntegrityError:
            # Named a moment ago by a manager at the page: named all the same.
            created = False
        named.append(user_id)
        if created:
            record(
                action=Action.PROTECTED_STAFF_NAMED,
                actor=actor,
                target=naming,
                patient_id=patient.pk,
                changes={"user": [None, user_id]},
                detail={"by": SYSTEM_NAME},
            )
    if named:
        messages_send(
            recipients=User.objects.filter(pk__in=named),
            kind=Message.Kind.NOTICE,
            subject=_("Skyddade personuppgifter: namnge personal"),
            body=_(
                "Enligt folkbokföringen har en patient som er enhet har vårdrelation med fått "
                "skyddade personuppgifter. Patienten visas nu bara för namngiven personal. Du "
                "är namngiven som enhetschef: namnge de medarbetare som behöver se patienten."
            ),
            link=reverse("patients:protection", args=[patient.pk]),
        )
    return {
        "named": named,
        "units_without_manager": [u for u in unit_ids if not managers.get(u)],
    }
