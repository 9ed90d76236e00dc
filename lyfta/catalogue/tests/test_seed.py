"""The demo assortment: about 200 synthetic articles across the usual kinds, seeded once."""

from __future__ import annotations

import pytest

from lyfta.access.actor import Actor
from lyfta.audit.models import AuditEvent
from lyfta.catalogue.models import (
    Article,
    BillingType,
    DeliveryClass,
    IsoClass,
    SubstitutionGroup,
    Supplier,
)
from lyfta.catalogue.seed import seed
from lyfta.organisations.models import validate_organisation_number

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        IsoClass.objects.count(),
        Supplier.objects.count(),
        SubstitutionGroup.objects.count(),
        Article.objects.count(),
        Article.accessories.through.objects.count(),
        AuditEvent.objects.count(),
    )


def test_seed_creates_a_varied_assortment() -> None:
    seed(Actor.system("seed_demo"))
    assert 190 <= Article.objects.count() <= 220
    assert set(IsoClass.objects.values_list("level", flat=True)) == {1, 2, 3}
    assert not Article.objects.exclude(iso_class__level=3).exists()
    assert Supplier.objects.count() == 8
    for supplier in Supplier.objects.all():
        validate_organisation_number(supplier.organisation_number)
    assert set(Article.objects.values_list("billing_type", flat=True)) == set(BillingType.values)
    assert set(Article.objects.values_list("delivery_class", flat=True)) == set(
        DeliveryClass.values
    )
    # Beds, lifts and wheelchairs are tracked; small aids are not.
    for code in ("18 12 10", "12 36 12", "12 36 03", "12 22 03", "12 23 06"):
        assert not Article.objects.filter(iso_class__code=code, tracked=False).exists(), code
    assert not Article.objects.filter(iso_class__code="12 03 06", tracked=True).exists()
    # Lifts and slings are inspected yearly.
    lifts = Article.objects.filter(iso_class__code__startswith="12 36")
    assert lifts.count() > 20 and not lifts.exclude(maintenance_interval_months=12).exists()
    assert Article.objects.filter(in_assortment=False).exists()
    assert Article.objects.filter(substitution_group__fixed=True).exists()
    assert Article.accessories.through.objects.exists()
    ceiling_lift = Article.objects.filter(iso_class__code="12 36 12").first()
    assert ceiling_lift is not None and ceiling_lift.accessories.exists()


def test_seed_twice_changes_nothing() -> None:
    seed(Actor.system("seed_demo"))
    before = _counts()
    seed(Actor.system("seed_demo"))
    assert _counts() == before
