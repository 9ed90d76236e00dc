"""The economy desk's demo data (issue 14 point 7), synthetic: every care provider of the demo
county as a customer (customer number, Peppol id from its organisation number, invoice address),
a default cost centre per customer and one per unit (units assigned two years back), two price
lists (from 1 January last year and this year, so that the validity shows), Västmanland-style
payer rules ("Ansvar 1–4", short-term loans, habilitation) for the region, a responsibility class
on every article, and the patients' form of housing — most in ordinary housing, those of care
homes in special housing, and one who moved into special housing in the middle of last month
(the month is split between payers). Idempotent: what exists is left as it is."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from statistics import median

from lyfta.access.actor import Actor
from lyfta.billing.models import (
    CostCentre,
    Customer,
    Housing,
    PatientHousing,
    PayerRule,
    Price,
    PriceList,
    UnitCostCentre,
)
from lyfta.billing.services import reference as services
from lyfta.catalogue.models import Article, BillingType, CostClass
from lyfta.orders.models import Loan
from lyfta.organisations.models import CareProvider, DeliveryAddress, Unit
from lyfta.patients.models import CareRelationship, Patient

FEES = {
    Price.Fee.DELIVERY: Decimal("250"),
    Price.Fee.URGENT: Decimal("600"),
    Price.Fee.FAILED_DELIVERY: Decimal("450"),
    Price.Fee.HANDLING: Decimal("150"),
}
INSPECTION = Decimal("450")
HOURLY = Decimal("650")
PART_LIMIT = Decimal("500")  # sold articles under this price are also priced as parts

Special, Ordinary = Housing.SPECIAL, Housing.ORDINARY
REGION, MUNICIPALITY, UNIT = (
    PayerRule.Payer.REGION,
    PayerRule.Payer.HOME_MUNICIPALITY,
    PayerRule.Payer.PRESCRIBING_UNIT,
)
# (priority, name, conditions, payer): Västmanland's "Ansvar 1–4" with the region's exceptions.
RULES: list[tuple[int, str, dict[str, object], str]] = [
    (10, "Korttidslån", {"short_term": True}, UNIT),
    (20, "Habilitering", {"habilitation": True}, REGION),
    (30, "Ansvar 1", {"responsibility_class": 1}, REGION),
    (
        40,
        "Ansvar 2, särskilt boende",
        {"responsibility_class": 2, "housing": Special},
        MUNICIPALITY,
    ),
    (41, "Ansvar 2", {"responsibility_class": 2}, REGION),
    (
        50,
        "Ansvar 3, ordinärt boende",
        {"responsibility_class": 3, "housing": Ordinary},
        MUNICIPALITY,
    ),
    (
        51,
        "Ansvar 3, särskilt boende",
        {"responsibility_class": 3, "housing": Special},
        MUNICIPALITY,
    ),
    (60, "Ansvar 4", {"responsibility_class": 4}, UNIT),
]


def _today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()


def responsibility_class(article: Article) -> int:
    """The demo's ansvarsklass from who carries the cost: the region's mobility devices and beds
    (2: the home municipality pays in special housing), the region's other devices (1), the
    municipalities' (3), the prescriber's (4)."""
    if article.cost_class == CostClass.REGION:
        code = article.iso_class.code if article.iso_class_id else ""
        return 2 if code.startswith(("12 2", "18 12")) else 1
    if article.cost_class == CostClass.MUNICIPALITY:
        return 3
    return 4


def _classes() -> None:
    for article in Article.objects.filter(responsibility_class__isnull=True).select_related(
        "iso_class"
    ):
        article.responsibility_class = responsibility_class(article)
        article.save(update_fields=["responsibility_class"])


def _customers(actor: Actor, since: dt.date) -> None:
    providers = list(CareProvider.objects.order_by("kind", "name"))
    region_first = sorted(providers, key=lambda p: (p.kind != CareProvider.Kind.REGION, p.name))
    for index, provider in enumerate(region_first):
        customer = Customer.objects.filter(provider=provider).first()
        if customer is None:
            address = (
                DeliveryAddress.objects.filter(unit__provider=provider, is_default=True)
                .order_by("unit__customer_number")
                .first()
            )
            customer = services.customer_create(
                actor=actor,
                provider=provider,
                customer_number=f"{5000 + index * 10}",
                street=f"Box {100 + index}",
                postal=address.postal_code if address else "652 25",
                city=address.city if address else "Karlstad",
            )
            customer.buyer_reference = f"HMC-{provider.short_name[:20]}"
            customer.email = f"fakturor.{index}@example.invalid"
            customer.save(update_fields=["buyer_reference", "email"])
        if not CostCentre.objects.filter(customer=customer).exists():
            services.cost_centre_create(
                actor=actor,
                customer=customer,
                code="1000",
                name="Gemensamt",
                valid_from=since,
                default=True,
            )
            used = {"1000"}
            for unit in Unit.objects.filter(provider=provider).order_by("customer_number"):
                code = unit.cost_centre or unit.customer_number
                while code in used:
                    code = f"{code}-1"
                used.add(code)
                centre = services.cost_centre_create(
                    actor=actor,
                    customer=customer,
                    code=code[:20],
                    name=unit.name[:200],
                    valid_from=since,
                )
                if not UnitCostCentre.objects.filter(unit=unit).exists():
                    services.unit_cost_centre_set(
                        actor=actor, unit=unit, centre=centre, valid_from=since
                    )


def _price_lists(actor: Actor, today: dt.date) -> None:
    last_year = dt.date(today.year - 1, 1, 1)
    this_year = dt.date(today.year, 1, 1)
    if not PriceList.objects.filter(valid_from=last_year).exists():
        first = PriceList.objects.create(
            name=f"Prislista {last_year.year}",
            valid_from=last_year,
            hourly_rate=HOURLY,
            created_by=None,
            note="Demo",
        )
        prices: list[Price] = []
        rents: dict[str, list[Decimal]] = defaultdict(list)
        for article in Article.objects.order_by("article_number"):
            if article.price_group and article.monthly_rent is not None:
                rents[article.price_group].append(article.monthly_rent)
            if article.billing_type != BillingType.RENT and article.price is not None:
                prices.append(
                    Price(
                        price_list=first,
                        kind=Price.Kind.SALE,
                        key=article.article_number,
                        amount=article.price,
                    )
                )
                if article.price < PART_LIMIT:
                    prices.append(
                        Price(
                            price_list=first,
                            kind=Price.Kind.PART,
                            key=article.article_number,
                            amount=article.price,
                        )
                    )
        for group, amounts in sorted(rents.items()):
            rent = Decimal(median(amounts)).quantize(Decimal("1"))
            prices.append(Price(price_list=first, kind=Price.Kind.RENT, key=group, amount=rent))
            prices.append(
                Price(price_list=first, kind=Price.Kind.INSPECTION, key=group, amount=INSPECTION)
            )
        for fee, amount in FEES.items():
            prices.append(Price(price_list=first, kind=Price.Kind.FEE, key=fee, amount=amount))
        Price.objects.bulk_create(prices)
    if not PriceList.objects.filter(valid_from=this_year).exists() and this_year <= today:
        created = services.price_list_new(
            actor=actor, valid_from=this_year, name=f"Prislista {this_year.year}"
        )
        # This year's list: rents and the hourly rate up 3 %, fees as they were.
        created.hourly_rate = (created.hourly_rate * Decimal("1.03")).quantize(Decimal("1"))
        created.note = "Demo: hyror och timpris +3 %"
        created.save(update_fields=["hourly_rate", "note"])
        for price in Price.objects.filter(price_list=created, kind=Price.Kind.RENT):
            price.amount = (price.amount * Decimal("1.03")).quantize(Decimal("1"))
            price.save(update_fields=["amount"])


def _rules(actor: Actor, since: dt.date) -> None:
    region = CareProvider.objects.filter(kind=CareProvider.Kind.REGION).order_by("pk").first()
    if region is None or PayerRule.objects.filter(region=region).exists():
        return
    for priority, name, conditions, payer in RULES:
        services.payer_rule_create(
            actor=actor,
            data=services.RuleInput(
                region=region,
                priority=priority,
                name=name,
                payer=payer,
                valid_from=since,
                **conditions,  # type: ignore[arg-type]
            ),
        )


def _housing(actor: Actor, since: dt.date, today: dt.date) -> None:
    if PatientHousing.unscoped.exists():
        return
    fallback = (
        CareProvider.objects.filter(kind=CareProvider.Kind.MUNICIPALITY).order_by("name").first()
    )
    if fallback is None:
        return
    in_care_homes = set(
        CareRelationship.objects.filter(unit__kind=Unit.Kind.CARE_HOME).values_list(
            "patient_id", flat=True
        )
    )
    patients = list(Patient.objects.order_by("pk"))
    for index, patient in enumerate(patients):
        municipality = patient.home_municipality or fallback
        special = patient.pk in in_care_homes or index % 9 == 4
        PatientHousing.unscoped.create(
            patient=patient,
            housing=Special if special else Ordinary,
            municipality=municipality,
            valid_from=since,
        )
    # One patient with a device on loan moved into special housing in the middle of last month:
    # a class-2 or class-3 device's payer changes that day.
    mover = (
        Loan.unscoped.filter(ended_on__isnull=True, article__responsibility_class__in=[2, 3])
        .order_by("pk")
        .values_list("patient_id", flat=True)
        .first()
    ) or (patients[0].pk if patients else None)
    if mover is None:
        return
    first_this_month = today.replace(day=1)
    moved = (first_this_month - dt.timedelta(days=1)).replace(day=15)
    current = PatientHousing.unscoped.get(patient_id=mover, valid_from=since)
    if current.housing == Special:
        current.housing = Ordinary
        current.save(update_fields=["housing"])
    services.housing_register(
        actor=actor,
        patient_id=mover,
        housing=Special,
        municipality=current.municipality,
        valid_from=moved,
    )


def seed(actor: Actor) -> None:
    today = _today()
    since = dt.date(today.year - 2, today.month, 1)
    _classes()
    _customers(actor, since)
    _price_lists(actor, today)
    _rules(actor, since)
    _housing(actor, since, today)
