"""Who may administer which accounts and assignments (R9): a user administrator works within
their own care provider, and nobody grants, extends or widens their own rights."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import PRIVILEGED_ROLES, ROLE_CAPABILITIES, Cap, Role
from lyfta.accounts.models import ApiScope, Assignment, PrivilegeRequest, User
from lyfta.organisations.models import Unit

# System administration is handed out only at the assistive-device centre's units (which belong
# to the region), never at a ward, a health centre or a municipality.
NOT_GRANTABLE_BY_USER_ADMIN = frozenset({Role.SYSTEM_ADMIN})


def users_visible_to(actor: Actor) -> QuerySet[User]:
    """Accounts of the administrator's provider, and everyone with an assignment at one of its
    units (a municipal nurse may also work for a region unit). Never a machine client's service
    account: the system administrator keeps those (issue 18), so no one-time code or new
    assignment can give one a way in through the pages."""
    if actor.is_system:
        return User.objects.filter(is_service=False)
    provider = actor.provider
    if provider is None or not can(actor, Cap.USERS_MANAGE):
        return User.objects.none()
    return (
        User.objects.filter(Q(provider=provider) | Q(assignments__unit__provider=provider))
        .filter(is_service=False)
        .distinct()
    )


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


# --- Separation of duties (R91) and no self-review (R92) ------------------------------------------


def is_privileged_role(role: str) -> bool:
    """Whether granting or ending `role` needs a second person's approval (R91)."""
    return role in PRIVILEGED_ROLES


def holds_privileged_role(user: User) -> bool:
    """Whether the account holds a privileged assignment that is not ended and not past its end
    (a future or dormant one counts too: a reset now would open it later)."""
    return Assignment.objects.filter(
        user=user,
        role__in=PRIVILEGED_ROLES,
        ended_at__isnull=True,
        valid_until__gte=timezone.localdate(),
    ).exists()


def needs_approval(actor: Actor) -> bool:
    """A person's privileged change needs a second person; a management command or job (trusted
    code, e.g. the demo seed) acts alone."""
    return not actor.is_system


def privilege_requests_visible_to(actor: Actor) -> QuerySet[PrivilegeRequest]:
    """Requests the actor made, and those about accounts in their scope: all of them for a system
    administrator, their provider's for a user administrator (with new API clients at its
    units)."""
    if actor.user is None:
        return PrivilegeRequest.objects.all()
    own = Q(requested_by=actor.user)
    if not can(actor, Cap.PRIVILEGE_APPROVE):
        return PrivilegeRequest.objects.filter(own)
    if not can(actor, Cap.USERS_MANAGE):
        return PrivilegeRequest.objects.all()
    clients = Q(kind=PrivilegeRequest.Kind.API_CLIENT, unit__in=units_assignable_by(actor))
    return PrivilegeRequest.objects.filter(own | Q(subject__in=users_visible_to(actor)) | clients)


def privilege_refusal(actor: Actor, request: PrivilegeRequest) -> str | None:
    """Why `actor` may not approve or reject `request`, or None if they may (R91): nobody decides
    his own request, one about himself or one that widens his own rights, and a user
    administrator decides only within his own provider."""
    if actor.user is None:
        return "not_a_person"
    if not can(actor, Cap.PRIVILEGE_APPROVE):
        return "not_an_approver"
    if request.requested_by_id == actor.user.pk:
        return "own_request"
    if request.subject_id is not None and request.subject_id == actor.user.pk:
        # Every request that could widen the approver's own rights is about his own account
        # (one account per person, R1): a grant to him, or a reset whose code he would see.
        return "about_self"
    if not can(actor, Cap.USERS_MANAGE):
        return None  # a system administrator approves across providers
    if request.kind == PrivilegeRequest.Kind.API_CLIENT:
        # A user administrator approves a client only at a unit of his own provider: the one
        # whose patients it will read.
        unit = request.unit
        mine = unit is not None and units_assignable_by(actor).filter(pk=unit.pk).exists()
        return None if mine else "outside_scope"
    subject = request.subject
    if subject is None:
        return "outside_scope"
    if request.kind == PrivilegeRequest.Kind.GRANT and request.unit is not None:
        return None if can_grant(actor, subject, request.unit, request.role) else "outside_scope"
    if request.kind == PrivilegeRequest.Kind.END and request.assignment is not None:
        target = request.assignment
        return None if can_grant(actor, subject, target.unit, target.role) else "outside_scope"
    return None if can_manage_account(actor, subject) else "outside_scope"


# Roles with access to patients: holding one of them and log review at the same provider means
# reviewing one's own care work (R92).
CARE_ROLES: frozenset[str] = frozenset(
    role for role, caps in ROLE_CAPABILITIES.items() if Cap.PATIENTS_VIEW in caps
)

# The only scopes that reach no patient data: the assortment and the billing runs' totals (R34).
# Every other scope reads or changes patients, their devices and orders, or (the
# population-register feed) any patient at all.
API_SCOPES_WITHOUT_PATIENTS: frozenset[str] = frozenset(
    {ApiScope.CATALOGUE_READ, ApiScope.BILLING_READ}
)


def api_client_reaches_patients(role: str, scopes: list[str]) -> bool:
    """Whether a machine client in `role` with `scopes` reaches patient data: a role with
    access to patients, or any scope but the assortment's and the billing runs'. Such a client
    is registered only on another person's approval (R91, R9)."""
    return role in CARE_ROLES or not set(scopes) <= API_SCOPES_WITHOUT_PATIENTS


def review_conflicts(user: User, unit: Unit, role: str) -> list[Assignment]:
    """The assignments of `user` at `unit`'s provider that, with a new `role` assignment at
    `unit`, would give one person both log review and patient access there (R92): care
    assignments for a new log-reviewer one, log-reviewer ones for a new care one. Only those not
    ended and not past their end."""
    if role == Role.LOG_REVIEWER:
        others: frozenset[str] = CARE_ROLES
    elif role in CARE_ROLES:
        others = frozenset({Role.LOG_REVIEWER})
    else:
        return []
    return list(
        Assignment.objects.filter(
            user=user,
            unit__provider_id=unit.provider_id,
            role__in=others,
            ended_at__isnull=True,
            valid_until__gte=timezone.localdate(),
        ).select_related("unit__provider")
    )


def units_users_with(unit_ids: list[int], capability: str) -> dict[int, list[int]]:
    """`unit_users_with` for many units in one query: unit id → the ids of its active accounts
    with an assignment in force whose role carries `capability`."""
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]
    today = timezone.localdate()
    found: dict[int, list[int]] = {}
    for unit_id, user_id in (
        Assignment.objects.active_on(today)
        .filter(unit_id__in=unit_ids, role__in=roles, user__is_active=True)
        .values_list("unit_id", "user_id")
        .distinct()
        .order_by("unit_id", "user_id")
    ):
        found.setdefault(unit_id, []).append(user_id)
    return found


def units_users_in_role(unit_ids: list[int], role: str) -> dict[int, list[int]]:
    """Unit id → the ids of its active accounts with an assignment in force in `role`."""
    found: dict[int, list[int]] = {}
    for unit_id, user_id in (
        Assignment.objects.active_on(timezone.localdate())
        .filter(unit_id__in=unit_ids, role=role, user__is_active=True)
        .values_list("unit_id", "user_id")
        .distinct()
        .order_by("unit_id", "user_id")
    ):
        found.setdefault(unit_id, []).append(user_id)
    return found


def unit_users_with(unit: Unit, capability: str) -> QuerySet[User]:
    """Active accounts with an assignment in force at `unit` whose role carries `capability`:
    who at a unit is told of work on its devices (a due inspection, a finished repair)."""
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]
    today = timezone.localdate()
    return User.objects.filter(
        is_active=True,
        pk__in=Assignment.objects.active_on(today)
        .filter(unit=unit, role__in=roles)
        .values("user_id"),
    )


def users_with(capability: str) -> QuerySet[User]:
    """Active accounts with an assignment in force, at any unit, whose role carries
    `capability`: who is told of work for one of the centre's desks (a retroactive move for the
    economy desk, say)."""
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]
    return User.objects.filter(
        is_active=True,
        pk__in=Assignment.objects.active_on(timezone.localdate())
        .filter(role__in=roles)
        .values("user_id"),
    )
