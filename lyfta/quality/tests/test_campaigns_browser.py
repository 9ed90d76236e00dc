"""Browser test of issue 15's second "Done when": a safety notice for a serial range of a sling
creates a campaign (with its preview count first); the technician checks each device on a phone,
finding it by its individual number; the campaign shows 100 % and the quality officer closes it.
Axe clean; screenshots under var/screenshots (docs/screenshots/campaign-*.png with
LYFTA_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from conftest import BrowserSession, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.inventory.models import Item
from lyfta.orders.tests import conftest as orders_conftest
from lyfta.quality.models import Campaign, CampaignDevice
from lyfta.quality.tests.campaign_fixtures import (  # noqa: F401 - fixtures, found by name
    Field,
    field_fixture,
    sara_fixture,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
shop = orders_conftest.shop  # the orders tests' fixture
DOCS = (
    Path(settings.BASE_DIR)
    / ("docs" if os.environ.get("LYFTA_UPDATE_SCREENSHOTS") == "1" else "var")
    / "screenshots"
)
PHONE = {"width": 390, "height": 844}


def keep(browser: BrowserSession, name: str, *, phone: bool = False) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(DOCS / f"campaign-{name}.png"), full_page=True)
    if phone:
        width = browser.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width} px wide"


def test_a_safety_notice_for_a_serial_range_of_a_sling_becomes_a_campaign_checked_to_100(
    browser: BrowserSession, field: Field, sara: Persona, tekla: Persona
) -> None:
    for persona in (sara, tekla):
        account_services.agreement_accept(user=persona.user)
    page = browser.page

    # The quality officer enters the notice, previews the count, creates the campaign.
    browser.login(sara.user.username, TEST_PASSWORD)
    browser.goto(reverse("quality:campaign_new"))
    page.fill("#id_title", "Sömmen vid benstödet kan släppa")
    page.fill("#id_notice_reference", "FSN-2026-07")
    page.fill("#id_notice_date", "2026-06-01")
    page.fill("#id_description", "Kontrollera sömmen på varje sele.")
    page.select_option("#id_action", "check")
    page.fill("#id_articles", field.sling.article_number)
    page.fill("#id_serial_ranges", "SN-9;SN-11")
    page.click("button:has-text('Förhandsgranska')")
    page.wait_for_load_state()
    assert page.inner_text("#preview-devices") == "3"
    assert not Campaign.objects.exists()
    assert browser.axe_violations() == []
    keep(browser, "1-preview")
    page.click("button:has-text('Skapa kampanj')")
    page.wait_for_load_state()
    campaign = Campaign.objects.get()
    assert f"Kampanj {campaign.number}" in page.content()
    assert page.inner_text("#progress-percent") == "0 %"
    assert browser.axe_violations() == []
    keep(browser, "2-created")

    # The technician, on a phone, finds each sling by its individual number and checks it.
    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    browser.login(tekla.user.username, TEST_PASSWORD)
    browser.goto(reverse("quality:campaign", args=[campaign.number]))
    keep(browser, "3-technician", phone=True)
    items = Item.objects.filter(
        pk__in=CampaignDevice.unscoped.filter(campaign=campaign).values("item_id")
    ).order_by("individual_number")
    for index, item in enumerate(items):
        page.fill("#id_nummer", item.individual_number)
        page.click("#find-device button")
        page.wait_for_load_state()
        assert f"Individ {item.individual_number}" in page.content()
        if index == 0:
            assert browser.axe_violations() == []
            keep(browser, "4-device", phone=True)
        page.select_option("#id_status", "checked")
        page.fill("#id_note", "Sömmen hel")
        page.click("#device-form button")
        page.wait_for_load_state()
        assert "Status sparad." in page.content()
    assert page.inner_text("#progress-percent") == "100 %"
    keep(browser, "5-all-checked", phone=True)

    # The quality officer closes it with the final report.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    browser.login(sara.user.username, TEST_PASSWORD)
    browser.goto(reverse("quality:campaign", args=[campaign.number]))
    page.fill("#id_report", "Alla tre selarna kontrollerade, inga fel.")
    page.click("#close-campaign button")
    page.wait_for_load_state()
    assert "Kampanjen är avslutad." in page.content()
    assert page.inner_text("#campaign-status") == "Avslutad"
    assert page.inner_text("#progress-percent") == "100 %"
    assert browser.axe_violations() == []
    keep(browser, "6-closed")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    assert not CampaignDevice.unscoped.filter(campaign=campaign, status="to_check").exists()
