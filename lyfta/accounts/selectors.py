"""Reads of accounts, assignments, sessions and agreement acceptances."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access import users as access_users
from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.accounts import agreement
from lyfta.accounts.models import (
    AgreementAcceptance,
    Assignment,
    PasswordResetCode,
    PrivilegeRequest,
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


# --- Requests to change privileged rights (R91) ---------------------------------------------------


@dataclass(frozen=True)
class PrivilegeRequestRow:
    request: PrivilegeRequest
    decidable: bool
    warnings: list[str] = field(default_factory=list)


def _requests(actor: Actor) -> QuerySet[PrivilegeRequest]:
    return access_users.privilege_requests_visible_to(actor).select_related(
        "subject", "unit__provider", "assignment__unit", "requested_by", "decided_by"
    )


def review_warning(user: User, unit: Unit, role: str) -> str | None:
    """The Swedish warning when one person would hold both log review and patient access at one
    provider (R92), or None."""
    conflicts = access_users.review_conflicts(user, unit, role)
    if not conflicts:
        return None
    return _(
        "Varning: %(name)s får både ett uppdrag som loggranskare och ett uppdrag med tillgång "
        "till patientuppgifter hos %(provider)s (%(others)s). En loggranskare ska inte granska "
        "sina egna åtgärder; låt någon annan granska loggen för den vårdgivaren."
    ) % {
        "name": user.display_name,
        "provider": unit.provider.name,
        "others": ", ".join(f"{a.get_role_display()}, {a.unit.name}" for a in conflicts),
    }


def _warnings(request: PrivilegeRequest) -> list[str]:
    """What the approver should weigh: R92's conflict, and a requester who himself made a one-time
    code for the account (he may know its password)."""
    warnings: list[str] = []
    subject = request.subject
    if subject is None:
        return warnings  # a new API client: no account yet
    if request.kind == PrivilegeRequest.Kind.GRANT and request.unit is not None:
        conflict = review_warning(subject, request.unit, request.role)
        if conflict:
            warnings.append(conflict)
    if PasswordResetCode.objects.filter(
        user_id=subject.pk, created_by_id=request.requested_by_id
    ).exists():
        warnings.append(
            _(
                "Den som begär har själv gett en engångskod för lösenord till kontot och kan "
                "känna till lösenordet."
            )
        )
    return warnings


def privilege_requests_to_decide(*, actor: Actor) -> list[PrivilegeRequestRow]:
    """Waiting, unexpired requests the actor may approve or reject (not his own, not about
    himself), oldest first."""
    require(actor, Cap.PRIVILEGE_APPROVE)
    pending = _requests(actor).filter(
        status=PrivilegeRequest.Status.PENDING, expires_at__gt=timezone.now()
    )
    return [
        PrivilegeRequestRow(request=r, decidable=True, warnings=_warnings(r))
        for r in pending.order_by("requested_at")
        if access_users.privilege_refusal(actor, r) is None
    ]


def privilege_requests_made_by(*, actor: Actor) -> QuerySet[PrivilegeRequest]:
    """The actor's own requests, newest first: what waits, and what became of the rest."""
    require(actor, Cap.PRIVILEGE_APPROVE)
    return _requests(actor).filter(requested_by=actor.user).order_by("-requested_at")[:50]


def privilege_requests_about(*, actor: Actor, user: User) -> QuerySet[PrivilegeRequest]:
    """The requests about `user` that still wait, for his page in the user administration."""
    return _requests(actor).filter(
        subject=user, status=PrivilegeRequest.Status.PENDING, expires_at__gt=timezone.now()
    )


def privilege_request_for(*, actor: Actor, request_id: int) -> PrivilegeRequest:
    """The request, or the same 404 (recorded) whether it is missing or outside the actor's
    scope."""
    require(actor, Cap.PRIVILEGE_APPROVE)
    request = _requests(actor).filter(pk=request_id).first()
    if request is None:
        from django.http import Http404

        from lyfta.audit.actions import Action
        from lyfta.audit.models import Outcome
        from lyfta.audit.services import record

        record(
            action=Action.ACCESS_DENIED,
            actor=actor,
            outcome=Outcome.DENIED,
            resource_type="accounts.privilegerequest",
            resource_id=request_id,
            detail={"reason": "missing_or_outside_scope"},
        )
        raise Http404
    return request
