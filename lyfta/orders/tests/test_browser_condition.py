"""Browser test of issue 16 point 4 at phone size (390 × 844): the driver opens a pick-up on the
phone, fills the condition checklist of the lift with one remark and a photo from the camera,
registers the collection; the warehouse checks it again at receipt; the reconditioning page
shows both checks and the photo first. Axe clean; screenshots under var/screenshots (or
docs/screenshots/returns-*.png with LYFTA_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from conftest import BrowserSession, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.core.tests.images import png
from lyfta.orders import services
from lyfta.orders.models import ConditionPhoto, ConditionReport, OrderLine, PickupLine
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput
from lyfta.orders.tests import conftest as orders_conftest
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
shop = orders_conftest.shop  # the orders tests' fixture
DOCS = (
    Path(settings.BASE_DIR)
    / ("docs" if os.environ.get("LYFTA_UPDATE_SCREENSHOTS") == "1" else "var")
    / "screenshots"
)
PHONE = {"width": 390, "height": 844}
PNG = png()


def keep(browser: BrowserSession, name: str) -> None:
    """What the phone shows, kept; and no sideways scrolling."""
    DOCS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(DOCS / f"returns-{name}.png"), full_page=True)
    width = browser.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: {width} px wide"


def test_r16_4_the_driver_checks_the_condition_on_a_phone_and_reconditioning_sees_it(
    browser: BrowserSession,
    shop: Shop,
    alice: Persona,
    logan: Persona,
    settings: object,
    tmp_path: Path,
) -> None:
    settings.LYFTA_ATTACHMENT_DIR = str(tmp_path / "bilagor")  # type: ignore[attr-defined]
    account_services.agreement_accept(user=logan.user)
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.lift)],
        delivery=DeliveryInput(),
    )
    for order_line in OrderLine.unscoped.filter(order=order):
        services.line_pick(actor=logan.actor, line=order_line)
    loans = services.order_deliver(actor=logan.actor, order=order)
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=loans)
    )
    line = PickupLine.unscoped.get(pickup=pickup)
    page = browser.page
    page.set_viewport_size(PHONE)
    page.context.clear_cookies()
    browser.login(logan.user.username, TEST_PASSWORD)

    # The day's pick-ups: each device has its checklist.
    browser.goto(reverse("logistics:pickups"))
    keep(browser, "1-pickups")
    page.click(f"a[href='{reverse('logistics:pickup_condition', args=[line.pk])}']")
    page.wait_for_load_state()
    assert "Batteri/laddare medföljer" in page.content()
    assert browser.axe_violations() == []
    for index, answer in enumerate(["yes", "no", "no", "yes", "na"]):
        page.check(f"input[name=point_{index}][value={answer}]")
    page.fill("#id_note", "Smutsig lyftbygel")
    page.set_input_files(
        "#id_photo_1", files=[{"name": "bygel.png", "mimeType": "image/png", "buffer": PNG}]
    )
    keep(browser, "2-collection-checklist")
    page.click("button:has-text('Spara skicket')")
    page.wait_for_load_state()
    assert "Skicket är registrerat." in page.content()
    report = ConditionReport.unscoped.get(line=line)
    assert [p["point"] for p in report.remarks] == ["Rent"]
    assert ConditionPhoto.unscoped.filter(report=report).count() == 1

    # The collection is registered with its receipt; the warehouse checks it again at receipt.
    page.fill("[name=receiver_name]", "Aina Apel")
    page.check("[name=unsigned]")
    page.fill("[name=unsigned_reason]", "Patienten sover")
    page.click("button:has-text('Registrera hämtning')")
    page.wait_for_load_state()
    browser.goto(reverse("logistics:returns"))
    assert "1 anm." in page.content()
    assert browser.axe_violations() == []
    browser.goto(reverse("logistics:return_condition", args=[line.pk]))
    assert "Smutsig lyftbygel" in page.content()
    for index in range(5):
        page.check(f"input[name=point_{index}][value={'no' if index == 2 else 'yes'}]")
    page.click("button:has-text('Spara skicket')")
    page.wait_for_load_state()
    page.click("button:has-text('Ta emot')")
    page.wait_for_load_state()

    # Reconditioning: the two checks and the photo come first.
    browser.goto(reverse("logistics:reconditioning"))
    content = page.content()
    assert "Vid hämtning" in content and "Vid mottagning" in content
    assert content.index("Smutsig lyftbygel") < content.index("Tillbaka i lager")
    assert page.locator("img[alt^='Foto 1']").count() == 1
    assert browser.axe_violations() == []
    keep(browser, "3-reconditioning")
