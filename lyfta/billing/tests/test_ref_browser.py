"""The economy user on a phone (issue 14 point 3): "Vem betalar?" for a loan whose patient moved
into special housing mid-month shows the month in two runs of days with their payers and the
rule in words, fits 360 px without sideways scrolling, and names no patient. The screenshot is
kept under var/screenshots/ for the issue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from conftest import SCREENSHOTS
from lyfta.billing.models import CostCentre, Customer, PatientHousing, PayerRule
from lyfta.catalogue.tests.factories import ArticleFactory
from lyfta.core.tests.test_access_table import World, world  # noqa: F401 - fixture
from lyfta.core.tests.test_browser_every_page import (  # noqa: F401 - fixture
    MEASURE,
    PHONE,
    phone,
    sign_in,
)
from lyfta.inventory.models import Item
from lyfta.orders.models import Loan

pytestmark = pytest.mark.django_db(transaction=True)


def _customer(provider: Any, number: str) -> Customer:
    customer = Customer.objects.create(
        provider=provider,
        customer_number=number,
        invoice_street="Box 1",
        invoice_postal_code="652 25",
        invoice_city="Karlstad",
    )
    CostCentre.objects.create(
        customer=customer,
        code="1000",
        name="Gemensamt",
        default=True,
        valid_from=dt.date(2024, 1, 1),
    )
    return customer


def test_who_pays_shows_a_split_month_on_a_phone(
    phone: Any,  # noqa: F811
    live_server: Any,
    world: World,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    county, patient = world.county, world.patient_b
    _customer(county.region, "5000")
    _customer(county.municipality, "5010")
    for priority, payer, housing in ((40, "home_municipality", "special"), (41, "region", "")):
        PayerRule.objects.create(
            region=county.region,
            priority=priority,
            name="Ansvar 2",
            payer=payer,
            housing=housing,
            responsibility_class=2,
            valid_from=dt.date(2024, 1, 1),
        )
    for start, housing in ((dt.date(2024, 1, 1), "ordinary"), (dt.date(2026, 2, 15), "special")):
        PatientHousing.unscoped.create(
            patient=patient, housing=housing, municipality=county.municipality, valid_from=start
        )
    article = ArticleFactory(article_number="LYFT-2", responsibility_class=2)
    loan = Loan.unscoped.create(
        patient=patient,
        article=article,
        item=Item.objects.create(
            individual_number="IND-77",
            article=article,
            acquired_on=dt.date(2025, 1, 1),
            acquisition_value=1000,
            status="on_loan",
            holder=patient,
        ),
        unit=county.unit_b,
        payer=county.unit_b,
        billing_type="rent",
        started_on=dt.date(2026, 1, 10),
    )
    context = phone()
    sign_in(context, live_server.url, world, "billie")
    tab = context.new_page()
    response = tab.goto(f"{live_server.url}/ekonomi/vem-betalar/?lan={loan.pk}&manad=2026-02")
    assert response is not None and response.status == 200
    rows = tab.locator("#segments tbody tr")
    assert rows.count() == 2
    assert "2026-02-01 – 2026-02-14" in rows.nth(0).inner_text()
    assert "2026-02-15 – 2026-02-28" in rows.nth(1).inner_text()
    assert "regel 40: särskilt boende, ansvarsklass 2" in rows.nth(1).inner_text()
    measured = tab.evaluate(MEASURE)
    assert measured["width"] <= PHONE["width"] and not measured["scrollers"], measured
    text = tab.inner_text("main")
    for identity in (patient.last_name, patient.first_name, patient.identifier[:8]):
        assert identity not in text
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(folder / "phone-billing_who_pays.png"), full_page=True)
