"""Retention cleanup (gallring) of the audit trail (R73–R74): only events older than the retention
period (five years at least) are deleted, only by this service, and a checkpoint at the boundary
keeps the rest of the chain verifiable.

On PostgreSQL, where the events and seals are partitioned by month (lyfta.audit.partitions), the
cleanup removes whole months: the partitions of every month that ends by the `before` date are
detached and dropped, and a month that `before` falls inside stays whole until a later run. Their
seals need not be the oldest of the chain (an imported old log is sealed after younger events),
so a boundary checkpoint names each stretch of seals that goes, first and last (decision 0023).
SQLite deletes row by row, the oldest seals first, as before."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.audit import daily, partitions
from lyfta.audit.actions import Action
from lyfta.audit.actor import AuditActor
from lyfta.audit.models import (
    AuditCheckpoint,
    AuditEvent,
    AuditPrunePermit,
    AuditSeal,
    AuditShipCursor,
)
from lyfta.audit.sealing import _lock_sealer, write_checkpoint
from lyfta.audit.services import record

LEGAL_MINIMUM_YEARS = 5


@dataclass(frozen=True)
class KeptMonth:
    """The first month before the boundary that cleanup left, with the months after it, and why:
    `unsealed` (an event of it has no seal of its own there: verify_audit says why) or
    `not_shipped` (the log store, R69, lacks some of its seals)."""

    month: str
    reason: str
    events: int = 0
    seals: int = 0
    unsealed: int = 0

    def detail(self) -> dict[str, Any]:
        return {"month": self.month, "reason": self.reason}


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    boundary_seq: int
    # PostgreSQL: the months detached and dropped ("2021-01"), the stretches of seals they held,
    # and the next month before the boundary that stayed, if one did.
    months: tuple[str, ...] = ()
    ranges: tuple[tuple[int, int], ...] = ()
    kept: KeptMonth | None = None
    by_month: bool = False


# How long cleanup waits for the lock that detaching a month takes on the audit tables: every
# request that records an event waits behind it meanwhile, so it gives up soon and is run again.
DETACH_LOCK_TIMEOUT = "5s"


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def earliest_allowed_cutoff(today: dt.date | None = None) -> dt.date:
    """The latest `before` date that cleanup may use today."""
    years = max(LEGAL_MINIMUM_YEARS, settings.LYFTA_AUDIT_RETENTION_YEARS)
    return years_before(today or timezone.localdate(), years)


def audit_prune(*, actor: AuditActor, before: dt.date, chunk: int = 10_000) -> PruneResult:
    """Delete the sealed events that occurred before `before`, oldest first, up to the first event
    that is younger; write the boundary checkpoint and the permit first, and record the run."""
    limit = earliest_allowed_cutoff()
    if before > limit:
        raise ValidationError(
            _("Loggar får gallras först efter %(years)d år: välj ett datum senast %(limit)s.")
            % {
                "years": max(LEGAL_MINIMUM_YEARS, settings.LYFTA_AUDIT_RETENTION_YEARS),
                "limit": limit.isoformat(),
            }
        )
    cutoff = dt.datetime.combine(before, dt.time.min, tzinfo=timezone.get_current_timezone())
    if partitions.is_partitioned():
        try:
            return _prune_months(actor=actor, before=before, cutoff=cutoff)
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            raise ValidationError(
                _("Loggtabellerna var upptagna och ingenting gallrades. Kör gallringen igen.")
            ) from error
    with transaction.atomic():
        _lock_sealer()
        first_young = (
            AuditSeal.objects.filter(event__occurred_at__gte=cutoff)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        head = AuditSeal.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        lowest = AuditSeal.objects.order_by("seq").values_list("seq", flat=True).first() or 1
        boundary = first_young - 1 if first_young is not None else head
        # Events not yet in the separate log store (R69) are kept until they have been shipped.
        if settings.LYFTA_AUDIT_SHIP_URL:
            shipped = (
                AuditShipCursor.objects.filter(destination=settings.LYFTA_AUDIT_SHIP_URL)
                .values_list("last_seq", flat=True)
                .first()
            )
            boundary = min(boundary, shipped or 0)
        deleted = 0
        if boundary >= lowest:
            boundary_seal = AuditSeal.objects.get(seq=boundary)
            max_event_id = (
                AuditSeal.objects.filter(seq__lte=boundary)
                .order_by("-event_id")
                .values_list("event_id", flat=True)
                .first()
            )
            write_checkpoint(
                kind=AuditCheckpoint.Kind.PRUNE_BOUNDARY,
                seal_seq=boundary,
                entry_hash=bytes(boundary_seal.entry_hash),
            )
            AuditPrunePermit.objects.create(
                boundary_seq=boundary,
                max_event_id=max_event_id or 0,
                before=before,
                created_at=timezone.now(),
                created_by=actor.username,
            )
            # The reviewer's chart forgets the pruned events with them (daily.py).
            daily.remove_seals(lowest, boundary)
            while True:
                seqs_and_ids = list(
                    AuditSeal.objects.filter(seq__lte=boundary)
                    .order_by("seq")
                    .values_list("seq", "event_id")[:chunk]
                )
                if not seqs_and_ids:
                    break
                AuditSeal.objects.filter(seq__lte=seqs_and_ids[-1][0]).delete()
                deleted += AuditEvent.objects.filter(id__in=[e for _, e in seqs_and_ids]).delete()[
                    0
                ]
        record(
            action=Action.AUDIT_PRUNED,
            actor=actor,
            detail={"before": before, "boundary_seq": boundary, "deleted": deleted},
        )
    return PruneResult(deleted=deleted, boundary_seq=boundary)


LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class _Contents:
    events: int
    seals: int
    unsealed: int
    max_seq: int
    max_event_id: int


def _contents(month: partitions.Month) -> _Contents:
    """What one month's partitions hold: events, seals, events without their seal, the highest
    seal and event id. Reads both partitions whole (a second or so for a month of a national
    log)."""
    events, seals = month.table(partitions.EVENTS), month.table(partitions.SEALS)
    # Partition names are made by lyfta.audit.partitions from a date, never from input.
    sql = (
        f'SELECT (SELECT count(*) FROM "{events}"), (SELECT count(*) FROM "{seals}"), '  # noqa: S608
        f'(SELECT count(*) FROM "{events}" e WHERE NOT EXISTS (SELECT 1 FROM "{seals}" s '
        "WHERE s.event_id = e.id AND s.occurred_at = e.occurred_at)), "
        f'(SELECT COALESCE(max(seq), 0) FROM "{seals}"), '
        f'(SELECT COALESCE(max(id), 0) FROM "{events}")'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return _Contents(*cursor.fetchone())


def _seal_ranges(start: dt.datetime, end: dt.datetime) -> list[tuple[int, int]]:
    """The stretches of consecutive seals of the events of [start, end), first and last."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(seq), max(seq) FROM (SELECT seq, seq - row_number() OVER (ORDER BY seq) "
            "AS stretch FROM audit_auditseal WHERE occurred_at >= %s AND occurred_at < %s) s "
            "GROUP BY stretch ORDER BY 1",
            [start, end],
        )
        return [(int(lo), int(hi)) for lo, hi in cursor.fetchall()]


def _require_owner() -> None:
    """Detaching and dropping a month is DDL, which PostgreSQL allows only the owner of the
    tables (or a member of the owning role): the application's role owns nothing (R65). Asked
    first, so that a run as the wrong role says so and changes nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, c.relowner::regrole::text FROM pg_class c "
            "WHERE c.oid IN (to_regclass(%s), to_regclass(%s)) "
            "AND NOT pg_has_role(current_user, c.relowner, 'USAGE')",
            list(partitions.TABLES),
        )
        row = cursor.fetchone()
    if row is not None:
        raise ValidationError(
            _(
                "Gallringen tar bort hela månader ur loggtabellerna och måste köras som "
                "tabellernas ägare (%(owner)s), inte som %(user)s. Ingenting gallrades."
            )
            % {"owner": row[1], "user": row[0]}
        )


def _detach_and_drop(months: list[partitions.Month]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [DETACH_LOCK_TIMEOUT])
        for month in months:
            for parent in (partitions.SEALS, partitions.EVENTS):
                table = month.table(parent)
                cursor.execute(f'ALTER TABLE {parent} DETACH PARTITION "{table}"')
                cursor.execute(f'DROP TABLE "{table}"')


def _prune_months(*, actor: AuditActor, before: dt.date, cutoff: dt.datetime) -> PruneResult:
    """Detach and drop the months that end by `cutoff`, oldest first, up to the first that is not
    ready: one with an event that has no seal of its own there (verify_audit says why), or, when
    the log is shipped, one whose seals the log store does not have yet. For each stretch of seals
    that goes, a boundary checkpoint first; the permit, the reviewer's day counts, and the run's
    own audit event in the same transaction."""
    with transaction.atomic():
        _require_owner()
        _lock_sealer()
        shipped: int | None = None
        if settings.LYFTA_AUDIT_SHIP_URL:
            shipped = (
                AuditShipCursor.objects.filter(destination=settings.LYFTA_AUDIT_SHIP_URL)
                .values_list("last_seq", flat=True)
                .first()
            ) or 0
        chosen: list[tuple[partitions.Month, _Contents]] = []
        kept: KeptMonth | None = None
        for month in partitions.months():
            if month.end > cutoff:
                break
            contents = _contents(month)
            if contents.unsealed or contents.events != contents.seals:
                kept = KeptMonth(
                    month.label,
                    "unsealed",
                    events=contents.events,
                    seals=contents.seals,
                    unsealed=contents.unsealed,
                )
                break
            if shipped is not None and contents.max_seq > shipped:
                kept = KeptMonth(month.label, "not_shipped")
                break
            chosen.append((month, contents))
        ranges: list[tuple[int, int]] = []
        if chosen:
            start, end = chosen[0][0].start, chosen[-1][0].end
            ranges = _seal_ranges(start, end)
            for first, last in ranges:
                entry = (
                    AuditSeal.objects.filter(seq=last, occurred_at__gte=start, occurred_at__lt=end)
                    .values_list("entry_hash", flat=True)
                    .get()
                )
                write_checkpoint(
                    kind=AuditCheckpoint.Kind.PRUNE_BOUNDARY,
                    seal_seq=last,
                    entry_hash=bytes(entry),
                    from_seq=first,
                )
            AuditPrunePermit.objects.create(
                boundary_seq=max((last for _, last in ranges), default=0),
                max_event_id=max(contents.max_event_id for _, contents in chosen),
                before=before,
                created_at=timezone.now(),
                created_by=actor.username,
            )
            # The reviewer's chart forgets the pruned events with them (daily.py).
            daily.remove_period(start, end)
            _detach_and_drop([month for month, _ in chosen])
        result = PruneResult(
            deleted=sum(contents.events for _, contents in chosen),
            boundary_seq=max((last for _, last in ranges), default=0),
            months=tuple(month.label for month, _ in chosen),
            ranges=tuple(ranges),
            kept=kept,
            by_month=True,
        )
        record(
            action=Action.AUDIT_PRUNED,
            actor=actor,
            detail={
                "before": before,
                "boundary_seq": result.boundary_seq,
                "deleted": result.deleted,
                "months": list(result.months),
                "ranges": [list(r) for r in result.ranges],
                **({"kept": kept.detail()} if kept else {}),
            },
        )
    return result
