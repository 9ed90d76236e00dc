"""Session rules (R23–R29): stamps kept in the session, the UserSession rows that let users and
administrators see and end sessions, the idle and absolute limits, and re-authentication."""

from __future__ import annotations

import time
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from lyfta.accounts.models import User, UserSession
from lyfta.audit.middleware import client_address

AUTH_AT = "lyfta_auth_at"
LAST_ACTIVITY = "lyfta_last_activity"
REAUTH_AT = "lyfta_reauth_at"
ROW = "lyfta_user_session"


def _store(session_key: str) -> object:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=session_key)


def session_started(request: HttpRequest, user: User) -> UserSession:
    """Call right after django.contrib.auth.login: a new session key (R26), the time stamps, the
    UserSession row, and the concurrency limit (R29): beyond it the oldest sessions end."""
    request.session.cycle_key()
    now = time.time()
    request.session[AUTH_AT] = now
    request.session[LAST_ACTIVITY] = now
    request.session[REAUTH_AT] = now
    request.session.save()
    stamp = timezone.now()
    row = UserSession.objects.create(
        user=user,
        session_key=request.session.session_key,
        created_at=stamp,
        last_seen_at=stamp,
        client_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
    )
    request.session[ROW] = row.pk
    active = list(
        UserSession.objects.filter(user=user, ended_at__isnull=True).order_by("-created_at")
    )
    for old in active[settings.LYFTA_MAX_SESSIONS :]:
        end_session_row(old, UserSession.EndReason.LIMIT)
        from lyfta.access.actor import Actor
        from lyfta.audit.actions import Action
        from lyfta.audit.services import record

        record(
            action=Action.SESSION_ENDED,
            actor=Actor(user=user),
            target=old,
            detail={"reason": "limit", "limit": settings.LYFTA_MAX_SESSIONS},
        )
    return row


def session_key_changed(request: HttpRequest) -> None:
    """After `cycle_key()` (re-authentication, password change): follow the new key."""
    request.session.save()
    row_id = request.session.get(ROW)
    if row_id:
        UserSession.objects.filter(pk=row_id).update(session_key=request.session.session_key)


def end_session_row(row: UserSession, reason: str) -> None:
    """End one session on the server: its stored data is deleted, so its cookie is worthless."""
    if row.session_key:
        _store(row.session_key).delete()  # type: ignore[attr-defined]
    UserSession.objects.filter(pk=row.pk, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason, session_key=None
    )


def end_sessions_of(user: User, reason: str, *, keep_key: str | None = None) -> int:
    """End every open session of `user` (except the one with `keep_key`); how many ended."""
    rows = UserSession.objects.filter(user=user, ended_at__isnull=True)
    if keep_key:
        rows = rows.exclude(session_key=keep_key)
    count = 0
    for row in rows:
        end_session_row(row, reason)
        count += 1
    return count


def current_row(request: HttpRequest) -> UserSession | None:
    row_id = request.session.get(ROW)
    return UserSession.objects.filter(pk=row_id).first() if row_id else None


def expiry_reason(request: HttpRequest) -> str | None:
    """ "idle" or "expired" when the session must end before this request is served."""
    now = time.time()
    auth_at = request.session.get(AUTH_AT)
    last = request.session.get(LAST_ACTIVITY)
    if auth_at is None or last is None:
        return "expired"
    if now - auth_at > settings.SESSION_COOKIE_AGE:
        return "expired"
    if now - last > settings.LYFTA_IDLE_TIMEOUT:
        return "idle"
    return None


def touch(request: HttpRequest) -> None:
    """Record activity. Written at most every few seconds, so a busy page does not write its
    session on every request, yet always well inside the idle limit."""
    now = time.time()
    last = request.session.get(LAST_ACTIVITY, 0)
    if now - last >= min(30.0, settings.LYFTA_IDLE_TIMEOUT / 4):
        request.session[LAST_ACTIVITY] = now
        row_id = request.session.get(ROW)
        if row_id:
            UserSession.objects.filter(pk=row_id).update(last_seen_at=timezone.now())


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the user signed in or re-authenticated within LYFTA_REAUTH_WINDOW (R30)."""
    stamp = request.session.get(REAUTH_AT)
    return stamp is not None and time.time() - stamp <= settings.LYFTA_REAUTH_WINDOW


def cycle(request: HttpRequest) -> None:
    """A new session key after a step of sign-in (R26), without counting as re-authentication."""
    request.session.cycle_key()
    session_key_changed(request)


def mark_reauthenticated(request: HttpRequest) -> None:
    """A new session key at re-authentication too (R26): Django's login() does not cycle it when
    the same user signs in again, so this does it explicitly."""
    request.session.cycle_key()
    request.session[REAUTH_AT] = time.time()
    request.session[LAST_ACTIVITY] = time.time()
    session_key_changed(request)


def session_ref(request: HttpRequest) -> str:
    """A stable name for the sign-in session: its UserSession id, which survives new session keys
    (re-authentication); a hash of the key for sessions made without one (tests)."""
    row_id = request.session.get(ROW)
    if row_id:
        return f"s{row_id}"
    import hashlib

    return hashlib.sha256((request.session.session_key or "").encode()).hexdigest()
