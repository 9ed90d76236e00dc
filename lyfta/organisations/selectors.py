"""Reads of providers and units. Organisation data is reference data, not patient data: every
actor with the organisation capability sees all of it."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from lyfta.access.actor import Actor
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.audit.models import AuditEvent
from lyfta.audit.selectors import history_of
from lyfta.organisations.models import CareProvider, Unit


def providers_list(*, actor: Actor) -> QuerySet[CareProvider]:
    """All care providers with the number of active units of each."""
    require(actor, Cap.ORGANISATIONS_VIEW)
    return CareProvider.objects.annotate(unit_count=Count("units", filter=Q(units__active=True)))


def provider_get(*, actor: Actor, provider_id: int) -> CareProvider:
    require(actor, Cap.ORGANISATIONS_VIEW)
    return get_object_or_404(CareProvider, pk=provider_id)


def units_of(*, actor: Actor, provider: CareProvider) -> QuerySet[Unit]:
    require(actor, Cap.ORGANISATIONS_VIEW)
    return provider.units.order_by("kind", "name")


def unit_get(*, actor: Actor, unit_id: int) -> Unit:
    require(actor, Cap.ORGANISATIONS_VIEW)
    return get_object_or_404(
        Unit.objects.select_related("provider").prefetch_related("addresses", "warehouses"),
        pk=unit_id,
    )


def can_view_history(actor: Actor) -> bool:
    return can(actor, Cap.HISTORY_VIEW)


def history_for(*, actor: Actor, obj: CareProvider | Unit) -> list[AuditEvent]:
    """Who changed the provider or unit `obj`, when, and which fields from what to what, newest
    first. The viewing is itself recorded (R70)."""
    require(actor, Cap.HISTORY_VIEW, target=obj)
    return history_of(actor=actor, obj=obj)
