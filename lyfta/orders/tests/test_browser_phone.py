"""A day's work on a phone (issue 16): at 360 px a prescriber finds an article and adds it with
"Lägg till" (on screen, not beyond its right edge), logistics read the pick list, the holdings
are cards with each value under its column's name, the technician reads her team's queue; the
header is one short row whose menu opens on a button. On a wide screen ISO codes and dates keep
to one line in their table cells. Screenshots under var/screenshots/<test name>/."""

from __future__ import annotations

import pytest

from conftest import BrowserSession, County, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.orders import services
from lyfta.orders.models import Order
from lyfta.orders.tests.conftest import Shop
from lyfta.workorders.models import Team, WorkOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}

# How many lines the text of the first element matching the selector takes on screen.
LINES = """(selector) => {
  const range = document.createRange();
  range.selectNodeContents(document.querySelector(selector));
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""


def sign_in(browser: BrowserSession, persona: Persona) -> None:
    browser.page.context.clear_cookies()
    browser.login(persona.user.username, TEST_PASSWORD)


def fits(browser: BrowserSession) -> None:
    width = browser.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{browser.page.url} is {width} px wide"


def test_a_days_work_on_a_phone(
    browser: BrowserSession,
    shop: Shop,
    county: County,
    alice: Persona,
    logan: Persona,
    tekla: Persona,
) -> None:
    team = Team.objects.create(name="Team Väst", unit=county.centre, areas="652 661")
    team.members.add(tekla.user)
    for persona in (alice, logan, tekla):
        account_services.agreement_accept(user=persona.user)
    page = browser.page
    page.set_viewport_size(PHONE)
    sign_in(browser, alice)

    # The header is one row; the menu opens on its button.
    header = page.locator(".site-header")
    box = header.bounding_box()
    assert box is not None and box["height"] <= 120
    assert not page.locator(".site-nav").is_visible()
    page.click("#menu-toggle")
    assert page.get_attribute("#menu-toggle", "aria-expanded") == "true"
    assert page.locator(".site-nav a", has_text="Patienter").first.is_visible()
    assert page.locator(".site-header", has_text="Alice Ask").is_visible()
    browser.shot("menu-open")

    # Ordering: the search's results (swapped in by htmx) are cards; "Lägg till" is on screen.
    browser.goto(f"/innehav/{shop.patient.pk}/bestall/")
    page.fill("#id_q", "taklyft")
    page.click("#search-heading ~ form button[type=submit]")
    page.wait_for_selector("#article-results >> text=Taklyft Orbit")
    row = page.locator("#article-results tr", has_text="Taklyft Orbit")
    assert row.locator("td").nth(1).get_attribute("data-label") == "ISO"
    add = row.locator("button:has-text('Lägg till')")
    box = add.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    fits(browser)
    browser.shot("ordering-results")
    add.click()
    page.wait_for_load_state()
    page.fill("#id_goal", "Säkra förflyttningar i hemmet")
    fits(browser)
    browser.shot("ordering-cart")
    page.click("button:has-text('Skicka beställning')")
    page.wait_for_load_state()
    order = Order.unscoped.get(patient=shop.patient)

    # The pick list at the centre.
    sign_in(browser, logan)
    browser.goto(f"/logistik/?dag={order.expected_on.isoformat()}")
    assert order.number in page.content()
    fits(browser)
    browser.shot("pick-list")
    for line in order.lines.all():
        services.line_pick(actor=logan.actor, line=line)
    services.order_deliver(actor=logan.actor, order=order)

    # The holdings: a card per device, each value under its column's name; a fault report.
    sign_in(browser, alice)
    browser.goto(f"/innehav/{shop.patient.pk}/")
    card = page.locator("tr", has_text="Taklyft Orbit").first
    assert card.locator("td[data-label='ISO']").is_visible()
    before = card.locator("td[data-label='Sedan']").evaluate(
        "(td) => getComputedStyle(td, '::before').content"
    )
    assert before not in ("none", "normal", ""), before  # the column's name before the value
    fits(browser)
    browser.shot("holdings")
    card.locator("a:has-text('Felanmälan')").click()
    page.wait_for_load_state()
    page.fill("#id_description", "Lyften stannar halvvägs upp")
    page.click("button:has-text('Skicka felanmälan')")
    page.wait_for_load_state()
    work_order = WorkOrder.unscoped.get(patient=shop.patient)

    # On a wide screen the ISO code and the date keep to one line each.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    browser.shot("holdings-wide")
    for label in ("ISO", "Sedan"):
        cell = f"tbody tr td[data-label='{label}']"
        assert page.evaluate(f"document.querySelector(\"{cell}\").classList.contains('nowrap')")
        assert page.evaluate(LINES, cell) == 1
    page.set_viewport_size(PHONE)

    # The technician's team queue.
    sign_in(browser, tekla)
    browser.goto("/teknik/?vy=teamets")
    assert work_order.number in page.content()
    fits(browser)
    browser.shot("queue")
    assert browser.axe_violations() == []
