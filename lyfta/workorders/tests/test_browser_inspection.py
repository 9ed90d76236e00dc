"""Browser test of issue 13's "Done when" point 2, at phone size (390 × 844): an inspection comes
due (the daily job runs), the holding unit's prescriber has the reminder, the technician opens
the due list and the inspection work order, records the protocol with one point failed; the item
is out of use (the due list, the item card and the holdings say "Ur bruk") and a repair work
order exists. Screenshots under docs/screenshots/inspection-*.png."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import BrowserSession, Persona
from lyfta.access.actor import Actor
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.messages.models import Message
from lyfta.orders.tests import conftest as orders_conftest
from lyfta.orders.tests.conftest import Shop
from lyfta.workorders import jobs
from lyfta.workorders.models import Inspection, ItemInspection, WorkOrder
from lyfta.workorders.tests.inspection_world import LIFT_POINTS, make_desk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
shop = orders_conftest.shop  # the orders tests' fixture
# The kept screenshots in docs/ are refreshed on request (LYFTA_UPDATE_SCREENSHOTS=1), so that
# a test run leaves the working tree as it found it; otherwise they go under var/.
DOCS = (
    Path(settings.BASE_DIR)
    / ("docs" if os.environ.get("LYFTA_UPDATE_SCREENSHOTS") == "1" else "var")
    / "screenshots"
)
PHONE = {"width": 390, "height": 844}


def sign_in(browser: BrowserSession, persona: Persona) -> None:
    browser.page.context.clear_cookies()
    browser.login(persona.user.username, TEST_PASSWORD)


def keep(browser: BrowserSession, name: str, *, ours: bool = True) -> None:
    """A screenshot of what the phone shows, kept in the docs; and, on the inspection pages,
    no sideways scrolling."""
    DOCS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(DOCS / f"inspection-{name}.png"))
    if ours:
        width = browser.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width} px wide"


def test_an_inspection_comes_due_fails_and_takes_the_lift_out_of_use(
    browser: BrowserSession,
    shop: Shop,
    alice: Persona,
    logan: Persona,
    tekla: Persona,
) -> None:
    for persona in (alice, tekla):
        account_services.agreement_accept(user=persona.user)
    desk = make_desk(shop, alice, logan, tekla)
    today = timezone.localdate()
    desk.due_on(desk.loan_karlstad, today + dt.timedelta(days=20))
    desk.due_on(desk.loan_saffle, today + dt.timedelta(days=200))
    page = browser.page
    page.set_viewport_size(PHONE)

    # The daily job: the lift lent in Karlstad is due within the lead time.
    assert jobs.inspections_due(actor=Actor.system("inspections_due")) == 1
    order = WorkOrder.unscoped.get(kind=WorkOrder.Kind.INSPECTION)
    lift = desk.loan_karlstad.item
    assert lift is not None

    # The holding unit's prescriber has the reminder.
    assert Message.objects.filter(recipient=alice.user, link__endswith=f"/{order.pk}/").exists()
    sign_in(browser, alice)
    browser.goto("/meddelanden/")
    assert "Besiktning senast" in page.content()
    keep(browser, "1-reminder")

    # The technician's due list for the area: the lift, its holder and the work order.
    sign_in(browser, tekla)
    browser.goto(f"/teknik/besiktningar/?omrade=652&manad={order.done_due:%Y-%m}")
    content = page.content()
    assert lift.individual_number in content and order.number in content
    assert "Aina Apel" in content
    keep(browser, "2-due-list")

    # The protocol: every point passed but the emergency lowering.
    browser.goto(f"/teknik/arbetsorder/{order.pk}/besiktning/")
    for index, point in enumerate(LIFT_POINTS):
        verdict = "fail" if point == "Nödsänkning" else "pass"
        page.check(f"input[name=point_{index}][value={verdict}]")
    page.fill("#id_note_1", "Nödsänkningen fungerar inte")
    page.fill("#id_condition", "Slitet men helt")
    keep(browser, "3-protocol")
    page.click("button:has-text('Registrera besiktningen')")
    page.wait_for_load_state()
    browser.shot("after-protocol")

    inspection = Inspection.unscoped.get(work_order=order)
    assert inspection.result == Inspection.Result.FAILED
    lift.refresh_from_db()
    assert lift.out_of_use_since == today
    repair = WorkOrder.unscoped.get(item=lift, kind=WorkOrder.Kind.REPAIR)
    assert repair.status == WorkOrder.Status.REGISTERED
    assert repair.priority == WorkOrder.Priority.URGENT
    schedule = ItemInspection.objects.get(item=lift, plan=desk.plan)
    assert schedule.next_due == repair.done_due

    # The due list, the item card and the holdings say the lift is out of use.
    browser.goto(f"/teknik/besiktningar/?omrade=652&manad={schedule.next_due:%Y-%m}")
    assert "Ur bruk" in page.content()
    keep(browser, "4-due-list-out-of-use")
    browser.goto(f"/lager/individ/{lift.individual_number}/")
    assert "Ur bruk" in page.content()
    keep(browser, "5-item-card", ours=False)
    sign_in(browser, alice)
    browser.goto(f"/innehav/{shop.patient.pk}/")
    assert "Ur bruk" in page.content()
    keep(browser, "6-holdings", ours=False)
