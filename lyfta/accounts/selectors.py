"""Reads of accounts, assignments, sessions and agreement acceptances."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, Prefetch, Q, QuerySet

from lyfta.access import users as access_users
from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.accounts import agreement
from lyfta.accounts.models import (
    AgreementAcceptance,
    Assignment,
    RecertificationDecision,
    User,
    UserSession,
)
from lyfta.organisations.models import Unit


def assignments_available(*, user: User) -> QuerySet[Assignment]:
    """The user's assignments in force today, for the choice after sign-in."""
    return (
        Assignment.objects.active()
        .filter(user=user)
        .select_related("unit__provider")
        .order_by("unit__provider__name", "unit__name", "role")
    )


def agreement_acceptance(*, user: User) -> AgreementAcceptance | None:
    return AgreementAcceptance.objects.filter(
        user=user, digest=agreement.agreement_digest()
    ).first()


def open_sessions(*, user: User) -> QuerySet[UserSession]:
    return UserSession.objects.filter(user=user, ended_at__isnull=True).order_by("-created_at")


def users_list(*, actor: Actor, query: str = "") -> QuerySet[User]:
    """Accounts the user administrator may see (their provider's), optionally searched."""
    require(actor, Cap.USERS_MANAGE)
    users = access_users.users_visible_to(actor)
    if query:
        users = users.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(title__icontains=query)
        )
    return users.order_by("last_name", "first_name")


def user_detail(*, actor: Actor, user_id: int) -> User:
    require(actor, Cap.USERS_MANAGE)
    return access_users.user_for(actor, user_id)


def assignments_of(*, actor: Actor, user: User) -> QuerySet[Assignment]:
    return user.assignments.select_related("unit__provider", "decided_by").order_by(
        "-valid_until", "unit__name"
    )


@dataclass(frozen=True)
class RecertificationRow:
    assignment: Assignment
    last_decision: RecertificationDecision | None


def recertification_units(*, actor: Actor) -> QuerySet[Unit]:
    require(actor, Cap.RECERTIFY)
    return access_users.units_recertifiable_by(actor).order_by("name")


def recertification_report(*, actor: Actor, unit: Unit) -> list[RecertificationRow]:
    """Every assignment in force at `unit`, with its last use, end date and the latest recorded
    decision (R6)."""
    require(actor, Cap.RECERTIFY)
    if not access_users.units_recertifiable_by(actor).filter(pk=unit.pk).exists():
        from django.http import Http404

        raise Http404
    assignments = (
        Assignment.objects.filter(unit=unit, ended_at__isnull=True)
        .select_related("user")
        .prefetch_related(
            Prefetch(
                "recertifications",
                queryset=RecertificationDecision.objects.select_related("decided_by").order_by(
                    "-decided_at"
                ),
            )
        )
        .annotate(last_decided=Max("recertifications__decided_at"))
        .order_by("user__last_name", "role")
    )
    return [
        RecertificationRow(assignment=a, last_decision=next(iter(a.recertifications.all()), None))
        for a in assignments
    ]
