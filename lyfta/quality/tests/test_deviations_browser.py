"""Browser test of issue 15's "Done when" point 1, at phone size (390 × 844): a prescriber
reports from the holdings that a lift tipped (an adverse event with serious injury); the lift is
taken out of use at once and its label printed; the quality officer finds the deviation on her
start page, investigates under a pseudonym, produces the manufacturer's and Läkemedelsverket's
report PDFs, marks them sent, files a supplier complaint, decides and closes. Screenshots are
kept in docs/screenshots/quality-*.png (refreshed with LYFTA_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import BrowserSession, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.inventory.models import Item
from lyfta.quality.models import Complaint, Deviation, IncidentReport
from lyfta.workorders.tests.pages_fixtures import Desk, desk, shop

__all__ = ["desk", "shop"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
KEPT = (
    Path(settings.BASE_DIR)
    / ("docs" if os.environ.get("LYFTA_UPDATE_SCREENSHOTS") == "1" else "var")
    / "screenshots"
)
PDFTOTEXT = shutil.which("pdftotext")


def keep(browser: BrowserSession, name: str) -> None:
    KEPT.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(KEPT / f"quality-{name}.png"), full_page=True)


def fits(browser: BrowserSession) -> None:
    width = browser.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{browser.page.url} is {width} px wide"


def click(browser: BrowserSession, selector: str, label: str) -> Any:
    browser.page.click(selector)
    browser.page.wait_for_load_state()
    browser.shot(label)
    return browser.page


def sign_in(browser: BrowserSession, persona: Persona) -> None:
    browser.page.context.clear_cookies()
    browser.login(persona.user.username, TEST_PASSWORD)


def pdf_text(browser: BrowserSession, path: str) -> str:
    """The PDF behind a link, fetched in the signed-in browser's session, as text."""
    response = browser.page.request.get(browser.base_url + path)
    assert response.status == 200, path
    assert response.headers["content-type"] == "application/pdf"
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    done = subprocess.run(  # noqa: S603 - a fixed local tool on our own test output
        [PDFTOTEXT, "-q", "-", "-"], input=response.body(), capture_output=True, check=True
    )
    text: str = done.stdout.decode()
    return text


def test_a_tipped_lift_from_the_holdings_to_a_closed_deviation(
    browser: BrowserSession, desk: Desk, alice: Persona, sara: Persona
) -> None:
    for persona in (alice, sara):
        account_services.agreement_accept(user=persona.user)
    page = browser.page
    page.set_viewport_size(PHONE)
    patient, lift = desk.shop.patient, desk.lift

    # The prescriber reports the adverse event from the holdings, and quarantines the lift.
    sign_in(browser, alice)
    browser.goto(f"/innehav/{patient.pk}/")
    click(browser, f"a[href='/kvalitet/rapportera/innehav/{patient.pk}/{desk.loan.pk}/']", "form")
    fits(browser)
    page.select_option("#id_kind", "adverse_event")
    page.fill("#id_description", "Lyften tippade när patienten flyttades från sängen.")
    page.fill("#id_consequence", "Patienten föll och bröt handleden.")
    page.select_option("#id_severity", "serious")
    page.fill("#id_immediate_action", "Lyften ställdes undan, ersättning beställd.")
    page.check("#id_quarantine")
    keep(browser, "1-report")
    click(browser, "button:has-text('Rapportera avvikelsen')", "reported")
    deviation = Deviation.unscoped.get()
    assert deviation.number in page.content()
    assert "Hjälpmedlet spärrat" in page.content()
    assert patient.last_name in page.content()  # her own unit's patient, on her route
    fits(browser)
    keep(browser, "2-reported")
    assert Item.objects.get(pk=lift.pk).out_of_use_since == timezone.localdate()
    label = pdf_text(browser, f"/kvalitet/avvikelser/{deviation.pk}/etikett/")
    assert lift.individual_number in label and "SPÄRRAD" in label

    # The quality officer finds it on her start page: a new deviation, reports due.
    sign_in(browser, sara)
    browser.goto("/")
    assert "Nya avvikelser" in page.content() and deviation.number in page.content()
    fits(browser)
    keep(browser, "3-start")
    click(browser, f"#new-deviations a:has-text('{deviation.number}')", "detail")
    text = page.content()
    assert "Patient " in text and patient.last_name not in text  # pseudonymised
    assert browser.axe_violations() == []
    fits(browser)
    page.fill("#id_analysis", "Lyften hämtad till verkstaden; benens spärr är sliten.")
    click(browser, "button:has-text('Påbörja utredning')", "investigating")
    assert "Utredningen är påbörjad." in page.content()

    # The reports out: both PDFs, then marked sent with the recipients' references.
    for recipient, title in (("manufacturer", "tillverkaren"), ("mpa", "Läkemedelsverket")):
        report = pdf_text(browser, f"/kvalitet/avvikelser/{deviation.pk}/anmalan/{recipient}/")
        assert title in report and lift.individual_number in report
        assert patient.last_name not in report and patient.identifier[:8] not in report
        page.fill(f"#ref-{recipient}", f"REF-{recipient.upper()}-1")
        click(
            browser,
            f"form[action$='/anmalan/{recipient}/skickad/'] button",
            f"sent-{recipient}",
        )
        assert "markerad som skickad" in page.content()
    keep(browser, "4-reports-sent")
    sent = IncidentReport.unscoped.filter(deviation=deviation, sent_on=timezone.localdate())
    assert sent.count() == 2

    # A complaint to the supplier, within its window.
    click(browser, "a:has-text('Reklamera till leverantören')", "complaint-form")
    page.fill("#id_description", "Benens spärr lossnade under lyft; lyften tippade.")
    click(browser, "button:has-text('Registrera reklamationen')", "complaint")
    complaint = Complaint.unscoped.get()
    assert complaint.number in page.content()
    assert "inom reklamationstiden" in page.content()
    fits(browser)
    keep(browser, "5-complaint")

    # The decision and the close.
    browser.goto(f"/kvalitet/avvikelser/{deviation.pk}/")
    page.fill("#id_measures", "Alla lyftar av modellen kontrolleras; reklamation skickad.")
    page.fill("#id_decision", "Lyften skrotas efter leverantörens undersökning.")
    click(browser, "button:has-text('Spara beslut')", "decided")
    click(browser, "button:has-text('Avsluta avvikelsen')", "closed")
    assert "Avvikelsen är avslutad." in page.content()
    fits(browser)
    keep(browser, "6-closed")
    deviation.refresh_from_db()
    assert deviation.status == Deviation.Status.CLOSED
    assert deviation.decided_by == sara.user and deviation.closed_by == sara.user
