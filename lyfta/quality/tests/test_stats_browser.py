"""The failure statistics on a phone (issue 15 point 5, issue 16 point 7): at 360 px the page
does not scroll sideways, its two SVG charts scale down, axe finds nothing serious, and the strict
CSP reports nothing (no script, no inline style). No persona of the access table may open the
page, so test_browser_every_page cannot reach it: this test does, as the quality role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from conftest import SCREENSHOTS, County, signed_in
from lyfta.core.tests.test_browser_every_page import HEADER, MEASURE, PHONE, console_error
from lyfta.quality.tests.stats_world import TODAY, StatsWorld, build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def w(county: County) -> StatsWorld:
    return build(county)


@pytest.fixture
def phone(chromium: Any, live_server: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="sv-SE", viewport=PHONE, accept_downloads=False)
    yield context
    context.close()


@pytest.mark.parametrize("group", ["article", "supplier", "lot", "unit"])
def test_the_statistics_fit_a_phone_and_pass_axe(
    phone: Any, live_server: Any, w: StatsWorld, group: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    client = signed_in(Client(), w.sara)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    phone.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}]
    )
    tab = phone.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: console_error(msg, errors))
    url = f"{reverse('quality:stats')}?fran=2025-06-16&till={TODAY.isoformat()}&gruppera={group}"
    response = tab.goto(live_server.url + url)
    assert response is not None and response.status == 200
    assert tab.locator("svg[role=img]").count() == 2
    measured = tab.evaluate(MEASURE)
    folder = SCREENSHOTS / "quality-stats"
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(folder / f"phone-{group}.png"), full_page=True)
    assert measured["width"] <= PHONE["width"] and not measured["scrollers"], measured
    assert measured["header"] <= HEADER, measured
    violations = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in Axe().run(tab).response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not violations, violations
    assert not errors, errors
