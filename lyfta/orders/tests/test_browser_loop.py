"""Browser test of the device loop as users play it (issue "The device lifecycle"): a municipal
prescriber orders a lift and a bed; logistics picks and delivers; the holdings show both with the
right unit; a pick-up order; receipt; reconditioning; back in stock; the same lift ordered for
another patient, and its item card shows both loans. Screenshots of every step are kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from conftest import BrowserSession, County, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.inventory.models import Item
from lyfta.orders.models import Loan, Order
from lyfta.orders.tests.conftest import Shop
from lyfta.orders.tests.signature_pad import draw_signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def click(browser: BrowserSession, selector: str, label: str) -> Any:
    browser.page.click(selector)
    browser.page.wait_for_load_state()
    browser.shot(label)
    return browser.page


def sign_in(browser: BrowserSession, persona: Persona) -> None:
    browser.page.context.clear_cookies()
    browser.login(persona.user.username, TEST_PASSWORD)


def order_through_the_pages(browser: BrowserSession, patient_id: int, shop: Shop) -> Order:
    page = browser.page
    browser.goto(f"/innehav/{patient_id}/bestall/")
    assert browser.axe_violations() == []
    for query, name in (("taklyft", "Taklyft Orbit"), ("100002", "Vårdsäng Viva")):
        page.fill("#id_q", query)
        page.click("#search-heading ~ form button[type=submit]")
        page.wait_for_selector(f"#article-results >> text={name}")
        browser.shot(f"search-{query}")
        page.locator("#article-results tr", has_text=name).locator(
            "button:has-text('Lägg till')"
        ).first.click()
        page.wait_for_load_state()
    browser.shot("cart")
    assert browser.axe_violations() == []
    page.fill("#id_goal", "Säkra förflyttningar i hemmet")
    click(browser, "button:has-text('Skicka beställning')", "order-placed")
    assert "är registrerad" in page.content()
    return Order.unscoped.order_by("-pk").first()  # type: ignore[return-value]


def pick_and_deliver(browser: BrowserSession, order: Order) -> None:
    page = browser.page
    browser.goto(f"/logistik/order/{order.pk}/")
    assert browser.axe_violations() == []
    while page.locator("button:text-is('Plocka')").count():
        page.locator("button:text-is('Plocka')").first.click()
        page.wait_for_load_state()
    browser.shot("picked")
    # The driver's delivery page: who received it, signed on the screen.
    click(browser, "a:has-text('Till leveranssidan')", "delivery-page")
    page.fill("#receipt-name", "Aina Apel")
    draw_signature(page)
    click(browser, "button:text-is('Registrera leverans')", "delivered")


def test_the_device_loop_through_the_pages(
    browser: BrowserSession,
    shop: Shop,
    county: County,
    alice: Persona,
    logan: Persona,
) -> None:
    for persona in (alice, logan):
        account_services.agreement_accept(user=persona.user)
    page = browser.page

    # The prescriber orders a lift and a bed for her patient.
    sign_in(browser, alice)
    browser.goto(f"/patienter/{shop.patient.pk}/")
    click(browser, "a:has-text('Hjälpmedelsinnehav')", "holdings-empty")
    first = order_through_the_pages(browser, shop.patient.pk, shop)
    assert first.lines.count() == 2
    lift_item = first.lines.get(article=shop.lift).item
    assert lift_item is not None

    # Logistics picks and delivers.
    sign_in(browser, logan)
    browser.goto(f"/logistik/?dag={first.expected_on.isoformat()}")
    assert first.number in page.content()
    assert browser.axe_violations() == []
    pick_and_deliver(browser, first)
    first.refresh_from_db()
    assert first.status == Order.Status.DELIVERED

    # The holdings show both, from the prescriber's unit.
    sign_in(browser, alice)
    browser.goto(f"/innehav/{shop.patient.pk}/")
    active = page.locator("#active-heading ~ .table-wrap").inner_text()
    assert "Taklyft Orbit" in active and "Vårdsäng Viva" in active
    assert county.unit_a.name in active
    assert browser.axe_violations() == []

    # A pick-up order for the lift.
    click(browser, "a:has-text('Hämtorder')", "pickup-form")
    lift_loan = Loan.unscoped.get(item=lift_item, ended_on__isnull=True)
    page.check(f"input[name=loans][value='{lift_loan.pk}']")
    click(browser, "button:has-text('Registrera hämtorder')", "pickup-registered")
    assert "Hyran upphör" in page.content()

    # Logistics collects, receives, reconditions: the lift is back in stock.
    sign_in(browser, logan)
    browser.goto("/logistik/hamtningar/?dag=2100-01-01")
    assert browser.axe_violations() == []
    page.fill("[name=receiver_name]", "Aina Apel")
    page.check("[name=unsigned]")
    page.fill("[name=unsigned_reason]", "Patienten sover")
    click(browser, "button:has-text('Registrera hämtning')", "collected")
    browser.goto("/logistik/returer/")
    click(browser, "button:has-text('Ta emot')", "received")
    browser.goto("/logistik/rekonditionering/")
    assert lift_item.individual_number in page.content()
    click(browser, "button:has-text('Tillbaka i lager')", "back-in-stock")
    lift_item.refresh_from_db()
    assert lift_item.status == Item.Status.IN_STOCK

    # The same lift goes to another patient.
    sign_in(browser, alice)
    second = order_through_the_pages(browser, shop.other.pk, shop)
    assert second.lines.get(article=shop.lift).item == lift_item
    sign_in(browser, logan)
    pick_and_deliver(browser, second)

    # Its item card shows both loans.
    browser.goto(f"/lager/individ/{lift_item.individual_number}/")
    assert browser.axe_violations() == []
    assert Loan.unscoped.filter(item=lift_item).count() == 2
    sign_in(browser, alice)
    browser.goto(f"/lager/individ/{lift_item.individual_number}/")
    card = page.content()
    assert "Aina Apel" in card and "Sten Sjö" in card
    assert timezone.localdate().isoformat() in card
