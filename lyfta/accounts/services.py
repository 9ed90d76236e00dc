"""Writes to users and assignments, and the recording of sign-in events.

Each is audited (R8, R22)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import ROLE_PURPOSE, Cap
from lyfta.accounts.models import Assignment, User
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import diff, record, snapshot

USER_FIELDS = (
    "username", "first_name", "last_name", "personnummer", "title", "workplace", "email", "phone",
    "valid_from", "valid_until", "is_active",
)  # fmt: skip
ASSIGNMENT_FIELDS = (
    "user", "unit", "role", "purpose", "valid_from", "valid_until", "decided_by",
    "decision_reference", "replaces",
)  # fmt: skip


def user_create(*, actor: Actor, password: str | None = None, **data: Any) -> User:
    """Create a user account. Without `password` the account has no usable password until the
    person sets one with a one-time code (the administrator never sets or sees it, R19)."""
    require(actor, Cap.USERS_MANAGE)
    with transaction.atomic():
        user = User(**data)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
            user.password_changed_at = timezone.now()
        user.full_clean()
        user.save(force_insert=True)
        record(action=Action.USER_CREATED, actor=actor, target=user,
               changes=diff({}, snapshot(user, USER_FIELDS)))  # fmt: skip
    return user


def assignment_create(
    *, actor: Actor, user: User, unit: Any, role: str, valid_from: dt.date, valid_until: dt.date,
    decision_reference: str, purpose: str | None = None, replaces: Assignment | None = None,
) -> Assignment:  # fmt: skip
    """Record a decision that `user` may act in `role` at `unit` during the window."""
    require(actor, Cap.USERS_MANAGE)
    with transaction.atomic():
        assignment = Assignment(
            user=user, unit=unit, role=role, purpose=purpose or ROLE_PURPOSE[role],
            valid_from=valid_from, valid_until=valid_until, decided_by=actor.user,
            decision_reference=decision_reference, replaces=replaces,
        )  # fmt: skip
        assignment.full_clean()
        assignment.save(force_insert=True)
        record(action=Action.ASSIGNMENT_CREATED, actor=actor, target=assignment,
               changes=diff({}, snapshot(assignment, ASSIGNMENT_FIELDS)))  # fmt: skip
    return assignment


def assignment_choose(
    *, request: HttpRequest, user: User, assignment: Assignment, automatic: bool
) -> None:
    """Bind the session to `assignment` (R31): every later event carries it."""
    request.session["assignment_id"] = assignment.pk
    Assignment.objects.filter(pk=assignment.pk).update(last_used_at=timezone.now())
    record(
        action=Action.ASSIGNMENT_CHOSEN,
        actor=Actor(user=user, assignment=assignment),
        target=assignment,
        detail={"automatic": automatic},
    )


def login_recorded(*, user: User, method: str) -> None:
    record(action=Action.LOGIN, actor=Actor(user=user), detail={"method": method})


def login_failed_recorded(*, username: str, reason: str) -> None:
    record(
        action=Action.LOGIN_FAILED,
        actor=None,
        outcome=Outcome.DENIED,
        username=username,
        detail={"method": "password", "reason": reason},
    )
