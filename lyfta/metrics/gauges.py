"""What the database says at scrape time: the audit trail's sealing lag and how far ahead its
monthly partitions go (PostgreSQL), the background tasks waiting, and the failed sign-ins of the
last hour. Each is one or two indexed queries (or catalogue reads). Every web
server's scrape reads the same database, so these agree across servers (aggregate them with max,
not sum)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Min
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lyfta.audit import partitions
from lyfta.audit.models import SIGN_IN_FAILED, AuditCheckpoint, AuditEvent, AuditSeal

logger = logging.getLogger(__name__)

SIGN_IN_WINDOW = dt.timedelta(hours=1)
# A failure's reason is a code the sign-in views write; anything else is shown as "other".
_REASON = re.compile(r"^[a-z0-9_]{1,40}$")


@contextmanager
def reading(what: str) -> Iterator[None]:
    """A database that does not answer leaves its series without samples, not the scrape
    without the request series."""
    try:
        yield
    except DatabaseError:
        logger.exception("metrics: %s could not be read", what)


def age(now: dt.datetime, then: dt.datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def audit(now: dt.datetime) -> list[Metric]:
    """Events recorded after the newest sealed one, the oldest of them, and the newest checkpoint
    of the chain head. An event committed late below the sealed head (sealed by the next run,
    which looks back) is not counted: the series is the sealer's lag, not a verification."""
    unsealed = GaugeMetricFamily(
        "lyfta_audit_unsealed_events",
        "Audit events recorded after the newest sealed event, not yet in the hash chain.",
    )
    oldest = GaugeMetricFamily(
        "lyfta_audit_unsealed_oldest_age_seconds",
        "Age of the oldest audit event not yet sealed (0 when none waits).",
    )
    checkpoint = GaugeMetricFamily(
        "lyfta_audit_seal_age_seconds",
        "Age of the newest checkpoint of the sealed chain head (written within "
        "LYFTA_AUDIT_CHECKPOINT_INTERVAL of the head moving, and hourly in any case); no sample "
        "before the first checkpoint.",
    )
    with reading("the audit trail"):
        floor = AuditSeal.objects.aggregate(top=Max("event_id"))["top"] or 0
        waiting = AuditEvent.objects.filter(id__gt=floor).aggregate(
            count=Count("id"), oldest=Min("occurred_at")
        )
        unsealed.add_metric([], waiting["count"])
        oldest.add_metric([], age(now, waiting["oldest"]))
        newest = (
            AuditCheckpoint.objects.order_by("-id").values_list("created_at", flat=True).first()
        )
        if newest is not None:
            checkpoint.add_metric([], age(now, newest))
    return [unsealed, oldest, checkpoint]


def audit_partitions(now: dt.datetime) -> list[Metric]:
    """PostgreSQL: how long audit events can still be written before they reach a month without
    its partitions, which the database refuses, and with them every operation that records one
    (R61, decision 0023). The scheduler keeps three months ahead; no sample on SQLite."""
    ahead = GaugeMetricFamily(
        "lyfta_audit_partitions_ahead_seconds",
        "PostgreSQL: seconds until the first moment whose audit events have no monthly "
        "partition (audit writes, and the operations that record them, fail from then on); 0 "
        "when the current month has none. No sample on SQLite.",
    )
    with reading("the audit partitions"):
        until = partitions.writable_until(now)
        if until is not None:
            ahead.add_metric([], age(until, now))
    return [ahead]


def tasks(now: dt.datetime) -> list[Metric]:
    """Background tasks ready to run and not yet taken by a worker, per queue (django-tasks-db's
    table, through its partial index of ready tasks)."""
    waiting = GaugeMetricFamily(
        "lyfta_tasks_waiting",
        "Background tasks ready to run that no worker has taken yet, by queue.",
        labels=["queue"],
    )
    oldest = GaugeMetricFamily(
        "lyfta_tasks_waiting_oldest_age_seconds",
        "How long the oldest waiting background task has waited, by queue (0 when none waits).",
        labels=["queue"],
    )
    with reading("the background tasks"):
        queues: dict[str, tuple[int, float]] = {
            name: (0, 0.0) for backend in settings.TASKS.values() for name in backend["QUEUES"]
        }
        rows = (
            DBTaskResult.objects.ready()
            .values("queue_name")
            .annotate(count=Count("id"), oldest=Min("enqueued_at"))
            .order_by()
        )
        for row in rows:
            queues[row["queue_name"]] = (row["count"], age(now, row["oldest"]))
        for name, (count, waited) in sorted(queues.items()):
            waiting.add_metric([name], count)
            oldest.add_metric([name], waited)
    return [waiting, oldest]


def sign_ins(now: dt.datetime) -> list[Metric]:
    """Failed sign-ins of the last hour from the audit trail (R22): wrong passwords and unknown
    users, refusals while locked out, failed second factors and re-authentications, SITHS
    identities that match no account — whichever web server or process saw them. Through the
    partial index of just those events (audit_signin_failed_time)."""
    total = GaugeMetricFamily(
        "lyfta_signin_failures_last_hour",
        "Failed sign-ins, second factors and re-authentications recorded in the last hour.",
    )
    by_reason = GaugeMetricFamily(
        "lyfta_signin_failures_by_reason_last_hour",
        "Failed sign-ins of the last hour by audit action and reason code.",
        labels=["action", "reason"],
    )
    with reading("the failed sign-ins"):
        counts: dict[tuple[str, str], int] = {}
        rows = (
            AuditEvent.objects.filter(SIGN_IN_FAILED, occurred_at__gte=now - SIGN_IN_WINDOW)
            .values("action", reason=KeyTextTransform("reason", "detail"))
            .annotate(count=Count("id"))
            .order_by()
        )
        for row in rows:
            reason = row["reason"] or ""
            key = (row["action"], reason if not reason or _REASON.match(reason) else "other")
            counts[key] = counts.get(key, 0) + row["count"]
        total.add_metric([], sum(counts.values()))
        for (action, reason), count in sorted(counts.items()):
            by_reason.add_metric([action, reason], count)
    return [total, by_reason]


class DatabaseGauges(Collector):
    """Read anew at every scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from audit(now)
        yield from audit_partitions(now)
        yield from tasks(now)
        yield from sign_ins(now)
