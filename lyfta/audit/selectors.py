"""Reads of the audit trail for the history panels. Each read is itself recorded (R70)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.audit.services import record

if TYPE_CHECKING:
    from lyfta.audit.actor import AuditActor


def history_of(*, actor: AuditActor, obj: models.Model, limit: int = 200) -> list[AuditEvent]:
    """Who changed `obj`, when, and which fields from what to what, newest first; the viewing is
    recorded. The caller's selector has checked that `actor` may see the history of `obj`: the
    recorder knows no roles."""
    events = list(
        AuditEvent.objects.filter(resource_type=obj._meta.label_lower, resource_id=str(obj.pk))
        .exclude(action=Action.HISTORY_VIEWED)
        .order_by("-id")[:limit]
    )
    record(action=Action.HISTORY_VIEWED, actor=actor, target=obj, detail={"shown": len(events)})
    return events
