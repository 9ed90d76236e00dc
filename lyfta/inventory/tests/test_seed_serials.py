"""The demo seed gives every individual a serial number of its own (issue 16): the buffer stores
once each received their lift as `SN…-101000`, three items sharing one serial number."""

from __future__ import annotations

from collections import Counter

import pytest

from conftest import County
from lyfta.access.actor import Actor
from lyfta.catalogue.models import IsoClass, Supplier
from lyfta.inventory import seed
from lyfta.inventory.models import Item
from lyfta.orders.tests.conftest import article
from lyfta.organisations.models import Unit
from lyfta.organisations.tests.factories import UnitFactory

pytestmark = pytest.mark.django_db


def test_demo_items_have_unique_serial_numbers(county: County) -> None:
    for town in seed.BUFFER_TOWNS:
        UnitFactory(
            provider=county.municipality, name=f"Hemsjukvården {town}", kind=Unit.Kind.HOME_CARE
        )
    iso = IsoClass.objects.create(code="12", name="Förflyttning", level=1)
    supplier = Supplier.objects.create(name="Demo AB")
    walker = article("D1", "Rollator", iso, supplier)
    seed.seed(Actor.system("seed_demo"))
    serials = Counter(Item.objects.filter(article=walker).values_list("serial_number", flat=True))
    assert len(serials) == seed.TRACKED_UNITS + len(seed.BUFFER_TOWNS)
    assert [s for s, n in serials.items() if n > 1] == []
