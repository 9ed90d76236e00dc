"""Helpers for the identity tests: signing in through the real views, TOTP codes, events."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.audit.models import AuditEvent


def sign_in(client: Client, username: str, password: str = TEST_PASSWORD, **extra: Any) -> Any:
    """POST the sign-in form as a browser would (no redirects followed)."""
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, **extra
    )


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    """The device's current TOTP code (or the one `offset` steps away)."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{code:06d}"


def actions(**filters: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True)
    )


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-id").first()  # type: ignore[return-value]
