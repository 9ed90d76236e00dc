"""The run pages (issue 14 point 6): start a month, watch the progress, read the preview with its
totals and the differences explained, approve and lock, correct a locked line; search billed
lines by patient (recorded as a patient read, never showing who) and the unbilled-loans report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import BillingLine, BillingRun, Housing
from lyfta.billing.services.run import approve_run, compute_run, start_run
from lyfta.billing.tests.run_world import World, build_world

D = dt.date
JAN, FEB = D(2025, 1, 1), D(2025, 2, 1)


@pytest.fixture
def world(county: County) -> World:
    w = build_world(county)
    mover = w.patient()
    w.move(mover, D(2020, 1, 1), Housing.ORDINARY)
    w.move(mover, D(2025, 2, 10), Housing.SPECIAL)
    w.loan(mover, started_on=D(2024, 11, 1))
    w.loan(w.patient(), started_on=D(2025, 2, 20))
    return w


@pytest.fixture
def economy(client: Client, billie: Persona) -> Client:
    return signed_in(client, billie)


def _run(billie: Persona, month: dt.date, *, lock: bool = False) -> BillingRun:
    run = start_run(actor=billie.actor, month=month)
    compute_run(run.pk)
    run.refresh_from_db()
    return approve_run(actor=billie.actor, run=run) if lock else run


def test_starting_a_run_queues_it_and_the_page_polls_its_progress(
    world: World, economy: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = economy.post(reverse("billing:runs"), {"month": "2025-01"})
    assert response.status_code == 302 and len(callbacks) == 1
    run = BillingRun.objects.get()
    page = economy.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1500ms"' in page and "Köad" in page
    url = reverse("billing:run_progress", args=[run.pk])
    fragment = economy.get(url, headers={"HX-Request": "true"})
    assert "HX-Refresh" not in fragment and "<html" not in fragment.content.decode()
    assert "<html" in economy.get(url).content.decode()  # without JavaScript: a page
    compute_run(run.pk)
    fragment = economy.get(url, headers={"HX-Request": "true"})
    assert fragment["HX-Refresh"] == "true"


def test_a_bad_month_gets_a_swedish_message(world: World, economy: Client) -> None:
    response = economy.post(reverse("billing:runs"), {"month": "2025-13"})
    assert response.status_code == 400
    assert "Ange en månad mellan" in response.content.decode()
    assert not BillingRun.objects.exists()


def test_the_preview_shows_totals_and_explains_the_differences(
    world: World, economy: Client, billie: Persona
) -> None:
    _run(billie, JAN, lock=True)
    feb = _run(billie, FEB)
    page = economy.get(reverse("billing:run", args=[feb.pk])).content.decode()
    assert "K100" in page and "K200" in page  # both customers pay in February
    assert "Jämfört med 2025-01" in page
    assert "Nytt lån" in page
    assert "Betalaren ändrad" in page and "särskilt boende" in page
    assert "Godkänn och lås" in page


def test_approve_from_the_page_locks_the_run(
    world: World, economy: Client, billie: Persona
) -> None:
    run = _run(billie, JAN)
    response = economy.post(reverse("billing:run_approve", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == BillingRun.Status.LOCKED and run.approved_by == billie.user
    page = economy.get(reverse("billing:run", args=[run.pk])).content.decode()
    assert "Godkänn och lås" not in page and "Godkänd och låst" in page


def test_a_correction_from_the_page_lands_in_next_months_run(
    world: World, economy: Client, billie: Persona
) -> None:
    jan = _run(billie, JAN, lock=True)
    feb = _run(billie, FEB)
    line = BillingLine.unscoped.filter(run=jan).first()
    assert line is not None
    url = reverse("billing:line_correct", args=[line.pk])
    assert "2025-02" in economy.get(url).content.decode()
    bad = economy.post(url, {"reason": "", "new_amount": "abc"})
    assert bad.status_code == 400 and not BillingLine.unscoped.filter(corrects=line).exists()
    response = economy.post(url, {"reason": "Fel prisgrupp", "new_amount": "12.50"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    made = BillingLine.unscoped.filter(run=feb, corrects=line).order_by("kind")
    assert [(m.kind, m.amount) for m in made] == [
        ("credit", -line.amount),
        ("debit", Decimal("12.50")),
    ]


def test_r34_a_search_by_patient_number_is_recorded_and_never_shows_who(
    world: World, economy: Client, billie: Persona
) -> None:
    _run(billie, JAN)
    line = BillingLine.unscoped.exclude(patient=None).select_related("patient").first()
    assert line is not None and line.patient is not None
    patient = line.patient
    patient.identifier = "194001019803"  # a valid personnummer (the world's are not)
    patient.save()
    number = f"{patient.identifier[:8]}-{patient.identifier[8:]}"
    # By GET the number is dropped (it would be in the URL): only a POST searches by it.
    dropped = economy.get(reverse("billing:lines"), {"personnummer": number})
    assert dropped.status_code == 302 and dropped["Location"] == reverse("billing:lines")
    assert not AuditEvent.objects.filter(action="billing.lines_searched").exists()
    response = economy.post(reverse("billing:lines"), {"personnummer": number})
    page = response.content.decode()
    assert response.status_code == 200
    assert line.text in page
    for secret in (patient.identifier, number, patient.identifier[2:8], patient.last_name):
        assert secret not in page
    event = AuditEvent.objects.get(action="billing.lines_searched")
    assert event.patient_id == patient.pk and event.purpose == "administration"
    assert event.actor_id == billie.user.pk


def test_the_unbilled_report_lists_loans_without_a_customer_and_past_their_rent_stop(
    world: World, economy: Client
) -> None:
    from lyfta.organisations.tests.factories import ProviderFactory, UnitFactory

    elsewhere = UnitFactory(provider=ProviderFactory(name="Annan kommun"))
    stray = world.loan(world.patient(), started_on=D(2025, 1, 3), unit=elsewhere)
    late = world.loan(world.patient(), started_on=D(2024, 1, 3), rent_stop_on=D(2025, 1, 1))
    page = economy.get(reverse("billing:unbilled")).content.decode()
    assert f'<td data-label="Lån">{stray.pk}</td>' in page
    assert f'<td data-label="Lån">{late.pk}</td>' in page
