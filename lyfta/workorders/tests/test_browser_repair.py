"""Browser test of issue 13's "Done when" point 1, played at phone size (390 × 844): a prescriber
reports a fault on a patient's lift from the holdings; the technician sees it in her queue, plans
a home visit for today, starts, uses a spare part from the workshop, reports, marks it done and
closes it; the prescriber gets the message; the item card shows the work order; the part has
left stock through the ledger. Screenshots are kept in docs/screenshots/workorder-*.png."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import BrowserSession, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.inventory.models import StockLevel, StockMovement
from lyfta.workorders.models import WorkOrder
from lyfta.workorders.tests.pages_fixtures import Desk, desk, shop

__all__ = ["desk", "shop"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# The elements that reach beyond the phone's width, to name in a failure.
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > 392)
  .slice(-8).map((el) => `${el.tagName}.${el.className}`)"""
# The kept screenshots in docs/ are refreshed on request (LYFTA_UPDATE_SCREENSHOTS=1), so that
# a test run leaves the working tree as it found it; otherwise they go under var/.
KEPT = (
    Path(settings.BASE_DIR)
    / ("docs" if os.environ.get("LYFTA_UPDATE_SCREENSHOTS") == "1" else "var")
    / "screenshots"
)


def keep(browser: BrowserSession, name: str) -> None:
    """A screenshot of what the phone shows, kept with the documentation."""
    KEPT.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(KEPT / f"workorder-{name}.png"))


def fits(browser: BrowserSession) -> None:
    width = browser.page.evaluate("document.documentElement.scrollWidth")
    wide = browser.page.evaluate(WIDE) if width > PHONE["width"] else []
    assert width <= PHONE["width"], f"{browser.page.url} is {width} px wide: {wide}"


def click(browser: BrowserSession, selector: str, label: str) -> Any:
    browser.page.click(selector)
    browser.page.wait_for_load_state()
    browser.shot(label)
    return browser.page


def sign_in(browser: BrowserSession, persona: Persona) -> None:
    browser.page.context.clear_cookies()
    browser.login(persona.user.username, TEST_PASSWORD)


def test_a_repair_from_the_holdings_to_closed_at_phone_size(
    browser: BrowserSession, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    for persona in (alice, tekla):
        account_services.agreement_accept(user=persona.user)
    page = browser.page
    page.set_viewport_size(PHONE)
    patient, lift = desk.shop.patient, desk.lift
    level = StockLevel.objects.get(article=desk.shop.cushion, location=desk.workshop)
    before = level.quantity

    # The prescriber reports the fault from the holdings.
    sign_in(browser, alice)
    browser.goto(f"/innehav/{patient.pk}/")
    fits(browser)
    click(browser, f"a[href='/teknik/felanmalan/{patient.pk}/{desk.loan.pk}/']", "fault-form")
    fits(browser)
    page.fill("#id_description", "Lyften stannar halvvägs upp")
    keep(browser, "1-fault-report")
    click(browser, "button:has-text('Skicka felanmälan')", "fault-sent")
    order = WorkOrder.unscoped.get(item=lift)
    assert order.number in page.content() and "Pågående arbetsordrar" in page.content()
    keep(browser, "2-holdings")

    # The technician sees it in her team's queue.
    sign_in(browser, tekla)
    browser.goto("/teknik/?vy=teamets")
    assert order.number in page.content()
    fits(browser)
    assert browser.axe_violations() == []
    keep(browser, "3-queue")
    click(browser, f"a:has-text('{order.number}')", "detail")
    fits(browser)
    assert browser.axe_violations() == []

    # Plans a home visit for today, starts, uses a spare part, reports, done, close.
    page.select_option("#id_assignee", str(tekla.user.pk))
    page.fill("#id_planned_on", timezone.localdate().isoformat())
    click(browser, "button:has-text('Spara planeringen')", "planned")
    assert "Arbetsordern är planerad." in page.content()
    click(browser, "button:has-text('Påbörja')", "started")
    page.fill("#id_article", desk.shop.cushion.article_number)
    page.fill("#id_quantity", "1")
    click(browser, "button:has-text('Ta ur lagret')", "part-used")
    assert "uttagna ur lagret" in page.content()
    page.fill("#id_findings", "Trasig ändlägesbrytare")
    page.fill("#id_actions", "Bytt brytare, provkört")
    page.fill("#id_minutes_spent", "40")
    click(browser, "button:has-text('Spara rapporten')", "reported")
    keep(browser, "4-detail-in-progress")
    click(browser, "button:has-text('Klarmarkera')", "done")
    click(browser, "button:has-text('Avsluta')", "closed")
    assert "Arbetsordern är avslutad." in page.content()
    fits(browser)
    keep(browser, "5-closed")
    order.refresh_from_db()
    assert order.status == WorkOrder.Status.CLOSED and order.planned_on == timezone.localdate()

    # The prescriber gets the message, and the item card shows the work order.
    sign_in(browser, alice)
    browser.goto("/meddelanden/")
    assert f"Arbetsorder {order.number} är utförd" in page.content()
    fits(browser)
    keep(browser, "6-message")
    browser.goto(f"/lager/individ/{lift.individual_number}/")
    card = page.content()
    assert order.number in card and "Bytt brytare" in card
    fits(browser)
    keep(browser, "7-item-card")

    # The part has left the workshop's stock through the ledger.
    moved = StockMovement.unscoped.get(kind=StockMovement.Kind.REPAIR_PART)
    assert moved.from_location == desk.workshop and moved.quantity == 1
    assert moved.reference == f"workorder:{order.number}"
    level.refresh_from_db()
    assert level.quantity == before - 1
