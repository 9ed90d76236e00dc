"""Retention cleanup (gallring) of the audit trail (R73–R74): only events older than the retention
period (five years at least) are deleted, only by this service, and a checkpoint at the boundary
keeps the rest of the chain verifiable."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.audit import daily
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
class PruneResult:
    deleted: int
    boundary_seq: int


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
