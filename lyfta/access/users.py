"""Who may administer which accounts and assignments (R9): a user administrator works within
their own care provider, and nobody grants, extends or widens their own rights."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap, Role
from lyfta.accounts.models import Assignment, User
from lyfta.organisations.models import Unit

# System administration is handed out only at the assistive-device centre's units (which belong
# to the region), never at a ward, a health centre or a municipality.
NOT_GRANTABLE_BY_USER_ADMIN = frozenset({Role.SYSTEM_ADMIN})


def users_visible_to(actor: Actor) -> QuerySet[User]:
    """Accounts of the administrator's provider, and everyone with an assignment at one of its
    units (a municipal nurse may also work for a region unit)."""
    if actor.is_system:
        return User.objects.all()
    provider = actor.provider
    if provider is None or not can(actor, Cap.USERS_MANAGE):
        return User.objects.none()
    return User.objects.filter(
        Q(provider=provider) | Q(assignments__unit__provider=provider)
    ).distinct()


def user_for(actor: Actor, user_id: int) -> User:
    """The account, or the same 404 whether it is missing or outside the administrator's scope."""
    user = users_visible_to(actor).filter(pk=user_id).first()
    if user is None:
        from lyfta.audit.actions import Action
        from lyfta.audit.models import Outcome
        from lyfta.audit.services import record

        record(
            action=Action.ACCESS_DENIED,
            actor=actor,
            outcome=Outcome.DENIED,
            resource_type="accounts.user",
            resource_id=user_id,
            detail={"reason": "missing_or_outside_scope"},
        )
        raise Http404
    return user


def units_assignable_by(actor: Actor) -> QuerySet[Unit]:
    if actor.is_system:
        return Unit.objects.filter(active=True)
    if actor.provider is None or not can(actor, Cap.USERS_MANAGE):
        return Unit.objects.none()
    return Unit.objects.filter(provider=actor.provider, active=True)


def assignments_manageable_by(actor: Actor) -> QuerySet[Assignment]:
    return Assignment.objects.filter(unit__in=units_assignable_by(actor))


def can_manage_account(actor: Actor, user: User) -> bool:
    """Deactivate, unlock, reset: the account must belong to the administrator's provider (or be
    one without a provider that only holds assignments there) and never be the actor's own."""
    if actor.user is not None and actor.user.pk == user.pk:
        return False
    if actor.is_system:
        return True
    if actor.provider is None or not can(actor, Cap.USERS_MANAGE):
        return False
    return user.provider_id == actor.provider.pk or (
        user.provider_id is None and user.assignments.filter(unit__provider=actor.provider).exists()
    )


def units_recertifiable_by(actor: Actor) -> QuerySet[Unit]:
    """A user administrator follows up every unit of the provider; a unit manager their own."""
    if can(actor, Cap.USERS_MANAGE):
        return units_assignable_by(actor)
    if can(actor, Cap.RECERTIFY) and actor.unit is not None:
        return Unit.objects.filter(pk=actor.unit.pk)
    return Unit.objects.none()


def can_recertify(actor: Actor, assignment: Assignment) -> bool:
    if actor.user is not None and assignment.user_id == actor.user.pk:
        return False
    return units_recertifiable_by(actor).filter(pk=assignment.unit_id).exists()


def can_grant(actor: Actor, user: User, unit: Unit, role: str) -> bool:
    """Deciding an assignment: at one of the administrator's own units, never to oneself (R9)."""
    if actor.user is not None and actor.user.pk == user.pk:
        return False
    if actor.is_system:
        return True
    if role in NOT_GRANTABLE_BY_USER_ADMIN and not unit.is_centre:
        return False
    return units_assignable_by(actor).filter(pk=unit.pk).exists()
