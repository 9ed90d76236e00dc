"""A month's billing in the browser (issue 14, "Done when"): the economy user starts February's
run, sees it computed and the difference against January explained (a patient moved into special
housing, so the payer changed), approves and locks it, downloads the invoice basis as PDF,
spreadsheet and Peppol e-invoice, and corrects one of February's lines in March's run. On a
desktop and then the run page on a phone (no sideways scrolling); screenshots are kept in
var/screenshots/billing (copies in docs/screenshots/billing-*.png)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from conftest import SCREENSHOTS, County, Persona, signed_in
from lyfta.billing.models import BillingLine, BillingRun, Housing
from lyfta.billing.services.run import approve_run, compute_run, start_run
from lyfta.billing.tests.run_world import World, build_world
from lyfta.core.tests.test_browser_every_page import MEASURE, PHONE, console_error

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = dt.date
JAN, FEB, MAR = D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1)
FOLDER = SCREENSHOTS / "billing"


@pytest.fixture
def world(county: County, billie: Persona) -> World:
    w = build_world(county)
    mover = w.patient()
    w.move(mover, D(2020, 1, 1), Housing.ORDINARY)
    w.move(mover, D(2025, 2, 10), Housing.SPECIAL)
    w.loan(mover, started_on=D(2024, 11, 1))
    w.loan(w.patient(), started_on=D(2025, 2, 20))
    january = start_run(actor=billie.actor, month=JAN)
    compute_run(january.pk)
    january.refresh_from_db()
    approve_run(actor=billie.actor, run=january)
    return w


def _browser(chromium: Any, live_server: Any, billie: Persona, **options: Any) -> Any:
    client = signed_in(Client(), billie)
    context = chromium.new_context(locale="sv-SE", **options)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


@pytest.fixture
def desk(chromium: Any, live_server: Any, billie: Persona) -> Iterator[Any]:
    context = _browser(
        chromium,
        live_server,
        billie,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    yield context
    context.close()


def _start(tab: Any, live_server: Any, month: str) -> BillingRun:
    """Start `month`'s run from the runs page and let the worker compute it (the test is the
    worker: the database task backend has none here); the page's polling then shows it."""
    tab.goto(live_server.url + reverse("billing:runs"))
    tab.fill("#start-run input[name=month]", month)
    tab.click("#start-run button[type=submit]")
    tab.wait_for_url("**/ekonomi/**")
    run = BillingRun.objects.get(month=D(int(month[:4]), int(month[5:]), 1))
    compute_run(run.pk)
    tab.wait_for_selector("#totals", timeout=15_000)  # the poll reloads the page when it is done
    return run


def test_the_economy_user_bills_a_month_locks_it_downloads_and_corrects(
    desk: Any, chromium: Any, live_server: Any, world: World, billie: Persona
) -> None:
    from openpyxl import load_workbook

    from lyfta.billing.tests.ubl_validation import everything

    FOLDER.mkdir(parents=True, exist_ok=True)
    tab = desk.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: console_error(msg, errors))

    # February's preview, compared with January: the move changed the payer, in words.
    february = _start(tab, live_server, "2025-02")
    differences = tab.locator("#differences").inner_text()
    assert "Jämfört med 2025-01" in differences
    assert "Betalaren ändrad" in differences and "särskilt boende" in differences
    assert "Nytt lån" in differences
    tab.screenshot(path=str(FOLDER / "1-preview.png"), full_page=True)

    # Approve: locked, never to change.
    tab.click("#approve")
    tab.wait_for_selector("#invoice-downloads")
    february.refresh_from_db()
    assert february.status == BillingRun.Status.LOCKED and february.approved_by == billie.user
    assert tab.locator("#approve").count() == 0
    tab.screenshot(path=str(FOLDER / "2-locked.png"), full_page=True)

    # The invoice basis of the municipality (it pays for the patient in special housing).
    row = tab.locator("#invoice-downloads tr", has_text="K200")
    assert row.count() == 1
    lines = BillingLine.unscoped.filter(run=february, customer=world.municipality_customer)
    total = sum((line.amount for line in lines), Decimal(0))
    with tab.expect_download() as caught:
        row.locator("a", has_text="PDF").click()
    assert Path(caught.value.path()).read_bytes().startswith(b"%PDF")
    with tab.expect_download() as caught:
        row.locator("a", has_text="kalkylblad").click()
    book = load_workbook(io.BytesIO(Path(caught.value.path()).read_bytes()))
    numbers = [
        float(cell.value)
        for sheet in book.worksheets
        for row_cells in sheet.iter_rows()
        for cell in row_cells
        if isinstance(cell.value, int | float | Decimal) and not isinstance(cell.value, bool)
    ]
    assert any(abs(number - float(total)) < 0.005 for number in numbers), (total, numbers)
    with tab.expect_download() as caught:
        row.locator("a", has_text="e-faktura").click()
    invoice = Path(caught.value.path()).read_bytes()
    assert everything(invoice) == []
    assert f"{total:.2f}".encode() in invoice

    # A correction of a February line goes into March's run as a credit and a debit.
    march = _start(tab, live_server, "2025-03")
    line = lines.order_by("pk").first()
    assert line is not None
    tab.goto(live_server.url + reverse("billing:lines"))
    tab.select_option("#line-search select[name=kund]", str(world.municipality_customer.pk))
    tab.click("#line-search button[type=submit]")
    tab.locator(f"a[href='{reverse('billing:line_correct', args=[line.pk])}']").click()
    assert "2025-03" in tab.locator("main").inner_text()
    tab.fill("textarea[name=reason], input[name=reason]", "Fel prisgrupp i februari")
    tab.fill("input[name=new_amount]", "12.50")
    tab.screenshot(path=str(FOLDER / "3-correction.png"), full_page=True)
    tab.locator("main button[type=submit]").last.click()
    tab.wait_for_load_state()
    made = BillingLine.unscoped.filter(run=march, corrects=line).order_by("kind")
    assert [(m.kind, m.amount) for m in made] == [
        ("credit", -line.amount),
        ("debit", Decimal("12.50")),
    ]
    assert sum(m.amount for m in made if m.kind == "credit") + line.amount == 0
    tab.goto(live_server.url + reverse("billing:run", args=[march.pk]))
    assert "Fel prisgrupp i februari" in tab.locator("#corrections").inner_text()
    tab.screenshot(path=str(FOLDER / "4-march-with-correction.png"), full_page=True)
    assert not errors, errors


def test_the_locked_run_page_fits_a_phone(
    chromium: Any, live_server: Any, world: World, billie: Persona
) -> None:
    context = _browser(chromium, live_server, billie, viewport=PHONE)
    try:
        tab = context.new_page()
        locked = BillingRun.objects.get(month=JAN)
        response = tab.goto(live_server.url + reverse("billing:run", args=[locked.pk]))
        assert response is not None and response.status == 200
        measured = tab.evaluate(MEASURE)
        FOLDER.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(FOLDER / "phone-locked-run.png"), full_page=True)
        assert measured["width"] <= PHONE["width"] and not measured["scrollers"], measured
    finally:
        context.close()
