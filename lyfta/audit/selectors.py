"""Reads of the audit trail for the history panels. Each read is itself recorded (R70)."""

from __future__ import annotations

from django.db import models

from lyfta.access.actor import Actor
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.audit.services import record


def can_view_history(actor: Actor) -> bool:
    return can(actor, Cap.HISTORY_VIEW)


def history_for(*, actor: Actor, obj: models.Model, limit: int = 200) -> list[AuditEvent]:
    """Who changed `obj`, when, and which fields from what to what, newest first."""
    require(actor, Cap.HISTORY_VIEW, target=obj)
    events = list(
        AuditEvent.objects.filter(resource_type=obj._meta.label_lower, resource_id=str(obj.pk))
        .exclude(action=Action.HISTORY_VIEWED)
        .order_by("-id")[:limit]
    )
    record(action=Action.HISTORY_VIEWED, actor=actor, target=obj, detail={"shown": len(events)})
    return events
