"""Every page on a phone (issue 16, build points 7 and 9): for every persona and every GET route of
the access table that answers that persona 200, the page is opened in Chromium at 360 × 740 and
must not scroll sideways — neither the document (its width at most the viewport's) nor any part of
it (a table in a scrolling box is sideways scrolling too). axe runs once on every such route (as
the first persona that may open it). A new page enters this test by entering the access table.

A failure names the route, the persona, the URL, the width and the elements that stick out; a
screenshot of each failing page is kept under var/screenshots/<test name>/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from conftest import SCREENSHOTS, signed_in
from lyfta.core.tests.test_access_table import OK, PERSONAS, ROUTES, World, world

__all__ = ["world"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
# The header leaves the screen to the work: at most this tall on a phone (it was about 300 px).
HEADER = 120

# What sticks out: the document's width, the boxes that scroll sideways (a table in an
# overflow: auto wrapper) and the outermost elements whose right edge passes the viewport's.
MEASURE = """() => {
  const limit = window.innerWidth + 0.5;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map((c) => '.' + c).join('');
  const scrollers = [...document.querySelectorAll('body *')].filter((el) => {
    const style = getComputedStyle(el);
    return ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
  });
  const wide = [...document.querySelectorAll('body *')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > limit
      && !(el.parentElement && el.parentElement.getBoundingClientRect().right > limit);
  });
  const header = document.querySelector('.site-header');
  return {
    width: document.documentElement.scrollWidth,
    header: header ? Math.round(header.getBoundingClientRect().height) : 0,
    scrollers: scrollers.map((el) => `${name(el)} scrolls ${el.scrollWidth} px`),
    wide: wide.slice(0, 5).map(
      (el) => `${name(el)} reaches ${Math.round(el.getBoundingClientRect().right)} px`),
  };
}"""

# The pages whose phone screenshots are kept for the issue (issue 16: holdings, ordering, the
# pick list and the technicians' queue).
KEEP = {
    "orders:holdings",
    "orders:order_new",
    "orders:articles",
    "logistics:picklist",
    "workorders:queue",
}


@dataclass
class Page:
    name: str
    index: int
    url: str
    personas: list[str]

    @property
    def label(self) -> str:
        return f"{self.name}[{self.index}]"


@dataclass
class Findings:
    too_wide: list[str] = field(default_factory=list)
    tall_header: list[str] = field(default_factory=list)
    axe: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    checked: int = 0


def phone_pages(world: World) -> list[Page]:
    """Every GET route of the access table with the personas that it answers 200."""
    pages = []
    for name, routes in ROUTES.items():
        for index, route in enumerate(routes):
            personas = [p for p in PERSONAS if route.expect.get(p, route.default) == OK]
            if route.method != "get" or not personas:
                continue
            url = reverse(name, kwargs=route.kwargs(world))
            if route.data:
                url += "?" + urlencode(route.data)
            pages.append(Page(name, index, url, personas))
    return pages


def test_every_page_test_covers_every_persona_and_the_pages_people_work_in() -> None:
    """The harness below is only as good as its list: it must reach every persona and the pages
    the issue names (a filter that dropped them would pass silently)."""
    opened = {
        (name, p)
        for name, routes in ROUTES.items()
        for route in routes
        if route.method == "get"
        for p in PERSONAS
        if route.expect.get(p, route.default) == OK
    }
    assert {p for _name, p in opened} == set(PERSONAS)
    assert {name for name, _p in opened} >= KEEP


@pytest.fixture
def phone(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context per call; all closed at the end."""
    contexts: list[Any] = []

    def open_context() -> Any:
        context = chromium.new_context(locale="sv-SE", viewport=PHONE, accept_downloads=False)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def sign_in(context: Any, base_url: str, world: World, persona: str) -> None:
    """The persona's session (signed in past every gate by the test client) in the browser."""
    if persona == "anonymous":
        return
    client = signed_in(Client(), world.people[persona])
    from django.conf import settings

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": base_url}])


def console_error(msg: Any, errors: list[str]) -> None:
    """A script error or a blocked resource (CSP); not the browser's own look for /favicon.ico
    beside a page that is not HTML (a health check's text)."""
    url = (msg.location or {}).get("url", "")
    if msg.type == "error" and not url.endswith("/favicon.ico"):
        errors.append(f"{msg.text} ({url})")


def test_every_page_fits_a_phone_and_passes_axe(
    phone: Any, live_server: Any, world: World, request: pytest.FixtureRequest
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Error as PlaywrightError

    started = time.monotonic()
    spent = {"open": 0.0, "axe": 0.0}
    pages = phone_pages(world)
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    axed: set[str] = set()
    found = Findings()
    for persona in PERSONAS:
        context = phone()
        sign_in(context, live_server.url, world, persona)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("console", lambda msg, errors=errors: console_error(msg, errors))
        for page in pages:
            if persona not in page.personas:
                continue
            where = f"{page.label} as {persona} ({page.url})"
            errors.clear()
            clock = time.monotonic()
            try:
                response = tab.goto(live_server.url + page.url)
            except PlaywrightError as error:
                if "Download is starting" in str(error):
                    found.skipped.append(f"{where}: a download")
                    continue
                raise
            assert response is not None and response.status == OK, (where, response)
            if "text/html" not in response.headers.get("content-type", ""):
                found.skipped.append(f"{where}: {response.headers.get('content-type')}")
                continue
            found.checked += 1
            measured = tab.evaluate(MEASURE)
            spent["open"] += time.monotonic() - clock
            if measured["width"] > PHONE["width"] or measured["scrollers"]:
                found.too_wide.append(
                    f"{where}: {measured['width']} px; "
                    + "; ".join(measured["scrollers"] + measured["wide"])
                )
                tab.screenshot(
                    path=str(folder / f"{page.label}-{persona}.png".replace(":", "_")),
                    full_page=True,
                )
            if measured["header"] > HEADER:
                found.tall_header.append(f"{where}: {measured['header']} px")
            if page.name in KEEP and page.label not in axed:
                tab.screenshot(path=str(folder / f"phone-{page.name.replace(':', '_')}.png"))
            if page.label not in axed:
                axed.add(page.label)
                clock = time.monotonic()
                violations = [
                    f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
                    for v in axe.run(tab).response["violations"]
                    if v.get("impact") in ("serious", "critical")
                ]
                spent["axe"] += time.monotonic() - clock
                if violations:
                    found.axe.append(f"{where}: {violations}")
            if errors:
                found.console.append(f"{where}: {errors}")
    elapsed = time.monotonic() - started
    print(
        f"\n{found.checked} page views at {PHONE['width']} px, axe on {len(axed)} routes, "
        f"in {elapsed:.0f} s (opening and measuring {spent['open']:.0f} s, axe "
        f"{spent['axe']:.0f} s); skipped (not HTML): {found.skipped}"
    )
    problems = []
    if found.too_wide:
        problems.append(
            f"Pages that scroll sideways at {PHONE['width']} px (route as persona (URL): document "
            "width; what sticks out). Fix the CSS or the template; wide tables become cards "
            "(.table in .table-wrap):\n  " + "\n  ".join(found.too_wide)
        )
    if found.tall_header:
        problems.append(
            f"Headers taller than {HEADER} px on a phone:\n  " + "\n  ".join(found.tall_header)
        )
    if found.axe:
        problems.append("axe violations:\n  " + "\n  ".join(found.axe))
    if found.console:
        problems.append("browser console errors (CSP?):\n  " + "\n  ".join(found.console))
    assert not problems, f"screenshots in {folder}\n" + "\n".join(problems)
    assert found.checked > 200, "the harness must open the pages, not skip them"
