"""Background work of the economy desk (django-tasks, database backend; `manage.py db_worker`
runs it): computing a month's billing run with its progress on the run's row."""

from __future__ import annotations

from django_tasks import task

from lyfta.audit.context import audit_context


@task()
def compute_billing_run(run_id: int) -> None:
    """Compute the run's month into its lines (lyfta.billing.services.run.compute_run)."""
    from lyfta.access.actor import Actor
    from lyfta.billing.services.run import compute_run

    with audit_context(source_system="lyfta-worker", actor=Actor.system("billing-run")):
        compute_run(run_id)
