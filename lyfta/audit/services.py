"""Recording audit events. Every service calls `record` in the same transaction as its change; a
read of patient data calls it before the data is returned, so that a failure to record fails the
read (R61). Never through signals: those go silent outside a request."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from lyfta.audit import context
from lyfta.audit.actor import AuditActor
from lyfta.audit.models import AuditEvent, Outcome

P = ParamSpec("P")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value: object, limit: int) -> str:
    """A log-safe string: control characters (newlines included) replaced, so that no input can
    forge a line in any text rendering of the log (R71), and cut to the column's length."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value))[:limit]


def plain(value: Any) -> Any:
    """A JSON-safe, database-neutral form of a value for `changes` and `detail`: text for
    decimals, dates and anything else that JSON would not keep exactly on both databases."""
    if value is None or isinstance(value, bool | int | str):
        return clean_text(value, 2000) if isinstance(value, str) else value
    if isinstance(value, float | decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return clean_text(value, 2000)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of `fields` of `instance` (foreign keys as ids)."""
    result: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = plain(getattr(instance, attname))
    return result


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs, as {field: [before, after]} (R8: old value, new value)."""
    names = list(dict.fromkeys([*before, *after]))
    return {
        name: [before.get(name), after.get(name)]
        for name in names
        if before.get(name) != after.get(name)
    }


def record_many(entries: list[dict[str, Any]]) -> list[AuditEvent]:
    """Write several events with one INSERT per hundred: a list page that shows many patients
    records one event per patient without a statement per row (each entry: `event_for`'s
    arguments)."""
    events = [event_for(**entry) for entry in entries]
    for start in range(0, len(events), 100):
        _insert_many(events[start : start + 100])
    return events


def event_for(
    *,
    action: str,
    actor: AuditActor | None = None,
    outcome: str = Outcome.GRANTED,
    purpose: str | None = None,
    target: models.Model | None = None,
    resource_type: str = "",
    resource_id: object = "",
    patient_id: int | None = None,
    owner_provider_id: int | None = None,
    owner_unit_id: int | None = None,
    legal_basis: str = "",
    legal_basis_ref: str = "",
    changes: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """The audit event to write (not yet written).

    `actor` defaults to the one acting in the current request or command. `target` names the
    resource; `changes` maps field → [before, after]; `detail` holds non-sensitive parameters
    (a reason code, search parameters: never search results or free clinical text, R60).
    `username` is the attempted username of a failed sign-in (R22)."""
    ctx = context.current()
    actor = actor if actor is not None else ctx.actor
    user = actor.user if actor else None
    assignment = actor.assignment if actor else None
    unit = assignment.unit if assignment else None
    provider = unit.provider if unit else None
    if target is not None:
        resource_type = resource_type or target._meta.label_lower
        resource_id = resource_id or target.pk
    if purpose is None:
        purpose = actor.purpose if actor else ""
    return AuditEvent(
        occurred_at=timezone.now(),
        action=action,
        outcome=outcome,
        purpose=purpose,
        actor_id=user.pk if user else None,
        actor_username=clean_text(user.username if user else (username or _system(actor)), 150),
        actor_name=clean_text(user.display_name if user else "", 200),
        actor_title=clean_text(user.title if user else "", 100),
        actor_role=assignment.role if assignment else "",
        assignment_id=assignment.pk if assignment else None,
        actor_provider_id=provider.pk if provider else None,
        actor_provider_orgno=provider.organisation_number if provider else "",
        actor_unit_id=unit.pk if unit else None,
        actor_unit_name=clean_text(unit.name if unit else "", 200),
        patient_id=patient_id,
        owner_provider_id=owner_provider_id,
        owner_unit_id=owner_unit_id,
        resource_type=clean_text(resource_type, 64),
        resource_id=clean_text(resource_id if resource_id is not None else "", 64),
        legal_basis=legal_basis,
        legal_basis_ref=clean_text(legal_basis_ref, 64),
        source_system=clean_text(ctx.source_system or settings.LYFTA_SOURCE_SYSTEM, 32),
        client_address=clean_text(ctx.client_address, 45),
        session_hash=ctx.session_hash,
        request_id=clean_text(ctx.request_id, 64),
        changes=plain(dict(changes)) if changes else {},
        detail=plain(dict(detail)) if detail else {},
    )


_INSERT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if f.name != "id"]
# Built from the model's own column names, never from input.
_INSERT_SQL = (
    f"INSERT INTO {AuditEvent._meta.db_table} "  # noqa: S608
    f"({', '.join(f.column for f in _INSERT_FIELDS)}) "
    f"VALUES ({', '.join(['%s'] * len(_INSERT_FIELDS))}) RETURNING id"
)


# How each column's value is prepared for the INSERT: text and integers here, by what their
# fields would do to the values `event_for` gives (str, int, None); anything else (the time, the
# JSON, a value of another type) by its field.
_TEXT, _INTEGER, _FIELD = 0, 1, 2


def _kind(field: models.Field[Any, Any]) -> int:
    if isinstance(field, models.CharField | models.TextField):
        return _TEXT
    if isinstance(field, models.IntegerField):
        return _INTEGER
    return _FIELD


_PREPARE = [(f, f.attname, _kind(f), f.get_internal_type()) for f in _INSERT_FIELDS]


def insert_params(event: AuditEvent, conn: Any) -> list[Any]:
    """The INSERT's parameters for `event`: what `Field.get_db_prep_save` gives, without its
    chain of calls per value for text and integers (a third of a record's Python time; equal
    values, `test_insert_params_equal_the_fields_own`)."""
    ops = conn.ops
    params: list[Any] = []
    for field, attname, kind, internal in _PREPARE:
        value = getattr(event, attname)
        if kind == _TEXT and (value is None or isinstance(value, str)):
            params.append(value)
        elif kind == _INTEGER and value is None:
            params.append(None)
        elif kind == _INTEGER and type(value) is int:
            params.append(ops.adapt_integerfield_value(value, internal))
        else:
            params.append(field.get_db_prep_save(value, conn))
    return params


def _insert(event: AuditEvent) -> None:
    """One prepared INSERT instead of the ORM's save(): the audit record rides on every write
    and every patient read, so its own cost must stay far below a millisecond."""
    params = insert_params(event, connection)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
        row = cursor.fetchone()
    event.pk = row[0]
    event._state.adding = False
    event._state.db = connection.alias


def _writes(build: Callable[P, AuditEvent]) -> Callable[P, AuditEvent]:
    def write(*args: P.args, **kwargs: P.kwargs) -> AuditEvent:
        event = build(*args, **kwargs)
        _insert(event)
        if event.outcome == Outcome.DENIED:
            # The request's refusal is on record: the denial middleware adds no second one.
            request = context.current().request
            if request is not None:
                request._lyfta_denial_recorded = True  # type: ignore[attr-defined]
        return event

    write.__doc__ = "Write one audit event now, in the caller's transaction, and return it.\n\n" + (
        build.__doc__ or ""
    )
    return write


# `record(...)` takes `event_for`'s arguments (checked by mypy) and writes the event.
record = _writes(event_for)


def _insert_many(events: list[AuditEvent]) -> None:
    if not events:
        return
    row = f"({', '.join(['%s'] * len(_INSERT_FIELDS))})"
    # Built from the model's own column names and a count, never from input.
    sql = (
        f"INSERT INTO {AuditEvent._meta.db_table} "  # noqa: S608
        f"({', '.join(f.column for f in _INSERT_FIELDS)}) "
        f"VALUES {', '.join([row] * len(events))} RETURNING id"
    )
    params = [value for event in events for value in insert_params(event, connection)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = sorted(r[0] for r in cursor.fetchall())
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding = False
        event._state.db = connection.alias


def _system(actor: AuditActor | None) -> str:
    return actor.username if actor is not None else ""


def audit_settings_in_force() -> dict[str, Any]:
    """The audit configuration that decides what protects the trail (keys are never included)."""
    ship = settings.LYFTA_AUDIT_SHIP_URL
    return {
        "checkpoint_file": bool(settings.LYFTA_AUDIT_CHECKPOINT_FILE),
        "ship_to": ship.split("://", 1)[0] if ship else "",
        "seal_interval": settings.LYFTA_AUDIT_SEAL_INTERVAL,
        "checkpoint_interval": settings.LYFTA_AUDIT_CHECKPOINT_INTERVAL,
        "seal_grace": settings.LYFTA_AUDIT_SEAL_GRACE,
        "retention_years": settings.LYFTA_AUDIT_RETENTION_YEARS,
        "retired_keys": len(settings.LYFTA_AUDIT_RETIRED_KEYS),
    }


def audit_settings_recorded(*, actor: AuditActor) -> AuditEvent | None:
    """Record the audit settings when they differ from the last recorded ones (R62): run when
    the scheduler starts, so that turning off shipping or the checkpoint file leaves a trace."""
    from lyfta.audit.actions import Action

    now = audit_settings_in_force()
    last = (
        AuditEvent.objects.filter(action=Action.AUDIT_SETTINGS_CHANGED)
        .order_by("-id")
        .values_list("detail", flat=True)
        .first()
    )
    before = (last or {}).get("settings", {})
    if before == plain(now):
        return None
    return record(
        action=Action.AUDIT_SETTINGS_CHANGED,
        actor=actor,
        changes=diff(before, plain(now)),
        detail={"settings": now},
    )
