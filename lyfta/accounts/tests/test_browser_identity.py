"""Browser tests of identity: the first sign-in through every gate, the idle timeout and logout."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import BrowserSession, County, Persona
from lyfta.access.roles import Role
from lyfta.accounts import services
from lyfta.accounts.tests.factories import TEST_PASSWORD, AssignmentFactory
from lyfta.accounts.tests.helpers import code_for
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_first_sign_in_goes_through_agreement_code_and_assignment(
    browser: BrowserSession, ulla: Persona, county: County
) -> None:
    AssignmentFactory(user=ulla.user, unit=county.unit_a, role=Role.LOG_REVIEWER)
    page = browser.page
    browser.login("ulla", TEST_PASSWORD)
    assert "/konto/anvandaravtal/" in page.url
    assert "2008:355" in page.content()
    assert browser.axe_violations() == []
    page.check("#accept")
    page.click("text=Godkänn och fortsätt")
    page.wait_for_load_state()
    browser.shot("after-agreement")
    assert "/konto/tvafaktor/" in page.url
    assert browser.axe_violations() == []
    device = TOTPDevice.objects.get(user=ulla.user, confirmed=False)
    page.fill("#id_code", code_for(device))
    page.click("button:has-text('Aktivera')")
    page.wait_for_load_state()
    browser.shot("after-code")
    assert "/konto/uppdrag/" in page.url
    assert browser.axe_violations() == []
    page.check(f"#assignment-{ulla.assignment.pk}")
    page.click("button:has-text('Fortsätt')")
    page.wait_for_load_state()
    browser.shot("start")
    assert page.locator("h1").inner_text().startswith("Välkommen")
    assert "Användaradministratör" in page.locator(".site-header").inner_text()
    assert browser.axe_violations() == []
    steps = list(
        AuditEvent.objects.filter(actor_username="ulla")
        .order_by("id")
        .values_list("action", flat=True)
    )
    for expected in (
        Action.LOGIN,
        Action.AGREEMENT_ACCEPTED,
        Action.MFA_ENROLLED,
        Action.ASSIGNMENT_CHOSEN,
    ):
        assert expected in steps


def test_an_idle_session_warns_then_lands_on_the_login_page(
    browser: BrowserSession, alice: Persona, settings: Any
) -> None:
    settings.LYFTA_IDLE_TIMEOUT = 4
    settings.LYFTA_IDLE_WARNING = 2
    services.agreement_accept(user=alice.user)
    browser.login("alice", TEST_PASSWORD)
    page = browser.page
    page.wait_for_selector("#idle-dialog[open]", timeout=6000)
    browser.shot("idle-warning")
    assert page.locator("#idle-dialog").is_visible()
    # Nobody touches the page: at the deadline it reloads and the server signs the user out.
    page.wait_for_url("**/konto/logga-in/**", timeout=8000)
    browser.shot("after-timeout")
    assert "inte har varit aktiv" in page.content()
    event = AuditEvent.objects.get(action=Action.SESSION_IDLE_TIMEOUT)
    assert (event.actor_username, event.detail["reason"]) == ("alice", "idle")


def test_staying_signed_in_from_the_warning_keeps_the_session(
    browser: BrowserSession, alice: Persona, settings: Any
) -> None:
    settings.LYFTA_IDLE_TIMEOUT = 4
    settings.LYFTA_IDLE_WARNING = 3
    services.agreement_accept(user=alice.user)
    browser.login("alice", TEST_PASSWORD)
    page = browser.page
    page.wait_for_selector("#idle-dialog[open]", timeout=6000)
    with page.expect_response("**/konto/aktiv/") as keepalive:
        page.click("text=Fortsätt vara inloggad")
    assert keepalive.value.status == 204
    page.wait_for_selector("#idle-dialog", state="hidden", timeout=3000)
    time.sleep(1.5)  # past the original deadline, within the renewed one
    browser.goto("/organisation/")
    assert "/organisation/" in page.url


def test_after_logout_the_back_button_shows_no_data(
    browser: BrowserSession, alice: Persona
) -> None:
    services.agreement_accept(user=alice.user)
    browser.login("alice", TEST_PASSWORD)
    page = browser.page
    browser.goto("/organisation/")
    assert "Vårdgivare och enheter" in page.content()
    for path in ("/", "/organisation/", "/konto/sessioner/", "/konto/losenord/"):
        browser.goto(path)
        assert page.locator(".site-header button", has_text="Logga ut").is_visible(), path
    page.click(".site-header button:has-text('Logga ut')")
    page.wait_for_load_state()
    page.go_back()
    page.wait_for_load_state()
    browser.shot("after-back")
    assert "Vårdgivare och enheter" not in page.content()
    assert "/konto/logga-in/" in page.url
