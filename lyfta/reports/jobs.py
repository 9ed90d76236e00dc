"""The statistics' scheduled jobs (lyfta.core.scheduler): the nightly refresh of the summary
tables, and the daily queueing of due reports for the background worker."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.core.scheduler import Job
from lyfta.reports.models import Subscription
from lyfta.reports.tasks import deliver_report


def scheduled() -> list[Job]:
    return [
        # The summary tables rebuilt (the month under way and the one before), and due scheduled
        # reports queued for the background worker.
        Job("statistics_refresh", 24 * 3600, "lyfta.reports.jobs:refresh"),
        Job("reports_due", 3600, "lyfta.reports.jobs:reports_due"),
    ]


def refresh(*, actor: Actor) -> None:
    from lyfta.reports.services.refresh import statistics_refresh

    statistics_refresh(actor=actor)


def subscriptions_due(*, actor: Actor, today: dt.date | None = None) -> int:
    """Put every due report on the background worker's queue (the task delivers it and sets
    the next day); how many."""
    del actor  # the scheduler's; the worker delivers as the scheduled-reports system actor
    today = today or timezone.localdate()
    due = list(
        Subscription.objects.filter(ended_at__isnull=True, next_on__lte=today).values_list(
            "pk", flat=True
        )
    )
    for pk in due:
        deliver_report.enqueue(pk)
    return len(due)


def reports_due(*, actor: Actor) -> None:
    subscriptions_due(actor=actor)
