"""Reads of users and assignments."""

from __future__ import annotations

from django.db.models import QuerySet

from lyfta.accounts.models import Assignment, User


def assignments_available(*, user: User) -> QuerySet[Assignment]:
    """The user's assignments in force today, for the choice after sign-in."""
    return (
        Assignment.objects.active()
        .filter(user=user)
        .select_related("unit__provider")
        .order_by("unit__provider__name", "unit__name", "role")
    )
