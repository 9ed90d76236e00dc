"""Limits on guessing passwords beyond django-axes' lock per username and address (R18):

- one address may fail at most LYFTA_LOCKOUT_ADDRESS_FAILURES times in LYFTA_LOCKOUT_MINUTES,
  whatever the usernames (password spraying); it is then refused for that long;
- an account is closed for sign-in after LYFTA_LOCKOUT_ACCOUNT_FAILURES consecutive failures from
  any address (at most 100, NIST SP 800-63B), until a user administrator unlocks it; the number is
  high so that a stranger cannot lock a colleague out with a few tries.

Re-authentication and password change count too: an open session is no guessing oracle."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from lyfta.accounts.models import FailedSignIn, User
from lyfta.audit.middleware import client_address


def failed(request: HttpRequest, username: str) -> None:
    failed_at(username, client_address(request))


def failed_at(username: str, address: str) -> None:
    """A wrong password from `address` (for steps that have the audit context, not the request)."""
    FailedSignIn.objects.create(username=username[:150], client_address=address, at=timezone.now())


def blocked_reason(request: HttpRequest, username: str) -> str | None:
    """ "address" or "account" when further password checks must be refused, else None."""
    now = timezone.now()
    window = now - dt.timedelta(minutes=settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    address = client_address(request)
    if (
        address
        and FailedSignIn.objects.filter(client_address=address, at__gte=window).count()
        >= settings.LYFTA_LOCKOUT_ADDRESS_FAILURES
    ):
        return "address"
    last_success = (
        User.objects.filter(username=username).values_list("last_login", flat=True).first()
    )
    failures = FailedSignIn.objects.filter(username=username)
    if last_success is not None:
        failures = failures.filter(at__gt=last_success)
    if failures.count() >= settings.LYFTA_LOCKOUT_ACCOUNT_FAILURES:
        return "account"
    return None


def forget(username: str) -> None:
    """An administrator's unlock: the account's failures no longer count."""
    FailedSignIn.objects.filter(username=username).delete()


def prune(*, older_than_days: int = 30) -> int:
    return FailedSignIn.objects.filter(
        at__lt=timezone.now() - dt.timedelta(days=older_than_days)
    ).delete()[0]
