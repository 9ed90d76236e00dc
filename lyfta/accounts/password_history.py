"""No reuse of a user's last passwords (the defaults table: the last 10)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _


class PasswordHistoryValidator:
    """Refuses the current password and the last LYFTA_PASSWORD_HISTORY ones; remembers each new
    password's hash when Django reports it changed (`password_changed`)."""

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None:
            return
        from lyfta.accounts.models import PasswordHistory

        if user.has_usable_password() and check_password(password, user.password):
            raise ValidationError(_("Välj ett nytt lösenord, inte det du har nu."), code="reused")
        recent = PasswordHistory.objects.filter(user=user).values_list("password", flat=True)
        for old in recent[: settings.LYFTA_PASSWORD_HISTORY]:
            if check_password(password, old):
                raise ValidationError(
                    _(
                        "Du har använt det här lösenordet tidigare. Välj ett som du inte har haft "
                        "bland dina %(count)d senaste."
                    )
                    % {"count": settings.LYFTA_PASSWORD_HISTORY},
                    code="reused",
                )

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None or not user.password:
            return
        from lyfta.accounts.models import PasswordHistory

        PasswordHistory.objects.create(user=user, password=user.password, created_at=timezone.now())
        keep = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[
            : settings.LYFTA_PASSWORD_HISTORY
        ]
        PasswordHistory.objects.filter(user=user).exclude(pk__in=list(keep)).delete()

    def get_help_text(self) -> str:
        return _("Lösenordet får inte vara ett av dina %(count)d senaste.") % {
            "count": settings.LYFTA_PASSWORD_HISTORY
        }
