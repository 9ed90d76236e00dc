"""Writes to care providers, units, delivery addresses and warehouses; each is audited with its
before and after values (R8)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models, transaction

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.services import diff, record, snapshot
from lyfta.organisations.models import CareProvider, DeliveryAddress, Unit, Warehouse

M = TypeVar("M", bound=models.Model)

PROVIDER_FIELDS = (
    "name",
    "short_name",
    "organisation_number",
    "kind",
    "municipality_code",
    "active",
)
UNIT_FIELDS = ("provider", "name", "kind", "customer_number", "cost_centre", "phone", "active")
ADDRESS_FIELDS = ("unit", "label", "street", "postal_code", "city", "is_default")
WAREHOUSE_FIELDS = ("unit", "code", "name", "street", "postal_code", "city", "is_main")


def _create(actor: Actor, instance: M, fields: tuple[str, ...], action: str) -> M:
    require(actor, Cap.ORGANISATIONS_MANAGE)
    with transaction.atomic():
        instance.full_clean()
        instance.save(force_insert=True)
        record(
            action=action,
            actor=actor,
            target=instance,
            changes=diff({}, snapshot(instance, fields)),
        )
    return instance


def _update(
    actor: Actor, instance: M, fields: tuple[str, ...], action: str, data: dict[str, Any]
) -> M:
    unknown = set(data) - set(fields)
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    require(actor, Cap.ORGANISATIONS_MANAGE, target=instance)
    with transaction.atomic():
        locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        before = snapshot(locked, fields)
        for name, value in data.items():
            setattr(locked, name, value)
        locked.full_clean()
        changes = diff(before, snapshot(locked, fields))
        if changes:
            locked.save(update_fields=[*data.keys(), "updated_at"])
            record(action=action, actor=actor, target=locked, changes=changes)
    return locked


def provider_create(*, actor: Actor, **data: Any) -> CareProvider:
    """Register a care provider (the region or a municipality)."""
    return _create(actor, CareProvider(**data), PROVIDER_FIELDS, Action.PROVIDER_CREATED)


def provider_update(*, actor: Actor, provider: CareProvider, **data: Any) -> CareProvider:
    """Change a care provider's fields; only changed fields are recorded."""
    return _update(actor, provider, PROVIDER_FIELDS, Action.PROVIDER_UPDATED, data)


def unit_create(*, actor: Actor, **data: Any) -> Unit:
    """Register a unit (kund) of a care provider."""
    return _create(actor, Unit(**data), UNIT_FIELDS, Action.UNIT_CREATED)


def unit_update(*, actor: Actor, unit: Unit, **data: Any) -> Unit:
    """Change a unit's fields; only changed fields are recorded."""
    return _update(actor, unit, UNIT_FIELDS, Action.UNIT_UPDATED, data)


def address_create(*, actor: Actor, **data: Any) -> DeliveryAddress:
    """Add a delivery address to a unit."""
    return _create(actor, DeliveryAddress(**data), ADDRESS_FIELDS, Action.ADDRESS_CREATED)


def address_update(*, actor: Actor, address: DeliveryAddress, **data: Any) -> DeliveryAddress:
    return _update(actor, address, ADDRESS_FIELDS, Action.ADDRESS_UPDATED, data)


def warehouse_create(*, actor: Actor, **data: Any) -> Warehouse:
    """Register a warehouse of the assistive-device centre."""
    return _create(actor, Warehouse(**data), WAREHOUSE_FIELDS, Action.WAREHOUSE_CREATED)


def warehouse_update(*, actor: Actor, warehouse: Warehouse, **data: Any) -> Warehouse:
    return _update(actor, warehouse, WAREHOUSE_FIELDS, Action.WAREHOUSE_UPDATED, data)
