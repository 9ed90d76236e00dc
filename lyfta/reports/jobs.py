"""The statistics' scheduled jobs (lyfta.core.scheduler): the nightly refresh of the summary
tables, and the daily queueing of due reports for the background worker."""

from __future__ import annotations

from lyfta.access.actor import Actor


def refresh(*, actor: Actor) -> None:
    from lyfta.reports.services.refresh import statistics_refresh

    statistics_refresh(actor=actor)


def reports_due(*, actor: Actor) -> None:
    from lyfta.reports.services.subscriptions import subscriptions_due

    subscriptions_due(actor=actor)
