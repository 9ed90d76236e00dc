"""Writes to accounts, assignments, agreements, passwords and sessions, and the recording of
sign-in events. Each is audited with old and new values (R8, R22)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access import users as access_users
from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import ROLE_PURPOSE, Cap
from lyfta.accounts import agreement, sessions
from lyfta.accounts.models import (
    AgreementAcceptance,
    Assignment,
    PasswordResetCode,
    PrivilegeRequest,
    RecertificationDecision,
    User,
    UserSession,
)
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import diff, record, snapshot
from lyfta.core.dates import add_months
from lyfta.organisations.models import Unit

USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "personnummer",
    "hsa_id",
    "title",
    "workplace",
    "email",
    "phone",
    "valid_from",
    "valid_until",
    "is_active",
    "provider",
)
ASSIGNMENT_FIELDS = (
    "user",
    "unit",
    "role",
    "purpose",
    "valid_from",
    "valid_until",
    "decided_by",
    "decision_reference",
    "replaces",
)
RESET_VALIDITY = dt.timedelta(hours=24)
# A request to change privileged rights lapses unless another person decides it within a week
# (R91).
PRIVILEGE_REQUEST_VALIDITY = dt.timedelta(days=7)


def _deny(actor: Actor, action: str, target: Any, reason: str) -> None:
    """Record a refused administrative step (R38) and refuse it."""
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        target=target,
        detail={"attempted": action, "reason": reason},
    )
    raise PermissionDenied(reason)


# --- Accounts ------------------------------------------------------------------------------------


def user_create(*, actor: Actor, password: str | None = None, **data: Any) -> User:
    """Create an account. Without `password` it has no usable password until the person sets one
    with a one-time code: the administrator never sets or sees it (R19). A provider's user
    administrator creates accounts of their own provider."""
    require(actor, Cap.USERS_MANAGE)
    if not actor.is_system:
        data["provider"] = actor.provider
    with transaction.atomic():
        user = User(**data)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
            user.password_changed_at = timezone.now()
        user.full_clean()
        user.save(force_insert=True)
        record(
            action=Action.USER_CREATED,
            actor=actor,
            target=user,
            changes=diff({}, snapshot(user, USER_FIELDS)),
        )
    return user


def user_update(*, actor: Actor, user: User, **data: Any) -> User:
    """Change an account's details (name, title, validity window…)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.USER_UPDATED, user, "outside_scope_or_self")
    unknown = set(data) - set(USER_FIELDS) - {"provider"}
    if unknown or "provider" in data or "is_active" in data:
        raise TypeError(
            f"not editable here: {sorted(set(data) & ({'provider', 'is_active'} | unknown))}"
        )
    # Compare with what is stored: a model form has already copied the posted values onto `user`.
    stored = User.objects.get(pk=user.pk)
    # A new username or HSA id (what an OIDC sign-in is matched on) hands the account to whoever
    # signs in with it.
    renamed = ("username" in data and data["username"] != stored.username) or (
        "hsa_id" in data and data["hsa_id"] != stored.hsa_id
    )
    if (
        (_narrows_window(stored, data) or renamed)
        and access_users.needs_approval(actor)
        and access_users.holds_privileged_role(stored)
    ):
        # Shortening a privileged account's window, or renaming it, locks its holder out as
        # surely as deactivating it does: that takes a second person (R91).
        try:
            _deny(actor, Action.USER_UPDATED, stored, "needs_approval")
        except PermissionDenied:
            new_name = data.get("username", stored.username) != stored.username
            field = ("username" if new_name else "hsa_id") if renamed else "valid_until"
            raise ValidationError(
                {
                    field: _(
                        "Kontot har en administrativ roll. Att korta dess giltighetstid eller "
                        "byta dess användarnamn eller HSA-id kräver att en annan administratör "
                        "godkänner: "
                        "begär att kontot avaktiveras."
                    )
                }
            ) from None
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = snapshot(locked, USER_FIELDS)
        for name, value in data.items():
            setattr(locked, name, value)
        locked.full_clean()
        changes = diff(before, snapshot(locked, USER_FIELDS))
        if changes:
            locked.save(update_fields=list(data))
            record(action=Action.USER_UPDATED, actor=actor, target=locked, changes=changes)
    return locked


def _narrows_window(user: User, data: dict[str, Any]) -> bool:
    """Whether `data` makes the account's validity window end sooner or start later."""
    until = data.get("valid_until", user.valid_until)
    start = data.get("valid_from", user.valid_from)
    ends_sooner = until is not None and (user.valid_until is None or until < user.valid_until)
    return ends_sooner or (start is not None and start > user.valid_from)


def user_deactivate(*, actor: Actor, user: User, reason: str) -> User:
    """Close an account and end all of its sessions at once (R5). Closing an account that holds a
    privileged role takes that role away in effect: it is a request another person approves
    (R91), `privilege_request_deactivate`."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.USER_DEACTIVATED, user, "outside_scope_or_self")
    if access_users.needs_approval(actor) and access_users.holds_privileged_role(user):
        _deny(actor, Action.USER_DEACTIVATED, user, "needs_approval")
    return _user_deactivate(actor=actor, user=user, reason=reason)


def _user_deactivate(
    *, actor: Actor, user: User, reason: str, detail: dict[str, Any] | None = None
) -> User:
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        was_active = locked.is_active
        User.objects.filter(pk=user.pk).update(is_active=False)
        ended = sessions.end_sessions_of(user, UserSession.EndReason.DEACTIVATED)
        record(
            action=Action.USER_DEACTIVATED,
            actor=actor,
            target=user,
            changes={"is_active": [was_active, False]},
            detail={"reason": reason[:200], "sessions_ended": ended, **(detail or {})},
        )
    user.refresh_from_db()
    return user


def user_reactivate(*, actor: Actor, user: User, reason: str) -> User:
    """Open a deactivated or dormant account again (it still needs a valid window and an
    assignment in force to be used). Reopening an account that holds a privileged role gives that
    role back: it is a request another person approves (R91), `privilege_request_reactivate`."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.USER_REACTIVATED, user, "outside_scope_or_self")
    if access_users.needs_approval(actor) and access_users.holds_privileged_role(user):
        _deny(actor, Action.USER_REACTIVATED, user, "needs_approval")
    if user.is_active and user.suspended_at is None:
        raise ValidationError(_("Kontot är redan aktivt."))
    return _user_reactivate(actor=actor, user=user, reason=reason)


def _user_reactivate(
    *, actor: Actor, user: User, reason: str, detail: dict[str, Any] | None = None
) -> User:
    fields = ("is_active", "suspended_at", "suspension_reason")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = snapshot(locked, fields)
        locked.is_active = True
        locked.suspended_at = None
        locked.suspension_reason = ""
        locked.save(update_fields=list(fields))
        record(
            action=Action.USER_REACTIVATED,
            actor=actor,
            target=locked,
            changes=diff(before, snapshot(locked, fields)),
            detail={"reason": reason[:200], **(detail or {})},
        )
    user.refresh_from_db()
    return user


def user_unlock(*, actor: Actor, user: User) -> None:
    """Lift a lockout after failed sign-ins before it expires (R18)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.USER_UNLOCKED, user, "outside_scope_or_self")
    from axes.handlers.proxy import AxesProxyHandler

    from lyfta.accounts import throttle

    with transaction.atomic():
        AxesProxyHandler.reset_attempts(username=user.username)
        throttle.forget(user.username)
        record(action=Action.USER_UNLOCKED, actor=actor, target=user)


def user_mfa_reset(*, actor: Actor, user: User) -> int:
    """Remove a person's authenticator (a lost phone): they enrol a new one at the next sign-in.
    The password alone never gets them in where a second factor is required (R19)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.MFA_RESET, user, "outside_scope_or_self")
    if access_users.needs_approval(actor) and access_users.holds_privileged_role(user):
        _deny(actor, Action.MFA_RESET, user, "needs_approval")
    return _mfa_reset(actor=actor, user=user)


def _mfa_reset(*, actor: Actor, user: User, detail: dict[str, Any] | None = None) -> int:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        removed, _details = TOTPDevice.objects.filter(user=user).delete()
        ended = sessions.end_sessions_of(user, UserSession.EndReason.ENDED_BY_ADMIN)
        record(
            action=Action.MFA_RESET,
            actor=actor,
            target=user,
            detail={"devices_removed": removed, "sessions_ended": ended, **(detail or {})},
        )
    return int(removed)


def sessions_end_for_user(*, actor: Actor, user: User) -> int:
    """An administrator ends all of a user's sessions (R28)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.SESSION_ENDED, user, "outside_scope_or_self")
    with transaction.atomic():
        ended = sessions.end_sessions_of(user, UserSession.EndReason.ENDED_BY_ADMIN)
        record(action=Action.SESSION_ENDED, actor=actor, target=user, detail={"ended": ended})
    return ended


def session_end_own(*, actor: Actor, session: UserSession, current_key: str | None) -> None:
    """A user ends one of their own other sessions (after re-authenticating, R28)."""
    if actor.user is None or session.user_id != actor.user.pk or session.session_key == current_key:
        raise PermissionDenied("not your other session")
    with transaction.atomic():
        sessions.end_session_row(session, UserSession.EndReason.ENDED_BY_USER)
        record(action=Action.SESSION_ENDED, actor=actor, target=session, detail={"own": True})


def user_force_password_change(*, actor: Actor, user: User, reason: str) -> None:
    """On evidence of compromise, the person must choose a new password at their next step
    (R15); their sessions end now."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.USER_UPDATED, user, "outside_scope_or_self")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(must_change_password=True)
        ended = sessions.end_sessions_of(user, UserSession.EndReason.ENDED_BY_ADMIN)
        record(
            action=Action.USER_UPDATED,
            actor=actor,
            target=user,
            changes={"must_change_password": [False, True]},
            detail={"reason": reason[:200], "sessions_ended": ended},
        )


# --- Passwords -----------------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def password_reset_start(*, actor: Actor, user: User) -> str:
    """Make a one-time code (valid 24 hours, single use) for the person to set a password; the
    code is shown once to the administrator, who hands it over. Returns the code (R19)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.PASSWORD_RESET_STARTED, user, "outside_scope_or_self")
    if access_users.needs_approval(actor) and access_users.holds_privileged_role(user):
        # The code of a privileged account is made and shown only on another person's approval.
        _deny(actor, Action.PASSWORD_RESET_STARTED, user, "needs_approval")
    return _password_reset_code(actor=actor, user=user)


def _password_reset_code(*, actor: Actor, user: User, detail: dict[str, Any] | None = None) -> str:
    code = secrets.token_urlsafe(24)
    now = timezone.now()
    with transaction.atomic():
        PasswordResetCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        PasswordResetCode.objects.create(
            user=user,
            code_hash=_code_hash(code),
            created_by=actor.user,
            created_at=now,
            expires_at=now + RESET_VALIDITY,
        )
        record(action=Action.PASSWORD_RESET_STARTED, actor=actor, target=user, detail=detail)
    return code


def password_reset_code_user(code: str, *, lock: bool = False) -> PasswordResetCode | None:
    """The unused, unexpired code matching `code`, if any (locked, so that two requests with one
    code cannot both use it)."""
    codes = PasswordResetCode.objects.select_for_update() if lock else PasswordResetCode.objects
    return (
        codes.select_related("user")
        .filter(code_hash=_code_hash(code), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


def password_reset_complete(*, code: str, password: str) -> User:
    """Set a password with a one-time code. Raises ValidationError (Swedish reasons) for a weak
    password or an unusable code. Ends every session of the account."""
    with transaction.atomic():
        reset = password_reset_code_user(code, lock=True)
        if reset is None:
            raise ValidationError(
                _("Engångskoden gäller inte. Be din användaradministratör om en ny.")
            )
        user = User.objects.select_for_update().get(pk=reset.user_id)
        validate_password(password, user)
        user.set_password(password)
        user.password_changed_at = timezone.now()
        user.must_change_password = False
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        PasswordResetCode.objects.filter(pk=reset.pk).update(used_at=timezone.now())
        sessions.end_sessions_of(user, UserSession.EndReason.PASSWORD)
        record(action=Action.PASSWORD_RESET_USED, actor=Actor(user=user), target=user)
    return user


def password_change(*, request: HttpRequest, user: User, current: str, new: str) -> None:
    """Change one's own password: the current one is required (R19), the new one must pass the
    policy (R13–R16). Other sessions end; this one continues under a new key (R26)."""
    from django.contrib.auth import update_session_auth_hash

    if not user.check_password(current):
        from lyfta.accounts import throttle

        throttle.failed(request, user.username)
        record(
            action=Action.PASSWORD_CHANGE_FAILED,
            actor=Actor(user=user),
            outcome=Outcome.DENIED,
            detail={"reason": "current_password"},
        )
        raise ValidationError({"current": _("Det nuvarande lösenordet stämmer inte.")})
    try:
        validate_password(new, user)
    except ValidationError as error:
        record(
            action=Action.PASSWORD_CHANGE_FAILED,
            actor=Actor(user=user),
            outcome=Outcome.DENIED,
            detail={"reason": "policy", "codes": sorted({e.code or "" for e in error.error_list})},
        )
        raise ValidationError({"new": error.messages}) from error
    with transaction.atomic():
        user.set_password(new)
        user.password_changed_at = timezone.now()
        user.must_change_password = False
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        update_session_auth_hash(request, user)
        sessions.mark_reauthenticated(request)
        sessions.end_sessions_of(
            user, UserSession.EndReason.PASSWORD, keep_key=request.session.session_key
        )
        record(action=Action.PASSWORD_CHANGED, actor=Actor(user=user), target=user)


# --- Assignments ---------------------------------------------------------------------------------


def _check_window(valid_from: dt.date, valid_until: dt.date) -> None:
    today = timezone.localdate()
    latest = add_months(today, settings.LYFTA_ASSIGNMENT_MAX_MONTHS)
    errors: dict[str, str] = {}
    if valid_until < valid_from:
        errors["valid_until"] = _("Slutdatum kan inte vara före startdatum.")
    elif valid_until > latest:
        errors["valid_until"] = _(
            "Ett uppdrag får gälla högst %(months)d månader framåt, till och med %(latest)s. "
            "Förläng det med ett nytt beslut när det behövs."
        ) % {"months": settings.LYFTA_ASSIGNMENT_MAX_MONTHS, "latest": latest.isoformat()}
    if valid_until < today:
        errors["valid_until"] = _("Slutdatum har redan passerat.")
    if errors:
        raise ValidationError(errors)


def assignment_create(
    *,
    actor: Actor,
    user: User,
    unit: Unit,
    role: str,
    valid_from: dt.date,
    valid_until: dt.date,
    decision_reference: str,
    purpose: str | None = None,
    replaces: Assignment | None = None,
) -> Assignment:
    """Record a decision that `user` may act in `role` at `unit` during the window, which always
    ends at most 12 months ahead (R4). Never for oneself, only at one's own units (R9). A
    privileged role is granted only through a request that another person approves (R91); a
    log-reviewer and a care assignment at one provider are recorded with a warning (R92)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_grant(actor, user, unit, role):
        _deny(actor, Action.ASSIGNMENT_CREATED, user, "not_grantable")
    if access_users.is_privileged_role(role) and access_users.needs_approval(actor):
        _deny(actor, Action.ASSIGNMENT_CREATED, user, "needs_approval")
    _check_window(valid_from, valid_until)
    return _assignment_insert(
        actor=actor,
        user=user,
        unit=unit,
        role=role,
        valid_from=valid_from,
        valid_until=valid_until,
        decision_reference=decision_reference,
        purpose=purpose,
        replaces=replaces,
    )


def _review_warning(user: User, unit: Unit, role: str) -> dict[str, Any]:
    """The R92 warning for the audit detail: the assignments that, with this one, give one person
    log review and patient access at the same provider."""
    conflicts = access_users.review_conflicts(user, unit, role)
    if not conflicts:
        return {}
    return {
        "warning": "log_review_and_care_at_same_provider",
        "conflicting_assignments": [a.pk for a in conflicts],
    }


def _assignment_insert(
    *,
    actor: Actor,
    user: User,
    unit: Unit,
    role: str,
    valid_from: dt.date,
    valid_until: dt.date,
    decision_reference: str,
    purpose: str | None = None,
    replaces: Assignment | None = None,
    detail: dict[str, Any] | None = None,
) -> Assignment:
    warning = _review_warning(user, unit, role)
    with transaction.atomic():
        assignment = Assignment(
            user=user,
            unit=unit,
            role=role,
            purpose=purpose or ROLE_PURPOSE[role],
            valid_from=valid_from,
            valid_until=valid_until,
            decided_by=actor.user,
            decision_reference=decision_reference,
            replaces=replaces,
        )
        assignment.full_clean()
        assignment.save(force_insert=True)
        record(
            action=Action.ASSIGNMENT_CREATED,
            actor=actor,
            target=assignment,
            changes=diff({}, snapshot(assignment, ASSIGNMENT_FIELDS)),
            detail={
                "user": user.pk,
                "extends": replaces.pk if replaces else None,
                **warning,
                **(detail or {}),
            },
        )
    return assignment


def assignment_extend(
    *, actor: Actor, assignment: Assignment, valid_until: dt.date, decision_reference: str
) -> Assignment:
    """An extension is a new decision: a new assignment that starts the day after the old one
    ends (or today, if it has ended), never an edit of the old one (R4)."""
    start = extension_start(assignment)
    return assignment_create(
        actor=actor,
        user=assignment.user,
        unit=assignment.unit,
        role=assignment.role,
        purpose=assignment.purpose,
        valid_from=start,
        valid_until=valid_until,
        decision_reference=decision_reference,
        replaces=assignment,
    )


def extension_start(assignment: Assignment) -> dt.date:
    return max(assignment.valid_until + dt.timedelta(days=1), timezone.localdate())


def assignment_end(*, actor: Actor, assignment: Assignment, reason: str) -> Assignment:
    """End an assignment now. It takes effect at the holder's next request (R37); ending the last
    one ends the holder's sessions (R5). A privileged one ends only through a request that another
    person approves (R91)."""
    require(actor, Cap.USERS_MANAGE)
    user = assignment.user
    if not access_users.can_grant(actor, user, assignment.unit, assignment.role):
        _deny(actor, Action.ASSIGNMENT_ENDED, assignment, "not_manageable")
    if access_users.is_privileged_role(assignment.role) and access_users.needs_approval(actor):
        _deny(actor, Action.ASSIGNMENT_ENDED, assignment, "needs_approval")
    return _assignment_close(actor=actor, assignment=assignment, reason=reason)


def _assignment_close(
    *, actor: Actor, assignment: Assignment, reason: str, detail: dict[str, Any] | None = None
) -> Assignment:
    user = assignment.user
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if locked.ended_at is not None:
            return locked
        locked.ended_at = timezone.now()
        locked.ended_by = actor.user
        locked.end_reason = reason[:200]
        locked.save(update_fields=["ended_at", "ended_by", "end_reason", "updated_at"])
        ended = 0
        if not Assignment.objects.active().filter(user=user).exists():
            ended = sessions.end_sessions_of(user, UserSession.EndReason.ENDED_BY_ADMIN)
        record(
            action=Action.ASSIGNMENT_ENDED,
            actor=actor,
            target=locked,
            changes={"ended_at": [None, locked.ended_at.isoformat()]},
            detail={"reason": reason[:200], "sessions_ended": ended, **(detail or {})},
        )
    return locked


def assignment_choose(
    *, request: HttpRequest, user: User, assignment: Assignment, automatic: bool
) -> None:
    """Bind the session to `assignment` (R31): every later event carries it. Switching is this
    same explicit, recorded step."""
    previous = request.session.get("assignment_id")
    request.session["assignment_id"] = assignment.pk
    Assignment.objects.filter(pk=assignment.pk).update(last_used_at=timezone.now())
    record(
        action=Action.ASSIGNMENT_CHOSEN,
        actor=Actor(user=user, assignment=assignment),
        target=assignment,
        detail={"automatic": automatic, "previous": previous},
    )


def recertification_record(
    *, actor: Actor, assignment: Assignment, outcome: str, note: str = ""
) -> RecertificationDecision:
    """The manager's decision at the periodic follow-up (R6); "remove" also ends the assignment."""
    require(actor, Cap.RECERTIFY)
    if not access_users.can_recertify(actor, assignment):
        _deny(actor, Action.RECERTIFICATION_RECORDED, assignment, "not_manageable")
    if actor.user is None:
        raise PermissionDenied("a follow-up decision is made by a person")
    removes = outcome == RecertificationDecision.Outcome.REMOVE and access_users.can_grant(
        actor, assignment.user, assignment.unit, assignment.role
    )
    # The decision and its consequence commit together or not at all.
    with transaction.atomic():
        decision = RecertificationDecision.objects.create(
            assignment=assignment,
            outcome=outcome,
            note=note[:300],
            decided_by=actor.user,
            decided_at=timezone.now(),
        )
        record(
            action=Action.RECERTIFICATION_RECORDED,
            actor=actor,
            target=assignment,
            detail={"outcome": outcome, "decision": decision.pk},
        )
        if (
            removes
            and access_users.is_privileged_role(assignment.role)
            and access_users.needs_approval(actor)
        ):
            # A privileged assignment ends only on another person's approval (R91).
            privilege_request_end(
                actor=actor, assignment=assignment, reason=_("Uppföljning: tas bort")
            )
        elif removes:
            assignment_end(actor=actor, assignment=assignment, reason=_("Uppföljning: tas bort"))
    return decision


# --- Separation of duties: privileged changes are requested and approved (R91) -------------------


@dataclass(frozen=True)
class Approval:
    """What an approval did: the request, and the one-time code when it started a password reset,
    or the token of the API client it registered (shown to the approver alone, once)."""

    request: PrivilegeRequest
    code: str | None = None
    token: str | None = None


def _requester(actor: Actor, capability: str) -> User:
    require(actor, capability)
    if actor.user is None:
        raise PermissionDenied("a request is made by a person")
    return actor.user


class Owner(TypedDict, total=False):
    """The information-owning provider and unit of an audit event (R42)."""

    owner_provider_id: int
    owner_unit_id: int


def unit_owner(unit: Unit) -> Owner:
    return {"owner_provider_id": unit.provider_id, "owner_unit_id": unit.pk}


def request_owner(request: PrivilegeRequest) -> Owner:
    """The provider and unit whose log reviewers see a request about a new API client: those of
    the unit whose patients it will read (R42), not only the requester's."""
    if request.kind != PrivilegeRequest.Kind.API_CLIENT or request.unit is None:
        return {}
    return unit_owner(request.unit)


def request_create(
    *,
    actor: Actor,
    kind: str,
    subject: User | None,
    detail: dict[str, Any],
    capability: str = Cap.USERS_MANAGE,
    **fields: Any,
) -> PrivilegeRequest:
    """Record a request by `actor` (who holds `capability`) that another person approves (R91);
    refused while a like one waits. Audited as `privilege.requested`."""
    requester = _requester(actor, capability)
    now = timezone.now()
    keys = ("unit", "role", "assignment", "client_name")
    waiting = PrivilegeRequest.objects.filter(
        kind=kind,
        subject=subject,
        status=PrivilegeRequest.Status.PENDING,
        expires_at__gt=now,
        **{k: v for k, v in fields.items() if k in keys},
    )
    if waiting.exists():
        raise ValidationError(
            _("En likadan begäran väntar redan på godkännande. Den finns under Begäranden.")
        )
    with transaction.atomic():
        request = PrivilegeRequest.objects.create(
            kind=kind,
            subject=subject,
            requested_by=requester,
            requested_at=now,
            expires_at=now + PRIVILEGE_REQUEST_VALIDITY,
            **fields,
        )
        record(
            action=Action.PRIVILEGE_REQUESTED,
            actor=actor,
            target=request,
            detail={
                "kind": kind,
                "user": subject.pk if subject else None,
                "expires_at": request.expires_at,
                **detail,
            },
            **request_owner(request),
        )
    return request


def privilege_request_grant(
    *,
    actor: Actor,
    user: User,
    unit: Unit,
    role: str,
    valid_from: dt.date,
    valid_until: dt.date,
    decision_reference: str,
    purpose: str | None = None,
    replaces: Assignment | None = None,
) -> PrivilegeRequest:
    """Ask that `user` be given a privileged `role` at `unit` (or that such an assignment be
    extended, `replaces`). Nothing is granted until another person approves (R91)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_grant(actor, user, unit, role):
        _deny(actor, Action.PRIVILEGE_REQUESTED, user, "not_grantable")
    if not access_users.is_privileged_role(role):
        raise ValueError(f"{role} is granted in one step")
    _check_window(valid_from, valid_until)
    return request_create(
        actor=actor,
        kind=PrivilegeRequest.Kind.GRANT,
        subject=user,
        detail={
            "role": role,
            "unit": unit.pk,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "decision_reference": decision_reference,
            "extends": replaces.pk if replaces else None,
            **_review_warning(user, unit, role),
        },
        unit=unit,
        role=role,
        purpose=purpose or ROLE_PURPOSE[role],
        valid_from=valid_from,
        valid_until=valid_until,
        decision_reference=decision_reference,
        replaces=replaces,
    )


def privilege_request_end(*, actor: Actor, assignment: Assignment, reason: str) -> PrivilegeRequest:
    """Ask that a privileged assignment be ended; it stays in force until another person approves
    (R91)."""
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_grant(actor, assignment.user, assignment.unit, assignment.role):
        _deny(actor, Action.PRIVILEGE_REQUESTED, assignment, "not_manageable")
    if not access_users.is_privileged_role(assignment.role):
        raise ValueError(f"{assignment.role} is ended in one step")
    if assignment.ended_at is not None:
        raise ValidationError(_("Uppdraget är redan avslutat."))
    return request_create(
        actor=actor,
        kind=PrivilegeRequest.Kind.END,
        subject=assignment.user,
        detail={"assignment": assignment.pk, "role": assignment.role, "reason": reason[:200]},
        assignment=assignment,
        role=assignment.role,
        unit=assignment.unit,
        reason=reason[:200],
    )


def privilege_request_reset(*, actor: Actor, user: User, kind: str) -> PrivilegeRequest:
    """Ask for a password reset (`kind` PASSWORD_RESET) or a second-factor reset (MFA_RESET) of
    an account that holds a privileged role. The one-time code is made on approval and shown only
    to the approver (R91)."""
    if kind not in (PrivilegeRequest.Kind.PASSWORD_RESET, PrivilegeRequest.Kind.MFA_RESET):
        raise ValueError(kind)
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.PRIVILEGE_REQUESTED, user, "outside_scope_or_self")
    return request_create(actor=actor, kind=kind, subject=user, detail={})


def privilege_request_deactivate(*, actor: Actor, user: User, reason: str) -> PrivilegeRequest:
    """Ask that an account holding a privileged role be deactivated; it stays open until another
    person approves (R91)."""
    return _account_request(
        actor=actor, user=user, kind=PrivilegeRequest.Kind.DEACTIVATE, reason=reason
    )


def privilege_request_reactivate(*, actor: Actor, user: User, reason: str) -> PrivilegeRequest:
    """Ask that a deactivated or dormant account holding a privileged role be opened again; it
    stays closed until another person approves (R91)."""
    return _account_request(
        actor=actor, user=user, kind=PrivilegeRequest.Kind.REACTIVATE, reason=reason
    )


def _account_request(*, actor: Actor, user: User, kind: str, reason: str) -> PrivilegeRequest:
    require(actor, Cap.USERS_MANAGE)
    if not access_users.can_manage_account(actor, user):
        _deny(actor, Action.PRIVILEGE_REQUESTED, user, "outside_scope_or_self")
    closed = not user.is_active or user.suspended_at is not None
    if kind == PrivilegeRequest.Kind.DEACTIVATE and not user.is_active:
        raise ValidationError(_("Kontot är redan avaktiverat."))
    if kind == PrivilegeRequest.Kind.REACTIVATE and not closed:
        raise ValidationError(_("Kontot är redan aktivt."))
    return request_create(
        actor=actor,
        kind=kind,
        subject=user,
        detail={"reason": reason[:200]},
        reason=reason[:200],
    )


def _locked_pending(request: PrivilegeRequest) -> PrivilegeRequest:
    """The request, locked; a ValidationError (Swedish) when it is no longer waiting."""
    locked = (
        PrivilegeRequest.objects.select_for_update(of=("self",))
        .select_related("subject", "unit", "assignment__unit", "replaces")
        .get(pk=request.pk)
    )
    if locked.status != PrivilegeRequest.Status.PENDING:
        raise ValidationError(
            _("Begäran är redan %(status)s.") % {"status": locked.get_status_display().lower()}
        )
    if locked.expired:
        raise ValidationError(_("Begäran har förfallit. Den som vill ändringen får begära igen."))
    return locked


def _check_decider(actor: Actor, request: PrivilegeRequest, action: str) -> None:
    refusal = access_users.privilege_refusal(actor, request)
    if refusal is not None:
        _deny(actor, action, request, refusal)


# Request kinds carried out by another module of accounts once approved, registered from
# AccountsConfig.ready(): the API clients' module (which records its requests through this one,
# so this one may not import it back: test_no_import_cycles).
APPROVED_ELSEWHERE: dict[str, Callable[..., Any]] = {}


def privilege_request_approve(*, actor: Actor, request: PrivilegeRequest) -> Approval:
    """Another user administrator or system administrator approves: the change is made now, by
    and in the name of the approver, and both the approval and the change are recorded with the
    request and its requester (R91). Nobody approves his own request or one about himself."""
    _check_decider(actor, request, Action.PRIVILEGE_APPROVED)
    code: str | None = None
    token: str | None = None
    with transaction.atomic():
        locked = _locked_pending(request)
        link = {"request": locked.pk, "requested_by": locked.requested_by_id}
        result: dict[str, Any] = {}
        subject = locked.subject
        if locked.kind == PrivilegeRequest.Kind.API_CLIENT:
            register = APPROVED_ELSEWHERE[locked.kind]
            registered = register(actor=actor, request=locked, detail=link)
            locked.api_client = registered.client
            token = registered.token
            result = {"api_client": registered.client.pk}
        elif subject is None:
            raise ValueError(f"a {locked.kind} request without the account it is about")
        elif locked.kind == PrivilegeRequest.Kind.GRANT:
            if locked.unit is None or locked.valid_from is None or locked.valid_until is None:
                raise ValueError("a grant request without unit or window")
            _check_window(locked.valid_from, locked.valid_until)
            created = _assignment_insert(
                actor=actor,
                user=subject,
                unit=locked.unit,
                role=locked.role,
                valid_from=locked.valid_from,
                valid_until=locked.valid_until,
                decision_reference=locked.decision_reference,
                purpose=locked.purpose or None,
                replaces=locked.replaces,
                detail=link,
            )
            locked.assignment = created
            result = {"assignment": created.pk}
        elif locked.kind == PrivilegeRequest.Kind.END:
            if locked.assignment is None:
                raise ValueError("an end request without its assignment")
            _assignment_close(
                actor=actor, assignment=locked.assignment, reason=locked.reason, detail=link
            )
            result = {"assignment": locked.assignment_id}
        elif locked.kind == PrivilegeRequest.Kind.PASSWORD_RESET:
            code = _password_reset_code(actor=actor, user=subject, detail=link)
        elif locked.kind == PrivilegeRequest.Kind.MFA_RESET:
            result = {"devices_removed": _mfa_reset(actor=actor, user=subject, detail=link)}
        elif locked.kind == PrivilegeRequest.Kind.DEACTIVATE:
            _user_deactivate(actor=actor, user=subject, reason=locked.reason, detail=link)
        elif locked.kind == PrivilegeRequest.Kind.REACTIVATE:
            _user_reactivate(actor=actor, user=subject, reason=locked.reason, detail=link)
        else:
            raise ValueError(f"unknown request kind {locked.kind}")
        locked.status = PrivilegeRequest.Status.APPROVED
        locked.decided_by = actor.user
        locked.decided_at = timezone.now()
        locked.save(
            update_fields=["status", "decided_by", "decided_at", "assignment", "api_client"]
        )
        record(
            action=Action.PRIVILEGE_APPROVED,
            actor=actor,
            target=locked,
            changes={"status": [PrivilegeRequest.Status.PENDING, locked.status]},
            detail={
                "kind": locked.kind,
                "user": locked.subject_id,
                "requested_by": locked.requested_by_id,
                **result,
            },
            **request_owner(locked),
        )
    return Approval(request=locked, code=code, token=token)


def privilege_request_reject(
    *, actor: Actor, request: PrivilegeRequest, note: str = ""
) -> PrivilegeRequest:
    """Another user administrator or system administrator rejects: nothing changes (R91)."""
    _check_decider(actor, request, Action.PRIVILEGE_REJECTED)
    with transaction.atomic():
        locked = _locked_pending(request)
        locked.status = PrivilegeRequest.Status.REJECTED
        locked.decided_by = actor.user
        locked.decided_at = timezone.now()
        locked.decision_note = note[:200]
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record(
            action=Action.PRIVILEGE_REJECTED,
            actor=actor,
            target=locked,
            changes={"status": [PrivilegeRequest.Status.PENDING, locked.status]},
            detail={
                "kind": locked.kind,
                "user": locked.subject_id,
                "requested_by": locked.requested_by_id,
                "note": note[:200],
            },
            **request_owner(locked),
        )
    return locked


def privilege_request_cancel(*, actor: Actor, request: PrivilegeRequest) -> PrivilegeRequest:
    """The requester withdraws his request while it waits."""
    if actor.user is None or request.requested_by_id != actor.user.pk:
        _deny(actor, Action.PRIVILEGE_CANCELLED, request, "not_the_requester")
    with transaction.atomic():
        locked = _locked_pending(request)
        locked.status = PrivilegeRequest.Status.CANCELLED
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_at"])
        record(
            action=Action.PRIVILEGE_CANCELLED,
            actor=actor,
            target=locked,
            changes={"status": [PrivilegeRequest.Status.PENDING, locked.status]},
            detail={"kind": locked.kind, "user": locked.subject_id},
            **request_owner(locked),
        )
    return locked


def accounts_suspend_dormant(*, actor: Actor) -> tuple[int, int]:
    """Suspend accounts without a sign-in for LYFTA_DORMANT_ACCOUNT_DAYS and assignments unused
    for LYFTA_DORMANT_ASSIGNMENT_DAYS (R7). Returns (accounts, assignments) suspended."""
    now = timezone.now()
    account_cutoff = now - dt.timedelta(days=settings.LYFTA_DORMANT_ACCOUNT_DAYS)
    assignment_cutoff = now - dt.timedelta(days=settings.LYFTA_DORMANT_ASSIGNMENT_DAYS)
    accounts = User.objects.filter(is_active=True, suspended_at__isnull=True).filter(
        models_q_last_use("last_login", "date_joined", account_cutoff)
    )
    assignments = Assignment.objects.filter(
        ended_at__isnull=True, suspended_at__isnull=True
    ).filter(models_q_last_use("last_used_at", "created_at", assignment_cutoff))
    n_accounts = n_assignments = 0
    for user in accounts:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(suspended_at=now, suspension_reason="dormant")
            sessions.end_sessions_of(user, UserSession.EndReason.REFUSED)
            record(
                action=Action.USER_SUSPENDED,
                actor=actor,
                target=user,
                changes={"suspended_at": [None, now.isoformat()]},
                detail={"last_login": user.last_login, "days": settings.LYFTA_DORMANT_ACCOUNT_DAYS},
            )
        n_accounts += 1
    for assignment in assignments:
        with transaction.atomic():
            Assignment.objects.filter(pk=assignment.pk).update(suspended_at=now)
            record(
                action=Action.ASSIGNMENT_SUSPENDED,
                actor=actor,
                target=assignment,
                changes={"suspended_at": [None, now.isoformat()]},
                detail={
                    "last_used_at": assignment.last_used_at,
                    "days": settings.LYFTA_DORMANT_ASSIGNMENT_DAYS,
                },
            )
        n_assignments += 1
    return n_accounts, n_assignments


def models_q_last_use(field: str, fallback: str, cutoff: dt.datetime) -> Any:
    """Never used since `cutoff`: last use before it, or no use at all and created before it."""
    from django.db.models import Q

    return Q(**{f"{field}__lt": cutoff}) | Q(
        **{f"{field}__isnull": True, f"{fallback}__lt": cutoff}
    )


# --- The user agreement and sign-in events -------------------------------------------------------


def agreement_accept(*, user: User) -> AgreementAcceptance:
    """Record that `user` accepted the current version of the user agreement (R10)."""
    with transaction.atomic():
        acceptance, created = AgreementAcceptance.objects.get_or_create(
            user=user,
            digest=agreement.agreement_digest(),
            defaults={"version": agreement.AGREEMENT_VERSION, "accepted_at": timezone.now()},
        )
        if created:
            record(
                action=Action.AGREEMENT_ACCEPTED,
                actor=Actor(user=user),
                target=acceptance,
                detail={"version": acceptance.version, "digest": acceptance.digest},
            )
    return acceptance


def has_accepted_agreement(user: User) -> bool:
    return AgreementAcceptance.objects.filter(
        user=user, digest=agreement.agreement_digest()
    ).exists()


def login_recorded(*, user: User, method: str, **detail: Any) -> None:
    """A sign-in (R22): its method ("password", "oidc") and, for OIDC, what the identity provider
    said of the factors (`acr`, `amr`, whether it counts as the second factor)."""
    record(action=Action.LOGIN, actor=Actor(user=user), detail={"method": method, **detail})


def login_failed_recorded(
    *,
    username: str,
    reason: str,
    action: str = Action.LOGIN_FAILED,
    method: str = "password",
) -> None:
    """A refused sign-in (R22): the attempted username (for OIDC, the claim and its value that
    matched no account), never the password or a token."""
    record(
        action=action,
        actor=None,
        outcome=Outcome.DENIED,
        username=username,
        detail={"method": method, "reason": reason},
    )
