"""Each role's start page in the browser, at desktop and phone width (issue 16): the work queues
read on a 360 px phone without sideways scrolling, and axe finds nothing serious."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from conftest import BrowserSession, signed_in
from lyfta.core.tests.test_access_table import (  # noqa: F401 - the world, as a fixture here
    World,
    world,
)
from lyfta.home.tests.test_r35_menus_lead_only_where_one_may_go import busy  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# One persona per role of the access table, and the queue its start page must show.
ROLES = {
    "alice": "unit-orders",
    "tekla": "work-orders",
    "lena": "emergencies-waiting",
    "logan": "picks",
    "billie": "month-run",
    "ulla": "privilege-requests",
    "sigge": "privilege-requests",
}


@pytest.mark.parametrize("persona", ROLES)
def test_each_roles_start_page_reads_on_desktop_and_phone(
    browser: BrowserSession,
    busy: World,  # noqa: F811
    persona: str,
) -> None:
    client = signed_in(Client(), busy.people[persona])
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    browser.page.context.add_cookies(
        [{"name": cookie.key, "value": cookie.value, "url": browser.base_url}]
    )
    page = browser.page
    browser.goto("/")
    assert page.locator("h1").inner_text().startswith("Välkommen")
    queue = page.locator(f"#{ROLES[persona]}")
    assert queue.is_visible()
    assert browser.axe_violations() == []
    browser.shot(f"{persona}-desktop")
    page.set_viewport_size({"width": 360, "height": 780})
    browser.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator(f"#{ROLES[persona]}").is_visible()
    assert browser.axe_violations() == []
    browser.shot(f"{persona}-phone")
    # A row of the queue is a link to where the work is done, and it opens.
    first = page.locator(f"#{ROLES[persona]} a").first
    if first.count():
        first.click()
        page.wait_for_load_state()
        assert page.locator("h1").count() == 1
        assert "403" not in page.title() and "Åtkomst nekad" not in page.title()
