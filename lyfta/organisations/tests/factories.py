"""Factories for providers and units (synthetic organisation numbers)."""

from __future__ import annotations

import factory

from lyfta.core.luhn import luhn_digit
from lyfta.organisations.models import CareProvider, DeliveryAddress, Unit, Warehouse


def _orgno(n: int) -> str:
    body = f"21{8}{n:06d}"
    return f"{body[:6]}-{body[6:]}{luhn_digit(body)}"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareProvider

    name = factory.Sequence(lambda n: f"Testkommun {n} kommun")
    short_name = factory.Sequence(lambda n: f"Testkommun {n}")
    organisation_number = factory.Sequence(_orgno)
    kind = CareProvider.Kind.MUNICIPALITY


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    provider = factory.SubFactory(ProviderFactory)
    name = factory.Sequence(lambda n: f"Testenhet {n}")
    kind = Unit.Kind.HOME_CARE
    customer_number = factory.Sequence(lambda n: f"T{n:06d}")
    cost_centre = factory.Sequence(lambda n: f"{n:05d}")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAddress

    unit = factory.SubFactory(UnitFactory)
    label = "Godsmottagning"
    street = factory.Sequence(lambda n: f"Testgatan {n}")
    postal_code = "652 25"
    city = "Karlstad"
    is_default = True


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    unit = factory.SubFactory(UnitFactory, kind=Unit.Kind.CENTRE)
    code = factory.Sequence(lambda n: f"W{n}")
    name = factory.Sequence(lambda n: f"Testlager {n}")
    street = "Lagergatan 1"
    postal_code = "653 43"
    city = "Karlstad"
