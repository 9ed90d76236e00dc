"""Issue 16 in the browser: a prescriber orders a stocked walker from the start page in at most
four actions (problem 6: about eight before), on a phone and on a desktop, with axe checks and a
screenshot of every step. An action is a press on a link or a button; nothing is typed.

The way: start page → Mina patienter (1) → the patient's "Beställ" (2), whose order page shows
the holdings and what the unit often orders with its stock → "Lägg till" on the walker (3) →
"Skicka beställning" (4). The longer way through the holdings (the row's name → "Ny
beställning") is four actions from the list."""

from __future__ import annotations

import pytest

from conftest import BrowserSession, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.inventory.services import goods_receive
from lyfta.orders import services
from lyfta.orders.models import Order
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}


class Actions:
    """Presses counted, each followed by an axe check and a screenshot."""

    def __init__(self, browser: BrowserSession) -> None:
        self.browser = browser
        self.count = 0

    def press(self, selector: str, label: str) -> None:
        page = self.browser.page
        page.locator(selector).first.click()
        page.wait_for_load_state()
        self.count += 1
        self.browser.shot(f"{self.count}-{label}")
        assert self.browser.axe_violations() == [], label


def _walker_is_everyday(shop: Shop, alice: Persona, logan: Persona) -> None:
    """The unit has ordered a walker before (for another patient), and the centre has walkers."""
    goods_receive(actor=logan.actor, location=shop.central, article=shop.walker2, quantity=3)
    services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.other),
        lines=[LineInput(shop.walker2)],
        delivery=DeliveryInput(),
    )


def _ordered_walker(shop: Shop) -> Order:
    order = Order.unscoped.filter(patient=shop.patient).order_by("-pk").first()
    assert order is not None
    lines = list(order.lines.all())
    assert [(line.article_id, line.status) for line in lines] == [(shop.walker2.pk, "reserved")]
    return order


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_ordering_a_stocked_walker_takes_at_most_four_actions(
    browser: BrowserSession, shop: Shop, alice: Persona, logan: Persona, device: str
) -> None:
    account_services.agreement_accept(user=alice.user)
    _walker_is_everyday(shop, alice, logan)
    if device == "phone":
        browser.page.set_viewport_size(PHONE)
    browser.login(alice.user.username, TEST_PASSWORD)
    assert browser.axe_violations() == []
    page = browser.page
    act = Actions(browser)
    act.press("#shortcuts a:text-is('Mina patienter')", "mina-patienter")
    assert page.locator("#my-patients", has_text="Aina Apel").is_visible()
    act.press("#my-patients tr:has-text('Aina Apel') a:has-text('Beställ')", "order-page")
    assert page.locator("#often-heading").is_visible()
    act.press(
        "#often-results tr:has-text('Rollator Gamma') button:has-text('Lägg till')", "in-cart"
    )
    act.press("button:has-text('Skicka beställning')", "ordered")
    assert "är registrerad" in page.content()
    assert act.count <= 4
    _ordered_walker(shop)
    if device == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, "no horizontal scrolling on a phone"


def test_from_the_list_through_the_holdings_is_four_actions(
    browser: BrowserSession, shop: Shop, alice: Persona, logan: Persona
) -> None:
    account_services.agreement_accept(user=alice.user)
    _walker_is_everyday(shop, alice, logan)
    browser.login(alice.user.username, TEST_PASSWORD)
    browser.goto("/patienter/mina/")
    assert browser.axe_violations() == []
    page = browser.page
    act = Actions(browser)
    act.press("#my-patients a:text-is('Aina Apel')", "holdings")
    assert "Hjälpmedelsinnehav" in page.locator("h1").inner_text()
    act.press("a:text-is('Ny beställning')", "order-page")
    act.press(
        "#often-results tr:has-text('Rollator Gamma') button:has-text('Lägg till')", "in-cart"
    )
    act.press("button:has-text('Skicka beställning')", "ordered")
    assert act.count == 4
    _ordered_walker(shop)
