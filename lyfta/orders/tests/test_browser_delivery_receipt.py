"""Browser test of the driver's delivery page at phone size (issue 16 point 3): the page fits a
360 px screen, the receiver signs on the screen with pointer events (the mouse here, a finger on
the phone), the receipt is kept with the delivery and shown with the signature on the order page.
No inline script: a CSP violation would be a console error and fail the test."""

from __future__ import annotations

import pytest

from conftest import BrowserSession, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.orders import services
from lyfta.orders.models import Loan, Order, OrderLine, Receipt
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.orders.tests.signature_pad import draw_signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def fits(browser: BrowserSession) -> None:
    width = browser.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{browser.page.url} is {width} px wide"


def test_the_delivery_receipt_is_signed_on_a_phone(
    browser: BrowserSession, shop: Shop, alice: Persona, logan: Persona
) -> None:
    account_services.agreement_accept(user=logan.user)
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.lift)],
        delivery=DeliveryInput(),
    )
    for line in order.lines.filter(status=OrderLine.Status.RESERVED):
        services.line_pick(actor=logan.actor, line=line)
    page = browser.page
    page.set_viewport_size(PHONE)
    browser.login(logan.user.username, TEST_PASSWORD)

    browser.goto(f"/logistik/order/{order.pk}/leverans/")
    fits(browser)
    assert browser.axe_violations() == []
    page.fill("#receipt-name", "Aina Apel")
    page.select_option("#receipt-relation", "relative")
    draw_signature(page)
    assert page.input_value("[data-signature-input]").startswith("[[")
    browser.shot("signed")
    # Clearing empties the hidden field; the receiver signs again.
    page.click("[data-signature-clear]")
    assert page.input_value("[data-signature-input]") == ""
    draw_signature(page)
    browser.shot("signed-again")
    page.click("button:text-is('Registrera leverans')")
    page.wait_for_load_state()
    browser.shot("delivered")

    receipt = Receipt.unscoped.get()
    assert (receipt.name, receipt.relation) == ("Aina Apel", Receipt.Relation.RELATIVE)
    assert receipt.signature is not None and len(receipt.signature) == 2  # two strokes
    assert Order.unscoped.get(pk=order.pk).status == Order.Status.DELIVERED
    assert Loan.unscoped.filter(patient=shop.patient, article=shop.lift).exists()
    # The order page shows who received it and the signature drawn.
    assert page.locator("svg.signature polyline").count() == 2
    assert "Aina Apel" in page.content()
    fits(browser)
    assert browser.axe_violations() == []
