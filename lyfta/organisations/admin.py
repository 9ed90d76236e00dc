"""Admin pages for providers, units, addresses and warehouses; saves go through the services."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest

from lyfta.access.admin import CapabilityAdmin, admin_site
from lyfta.organisations import services
from lyfta.organisations.models import CareProvider, DeliveryAddress, Unit, Warehouse


class ServiceAdmin(CapabilityAdmin):
    """Saves through a create/update service pair so that every change is audited."""

    fields_for_service: tuple[str, ...] = ()

    def create(self, actor: Any, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def update(self, actor: Any, obj: Any, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:  # type: ignore[type-arg]
        actor = request.actor  # type: ignore[attr-defined]
        if change:
            data = {f: getattr(obj, f) for f in form.changed_data if f in self.fields_for_service}
            saved = self.update(actor, obj, data)
        else:
            saved = self.create(actor, {f: getattr(obj, f) for f in self.fields_for_service})
        obj.pk = saved.pk


class ProviderAdmin(ServiceAdmin):
    list_display = ("name", "organisation_number", "kind", "municipality_code", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "organisation_number", "municipality_code")
    fields_for_service = services.PROVIDER_FIELDS
    fields = fields_for_service

    def create(self, actor: Any, data: dict[str, Any]) -> models.Model:
        return services.provider_create(actor=actor, **data)

    def update(self, actor: Any, obj: Any, data: dict[str, Any]) -> models.Model:
        return services.provider_update(actor=actor, provider=obj, **data)


class UnitAdmin(ServiceAdmin):
    list_display = ("name", "provider", "kind", "customer_number", "cost_centre", "active")
    list_filter = ("kind", "active", "provider")
    search_fields = ("name", "customer_number", "cost_centre")
    list_select_related = ("provider",)
    fields_for_service = services.UNIT_FIELDS
    fields = fields_for_service

    def create(self, actor: Any, data: dict[str, Any]) -> models.Model:
        return services.unit_create(actor=actor, **data)

    def update(self, actor: Any, obj: Any, data: dict[str, Any]) -> models.Model:
        return services.unit_update(actor=actor, unit=obj, **data)


class AddressAdmin(ServiceAdmin):
    list_display = ("label", "unit", "street", "postal_code", "city", "is_default")
    search_fields = ("label", "street", "city", "unit__name")
    list_select_related = ("unit",)
    fields_for_service = services.ADDRESS_FIELDS
    fields = fields_for_service

    def create(self, actor: Any, data: dict[str, Any]) -> models.Model:
        return services.address_create(actor=actor, **data)

    def update(self, actor: Any, obj: Any, data: dict[str, Any]) -> models.Model:
        return services.address_update(actor=actor, address=obj, **data)


class WarehouseAdmin(ServiceAdmin):
    list_display = ("name", "code", "unit", "city", "is_main")
    fields_for_service = services.WAREHOUSE_FIELDS
    fields = fields_for_service

    def create(self, actor: Any, data: dict[str, Any]) -> models.Model:
        return services.warehouse_create(actor=actor, **data)

    def update(self, actor: Any, obj: Any, data: dict[str, Any]) -> models.Model:
        return services.warehouse_update(actor=actor, warehouse=obj, **data)


admin_site.register(CareProvider, ProviderAdmin)
admin_site.register(Unit, UnitAdmin)
admin_site.register(DeliveryAddress, AddressAdmin)
admin_site.register(Warehouse, WarehouseAdmin)
