"""Authentication that honours the account's validity window (R3)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone


class WindowedModelBackend(ModelBackend):
    """Django's backend, refusing accounts outside their validity window or suspended. Django calls
    `user_can_authenticate` both at sign-in and, through `get_user`, on every request, so an
    account whose window closes is refused at its next request too. A machine client's service
    account (`is_service`) never signs in on the pages: it acts only through the API's token."""

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user) or getattr(user, "is_service", False):
            return False
        valid_on = getattr(user, "account_valid_on", None)
        return valid_on is None or bool(valid_on(timezone.localdate()))
