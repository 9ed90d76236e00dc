"""Machine clients of the API (issue 18; docs/decisions/0015-api-clients.md): registering and
revoking them (the system administrator; one that reaches patient data on another person's
approval of his request, R91), and, on every API call, finding the client a token
belongs to and counting the call against its rate limit.

A client acts as its own service account (`User.is_service`) in its own assignment, so every
check of the access layer and every audit event names it as they would name a person. Its token
is `lyfta_<key id>_<secret>`: 256 random bits, shown once, stored as SHA-256 (a token that
random needs no slow hash), looked up by the public key id and compared in constant time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from lyfta.access import users as access_users
from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import API_CLIENT_ROLES, ROLE_PURPOSE, Cap, role_may
from lyfta.accounts import services
from lyfta.accounts.models import ApiClient, ApiScope, Assignment, PrivilegeRequest, User
from lyfta.accounts.services import unit_owner
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record
from lyfta.core.dates import add_months
from lyfta.organisations.models import Unit

TOKEN_PREFIX = "lyfta"  # noqa: S105 - the public start of every token, not a secret
_TOKEN = re.compile(r"^lyfta_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# A call marks the account and assignment as used (so that R7's dormancy job sees the client
# at work) at most this often: the marks are writes, the calls many.
USE_MARK_INTERVAL = dt.timedelta(hours=1)
WINDOW = 60  # seconds: the rate limit's fixed window
CLIENT_FIELDS = (
    "name",
    "description",
    "scopes",
    "expires_at",
    "rate_limit",
    "key_id",
)


# Scopes a client may hold only in a role with one of these capabilities: the desks' data is
# for the roles whose pages show it (the billing runs for the economy role only). The scopes of
# the device flow are left to the access layer, which refuses what the role may not.
SCOPE_NEEDS: dict[str, tuple[str, ...]] = {
    ApiScope.WORKORDERS_READ: (
        Cap.WORKORDERS_REQUEST,
        Cap.WORKORDERS_HANDLE,
        Cap.WORKORDERS_APPROVE,
    ),
    ApiScope.WORKORDERS_WRITE: (Cap.WORKORDERS_REQUEST,),
    ApiScope.DEVIATIONS_READ: (Cap.DEVIATIONS_REPORT,),
    ApiScope.DEVIATIONS_WRITE: (Cap.DEVIATIONS_REPORT,),
    ApiScope.BILLING_READ: (Cap.BILLING_VIEW,),
}


def scopes_for_role(role: str) -> list[str]:
    """The scopes a client in `role` may be given."""
    return [
        scope
        for scope in ApiScope.values
        if scope not in SCOPE_NEEDS or role_may(role, *SCOPE_NEEDS[scope])
    ]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    """A key id (public, for the lookup) and the whole token that holds it."""
    key_id = secrets.token_hex(6)
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def expiry_of(day: dt.date) -> dt.datetime:
    """A client valid through `day` stops at the start of the next day, Swedish time."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


@dataclass(frozen=True)
class Registered:
    """A new client and its token: the only time the token exists outside the caller's hands."""

    client: ApiClient
    token: str


def _check(
    *, name: str, role: str, scopes: list[str], expires_on: dt.date, rate_limit: int
) -> None:
    today = timezone.localdate()
    latest = add_months(today, settings.LYFTA_ASSIGNMENT_MAX_MONTHS)
    errors: dict[str, str] = {}
    if not slugify(name):
        errors["name"] = _("Namnet behöver minst en bokstav eller siffra.")
    elif ApiClient.objects.filter(name=name).exists():
        errors["name"] = _("Det finns redan en API-klient med det namnet.")
    if role not in API_CLIENT_ROLES:
        errors["role"] = _("En API-klient kan inte ha den rollen.")
    if not scopes or not set(scopes) <= set(ApiScope.values):
        errors["scopes"] = _("Välj minst en behörighet.")
    elif ApiScope.REGISTER_EVENTS in scopes and len(set(scopes)) > 1:
        # The population-register feed changes any patient (a death, protected identity lifted)
        # and learns who is a patient: it is a client of its own, reading nothing else.
        errors["scopes"] = _(
            "Folkbokföringshändelser lämnas av en egen klient: välj den behörigheten ensam."
        )
    elif not set(scopes) <= set(scopes_for_role(role)):
        errors["scopes"] = _("Klientens roll ger inte behörigheten %(scopes)s.") % {
            "scopes": ", ".join(sorted(set(scopes) - set(scopes_for_role(role))))
        }
    if not today < expires_on <= latest:
        errors["expires_on"] = _(
            "En API-klient gäller från i morgon och högst %(months)d månader framåt, till och "
            "med %(latest)s."
        ) % {"months": settings.LYFTA_ASSIGNMENT_MAX_MONTHS, "latest": latest.isoformat()}
    if not 1 <= rate_limit <= 10_000:
        errors["rate_limit"] = _("Ange 1–10 000 anrop per minut.")
    if errors:
        raise ValidationError(errors)


def needs_second_person(actor: Actor, *, role: str, scopes: list[str]) -> bool:
    """Whether registering a client in `role` with `scopes` is a request another person approves
    (R91): a person's registration of a client that reaches patient data. A management command
    (trusted code, as for the other privileged changes) registers alone."""
    return access_users.needs_approval(actor) and access_users.api_client_reaches_patients(
        role, scopes
    )


def _cleaned(
    *, name: str, role: str, scopes: list[str], expires_on: dt.date, rate_limit: int | None
) -> tuple[str, list[str], int]:
    """The name, scopes and rate limit as stored, once checked; a ValidationError (Swedish)
    otherwise."""
    name = " ".join(name.split())[:100]
    rate = rate_limit if rate_limit is not None else settings.LYFTA_API_RATE_LIMIT
    scopes = sorted(set(scopes))
    _check(name=name, role=role, scopes=scopes, expires_on=expires_on, rate_limit=rate)
    if User.objects.filter(username=_username(name)).exists():
        raise ValidationError({"name": _("Det finns redan ett konto med det namnet.")})
    return name, scopes, rate


def _username(name: str) -> str:
    return f"api-{slugify(name)}"[:150]


def api_client_register(
    *,
    actor: Actor,
    name: str,
    unit: Unit,
    role: str,
    scopes: list[str],
    expires_on: dt.date,
    decision_reference: str,
    description: str = "",
    purpose: str | None = None,
    rate_limit: int | None = None,
) -> Registered:
    """Register a machine client: a service account that cannot sign in on the pages, its
    assignment at `unit` in `role` (valid through `expires_on`, at most
    LYFTA_ASSIGNMENT_MAX_MONTHS ahead, as a person's, R4) and a new token, returned once and
    kept only as its hash. Recorded with everything but the token. A person registers alone only
    a client that reaches no patient data; one that does is `api_client_request`ed and
    registered on another person's approval (R91)."""
    require(actor, Cap.API_CLIENTS_MANAGE)
    if needs_second_person(actor, role=role, scopes=scopes):
        record(
            action=Action.ACCESS_DENIED,
            actor=actor,
            outcome=Outcome.DENIED,
            resource_type="accounts.apiclient",
            detail={"attempted": Action.API_CLIENT_REGISTERED, "reason": "needs_approval"},
            **unit_owner(unit),
        )
        raise PermissionDenied("needs_approval")
    name, scopes, rate = _cleaned(
        name=name, role=role, scopes=scopes, expires_on=expires_on, rate_limit=rate_limit
    )
    return _client_insert(
        actor=actor,
        name=name,
        description=description,
        unit=unit,
        role=role,
        purpose=purpose or ROLE_PURPOSE[role],
        scopes=scopes,
        expires_on=expires_on,
        rate=rate,
        decision_reference=decision_reference,
    )


def api_client_request(
    *,
    actor: Actor,
    name: str,
    unit: Unit,
    role: str,
    scopes: list[str],
    expires_on: dt.date,
    decision_reference: str,
    description: str = "",
    purpose: str | None = None,
    rate_limit: int | None = None,
) -> PrivilegeRequest:
    """Ask that a client reaching patient data be registered: checked as a registration now,
    registered only when another user administrator or system administrator approves (R91,
    `services.privilege_request_approve`), whose answer alone shows the token. Recorded as
    `privilege.requested`, visible to the log reviewers of `unit`'s provider too (R42)."""
    require(actor, Cap.API_CLIENTS_MANAGE)
    name, scopes, rate = _cleaned(
        name=name, role=role, scopes=scopes, expires_on=expires_on, rate_limit=rate_limit
    )
    description = " ".join(description.split())[:300]
    purpose = purpose or ROLE_PURPOSE[role]
    reference = decision_reference.strip()[:100]
    return services.request_create(
        actor=actor,
        kind=PrivilegeRequest.Kind.API_CLIENT,
        subject=None,
        capability=Cap.API_CLIENTS_MANAGE,
        detail={
            "name": name,
            "unit": unit.pk,
            "role": role,
            "purpose": purpose,
            "scopes": scopes,
            "valid_until": expires_on,
            "rate_limit": rate,
            "decision_reference": reference,
        },
        client_name=name,
        client_description=description,
        unit=unit,
        role=role,
        purpose=purpose,
        scopes=scopes,
        valid_from=timezone.localdate(),
        valid_until=expires_on,
        rate_limit=rate,
        decision_reference=reference,
    )


def api_client_register_approved(
    *, actor: Actor, request: PrivilegeRequest, detail: dict[str, Any]
) -> Registered:
    """Register the client `request` asks for, in the name of `actor`, the approver (called by
    `services.privilege_request_approve`, which has checked that he may). Checked again: the
    name may have been taken or the last day passed while the request waited."""
    if request.unit is None or request.valid_until is None:
        raise ValueError("an API client request without unit or last day")
    name, scopes, rate = _cleaned(
        name=request.client_name,
        role=request.role,
        scopes=list(request.scopes),
        expires_on=request.valid_until,
        rate_limit=request.rate_limit,
    )
    return _client_insert(
        actor=actor,
        name=name,
        description=request.client_description,
        unit=request.unit,
        role=request.role,
        purpose=request.purpose or ROLE_PURPOSE[request.role],
        scopes=scopes,
        expires_on=request.valid_until,
        rate=rate,
        decision_reference=request.decision_reference,
        detail=detail,
    )


def _client_insert(
    *,
    actor: Actor,
    name: str,
    description: str,
    unit: Unit,
    role: str,
    purpose: str,
    scopes: list[str],
    expires_on: dt.date,
    rate: int,
    decision_reference: str,
    detail: dict[str, Any] | None = None,
) -> Registered:
    key_id, token = _new_token()
    today = timezone.localdate()
    with transaction.atomic():
        user = User(
            username=_username(name),
            first_name=name[:150],
            last_name="(API)",
            title=_("API-klient")[:100],
            provider=unit.provider,
            valid_from=today,
            valid_until=expires_on,
            is_service=True,
        )
        user.set_unusable_password()
        user.full_clean()
        user.save(force_insert=True)
        assignment = Assignment(
            user=user,
            unit=unit,
            role=role,
            purpose=purpose,
            valid_from=today,
            valid_until=expires_on,
            decided_by=actor.user,
            decision_reference=decision_reference.strip()[:100],
        )
        assignment.full_clean()
        assignment.save(force_insert=True)
        client = ApiClient(
            name=name,
            description=" ".join(description.split())[:300],
            user=user,
            assignment=assignment,
            key_id=key_id,
            token_hash=token_hash(token),
            scopes=scopes,
            expires_at=expiry_of(expires_on),
            rate_limit=rate,
            registered_by=actor.user,
        )
        client.full_clean()
        client.save(force_insert=True)
        record(
            action=Action.API_CLIENT_REGISTERED,
            actor=actor,
            target=client,
            changes={
                "name": [None, client.name],
                "scopes": [None, scopes],
                "expires_at": [None, client.expires_at],
                "rate_limit": [None, rate],
            },
            detail={
                "user": user.pk,
                "assignment": assignment.pk,
                "unit": unit.pk,
                "role": role,
                "purpose": assignment.purpose,
                "decision_reference": assignment.decision_reference,
                "key_id": key_id,
                **(detail or {}),
            },
            # The unit's provider's log reviewers see who gave a system access to its patients.
            **unit_owner(unit),
        )
    return Registered(client, token)


def api_client_revoke(*, actor: Actor, client: ApiClient, reason: str) -> ApiClient:
    """Revoke a client for good: its token stops working at once, its assignment ends and its
    service account is deactivated. A new token is a new registration."""
    require(actor, Cap.API_CLIENTS_MANAGE)
    reason = " ".join(reason.split())[:200]
    if not reason:
        raise ValidationError({"reason": _("Ange skälet till att klienten återkallas.")})
    now = timezone.now()
    with transaction.atomic():
        locked = (
            ApiClient.objects.select_for_update(of=("self",))
            .select_related("assignment__unit")
            .get(pk=client.pk)
        )
        if locked.revoked_at is not None:
            return locked
        ApiClient.objects.filter(pk=locked.pk).update(
            revoked_at=now, revoked_by=actor.user, revoke_reason=reason, updated_at=now
        )
        Assignment.objects.filter(pk=locked.assignment_id, ended_at__isnull=True).update(
            ended_at=now, ended_by=actor.user, end_reason=reason, updated_at=now
        )
        User.objects.filter(pk=locked.user_id).update(is_active=False)
        record(
            action=Action.API_CLIENT_REVOKED,
            actor=actor,
            target=locked,
            changes={"revoked_at": [None, now]},
            detail={"reason": reason, "assignment": locked.assignment_id, "user": locked.user_id},
            **unit_owner(locked.assignment.unit),
        )
    locked.refresh_from_db()
    return locked


# --- Reads for the system administrator's pages -------------------------------------------------


def api_clients_list(*, actor: Actor) -> QuerySet[ApiClient]:
    require(actor, Cap.API_CLIENTS_MANAGE)
    return ApiClient.objects.select_related("assignment__unit", "registered_by").order_by(
        "revoked_at", "name"
    )


def api_client_get(*, actor: Actor, client_id: int) -> ApiClient:
    require(actor, Cap.API_CLIENTS_MANAGE)
    return get_object_or_404(
        ApiClient.objects.select_related(
            "assignment__unit__provider", "user", "registered_by", "revoked_by"
        ),
        pk=client_id,
    )


# --- On every API call ----------------------------------------------------------------------------


def client_actor(client: ApiClient) -> Actor:
    """The actor a client's calls act as: its service account in its own assignment."""
    return Actor(user=client.user, assignment=client.assignment)


def _refused(client: ApiClient, reason: str, now: dt.datetime) -> None:
    """Record a refused call, unless one of this client was recorded in the last minute: one
    conditional UPDATE decides, so that a revoked client's retries (or anyone's calls with a
    known key id) cannot flood the log, nor use up the client's rate limit."""
    since = now - dt.timedelta(seconds=WINDOW)
    first = (
        ApiClient.objects.filter(pk=client.pk)
        .filter(Q(refused_at__isnull=True) | Q(refused_at__lt=since))
        .update(refused_at=now)
    )
    if not first:
        return
    record(
        action=Action.API_CLIENT_REFUSED,
        actor=client_actor(client),
        outcome=Outcome.DENIED,
        target=client,
        detail={"reason": reason},
    )


def api_client_authenticate(*, token: str) -> ApiClient | None:
    """The client `token` belongs to, when it is in force (not revoked or expired, its account
    and assignment valid today), else None. A token of a known client that fails is recorded
    with the reason (`api_client.refused`, at most once a minute per client); a token no client
    has is not (it names no one)."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    client = (
        ApiClient.objects.select_related("user", "assignment__unit__provider")
        .filter(key_id=match[1])
        .first()
    )
    if client is None:
        return None
    now = timezone.now()
    today = timezone.localdate()
    reason = ""
    if not hmac.compare_digest(token_hash(token), client.token_hash):
        reason = "wrong_token"
    elif client.revoked_at is not None:
        reason = "revoked"
    elif now >= client.expires_at:
        reason = "expired"
    elif not client.user.account_valid_on(today):
        reason = "account_not_valid"
    elif not client.assignment.active_on(today):
        reason = "assignment_not_active"
    if reason:
        _refused(client, reason, now)
        return None
    _mark_used(client, now)
    return client


def _mark_used(client: ApiClient, now: dt.datetime) -> None:
    """Mark the account and assignment used (R7's dormancy job), at most once an hour."""
    stale = now - USE_MARK_INTERVAL
    if client.user.last_login is None or client.user.last_login < stale:
        User.objects.filter(pk=client.user_id).update(last_login=now)
    used = client.assignment.last_used_at
    if used is None or used < stale:
        Assignment.objects.filter(pk=client.assignment_id).update(last_used_at=now)


def api_client_call_counted(*, client: ApiClient) -> int | None:
    """Count one call in the client's fixed one-minute window. None while within its rate limit;
    else the seconds until the window ends (for Retry-After). The first call over the limit in a
    window is recorded, the others are not (one event per client and minute). The count is one
    conditional UPDATE, so concurrent calls from several processes are counted once each."""
    now = timezone.now()
    window = now.replace(second=0, microsecond=0)
    ApiClient.objects.filter(pk=client.pk).update(
        window_count=Case(When(window_start=window, then=F("window_count") + 1), default=Value(1)),
        window_start=window,
        last_used_at=now,
    )
    count = ApiClient.objects.filter(pk=client.pk).values_list("window_count", flat=True).get()
    if count <= client.rate_limit:
        return None
    if count == client.rate_limit + 1:
        record(
            action=Action.API_CLIENT_RATE_LIMITED,
            actor=client_actor(client),
            outcome=Outcome.DENIED,
            target=client,
            detail={"limit": client.rate_limit, "window": window},
        )
    return max(1, WINDOW - now.second)
