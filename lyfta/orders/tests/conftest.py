"""Fixtures of the device flow: the centre's stores, a small assortment with stock, and patients
of unit A (alice's and bob's home care) and of the region's unit B (charlie's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.patients import Denial, PatientGrant, grant_for
from lyfta.catalogue.models import (
    Article,
    BillingType,
    CostClass,
    DeliveryClass,
    IsoClass,
    SubstitutionGroup,
    Supplier,
)
from lyfta.inventory.models import StockLocation
from lyfta.inventory.services import ReceivedItem, goods_receive
from lyfta.orders.models import Loan
from lyfta.organisations.models import DeliveryAddress
from lyfta.patients.models import CareRelationship, Patient


@dataclass
class Shop:
    central: StockLocation
    recon: StockLocation
    shrinkage: StockLocation
    buffer_a: StockLocation  # unit A's buffer store
    lift: Article  # tracked, rent
    bed: Article  # tracked, rent
    walker: Article  # tracked, rent, in a fixed substitution group with walker2
    walker2: Article
    cushion: Article  # not tracked, sale
    grips: Article  # not tracked, rent (sale with return)
    patient: Patient  # of unit A
    other: Patient  # of unit A too
    region_patient: Patient  # of unit B (the region)


def _iso(code: str, name: str) -> IsoClass:
    parts = code.split(" ")
    parent = None
    for level in range(1, len(parts) + 1):
        prefix = " ".join(parts[:level])
        parent, _created = IsoClass.objects.get_or_create(
            code=prefix,
            defaults={
                "name": name if level == len(parts) else prefix,
                "parent": parent,
                "level": level,
            },
        )
    assert parent is not None
    return parent


def article(number: str, name: str, iso: IsoClass, supplier: Supplier, **fields: object) -> Article:
    defaults: dict[str, object] = {
        "billing_type": BillingType.RENT,
        "monthly_rent": Decimal("250.00"),
        "price": Decimal("12000.00"),
        "tracked": True,
        "delivery_class": DeliveryClass.STOCK,
        "lead_time_days": 3,
        "cost_class": CostClass.MUNICIPALITY,
    }
    defaults.update(fields)
    return Article.objects.create(
        article_number=number, name=name, iso_class=iso, supplier=supplier, **defaults
    )


@pytest.fixture
def shop(county: County, logan: Persona) -> Shop:
    central = StockLocation.objects.create(
        code="HMC", name="Centrallagret", kind=StockLocation.Kind.CENTRAL, unit=county.centre
    )
    recon = StockLocation.objects.create(
        code="REK", name="Rekond", kind=StockLocation.Kind.RECONDITIONING, unit=county.centre
    )
    shrinkage = StockLocation.objects.create(
        code="SVINN", name="Svinn", kind=StockLocation.Kind.SHRINKAGE, unit=county.centre
    )
    buffer_a = StockLocation.objects.create(
        code="BUF-A",
        name="Förråd hemsjukvården",
        kind=StockLocation.Kind.BUFFER,
        unit=county.unit_a,
    )
    for unit in (county.unit_a, county.unit_b, county.unit_a2):
        DeliveryAddress.objects.create(
            unit=unit,
            label="Entré",
            street="Vårdvägen 1",
            postal_code="65225",
            city="Karlstad",
            is_default=True,
        )
    supplier = Supplier.objects.create(name="Lyftab AB")
    walkers = SubstitutionGroup.objects.create(name="Rollatorer standard", fixed=True)
    lift = article(
        "100001", "Taklyft Orbit", _iso("12 36 12", "Taklyftar"), supplier, lead_time_days=5
    )
    bed = article("100002", "Vårdsäng Viva", _iso("18 12 07", "Vårdsängar"), supplier)
    walker = article(
        "100003",
        "Rollator Delta",
        _iso("12 06 06", "Rollatorer"),
        supplier,
        substitution_group=walkers,
    )
    walker2 = article(
        "100004",
        "Rollator Gamma",
        _iso("12 06 06", "Rollatorer"),
        supplier,
        substitution_group=walkers,
    )
    cushion = article(
        "200001",
        "Sittdyna",
        _iso("04 33 03", "Sittdynor"),
        supplier,
        tracked=False,
        billing_type=BillingType.SALE,
        monthly_rent=None,
        price=Decimal("450.00"),
    )
    grips = article(
        "200002",
        "Stödhandtag",
        _iso("18 18 06", "Stödhandtag"),
        supplier,
        tracked=False,
        billing_type=BillingType.SALE_RETURN,
        price=Decimal("300.00"),
    )
    actor = logan.actor
    goods_receive(
        actor=actor,
        location=central,
        article=lift,
        quantity=2,
        items=[ReceivedItem("SN-L1"), ReceivedItem("SN-L2")],
    )
    goods_receive(
        actor=actor,
        location=central,
        article=bed,
        quantity=2,
        items=[ReceivedItem("SN-B1", "LOT-1"), ReceivedItem("SN-B2", "LOT-1")],
    )
    goods_receive(actor=actor, location=central, article=walker2, quantity=1)
    goods_receive(actor=actor, location=central, article=cushion, quantity=10)
    goods_receive(actor=actor, location=central, article=grips, quantity=5)
    today = timezone.localdate()
    patient = Patient.objects.create(
        identifier="194001019803",
        id_kind="personnummer",
        first_name="Aina",
        last_name="Apel",
        street="Storgatan 1",
        postal_code="65225",
        city="Karlstad",
        phone="070-111 22 33",
    )
    other = Patient.objects.create(
        identifier="195503039819",
        id_kind="personnummer",
        first_name="Sten",
        last_name="Sjö",
        street="Sjövägen 2",
        postal_code="66130",
        city="Säffle",
    )
    region_patient = Patient.objects.create(
        identifier="194502029814",
        id_kind="personnummer",
        first_name="Bertil",
        last_name="Björk",
        street="Bergsgatan 3",
        postal_code="65226",
        city="Karlstad",
    )
    for p in (patient, other):
        CareRelationship.objects.create(
            unit=county.unit_a, patient=p, origin="order", valid_from=today - dt.timedelta(days=5)
        )
    CareRelationship.objects.create(
        unit=county.unit_b, patient=region_patient, origin="order", valid_from=today
    )
    return Shop(
        central,
        recon,
        shrinkage,
        buffer_a,
        lift,
        bed,
        walker,
        walker2,
        cushion,
        grips,
        patient,
        other,
        region_patient,
    )


def lend(prescriber: Persona, logan: Persona, patient: Patient, shop: Shop) -> Loan:
    """A lift ordered by `prescriber` for `patient`, picked and delivered by `logan`: on loan."""
    from lyfta.orders import services

    order = services.order_place(
        actor=prescriber.actor,
        grant=grant(prescriber, patient),
        lines=[services.LineInput(shop.lift)],
        delivery=services.DeliveryInput(),
    )
    for line in order.lines.all():
        services.line_pick(actor=logan.actor, line=line)
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    return loan


def grant(persona: Persona, patient: Patient) -> PatientGrant:
    found = grant_for(persona.actor, patient, "test-session")
    assert not isinstance(found, Denial), found
    return found
