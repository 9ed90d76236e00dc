"""Reports over the audit trail for a provider's log reviewers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.audit.services import record
from lyfta.organisations.models import CareProvider

CROSS_ACTIONS = (Action.PATIENT_CROSS_PROVIDER_READ,)


@dataclass(frozen=True)
class CrossProviderRow:
    other_provider: str
    count: int


@dataclass(frozen=True)
class CrossProviderReport:
    provider: str
    since: dt.date
    into_ours: list[CrossProviderRow]  # other providers' users reading our data
    ours_out: list[CrossProviderRow]  # our users reading other providers' data
    recent_into_ours: list[AuditEvent]


def cross_provider_report(*, actor: Actor, days: int = 30) -> CrossProviderReport:
    """Accesses to the reviewer's provider's data by other providers' users, and its own users'
    accesses to other providers' data (R43), for the last `days` days; the read is recorded."""
    require(actor, Cap.CROSS_PROVIDER_REPORT)
    provider = actor.provider
    if provider is None:
        raise PermissionError("a report belongs to a provider")
    since = timezone.now() - dt.timedelta(days=max(1, min(days, 3650)))
    base = AuditEvent.objects.filter(action__in=CROSS_ACTIONS, occurred_at__gte=since)
    into = base.filter(owner_provider_id=provider.pk).exclude(actor_provider_id=provider.pk)
    out = base.filter(actor_provider_id=provider.pk).exclude(
        Q(owner_provider_id=provider.pk) | Q(owner_provider_id__isnull=True)
    )
    names = dict(CareProvider.objects.values_list("pk", "name"))

    def rows(query: object, key: str) -> list[CrossProviderRow]:
        grouped = query.values(key).annotate(n=Count("id")).order_by("-n")  # type: ignore[attr-defined]
        return [CrossProviderRow(names.get(row[key], "?"), row["n"]) for row in grouped]

    report = CrossProviderReport(
        provider=provider.name,
        since=since.date(),
        into_ours=rows(into, "actor_provider_id"),
        ours_out=rows(out, "owner_provider_id"),
        recent_into_ours=list(into.order_by("-id")[:50]),
    )
    record(
        action=Action.AUDIT_CROSS_PROVIDER_REPORT,
        actor=actor,
        detail={"days": days, "into": len(report.recent_into_ours)},
    )
    return report
