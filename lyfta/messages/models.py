"""Messages to users inside Lyfta: notices to log reviewers (emergency access, R52) and, from the
device issue on, to prescribers about cancellations, failed deliveries and missing items."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Message(models.Model):
    """One message to one user. Holds no clinical text; a link leads to where the details are,
    behind the usual access rules."""

    class Kind(models.TextChoices):
        EMERGENCY_ACCESS = "emergency_access", _("Nödåtkomst att granska")
        NOTICE = "notice", _("Meddelande")

    recipient = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="messages"
    )
    kind = models.CharField(_("typ"), max_length=24, choices=Kind.choices)
    subject = models.CharField(_("ämne"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("länk"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("skickat"))
    read_at = models.DateTimeField(_("läst"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("meddelande")
        verbose_name_plural = _("meddelanden")
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.subject
