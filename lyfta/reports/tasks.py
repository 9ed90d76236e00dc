"""Background work of the statistics (django-tasks, database backend; `manage.py db_worker`
runs it): producing and delivering one scheduled report."""

from __future__ import annotations

from django_tasks import task

from lyfta.audit.context import audit_context


@task()
def deliver_report(subscription_id: int) -> bool:
    """Deliver a due report (lyfta.reports.services.subscriptions.subscription_deliver)."""
    from lyfta.access.actor import Actor
    from lyfta.reports.services.subscriptions import subscription_deliver

    with audit_context(source_system="lyfta-worker", actor=Actor.system("scheduled-reports")):
        return subscription_deliver(subscription_id=subscription_id)
