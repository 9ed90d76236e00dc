"""Test data for the invoice basis out (issue 14 point 5): customers, cost centres and a locked
run with lines. A locked run's lines are inserted while it is a preview and the run is locked
after (the triggers refuse inserts into a locked run), as the billing run itself does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from lyfta.accounts.models import User
from lyfta.billing.models import BillingLine, BillingRun, CostCentre, Customer
from lyfta.billing.services.run import invoice_parties
from lyfta.catalogue.models import Article
from lyfta.catalogue.tests.factories import ArticleFactory
from lyfta.inventory.models import Item
from lyfta.organisations.models import CareProvider, Unit
from lyfta.patients.models import Patient

MONTH = dt.date(2026, 10, 1)


def customer(
    provider: CareProvider, number: str, *, buyer_reference: str = "REF-4711", peppol_id: str = ""
) -> Customer:
    return Customer.objects.create(
        provider=provider,
        customer_number=number,
        buyer_reference=buyer_reference,
        peppol_id=peppol_id,
        invoice_street="Fakturagatan 1",
        invoice_postal_code="123 45",
        invoice_city="Testköping",
    )


def cost_centre(of: Customer, code: str, name: str, *, default: bool = False) -> CostCentre:
    return CostCentre.objects.create(
        customer=of, code=code, name=name, default=default, valid_from=dt.date(2020, 1, 1)
    )


def item(number: str, article: Article | None = None, *, holder: Patient) -> Item:
    """A device on loan to `holder`."""
    return Item.objects.create(
        holder=holder,
        individual_number=number,
        article=article or ArticleFactory(),
        acquired_on=dt.date(2024, 1, 1),
        acquisition_value=Decimal("1000.00"),
        status=Item.Status.ON_LOAN,
    )


@dataclass
class Spec:
    """One line to make: amounts as text, so that tests read as the sums they check."""

    customer: Customer
    centre: CostCentre | None
    amount: str
    quantity: str = "1"
    unit_price: str | None = None
    kind: str = BillingLine.Kind.RENT
    item: Item | None = None
    unit: Unit | None = None
    patient: Patient | None = None
    text: str = "Hyra"
    explanation: str = "Betalare enligt regel 3: ordinärt boende, ansvarsklass 2"
    period_from: dt.date = MONTH
    period_until: dt.date = dt.date(2026, 10, 31)
    corrects: BillingLine | None = None


@dataclass
class Made:
    run: BillingRun
    lines: list[BillingLine] = field(default_factory=list)


def run(
    by: User,
    specs: list[Spec],
    *,
    month: dt.date = MONTH,
    locked: bool = True,
    parties: bool = True,
) -> Made:
    """A billing run with `specs` as its lines: inserted while a preview, then locked (with
    who approved and when and, as `approve_run` does, its invoice parties unless `parties` is
    False: a run locked before they were kept) unless `locked` is False."""
    made = Made(
        BillingRun.objects.create(month=month, status=BillingRun.Status.PREVIEW, created_by=by)
    )
    for spec in specs:
        made.lines.append(
            BillingLine.unscoped.create(
                run=made.run,
                kind=spec.kind,
                customer=spec.customer,
                cost_centre=spec.centre,
                unit=spec.unit,
                patient=spec.patient,
                item=spec.item,
                article=spec.item.article if spec.item is not None else None,
                corrects=spec.corrects,
                period_from=spec.period_from,
                period_until=spec.period_until,
                quantity=Decimal(spec.quantity),
                unit_price=Decimal(spec.unit_price if spec.unit_price is not None else spec.amount),
                amount=Decimal(spec.amount),
                text=spec.text,
                explanation=spec.explanation,
            )
        )
    total = sum((line.amount for line in made.lines), Decimal("0.00"))
    made.run.line_count = len(made.lines)
    made.run.total = total
    made.run.save(update_fields=["line_count", "total"])
    if locked:
        made.run.status = BillingRun.Status.LOCKED
        made.run.approved_by = by
        made.run.approved_at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
        made.run.invoice_parties = invoice_parties(made.run.pk) if parties else {}
        made.run.save(update_fields=["status", "approved_by", "approved_at", "invoice_parties"])
    return made


PATIENT_NAME = "Aina Apelqvist"
PATIENT_NUMBER = "194001019803"
FORMULA_UNIT = '=HYPERLINK("http://x.invalid","klicka")'


@dataclass
class World:
    """Two customers of the county's centre: the municipality with two cost centres, a credit
    of last month's line and a unit named like a formula; the region with one line. October is
    locked, November is a preview."""

    municipal: Customer
    regional: Customer
    home_care: CostCentre
    care_homes: CostCentre
    september: Made
    october: Made
    preview: Made
    lines: dict[str, BillingLine]


def world(county: object, by: User) -> World:
    from lyfta.organisations.tests.factories import UnitFactory

    municipality: CareProvider = county.municipality  # type: ignore[attr-defined]
    region: CareProvider = county.region  # type: ignore[attr-defined]
    unit_a: Unit = county.unit_a  # type: ignore[attr-defined]
    patient = Patient.objects.create(
        identifier=PATIENT_NUMBER, id_kind="personnummer", first_name="Aina", last_name="Apelqvist"
    )
    municipal = customer(municipality, "K-100", peppol_id="0007:2120000142")
    regional = customer(region, "K-200", buyer_reference="")
    home_care = cost_centre(municipal, "KS-10", "Hemsjukvård", default=True)
    care_homes = cost_centre(municipal, "KS-20", "Särskilt boende")
    regional_centre = cost_centre(regional, "R-1", "Primärvård", default=True)
    formula_unit = UnitFactory(provider=municipality, name=FORMULA_UNIT)
    rollator = item(
        "HMC-1001", ArticleFactory(article_number="A-500", name="Rollator Trio"), holder=patient
    )
    bed = item("HMC-1002", ArticleFactory(article_number="A-600", name="Säng Vård"), holder=patient)
    lift = item(
        "HMC-1003", ArticleFactory(article_number="A-700", name="@Lyft Mobil"), holder=patient
    )
    september = run(
        by,
        [Spec(municipal, home_care, "40.00", item=rollator, unit=unit_a, patient=patient)],
        month=dt.date(2026, 9, 1),
    )
    october = run(
        by,
        [
            Spec(municipal, home_care, "75.00", item=rollator, unit=unit_a, patient=patient),
            Spec(
                municipal,
                home_care,
                "37.10",
                quantity="16",
                unit_price="2.32",
                item=bed,
                unit=unit_a,
                patient=patient,
                period_from=dt.date(2026, 10, 16),
            ),
            Spec(
                municipal,
                care_homes,
                "120.00",
                item=lift,
                unit=formula_unit,
                patient=patient,
                explanation="=1+1 betalare enligt regel 1: särskilt boende",
            ),
            Spec(
                municipal,
                home_care,
                "-40.00",
                quantity="-1",
                unit_price="40.00",
                kind=BillingLine.Kind.CREDIT,
                item=rollator,
                unit=unit_a,
                patient=patient,
                corrects=september.lines[0],
                period_from=dt.date(2026, 9, 1),
                period_until=dt.date(2026, 9, 30),
                text="Kredit av september",
                explanation="Fel betalare i september: flyttat till särskilt boende",
            ),
            Spec(
                regional,
                regional_centre,
                "33.33",
                quantity="1",
                item=None,
                unit=None,
                kind=BillingLine.Kind.FEE,
                text="Akutavgift",
                explanation="Akut leverans",
            ),
        ],
    )
    preview = run(
        by,
        [Spec(municipal, home_care, "75.00", item=rollator, unit=unit_a, patient=patient)],
        month=dt.date(2026, 11, 1),
        locked=False,
    )
    lines = dict(zip(("rent", "bed", "lift", "credit", "fee"), october.lines, strict=True))
    return World(municipal, regional, home_care, care_homes, september, october, preview, lines)
