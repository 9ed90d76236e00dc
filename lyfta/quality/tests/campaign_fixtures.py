"""Fixtures of the safety-campaign tests: slings with serial numbers SN-1 … SN-12 in two lots,
some lent to unit A's and unit B's patients through the order services, one in a buffer store,
one on reconditioning; a sheet (untracked) received in lots L1 and L2 and delivered to patients
oldest lot first; and the quality officer sara at the centre."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conftest import County, Persona, make_persona
from lyfta.access.roles import Role
from lyfta.catalogue.models import Article, BillingType, Supplier
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockMovement
from lyfta.orders import services as orders
from lyfta.orders.models import Loan
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, _iso, article, grant
from lyfta.patients.models import Patient
from lyfta.quality.services.campaigns import NoticeInput


@dataclass
class Field:
    shop: Shop
    county: County
    sling: Article
    slings: dict[str, Item]  # by serial number
    sheet: Article  # not tracked, sold: lots L1 and L2
    sheet_loans: list[Loan]
    on_loan_a: list[str]  # serials with unit A's patients
    on_loan_b: list[str]  # serials with unit B's patient


def deliver(
    prescriber: Persona, logan: Persona, patient: Patient, what: Article, n: int = 1
) -> list[Loan]:
    order = orders.order_place(
        actor=prescriber.actor,
        grant=grant(prescriber, patient),
        lines=[LineInput(what, 1 if what.tracked else n)],
        delivery=DeliveryInput(),
    )
    for line in order.lines.all():
        orders.line_pick(actor=logan.actor, line=line)
    return orders.order_deliver(actor=logan.actor, order=order)


def lend_serial(
    prescriber: Persona, logan: Persona, patient: Patient, field: Field, serial: str
) -> Loan:
    """Lend exactly the sling with `serial`: the others are taken out of use for the moment."""
    others = [i.pk for s, i in field.slings.items() if s != serial]
    Item.objects.filter(pk__in=others, status=Item.Status.IN_STOCK).update(
        out_of_use_since="2020-01-01", out_of_use_reason="test"
    )
    try:
        (loan,) = deliver(prescriber, logan, patient, field.sling)
    finally:
        Item.objects.filter(out_of_use_reason="test").update(
            out_of_use_since=None, out_of_use_reason=""
        )
    assert loan.item is not None and loan.item.serial_number == serial
    return loan


@pytest.fixture(name="sara")
def sara_fixture(county: County) -> Persona:
    """The quality officer at the centre."""
    return make_persona(
        county.centre, Role.QUALITY, "sara", first_name="Sara", last_name="Kvalitet"
    )


@pytest.fixture(name="field")
def field_fixture(
    shop: Shop, county: County, alice: Persona, charlie: Persona, logan: Persona
) -> Field:
    supplier = Supplier.objects.get_or_create(name="Selfabriken AB")[0]
    sling = article("300001", "Lyftsele Comfort", _iso("12 36 21", "Lyftselar"), supplier)
    stock.goods_receive(
        actor=logan.actor,
        location=shop.central,
        article=sling,
        quantity=12,
        items=[stock.ReceivedItem(f"SN-{n}", "B1" if n <= 6 else "B2") for n in range(1, 13)],
    )
    slings = {i.serial_number: i for i in Item.objects.filter(article=sling)}
    sheet = article(
        "300002",
        "Glidlakan",
        _iso("12 31 03", "Glidlakan"),
        supplier,
        tracked=False,
        billing_type=BillingType.SALE,
        monthly_rent=None,
    )
    stock.goods_receive(
        actor=logan.actor, location=shop.central, article=sheet, quantity=4, lot="L1"
    )
    stock.goods_receive(
        actor=logan.actor, location=shop.central, article=sheet, quantity=4, lot="L2"
    )
    result = Field(shop, county, sling, slings, sheet, [], ["SN-2", "SN-10"], ["SN-9"])
    for serial in result.on_loan_a:
        lend_serial(alice, logan, shop.patient, result, serial)
    lend_serial(charlie, logan, shop.region_patient, result, "SN-9")
    # One sling in unit A's buffer store, one on reconditioning.
    stock.ledger(
        actor=logan.actor,
        kind=StockMovement.Kind.TRANSFER,
        article=sling,
        item=slings["SN-11"],
        source=shop.central,
        target=shop.buffer_a,
    )
    Item.objects.filter(pk=slings["SN-11"].pk).update(location=shop.buffer_a)
    Item.objects.filter(pk=slings["SN-12"].pk).update(
        status=Item.Status.RECONDITIONING, location=shop.recon
    )
    # Sheets, oldest lot first: 3 of L1 to Aina; 3 to Sten (1 of L1, 2 of L2); 1 of L2 to
    # Bertil (unit B). Left in central: 1 of L2.
    result.sheet_loans += deliver(alice, logan, shop.patient, sheet, 3)
    result.sheet_loans += deliver(alice, logan, shop.other, sheet, 3)
    result.sheet_loans += deliver(charlie, logan, shop.region_patient, sheet, 1)
    for item in slings.values():
        item.refresh_from_db()
    return result


def notice(articles: list[Article], **fields: object) -> NoticeInput:
    import datetime as dt

    values: dict[str, object] = {
        "title": "Sömmen kan släppa",
        "notice_reference": "FSN-2026-01",
        "notice_date": dt.date(2026, 1, 15),
        "description": "Tillverkaren: kontrollera sömmen på varje sele.",
        "action": "check",
        "articles": articles,
        **fields,
    }
    return NoticeInput(**values)  # type: ignore[arg-type]
