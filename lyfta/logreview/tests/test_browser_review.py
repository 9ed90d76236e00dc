"""Browser test of a whole log review: a sample is drawn, every entry gets a verdict, the check is
closed and shows in the unit's schedule (R75, R78, R79), with screenshots of each step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import BrowserSession, County, Persona
from lyfta.accounts import services as account_services
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.accounts.tests.helpers import code_for
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LegalBasis, ReviewCheck, Verdict
from lyfta.audit.services import record
from lyfta.organisations.models import Unit
from lyfta.patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def month_of_access(county: County, alice: Persona, bob: Persona, lena: Persona) -> Patient:
    account_services.agreement_accept(user=lena.user)
    TOTPDevice.objects.create(user=lena.user, name="Telefon", confirmed=True)
    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    for persona in (alice, bob):
        for _ in range(4):
            record(action=Action.PATIENT_READ, actor=persona.actor, patient_id=patient.pk)
    record(
        action=Action.PATIENT_READ,
        actor=alice.actor,
        patient_id=patient.pk,
        legal_basis=LegalBasis.NEED,
    )
    # The unit has not been checked for half a year: its review is overdue.
    Unit.objects.filter(pk=county.unit_a.pk).update(
        created_at=timezone.now() - dt.timedelta(days=180)
    )
    return patient


def test_r78_a_whole_sample_check_from_start_page_to_schedule(
    browser: BrowserSession, county: County, month_of_access: Patient
) -> None:
    page = browser.page
    browser.login("lena", TEST_PASSWORD)
    # A log reviewer's role requires the second factor.
    page.fill("#id_code", code_for(TOTPDevice.objects.get(user__username="lena")))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#review-overdue").is_visible()
    assert county.unit_a.name in page.locator("#review-overdue").inner_text()
    browser.shot("start-overdue")

    browser.goto("/loggranskning/")
    assert browser.axe_violations() == []
    page.click("text=Nytt stickprov")
    page.wait_for_load_state()
    today = timezone.localdate()
    page.select_option("#id_unit", str(county.unit_a.pk))
    page.fill("#id_period_from", (today - dt.timedelta(days=7)).isoformat())
    page.fill("#id_period_until", today.isoformat())
    page.fill("#id_size", "5")
    browser.shot("sample-form")
    assert browser.axe_violations() == []
    page.click("button:has-text('Dra stickprov')")
    page.wait_for_load_state()
    browser.shot("sample-drawn")
    assert browser.axe_violations() == []
    check = ReviewCheck.objects.get()
    assert check.items.count() == 5
    assert "Apel, Aina" in page.content()

    for n in range(5):
        row = page.locator("form.inline-form").nth(n)
        if n == 0:
            row.locator("select").select_option(Verdict.UNCLEAR)
            row.locator("input[name=follow_up]").fill("Fråga Alice om uppdraget")
        else:
            row.locator("select").select_option(Verdict.JUSTIFIED)
        row.locator("button").click()
        page.wait_for_load_state()
    browser.shot("verdicts-given")
    assert "0 händelser saknar bedömning" in page.content()

    page.fill("#id_conclusion", "En åtkomst följs upp med enhetschefen.")
    page.click("button:has-text('Avsluta och spara')")
    page.wait_for_load_state()
    browser.shot("check-closed")
    assert "Kontrollen är avslutad och sparad" in page.content()
    check.refresh_from_db()
    assert check.closed_at is not None
    assert sorted(check.items.values_list("verdict", flat=True)) == [
        Verdict.JUSTIFIED,
        Verdict.JUSTIFIED,
        Verdict.JUSTIFIED,
        Verdict.JUSTIFIED,
        Verdict.UNCLEAR,
    ]

    # The check is in the schedule, and the unit is no longer overdue.
    browser.goto("/loggranskning/")
    row = page.locator("tr", has_text=county.unit_a.name)
    assert today.isoformat() in row.inner_text()
    assert "försenad" not in row.inner_text()
    assert page.locator("text=Avslutade kontroller").is_visible()
    browser.goto("/")
    assert page.locator("#review-overdue").count() == 0

    # A search on suspicion, with the accesses-per-day chart.
    week = f"period_from={(today - dt.timedelta(days=7)).isoformat()}&period_until={today}"
    browser.goto(f"/loggranskning/sok/?{week}&user=alice")
    assert page.locator("figure svg").count() == 1
    assert browser.axe_violations() == []
    assert AuditEvent.objects.filter(
        action=Action.REVIEW_CLOSED, actor_id=check.reviewer_id
    ).exists()
