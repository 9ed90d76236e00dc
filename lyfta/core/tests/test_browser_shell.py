"""Browser tests of the shell: the login page and the start page, with axe checks."""

from __future__ import annotations

import pytest

from conftest import BrowserSession, Persona
from lyfta.accounts.tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice_ready(alice: Persona) -> Persona:
    """Alice has accepted the user agreement before (the first sign-in is tested elsewhere)."""
    from lyfta.accounts.services import agreement_accept

    agreement_accept(user=alice.user)
    return alice


def test_login_page_is_accessible(browser: BrowserSession) -> None:
    browser.goto("/")
    assert "/konto/logga-in/" in browser.page.url
    assert browser.page.locator("h1").inner_text() == "Logga in i Lyfta"
    assert browser.page.get_attribute("html", "lang") == "sv"
    assert browser.axe_violations() == []


def test_sign_in_reaches_the_start_page(browser: BrowserSession, alice_ready: Persona) -> None:
    browser.login("alice", TEST_PASSWORD)
    page = browser.page
    assert page.locator("h1").inner_text().startswith("Välkommen")
    header = page.locator(".site-header").inner_text()
    assert "Alice Ask" in header and "Förskrivare" in header
    assert page.locator(".site-header button", has_text="Logga ut").is_visible()
    assert browser.axe_violations() == []


def test_start_page_reads_well_on_a_phone(browser: BrowserSession, alice_ready: Persona) -> None:
    browser.page.set_viewport_size({"width": 375, "height": 740})
    browser.login("alice", TEST_PASSWORD)
    width = browser.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "no horizontal scrolling on a phone"
    assert browser.page.locator(".site-header button", has_text="Logga ut").is_visible()
    browser.shot("phone")


def test_logout_ends_the_session(browser: BrowserSession, alice_ready: Persona) -> None:
    browser.login("alice", TEST_PASSWORD)
    browser.page.click(".site-header button:has-text('Logga ut')")
    browser.page.wait_for_load_state()
    assert "/konto/logga-in/" in browser.page.url
    browser.goto("/")
    assert "/konto/logga-in/" in browser.page.url
