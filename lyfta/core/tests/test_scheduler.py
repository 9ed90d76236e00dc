"""The scheduler's jobs come from the apps (issue 19 point 4: core names no domain app): each
app's `jobs.scheduled()`, in the order of INSTALLED_APPS, so the audit trail is sealed before it
is shipped, and every job resolves to a function."""

from __future__ import annotations

from lyfta.core.scheduler import jobs, resolve


def test_every_apps_jobs_are_scheduled_with_sealing_first() -> None:
    names = [job.name for job in jobs()]
    assert names[:3] == ["seal_audit", "seal_audit_full", "ship_audit"]
    assert sorted(names) == sorted(
        [
            "seal_audit",
            "seal_audit_full",
            "ship_audit",
            "add_audit_partitions",
            "suspend_dormant_accounts",
            "end_expired_emergency_access",
            "escalate_overdue_emergency_reviews",
            "inspections_due",
            "work_orders_overdue",
            "reservations_expire",
            "statistics_refresh",
            "reports_due",
        ]
    )
    assert all(callable(resolve(job.target)) for job in jobs())
