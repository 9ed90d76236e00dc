"""Accesses per day, kept as the log is sealed: what the log reviewer's chart draws (issue 19).

The chart on the search page shows, for the reviewer's provider (or one of its units) and a
period, the accesses to patient data per day and how many of them a targeted check flags. Counting
them from the audit table on every page view read the provider's whole log (seconds at regional
size, growing with the log). Instead `AuditDayCount` holds one row per (day in Europe/Stockholm,
provider, unit) with the counts, added to in the same transaction that seals a batch of events
(`add_seals`, called by the sealer and by the scale generator's own sealing) and taken away in the
transaction that prunes them (`remove_seals`). The page then reads at most one row per day.

Who counts an event: every provider it concerns, as `review.scope` reads the log — the provider
of the user who made it (`actor_provider_id`) and the provider whose data it touched
(`owner_provider_id`); an event between two providers counts for both, once for each. A provider's
row for unit 0 (`ALL_UNITS`) is the whole provider; a row for a unit holds the events its users
made (`actor_unit_id`), as the unit filter of the search reads them.

What is flagged: the union of four targeted checks (need or no relationship, emergency, access
between providers, protected identity). All but one depend on the event alone and are summarised
here (`INTRINSIC`). "Protected identity" also flags every access to a patient who has protected
identity *now*: that changes when a protection is registered or lifted, after the events were
sealed, so it cannot be summarised once and for all. `review.accesses_per_day` adds those events
at read time from the index of the protected patients' own entries in the period (a short list:
few patients have protected identity), never from the whole log.

Only sealed events are counted (sealing runs every few seconds): an event that is not yet in the
chain is not yet in the chart. `rebuild` recounts everything (migration 0005 runs it for existing
installations; `manage.py audit_daycounts --rebuild` after a restore)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, models
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from lyfta.audit.actions import Action
from lyfta.audit.models import EMERGENCY, NEED_OR_NO_RELATIONSHIP

# Events that are an access to patient data: what checks are about (a patient log extract lists
# every event that names the patient, see `review.extract_rows`).
ACCESS_ACTIONS = (
    Action.PATIENT_READ,
    Action.PATIENT_LISTED,
    Action.PATIENT_CROSS_PROVIDER_READ,
    Action.PATIENT_SEARCH_OUTSIDE,
    Action.PATIENT_ACCESS_DENIED,
    Action.NEED_DOCUMENTED,
    Action.EMERGENCY_STARTED,
    Action.PATIENT_CORRECTED,
    Action.PATIENT_CREATED,
    Action.RELATIONSHIP_CREATED,
    Action.CONSENT_REGISTERED,
    Action.BLOCK_REGISTERED,
    Action.BLOCK_TEMPORARILY_LIFTED,
    Action.BLOCK_PROVIDERS_REVEALED,
)

# The flags that an event carries in itself: the targeted checks "need", "emergency",
# "cross_provider" and the part of "protected" that the event records (a refusal because of
# protected identity). Kept equal to those checks in review.TARGETED (a test compares them).
PROTECTED_IDENTITY_REFUSAL = Q(detail__reason="protected_identity")
INTRINSIC = (
    NEED_OR_NO_RELATIONSHIP
    | EMERGENCY
    | Q(action=Action.PATIENT_CROSS_PROVIDER_READ)
    | PROTECTED_IDENTITY_REFUSAL
)

ALL_UNITS = 0

Key = tuple[dt.date, int, int]  # (day, provider, unit or ALL_UNITS)


def local_zone() -> ZoneInfo:
    """The days of the chart are Swedish days (TIME_ZONE, Europe/Stockholm)."""
    return ZoneInfo(settings.TIME_ZONE)


def _counts(events: models.QuerySet[Any]) -> dict[Key, list[int]]:
    """Accesses and intrinsically flagged accesses of `events`, per (day, provider, unit)."""
    grouped = (
        events.filter(action__in=ACCESS_ACTIONS)
        .annotate(day=TruncDate("occurred_at", tzinfo=local_zone()))
        .values("day", "actor_provider_id", "owner_provider_id", "actor_unit_id")
        .annotate(n=Count("id"), flagged=Count("id", filter=INTRINSIC))
        .order_by()
    )
    counts: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for row in grouped:
        providers = {row["actor_provider_id"], row["owner_provider_id"]} - {None}
        for provider in providers:
            units = [ALL_UNITS]
            if row["actor_unit_id"] is not None:
                units.append(row["actor_unit_id"])
            for unit in units:
                entry = counts[(row["day"], provider, unit)]
                entry[0] += row["n"]
                entry[1] += row["flagged"]
    return counts


def _apply(counts: dict[Key, list[int]], sign: int, *, table: str, using: str = "default") -> None:
    """Add (sign 1) or take away (sign -1) `counts` in the summary table, one upsert a key
    (PostgreSQL and SQLite both know INSERT … ON CONFLICT)."""
    if not counts:
        return
    connection = connections[using]
    sql = (
        f"INSERT INTO {table} (day, provider_id, unit_id, accesses, flagged) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (provider_id, unit_id, day) DO UPDATE SET "
        f"accesses = {table}.accesses + excluded.accesses, "
        f"flagged = {table}.flagged + excluded.flagged"
    )
    rows = [
        (day, provider, unit, sign * n, sign * flagged)
        for (day, provider, unit), (n, flagged) in sorted(counts.items())
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
        if sign < 0:
            cursor.execute(f"DELETE FROM {table} WHERE accesses = 0 AND flagged = 0")  # noqa: S608


def _models(event_model: Any = None, summary_model: Any = None) -> tuple[Any, Any]:
    if event_model is None or summary_model is None:
        from lyfta.audit.models import AuditDayCount, AuditEvent

        return event_model or AuditEvent, summary_model or AuditDayCount
    return event_model, summary_model


def add_seals(
    seq_from: int, seq_to: int, *, sign: int = 1, between: tuple[Any, Any] | None = None
) -> None:
    """Count the events of seals `seq_from`..`seq_to` (a batch just sealed, in its transaction).
    `between`: the earliest and latest time of those events, when the caller knows them; they
    keep the read to the months that hold them (the audit tables are partitioned by month on
    PostgreSQL), and are looked up otherwise."""
    from lyfta.audit.models import AuditSeal

    event_model, summary_model = _models()
    if between is None:
        bounds = AuditSeal.objects.filter(seq__gte=seq_from, seq__lte=seq_to).aggregate(
            first=models.Min("occurred_at"), last=models.Max("occurred_at")
        )
        if bounds["first"] is None:
            return
        between = (bounds["first"], bounds["last"])
    events = event_model.objects.filter(
        seal__seq__gte=seq_from,
        seal__seq__lte=seq_to,
        occurred_at__gte=between[0],
        occurred_at__lte=between[1],
    )
    _apply(_counts(events), sign, table=summary_model._meta.db_table)


def remove_seals(seq_from: int, seq_to: int) -> None:
    """Take the events of seals `seq_from`..`seq_to` out (retention cleanup, before it deletes)."""
    add_seals(seq_from, seq_to, sign=-1)


def remove_period(start: dt.datetime, end: dt.datetime) -> None:
    """Take out the events of [start, end) (retention cleanup of whole months, before it drops
    them; every event there is sealed, which the cleanup has checked)."""
    event_model, summary_model = _models()
    events = event_model.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    _apply(_counts(events), -1, table=summary_model._meta.db_table)


def rebuild(event_model: Any = None, summary_model: Any = None, using: str = "default") -> int:
    """Recount the summary from every sealed event (one pass over the log). Run under the sealer's
    lock, so that no batch is sealed meanwhile. Returns the number of summary rows."""
    event_model, summary_model = _models(event_model, summary_model)
    counts = _counts(event_model.objects.using(using).filter(seal__isnull=False))
    summary_model.objects.using(using).all().delete()
    _apply(counts, 1, table=summary_model._meta.db_table, using=using)
    return len(counts)
