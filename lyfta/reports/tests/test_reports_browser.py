"""Statistics in the browser (issue 17, "Done when"): a unit manager opens the statistics from the
main menu, opens the devices on loan, groups them per unit and then per month over a period,
sees the chart (an image with a text alternative) and its table, exports a spreadsheet and a PDF,
orders the figure as a monthly report; the scheduled run puts it in her inbox, and its link lands
on the figure page (access checked again when it is opened). Then the figure, the Socialstyrelsen
table and the per-1,000 figure on a phone (no sideways scrolling), and axe on the statistics
pages. Screenshots are kept under var/screenshots/reports/ (copies in
docs/screenshots/reports-*.png with LYFTA_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import SCREENSHOTS, County, Persona, make_persona, signed_in
from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.core.tests.test_browser_every_page import MEASURE, PHONE, console_error
from lyfta.messages.models import Message
from lyfta.orders.models import Loan
from lyfta.reports.jobs import subscriptions_due
from lyfta.reports.models import Population, Subscription
from lyfta.reports.services.refresh import statistics_refresh
from lyfta.reports.services.subscriptions import subscription_deliver
from lyfta.reports.tests.world import LoanWorld, loan_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOLDER = SCREENSHOTS / "reports"
DOCS = Path(settings.BASE_DIR) / "docs" / "screenshots"
PDFTOTEXT = shutil.which("pdftotext")
SWEDISH_MONTHS = [
    "januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
    "oktober", "november", "december",
]  # fmt: skip
# The period the manager picks: the first half of 2026, in which the test world's loans lie.
FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 6, 1)


@pytest.fixture
def world(county: County) -> LoanWorld:
    found = loan_world(county)
    Population.objects.create(municipality=county.municipality, year=2026, inhabitants=2000)
    statistics_refresh(actor=Actor.system("test"), today=timezone.localdate())
    return found


@pytest.fixture
def manager(county: County) -> Persona:
    """A unit manager of unit A (the municipality): sees the municipality's figures."""
    return make_persona(
        county.unit_a, Role.UNIT_MANAGER, "maja", first_name="Maja", last_name="Chef",
        email="maja@example.org",
    )  # fmt: skip


def _context(chromium: Any, live_server: Any, persona: Persona, **options: Any) -> Any:
    client = signed_in(Client(), persona)
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
def desk(chromium: Any, live_server: Any, manager: Persona) -> Iterator[Any]:
    context = _context(
        chromium, live_server, manager, viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )  # fmt: skip
    yield context
    context.close()


def _shot(tab: Any, name: str, *, kept: str = "", full_page: bool = True) -> None:
    """A screenshot under var/screenshots/reports/; `kept` ones also to docs/screenshots when
    LYFTA_UPDATE_SCREENSHOTS=1 (a test run leaves the working tree as it found it)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    if kept and os.environ.get("LYFTA_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"reports-{kept}.png")


def _month_end(month: dt.date) -> dt.date:
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return min(following - dt.timedelta(days=1), timezone.localdate())


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    found, month = [], first
    while month <= last:
        found.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return found


def _open_on(loan: Loan, day: dt.date) -> bool:
    """On loan at the end of `day`: started, not ended, and not a loan registered by mistake
    (cancelled, which never counts)."""
    return (
        loan.end_reason != "cancelled"
        and loan.started_on <= day
        and (loan.ended_on is None or loan.ended_on > day)
    )


def _on_loan(loans: list[Loan], day: dt.date, county: County) -> Counter[str]:
    """Devices on loan at the end of `day` per unit name, for the municipality's units only
    (the manager's care provider): the test's own count over the world's rows."""
    own = {county.unit_a.pk: county.unit_a.name, county.unit_a2.pk: county.unit_a2.name}
    found: Counter[str] = Counter()
    for loan in loans:
        if _open_on(loan, day) and loan.unit_id in own:
            found[own[loan.unit_id]] += loan.quantity
    return found


def _months_back(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_name(month: dt.date) -> str:
    return f"{SWEDISH_MONTHS[month.month - 1].capitalize()} {month.year}"


def _table(tab: Any, selector: str) -> dict[str, list[str]]:
    """The rows of a table on the page: the row header's text and its cells' texts."""
    rows: dict[str, list[str]] = tab.evaluate(
        """(selector) => Object.fromEntries([...document.querySelectorAll(
             `${selector} tbody tr, ${selector} tfoot tr`)].map((tr) => [
             tr.querySelector('th').innerText.trim(),
             [...tr.querySelectorAll('td')].map(
               (td) => td.innerText.replace(/\u00a0/g, ' ').trim())]))""",
        selector,
    )
    return rows


def _chart_shown(tab: Any) -> str:
    """The chart's text alternative, after checking that the image has loaded and has one. The
    chart is an image of its own, fetched after the page (drawn then, cold the first time in the
    server's process): the check waits for it, up to 20 s, rather than looking at once."""
    image = tab.locator("figure.chart img")
    assert image.count() == 1
    try:
        tab.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0",
            arg=image.element_handle(),
            timeout=20_000,
        )
    except Exception as error:  # noqa: BLE001 - Playwright's timeout, said as the failure
        raise AssertionError("the chart's image did not load") from error
    alt: str = image.get_attribute("alt") or ""
    assert alt.strip(), "the chart has no text alternative"
    return alt


def _axe(tab: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in Axe().run(tab).response["violations"]
    ]


def _fits(tab: Any) -> None:
    measured = tab.evaluate(MEASURE)
    assert measured["width"] <= PHONE["width"] and not measured["scrollers"], (tab.url, measured)


def test_the_unit_manager_filters_exports_orders_and_gets_the_report(
    desk: Any, chromium: Any, live_server: Any, world: LoanWorld, manager: Persona,
    alice: Persona,
) -> None:  # fmt: skip
    from openpyxl import load_workbook

    county = world.county
    tab = desk.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: console_error(msg, errors))
    violations: dict[str, list[str]] = {}

    # The statistics from the main menu.
    tab.goto(live_server.url + "/")
    tab.locator("#site-nav a", has_text="Statistik").click()
    tab.wait_for_url("**/statistik/")
    assert tab.locator("h1").inner_text() == "Statistik"
    assert "räknades senast fram" in tab.locator("#freshness").inner_text()
    violations["index"] = _axe(tab)
    _shot(tab, "1-index", kept="1-index")

    # Devices on loan, per unit, at the end of the period.
    tab.locator("main a", has_text="Utlånade hjälpmedel").first.click()
    tab.wait_for_url("**/statistik/utlanade/")
    tab.fill("#id_fran", f"{FIRST:%Y-%m}")
    tab.fill("#id_till", f"{LAST:%Y-%m}")
    tab.select_option("#id_grupp", "unit")
    tab.click("main form.card button[type=submit]")
    tab.wait_for_selector("#figure-table")
    shown = _table(tab, "#figure-table")
    expected = _on_loan(world.loans, _month_end(LAST), county)
    assert {k: v for k, v in shown.items() if k != "Totalt"} == {
        name: [str(n)] for name, n in expected.items()
    }
    assert shown["Totalt"] == [str(sum(expected.values()))]
    assert county.unit_b.name not in tab.locator("main").inner_text()  # the region's unit
    # Counted on the period's last day, said as Swedish writes it (a month in lower case).
    counted = f"Räknat vid slutet av {SWEDISH_MONTHS[LAST.month - 1]} {LAST.year}."
    assert counted in tab.locator("#freshness").inner_text()
    alt = _chart_shown(tab)
    assert county.unit_a.name in alt
    _shot(tab, "2-per-unit", kept="2-per-unit")

    # Per month over the same period: a time series and its table.
    tab.select_option("#id_grupp", "month")
    tab.click("main form.card button[type=submit]")
    tab.wait_for_url("**grupp=month**")
    shown = _table(tab, "#figure-table")
    months = _months(FIRST, LAST)
    per_month = {
        _month_name(m): sum(_on_loan(world.loans, _month_end(m), county).values()) for m in months
    }
    # Devices on loan are counted at each month's end: they do not add up over the months, so
    # the bottom line is the count at the period's end, not a sum.
    assert shown == {
        **{label: [str(n)] for label, n in per_month.items()},
        "Vid periodens slut": [str(per_month[_month_name(LAST)])],
    }
    assert "Räknat vid slutet av varje månad" in tab.locator("#freshness").inner_text()
    alt = _chart_shown(tab)
    # Inside the sentence the months take a small letter, as Swedish writes them.
    assert f"{SWEDISH_MONTHS[FIRST.month - 1]} {FIRST.year} till" in alt
    violations["figure"] = _axe(tab)
    _shot(tab, "3-per-month", kept="3-per-month")

    # The exports: a spreadsheet with the table's numbers, and a PDF with the figure's title.
    with tab.expect_download() as caught:
        tab.locator("main a", has_text="Kalkylblad").click()
    book = load_workbook(io.BytesIO(Path(caught.value.path()).read_bytes()))
    cells = {
        row[0]: row[1]
        for row in book.active.iter_rows(values_only=True)
        if row and isinstance(row[0], str) and len(row) > 1
    }
    for label, n in per_month.items():
        assert cells[label] == n, (label, cells)
    assert cells["Vid periodens slut"] == per_month[_month_name(LAST)]
    # The filters in words, never the query's codes.
    assert cells["Dela upp per"] == "Månad" and "grupp" not in cells, cells
    assert caught.value.suggested_filename == f"utlanade-{FIRST:%Y%m}-{LAST:%Y%m}.xlsx"
    with tab.expect_download() as caught:
        tab.locator("main a", has_text="PDF").click()
    pdf = Path(caught.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(  # noqa: S603 - a fixed local tool on our own test output
        [PDFTOTEXT, "-q", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    text = " ".join(text.split())
    assert "Utlånade hjälpmedel" in text
    assert _month_name(FIRST) in text and "Vid periodens slut" in text
    assert "Dela upp per" in text and "grupp" not in text

    # Ordered as a monthly report, with the page's filters.
    tab.check("input[name=frequency][value=monthly]")
    tab.locator("main button", has_text="Beställ rapporten").click()
    tab.wait_for_url("**/statistik/")
    subscription = Subscription.objects.get(user=manager.user, ended_at__isnull=True)
    assert subscription.frequency == Subscription.Frequency.MONTHLY
    assert subscription.filters == {"grupp": "month"}
    assert subscription.next_on == dt.date(
        timezone.localdate().year + timezone.localdate().month // 12,
        timezone.localdate().month % 12 + 1,
        1,
    )
    ordered = tab.locator("main").inner_text()
    assert "Rapporten är beställd" in ordered
    orders = tab.locator("section[aria-labelledby=subscriptions-heading]").inner_text()
    assert "Utlånade hjälpmedel" in orders and "Dela upp per: Månad" in orders
    next_on = subscription.next_on
    assert f"{next_on.day} {SWEDISH_MONTHS[next_on.month - 1]} {next_on.year}" in orders
    _shot(tab, "4-ordered", kept="4-ordered")

    # The scheduled run on the day it is due: the scheduler's job queues it for the worker,
    # and the worker (here: its function, on that day) delivers it to the inbox.
    from django_tasks_db.models import DBTaskResult

    assert subscriptions_due(actor=Actor.system("scheduler"), today=subscription.next_on) == 1
    queued = DBTaskResult.objects.get(task_path="lyfta.reports.tasks.deliver_report")
    assert queued.args_kwargs["args"] == [subscription.pk]
    assert subscription_deliver(subscription_id=subscription.pk, today=subscription.next_on)
    message = Message.objects.get(recipient=manager.user)

    tab.goto(live_server.url + reverse("messages:inbox"))
    item = tab.locator(f"#meddelande-{message.pk}")
    said = item.inner_text()
    assert "Rapport: Utlånade hjälpmedel" in said
    # The report's bottom line: devices on loan at the end of its last month (the month before
    # it is delivered), by the test's own count.
    report_last = _months_back(subscription.next_on, 1)
    at_end = sum(_on_loan(world.loans, _month_end(report_last), county).values())
    counted = f"Räknat vid slutet av {SWEDISH_MONTHS[report_last.month - 1]} {report_last.year}."
    assert counted in said and f"Utlånade: {at_end}" in said, said
    violations["inbox"] = _axe(tab)
    _shot(tab, "5-inbox", kept="5-inbox")
    item.locator("button").click()
    tab.wait_for_url("**/statistik/utlanade/**")
    landed = urlsplit(tab.url)
    assert landed.path == reverse("reports:figure", args=["utlanade"])
    assert parse_qs(landed.query)["grupp"] == ["month"]
    assert tab.locator("h1").inner_text() == "Utlånade hjälpmedel"
    _chart_shown(tab)
    assert _table(tab, "#figure-table")["Vid periodens slut"] == [str(at_end)]
    _shot(tab, "6-report-opened", kept="6-report-opened")

    # The link holds no access of its own: a prescriber who follows it is refused.
    other = _context(chromium, live_server, alice)
    try:
        refused = other.new_page().goto(live_server.url + message.link)
        assert refused is not None and refused.status == 403
    finally:
        other.close()

    assert not {page: found for page, found in violations.items() if found}, violations
    assert not errors, errors


# The statistics pages checked on a desktop and on a phone: (route, slug, query, table).
PAGES = {
    "index": ("reports:index", "", "", ""),
    "utlanade": ("reports:figure", "utlanade", "fran=2026-01&till=2026-06&grupp=unit",
                 "#figure-table"),
    "socialstyrelsen": ("reports:figure", "socialstyrelsen", "till=2026-12", "#persons-table"),
    "socialstyrelsen-enhet": ("reports:figure", "socialstyrelsen", "till=2026-12&enhet=UNIT",
                              "#persons-table"),
    "per-1000-invanare": ("reports:figure", "per-1000-invanare", "till=2026-12",
                          "#population-table"),
}  # fmt: skip
# How much of its drawn size a chart may lose on the page and stay legible (its text at 9-10 pt
# drawn, at least about 8 px on the screen).
LEGIBLE = 0.8


def _on_loan_today(world: LoanWorld) -> list[Loan]:
    return [loan for loan in world.loans if _open_on(loan, timezone.localdate())]


@pytest.mark.parametrize("screen", ["desktop", "phone"])
@pytest.mark.parametrize("page", list(PAGES))
def test_the_statistics_pages_on_a_desktop_and_a_phone(
    chromium: Any, live_server: Any, world: LoanWorld, manager: Persona, page: str, screen: str
) -> None:
    """Each page opens, its chart loads with a text alternative and its table is there, axe
    finds nothing; on a phone nothing scrolls sideways, the chart is drawn for the phone's width
    (not the wide drawing shrunk) and the table's caption keeps its width."""
    route, slug, query, table = PAGES[page]
    county = world.county
    query = query.replace("UNIT", str(county.unit_a.pk))
    viewport = PHONE if screen == "phone" else {"width": 1280, "height": 900}
    context = _context(chromium, live_server, manager, viewport=viewport)
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("console", lambda msg: console_error(msg, errors))
        url = reverse(route, args=[slug] if slug else [])
        response = tab.goto(f"{live_server.url}{url}?{query}")
        assert response is not None and response.status == 200
        if table:
            assert tab.locator(table).count() == 1
            _chart_shown(tab)  # loaded before the screenshot is taken
            rows = _table(tab, table)
        _shot(tab, f"{screen}-{page}", kept="phone-figure" if page == "utlanade" and screen ==
              "phone" else "")  # fmt: skip
        if screen == "phone":
            _fits(tab)
            if table:
                image = tab.locator("figure.chart img")
                drawn = image.evaluate("(img) => [img.currentSrc, img.naturalWidth, img.width]")
                assert drawn[0] != image.get_attribute("src"), "the wide drawing on a phone"
                assert drawn[2] >= LEGIBLE * drawn[1], drawn[1:]
                caption = tab.locator(f"{table} caption").bounding_box()
                assert (
                    caption is not None
                    and caption["width"]
                    > 0.8 * (tab.locator(table).bounding_box() or {"width": 0})["width"]
                ), caption
        assert _axe(tab) == []
        assert not errors, errors
    finally:
        context.close()

    # The numbers, by the test's own count over the world's rows.
    municipal = {county.unit_a.pk, county.unit_a2.pk}
    if page == "socialstyrelsen":
        # The manager's provider (the municipality): persons with a device on loan at the
        # year's end (today, in the current year), each counted once.
        persons = {loan.patient_id for loan in _on_loan_today(world) if loan.unit_id in municipal}
        assert rows["Alla klasser"][-1] == str(len(persons)), rows
    if page == "socialstyrelsen-enhet":
        # Below the provider level every cell under 5 persons is hidden: unit A has fewer.
        persons = {loan.patient_id for loan in _on_loan_today(world)
                   if loan.unit_id == county.unit_a.pk}  # fmt: skip
        assert 0 < len(persons) < 5
        assert rows["Alla klasser"][-1] == "–", rows
    if page == "per-1000-invanare":
        # Residents of the municipality with a device from any provider, per 1,000 of 2,000.
        residents = {
            loan.patient_id for loan in _on_loan_today(world)
            if loan.patient.home_municipality_id == county.municipality.pk
        }  # fmt: skip
        per_thousand = f"{1000 * len(residents) / 2000:.1f}".replace(".", ",")
        assert rows[county.municipality.name] == [str(len(residents)), "2 000", per_thousand]
