"""The economy desk's reference-data pages (issue 14 point 6): the economy role sees and changes
customers, cost centres, price lists and payer rules; bad input gets a Swedish message and a 400,
never a 500 and never a half-write; "Vem betalar?" shows a loan's device, unit, housing and the
payer of each day with its reason, never who the patient is (R34, R93); the menu leads there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import (
    BillingRun,
    CostCentre,
    Customer,
    PatientHousing,
    PayerRule,
    Price,
    PriceList,
    UnitCostCentre,
)
from lyfta.catalogue.tests.factories import ArticleFactory
from lyfta.inventory.models import Item
from lyfta.orders.models import Loan
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db


def _customer(county: County) -> Customer:
    customer = Customer.objects.create(
        provider=county.municipality,
        customer_number="5010",
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


def _text(response: Any) -> str:
    return str(response.content.decode())


def test_the_economy_role_sees_the_pages_and_the_menu_leads_there(
    client: Client, county: County, billie: Persona
) -> None:
    customer = _customer(county)
    signed_in(client, billie)
    start = _text(client.get(reverse("start")))
    assert reverse("billing:runs") in start  # the menu's Ekonomi leads to the month's runs
    page = client.get(reverse("billing:customers"))
    assert page.status_code == 200
    html = _text(page)
    for url in ("billing:price_lists", "billing:payer_rules", "billing:who_pays"):
        assert reverse(url) in html
    assert "5010" in html and county.municipality.organisation_number in html
    assert client.get(reverse("billing:customer", args=[customer.pk])).status_code == 200


def test_other_roles_get_no_menu_entry_and_403(
    client: Client, county: County, alice: Persona, logan: Persona
) -> None:
    customer = _customer(county)
    for persona in (alice, logan):
        client.logout()
        signed_in(client, persona)
        assert reverse("billing:customers") not in _text(client.get(reverse("start")))
        for url in (
            reverse("billing:customers"),
            reverse("billing:customer", args=[customer.pk]),
            reverse("billing:price_lists"),
            reverse("billing:payer_rules"),
            reverse("billing:who_pays"),
        ):
            assert client.get(url).status_code == 403, url
        answer = client.post(
            reverse("billing:customer_edit", args=[customer.pk]), {"customer_number": "1"}
        )
        assert answer.status_code == 403
    assert Customer.objects.get(pk=customer.pk).customer_number == "5010"


def test_a_customer_with_a_bad_peppol_id_or_postal_code_gets_swedish_messages_and_is_not_changed(
    client: Client, county: County, billie: Persona
) -> None:
    customer = _customer(county)
    signed_in(client, billie)
    url = reverse("billing:customer_edit", args=[customer.pk])
    data = {
        "customer_number": "5011",
        "peppol_id": "0007:2321000017",
        "invoice_street": "Box 2",
        "invoice_postal_code": "65",
        "invoice_city": "Karlstad",
        "active": "on",
    }
    answer = client.post(url, data)
    assert answer.status_code == 400
    html = _text(answer)
    assert "kontrollsiffran" in html
    assert "Postnumret har fem siffror" in html
    assert Customer.objects.get(pk=customer.pk).customer_number == "5010"
    data.update({"peppol_id": "0007:2321000016", "invoice_postal_code": "65225"})
    answer = client.post(url, data)
    assert answer.status_code == 302
    customer.refresh_from_db()
    assert (customer.customer_number, customer.peppol_id, customer.invoice_postal_code) == (
        "5011",
        "0007:2321000016",
        "652 25",
    )
    assert AuditEvent.objects.filter(action=Action.CUSTOMER_CHANGED).count() == 1


def test_cost_centres_and_a_units_period_through_the_pages(
    client: Client, county: County, billie: Persona
) -> None:
    customer = _customer(county)
    signed_in(client, billie)
    new = reverse("billing:cost_centre_new", args=[customer.pk])
    bad = client.post(new, {"kst-code": "", "kst-name": "X", "kst-valid_from": "2024-13-01"})
    assert bad.status_code == 400
    assert "Ange ett datum som ÅÅÅÅ-MM-DD." in _text(bad)
    ok = client.post(
        new, {"kst-code": "4100", "kst-name": "Hemsjukvård", "kst-valid_from": "2024-01-01"}
    )
    assert ok.status_code == 302
    centre = CostCentre.objects.get(code="4100")
    unit_url = reverse("billing:unit_cost_centre", args=[customer.pk])
    # Another provider's unit is not among the choices.
    foreign = client.post(
        unit_url,
        {
            "enhet-unit": county.unit_b.pk,
            "enhet-cost_centre": centre.pk,
            "enhet-valid_from": "2025-01-01",
        },
    )
    assert foreign.status_code == 400
    assert (
        client.post(
            unit_url,
            {
                "enhet-unit": county.unit_a.pk,
                "enhet-cost_centre": centre.pk,
                "enhet-valid_from": "2025-01-01",
            },
        ).status_code
        == 302
    )
    page = _text(client.get(reverse("billing:customer", args=[customer.pk])))
    assert "Hemsjukvård" in page and "2025-01-01" in page
    assert UnitCostCentre.objects.filter(unit=county.unit_a, cost_centre=centre).exists()


def test_price_lists_new_from_a_date_edit_and_the_locked_message(
    client: Client, county: County, billie: Persona
) -> None:
    old = PriceList.objects.create(name="2025", valid_from=dt.date(2025, 1, 1), hourly_rate=600)
    Price.objects.create(price_list=old, kind="rent", key="L1", amount=500)
    signed_in(client, billie)
    created = client.post(
        reverse("billing:price_lists"), {"name": "2026", "valid_from": "2026-01-01"}
    )
    assert created.status_code == 302
    new = PriceList.objects.get(valid_from=dt.date(2026, 1, 1))
    edit = reverse("billing:price_list_edit", args=[new.pk])
    form = _text(client.get(edit))
    assert "Leveransavgift" in form and "L1" in form
    # A negative price, a text for an amount: messages in Swedish, nothing written.
    data = {
        "name": "2026",
        "rent_rule": "per_day",
        "hourly_rate": "650",
        "residual_yearly_writedown": "20",
        "residual_floor": "10",
        "price_0": "-5",
        "price_1": "tusen",
    }
    bad = client.post(edit, data)
    assert bad.status_code == 400
    assert "Ett belopp kan inte vara negativt." in _text(bad)
    assert "Ange ett belopp i kronor" in _text(bad)
    assert Price.objects.get(price_list=new, kind="rent", key="L1").amount == Decimal(500)
    keys = [k for k in range(20) if f'name="price_{k}"' in form]
    data = {k: v for k, v in data.items() if not k.startswith("price_")}
    data.update({f"price_{k}": "" for k in keys})
    data.update({"price_0": "525,50", "new_kind": "sale", "new_key": "A-100", "new_amount": "1200"})
    assert client.post(edit, data).status_code == 302
    prices = {(p.kind, p.key): p.amount for p in Price.objects.filter(price_list=new)}
    assert prices[("rent", "L1")] == Decimal("525.50")
    assert prices[("sale", "A-100")] == Decimal(1200)
    assert Price.objects.get(price_list=old, kind="rent").amount == Decimal(500)
    # Billed: the list is locked, and a new list inside the billed months is refused.
    BillingRun.objects.create(
        month=dt.date(2026, 2, 1),
        status="locked",
        created_by=billie.user,
        approved_by=billie.user,
        approved_at=timezone.now(),
    )
    locked = client.post(edit, data)
    assert locked.status_code == 400
    assert "låst debitering" in _text(locked)
    assert "låst debitering" in _text(client.get(reverse("billing:price_list", args=[new.pk])))
    early = client.post(reverse("billing:price_lists"), {"name": "X", "valid_from": "2026-02-15"})
    assert early.status_code == 400
    assert "tidigast från 2026-03-01" in _text(early)


def test_payer_rules_list_in_words_create_edit_and_end(
    client: Client, county: County, billie: Persona
) -> None:
    signed_in(client, billie)
    data = {
        "region": county.region.pk,
        "priority": "40",
        "name": "Ansvar 2, särskilt boende",
        "payer": "home_municipality",
        "housing": "special",
        "responsibility_class": "2",
        "valid_from": "2026-01-01",
    }
    bad = client.post(reverse("billing:payer_rule_new"), {**data, "responsibility_class": "7"})
    assert bad.status_code == 400
    assert "Ansvarsklassen är 1–4." in _text(bad)
    bad = client.post(reverse("billing:payer_rule_new"), {**data, "valid_until": "2025-01-01"})
    assert bad.status_code == 400
    assert not PayerRule.objects.exists()
    assert client.post(reverse("billing:payer_rule_new"), data).status_code == 302
    rule = PayerRule.objects.get()
    listing = _text(client.get(reverse("billing:payer_rules")))
    assert "särskilt boende, ansvarsklass 2" in listing
    assert "Patientens hemkommun" in listing
    ended = client.post(
        reverse("billing:payer_rule_end", args=[rule.pk]), {"last_day": "2026-06-30"}
    )
    assert ended.status_code == 302
    rule.refresh_from_db()
    assert rule.valid_until == dt.date(2026, 6, 30)
    wrong = client.post(reverse("billing:payer_rule_end", args=[rule.pk]), {"last_day": "x"})
    assert wrong.status_code == 302
    rule.refresh_from_db()
    assert rule.valid_until == dt.date(2026, 6, 30)


def _loan(county: County, alice: Persona) -> tuple[Loan, Patient]:
    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apelgren"
    )
    CareRelationship.objects.create(
        unit=county.unit_b, patient=patient, origin="order", valid_from=dt.date(2025, 1, 1)
    )
    article = ArticleFactory(article_number="LYFT-2", responsibility_class=2)
    item = Item.objects.create(
        individual_number="IND-77",
        article=article,
        acquired_on=dt.date(2025, 1, 1),
        acquisition_value=1000,
        status="on_loan",
        holder=patient,
    )
    loan = Loan.unscoped.create(
        patient=patient,
        article=article,
        item=item,
        unit=county.unit_b,
        payer=county.unit_b,
        billing_type="rent",
        started_on=dt.date(2026, 1, 10),
    )
    return loan, patient


def test_who_pays_splits_a_month_at_a_move_and_never_names_the_patient(
    client: Client, county: County, billie: Persona, alice: Persona
) -> None:
    loan, patient = _loan(county, alice)
    region = Customer.objects.create(
        provider=county.region,
        customer_number="5000",
        invoice_street="Box 1",
        invoice_postal_code="652 25",
        invoice_city="Karlstad",
    )
    town = _customer(county)
    for priority, payer, housing in ((40, "home_municipality", "special"), (41, "region", "")):
        PayerRule.objects.create(
            region=county.region,
            priority=priority,
            payer=payer,
            housing=housing,
            responsibility_class=2,
            valid_from=dt.date(2024, 1, 1),
        )
    PatientHousing.unscoped.create(
        patient=patient,
        housing="ordinary",
        municipality=county.municipality,
        valid_from=dt.date(2024, 1, 1),
    )
    PatientHousing.unscoped.create(
        patient=patient,
        housing="special",
        municipality=county.municipality,
        valid_from=dt.date(2026, 2, 15),
    )
    signed_in(client, billie)
    answer = client.get(reverse("billing:who_pays"), {"lan": str(loan.pk), "manad": "2026-02"})
    assert answer.status_code == 200
    html = _text(answer)
    assert "IND-77" in html and county.unit_b.name in html
    assert "2026-02-01 – 2026-02-14" in html and "2026-02-15 – 2026-02-28" in html
    assert f"{region.customer_number} {county.region.name}" in html
    assert f"{town.customer_number} {county.municipality.name}" in html
    assert "betalare enligt regel 40: särskilt boende, ansvarsklass 2" in html
    for identity in ("Apelgren", "Aina", "19400101", "194001019803", "400101"):
        assert identity not in html, identity
    event = AuditEvent.objects.get(action=Action.PAYER_SHOWN)
    assert event.patient_id == patient.pk
    # By the device's individual number; a month before the loan; bad input.
    by_item = client.get(reverse("billing:who_pays"), {"individ": "IND-77", "manad": "2026-02"})
    assert by_item.status_code == 200 and "2026-02-15" in _text(by_item)
    before = client.get(reverse("billing:who_pays"), {"lan": str(loan.pk), "manad": "2025-12"})
    assert "inga hyresdagar" in _text(before)
    for query in ({"lan": "abc"}, {"manad": "2026-13", "lan": str(loan.pk)}, {"lan": "-1"}):
        assert client.get(reverse("billing:who_pays"), query).status_code == 400, query
    assert client.get(reverse("billing:who_pays"), {"lan": 999999}).status_code == 404


def test_r57_a_prescriber_registers_a_move_from_the_patient_page(
    client: Client, county: County, charlie: Persona, billie: Persona
) -> None:
    _loan_, patient = _loan(county, charlie)
    signed_in(client, charlie)
    detail = _text(client.get(reverse("patients:detail", args=[patient.pk])))
    url = reverse("billing:housing", args=[patient.pk])
    assert url in detail
    bad = client.post(url, {"housing": "castle", "municipality": "", "valid_from": "2026-02-30"})
    assert bad.status_code == 400
    assert "Välj en boendeform." in _text(bad)
    assert not PatientHousing.unscoped.exists()
    data = {
        "housing": "special",
        "municipality": county.municipality.pk,
        "valid_from": "2026-02-15",
    }
    assert client.post(url, data).status_code == 302
    again = client.post(url, {**data, "housing": "lss"})
    assert again.status_code == 400
    assert "redan ett boende registrerat från det datumet" in _text(again)
    assert PatientHousing.unscoped.filter(patient=patient).count() == 1
    assert AuditEvent.objects.filter(
        action=Action.HOUSING_REGISTERED, patient_id=patient.pk
    ).exists()
    assert "Särskilt boende" in _text(client.get(url))
    detail = _text(client.get(reverse("patients:detail", args=[patient.pk])))
    assert "från 2026-02-15: Särskilt boende" in detail
    client.logout()
    signed_in(client, billie)
    assert client.get(url).status_code == 404
    assert client.post(url, data).status_code == 404
