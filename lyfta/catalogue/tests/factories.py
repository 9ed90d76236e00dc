"""Factories for the assortment. `ArticleFactory()` gives a tracked rent article (a rollator in
stock) in a third-level ISO class, with its class tree and supplier made as needed."""

from __future__ import annotations

from decimal import Decimal

import factory

from lyfta.catalogue.models import (
    Article,
    BillingType,
    CostClass,
    DeliveryClass,
    IsoClass,
    SubstitutionGroup,
    Supplier,
)


def _iso(code: str, name: str) -> IsoClass:
    """The class of `code`, with its parents, made if missing (get-or-create: codes are unique)."""
    parts = code.split(" ")
    parent = (
        _iso(" ".join(parts[:-1]), f"Testklass {' '.join(parts[:-1])}") if len(parts) > 1 else None
    )
    iso, _created = IsoClass.objects.get_or_create(
        code=code, defaults={"name": name, "parent": parent, "level": len(parts)}
    )
    return iso


class IsoClassFactory(factory.django.DjangoModelFactory):
    """A third-level class "12 06 06" (rollators) by default; pass `code` for another. Parents are
    created as needed."""

    class Meta:
        model = IsoClass
        django_get_or_create = ("code",)

    code = "12 06 06"
    name = factory.LazyAttribute(lambda o: f"Testklass {o.code}")
    level = factory.LazyAttribute(lambda o: len(o.code.split(" ")))

    @factory.lazy_attribute
    def parent(self) -> IsoClass | None:
        parts = self.code.split(" ")
        if len(parts) == 1:
            return None
        parent_code = " ".join(parts[:-1])
        return _iso(parent_code, f"Testklass {parent_code}")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"Testleverantören {n} AB")
    phone = "010-000 00 00"
    email = factory.Sequence(lambda n: f"order{n}@leverantor.example")


class SubstitutionGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubstitutionGroup

    name = factory.Sequence(lambda n: f"Testgrupp {n}")
    fixed = False


class ArticleFactory(factory.django.DjangoModelFactory):
    """A tracked rent article in stock (3 working days), in the assortment."""

    class Meta:
        model = Article

    article_number = factory.Sequence(lambda n: f"T{n:06d}")
    name = factory.Sequence(lambda n: f"Testrollator {n}")
    iso_class = factory.SubFactory(IsoClassFactory)
    supplier = factory.SubFactory(SupplierFactory)
    supplier_article_number = ""
    billing_type = BillingType.RENT
    price_group = "G1"
    monthly_rent = Decimal("75.00")
    price = Decimal("3000.00")
    tracked = True
    delivery_class = DeliveryClass.STOCK
    lead_time_days = 3
    substitution_group = None
    maintenance_interval_months = None
    warranty_months = 24
    cost_class = CostClass.PRESCRIBER
    in_assortment = True
