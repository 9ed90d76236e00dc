"""A small economy world for the billing-run tests: the county's two providers as customers with
cost centres, a price list, a payer rule (special housing → the home municipality pays), rent
and sale articles, patients, and helpers to make loans and housing periods."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lyfta.billing.models import (
    BillingRun,
    CostCentre,
    Customer,
    Housing,
    PatientHousing,
    PayerRule,
    Price,
    PriceList,
    RentRule,
    UnitCostCentre,
)
from lyfta.catalogue.models import Article, BillingType
from lyfta.catalogue.tests.factories import ArticleFactory
from lyfta.orders.models import Loan
from lyfta.patients.models import Patient

_numbers = itertools.count(1)


@dataclass
class World:
    county: Any
    region_customer: Customer
    municipality_customer: Customer
    unit_a_centre: CostCentre
    price_list: PriceList
    rule: PayerRule
    rent_article: Article
    cheap_article: Article
    sale_article: Article
    patients: list[Patient] = field(default_factory=list)

    def patient(self) -> Patient:
        n = next(_numbers)
        return Patient.objects.create(
            identifier=f"1950{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 10000:04d}",
            id_kind="personnummer",
            first_name="Test",
            last_name=f"Patient{n}",
        )

    def loan(
        self,
        patient: Patient,
        *,
        started_on: dt.date,
        ended_on: dt.date | None = None,
        rent_stop_on: dt.date | None = None,
        article: Article | None = None,
        unit: Any = None,
        quantity: int = 1,
    ) -> Loan:
        article = article or self.rent_article
        unit = unit or self.county.unit_a
        return Loan.unscoped.create(
            patient=patient,
            article=article,
            quantity=quantity,
            unit=unit,
            payer=unit,
            billing_type=article.billing_type,
            started_on=started_on,
            ended_on=ended_on,
            end_reason="returned" if ended_on else "",
            rent_stop_on=rent_stop_on,
        )

    def move(self, patient: Patient, day: dt.date, housing: str = Housing.SPECIAL) -> None:
        PatientHousing.unscoped.create(
            patient=patient,
            housing=housing,
            municipality=self.county.municipality,
            valid_from=day,
        )


def build_world(county: Any, *, rule: str = RentRule.PER_DAY) -> World:
    region_customer = Customer.objects.create(
        provider=county.region,
        customer_number="K100",
        invoice_street="Regionvägen 1",
        invoice_postal_code="65100",
        invoice_city="Testby",
    )
    municipality_customer = Customer.objects.create(
        provider=county.municipality,
        customer_number="K200",
        invoice_street="Kommunvägen 1",
        invoice_postal_code="65200",
        invoice_city="Testköping",
    )
    start = dt.date(2020, 1, 1)
    CostCentre.objects.create(
        customer=region_customer, code="R0", name="Regionen övrigt", default=True, valid_from=start
    )
    CostCentre.objects.create(
        customer=municipality_customer,
        code="M0",
        name="Kommunen övrigt",
        default=True,
        valid_from=start,
    )
    unit_a_centre = CostCentre.objects.create(
        customer=municipality_customer, code="M1", name="Hemsjukvården", valid_from=start
    )
    UnitCostCentre.objects.create(unit=county.unit_a, cost_centre=unit_a_centre, valid_from=start)
    price_list = PriceList.objects.create(
        name="Prislista 2020", valid_from=start, rent_rule=rule, hourly_rate=Decimal("600.00")
    )
    for kind, key, amount in (
        (Price.Kind.RENT, "G1", "310.00"),
        (Price.Kind.RENT, "G2", "95.50"),
        (Price.Kind.FEE, Price.Fee.DELIVERY, "150.00"),
        (Price.Kind.FEE, Price.Fee.URGENT, "400.00"),
        (Price.Kind.FEE, Price.Fee.FAILED_DELIVERY, "250.00"),
    ):
        Price.objects.create(price_list=price_list, kind=kind, key=key, amount=Decimal(amount))
    rule_row = PayerRule.objects.create(
        region=county.region,
        priority=1,
        name="Särskilt boende",
        housing=Housing.SPECIAL,
        payer=PayerRule.Payer.HOME_MUNICIPALITY,
        valid_from=start,
    )
    # Ordinary housing: the region pays (so that a move to special housing changes the payer).
    PayerRule.objects.create(
        region=county.region,
        priority=2,
        name="Ordinärt boende",
        housing=Housing.ORDINARY,
        payer=PayerRule.Payer.REGION,
        valid_from=start,
    )
    rent_article = ArticleFactory(price_group="G1", monthly_rent=Decimal("300.00"))
    cheap_article = ArticleFactory(price_group="G2", monthly_rent=Decimal("90.00"), tracked=False)
    sale_article = ArticleFactory(
        billing_type=BillingType.SALE, price_group="", price=Decimal("1234.50"), tracked=False
    )
    return World(
        county=county,
        region_customer=region_customer,
        municipality_customer=municipality_customer,
        unit_a_centre=unit_a_centre,
        price_list=price_list,
        rule=rule_row,
        rent_article=rent_article,
        cheap_article=cheap_article,
        sale_article=sale_article,
    )


def new_run(month: dt.date, user: Any, status: str = BillingRun.Status.QUEUED) -> BillingRun:
    return BillingRun.objects.create(month=month, status=status, created_by=user)
