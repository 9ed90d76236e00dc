"""A small world for the failure statistics: two suppliers, three articles in two ISO classes,
items with batches on loan and in stock, deviations of several kinds over two years and repair
work orders (and other work orders that must not count). Every row is kept in plain lists so
that a test can count the expected figures itself."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from conftest import County, Persona, make_persona
from lyfta.access.roles import Role
from lyfta.catalogue.models import Article, BillingType
from lyfta.catalogue.tests.factories import ArticleFactory, IsoClassFactory, SupplierFactory
from lyfta.inventory.models import Item, StockLocation
from lyfta.orders.models import Loan
from lyfta.patients.models import Patient
from lyfta.quality.models import Deviation
from lyfta.workorders.models import WorkOrder

PATIENT_NAME = ("Aina", "Apelqvist")
PATIENT_NUMBER = "194001019803"
TODAY = dt.date(2026, 6, 15)

_numbers = itertools.count(1)


@dataclass
class StatsWorld:
    county: County
    sara: Persona  # the quality role
    cecilia: Persona  # a catalogue manager (procurement)
    articles: list[Article]
    items: list[Item]
    loans: list[Loan]
    deviations: list[Deviation] = field(default_factory=list)
    work_orders: list[WorkOrder] = field(default_factory=list)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def deviation(w: StatsWorld, **values: Any) -> Deviation:
    n = next(_numbers)
    defaults: dict[str, Any] = {
        "number": f"AV-T{n:05d}",
        "kind": Deviation.Kind.PRODUCT_FAULT,
        "source": Deviation.Source.HOLDINGS,
        "occurred_on": TODAY,
        "description": "Lyften tippade",
        "unit": w.county.unit_a,
        "reported_by": w.sara.user,
        "reported_at": at(TODAY),
    }
    defaults.update(values)
    found = Deviation.unscoped.create(**defaults)
    w.deviations.append(found)
    return found


def work_order(w: StatsWorld, **values: Any) -> WorkOrder:
    n = next(_numbers)
    registered = values.pop("registered_at", at(TODAY))
    day = timezone.localtime(registered).date()
    defaults: dict[str, Any] = {
        "number": f"AO-T{n:05d}",
        "kind": WorkOrder.Kind.REPAIR,
        "status": WorkOrder.Status.REGISTERED,
        "origin": WorkOrder.Origin.PRESCRIBER,
        "place": WorkOrder.Place.HOME,
        "unit": w.county.unit_a,
        "description": "Fel på lyften",
        "registered_at": registered,
        "start_due": day,
        "done_due": day + dt.timedelta(days=14),
    }
    defaults.update(values)
    if defaults["status"] in (WorkOrder.Status.DONE, WorkOrder.Status.CLOSED):
        defaults.setdefault("done_at", registered)
    if defaults["status"] == WorkOrder.Status.CANCELLED:
        defaults.setdefault("cancel_reason", "Felregistrerad")
    found = WorkOrder.unscoped.create(**defaults)
    w.work_orders.append(found)
    return found


def build(county: County) -> StatsWorld:
    sara = make_persona(county.centre, Role.QUALITY, "sara.test")
    cecilia = make_persona(county.centre, Role.CATALOGUE_MANAGER, "cecilia.test")
    lifts, slings = IsoClassFactory(code="12 36 03"), IsoClassFactory(code="12 31 03")
    first, second = SupplierFactory(name="Lyftbolaget AB"), SupplierFactory(name="=Selar & Co")
    lift = ArticleFactory(name="Taklyft T1", iso_class=lifts, supplier=first)
    lift2 = ArticleFactory(name="Golvlyft G2", iso_class=lifts, supplier=second)
    sling = ArticleFactory(
        name="Lyftsele S", iso_class=slings, supplier=second, tracked=False,
        billing_type=BillingType.RENT,
    )  # fmt: skip
    store = StockLocation.objects.create(
        code="CL-T", name="Centrallager test", kind=StockLocation.Kind.CENTRAL, unit=county.centre
    )
    patient = Patient.objects.create(
        identifier=PATIENT_NUMBER, id_kind="personnummer",
        first_name=PATIENT_NAME[0], last_name=PATIENT_NAME[1],
    )  # fmt: skip
    items, loans = [], []
    # Lifts: five of T1 (batch L-1 ×3, L-2 ×2), three of G2 (batch "=SUM(A1)" ×3).
    batches = [(lift, "L-1")] * 3 + [(lift, "L-2")] * 2 + [(lift2, "=SUM(A1)")] * 3
    for n, (article, batch) in enumerate(batches):
        on_loan = n not in (2, 7)  # one of each article in stock
        item = Item.objects.create(
            individual_number=f"IT{n:04d}",
            article=article,
            batch=batch,
            status=Item.Status.ON_LOAN if on_loan else Item.Status.IN_STOCK,
            holder=patient if on_loan else None,
            location=None if on_loan else store,
            acquired_on=dt.date(2023, 1, 1),
            acquisition_value=Decimal("20000"),
        )
        items.append(item)
        if on_loan:
            unit = county.unit_a if n % 2 == 0 else county.unit_b
            loans.append(
                Loan.unscoped.create(
                    patient=patient, article=article, item=item, unit=unit, payer=unit,
                    billing_type="rent", started_on=dt.date(2025, 1, 1),
                )
            )  # fmt: skip
    # An ended loan of a lift that is in stock now: not in use.
    loans.append(
        Loan.unscoped.create(
            patient=patient, article=lift, item=items[2], unit=county.unit_a,
            payer=county.unit_a, billing_type="rent", started_on=dt.date(2024, 1, 1),
            ended_on=dt.date(2024, 6, 1),
        )
    )  # fmt: skip
    # Slings (untracked): 4 open at unit A, 3 open at unit B, 5 ended.
    for quantity, unit, ended in ((4, county.unit_a, None), (3, county.unit_b, None),
                                  (5, county.unit_a, dt.date(2025, 3, 1))):  # fmt: skip
        loans.append(
            Loan.unscoped.create(
                patient=patient, article=sling, quantity=quantity, unit=unit, payer=unit,
                billing_type="rent", started_on=dt.date(2025, 1, 1), ended_on=ended,
            )
        )  # fmt: skip
    w = StatsWorld(county, sara, cecilia, [lift, lift2, sling], items, loans)
    K = Deviation.Kind
    b, a2 = county.unit_b, county.unit_a2
    # Deviations within the default period (the twelve months up to TODAY) ...
    deviation(w, article=lift, item=items[0], lot="L-1", kind=K.ADVERSE_EVENT, patient=patient,
              reported_at=at(dt.date(2026, 6, 1)))  # fmt: skip
    deviation(w, article=lift, item=items[1], lot="L-1", reported_at=at(dt.date(2026, 2, 10)))
    deviation(w, item=items[3], reported_at=at(dt.date(2025, 12, 24)), unit=b)  # only the item
    deviation(w, article=lift2, lot="=SUM(A1)", kind=K.NEAR_MISS, unit=b,
              reported_at=at(dt.date(2025, 7, 1)))  # fmt: skip
    deviation(w, article=sling, lot="S-9", reported_at=at(dt.date(2026, 3, 3)), unit=a2)
    deviation(w, article=sling, kind=K.NEAR_MISS, reported_at=at(dt.date(2026, 3, 4)))
    deviation(w, kind=K.INFORMATION_ERROR, reported_at=at(dt.date(2026, 4, 4)))  # no device
    # ... on the period's first day (counted) and the day before it (not counted) ...
    deviation(w, article=lift, reported_at=at(dt.date(2025, 6, 16), 0))
    deviation(w, article=lift, reported_at=at(dt.date(2025, 6, 15), 23))
    # ... and a year earlier.
    deviation(w, article=lift2, reported_at=at(dt.date(2024, 9, 1)))
    # Repairs (and work orders that are not counted).
    S = WorkOrder.Status
    work_order(w, article=lift, item=items[0], registered_at=at(dt.date(2026, 6, 2)))
    work_order(w, item=items[4], registered_at=at(dt.date(2026, 1, 5)), unit=b, status=S.CLOSED)
    work_order(w, item=items[5], registered_at=at(dt.date(2025, 9, 9)), status=S.DONE)
    work_order(w, article=sling, registered_at=at(dt.date(2026, 5, 5)), unit=a2)
    work_order(w, article=lift, item=items[1], registered_at=at(dt.date(2026, 2, 2)),
               status=S.CANCELLED)  # fmt: skip
    work_order(w, article=lift, item=items[1], registered_at=at(dt.date(2026, 2, 2)),
               kind=WorkOrder.Kind.INSPECTION)  # fmt: skip
    work_order(w, article=lift2, registered_at=at(dt.date(2024, 2, 2)))
    return w


def stats_of(*, actor: Any, **filters: Any) -> Any:
    """The statistics as the page computes them: the devices in use counted first."""
    from lyfta.quality.selectors import stats as selectors
    from lyfta.quality.services import stats as services

    counted_at = services.in_use_counted_at(actor=actor)
    return selectors.failure_statistics(actor=actor, in_use_at=counted_at, **filters)
