"""The statistics benchmarks (issue 17): the summary tables built from the scale data (the first
build and the nightly refresh), every statistics page as the centre and a unit manager open it
(test client and gunicorn), and the Socialstyrelsen table for a year as a spreadsheet.

Targets (issue 17, national size): every statistics page p95 <= 1 s; the nightly refresh
<= 10 minutes; the Socialstyrelsen export for a year <= 30 s."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.utils import timezone


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def people() -> tuple[Any, Any]:
    """The bench's logistician at the centre (every provider) and a unit manager of the first
    municipal unit with loans (their provider only)."""
    from bench.ops import _person
    from lyfta.access.roles import Role
    from lyfta.organisations.models import Unit

    centre = _person(Role.LOGISTICS, "bench.statistik", centre=True)
    unit = Unit.objects.filter(provider__kind="municipality").order_by("pk").first()
    manager = _person(Role.UNIT_MANAGER, "bench.enhetschef", unit=unit)
    return centre, manager


def build(out: Any = log) -> dict[str, float]:
    """The first refresh (which also derives every patient's sex and birth date) and then the
    nightly refresh, each of the month under way and the one before with the year's person
    counts: what the scheduler runs every night. Older months are not built here (a first build
    of three years is a one-off; `manage.py refresh_statistics --all`). Seconds of each."""
    from lyfta.access.actor import Actor
    from lyfta.reports.services.refresh import statistics_refresh

    today = timezone.localdate()
    current = today.replace(day=1)
    previous = (current - dt.timedelta(days=1)).replace(day=1)
    timings: dict[str, float] = {}
    for name in ("first refresh (every patient derived)", "nightly refresh"):
        t0 = time.perf_counter()
        statistics_refresh(actor=Actor.system("bench"), months=[previous, current])
        timings[name] = time.perf_counter() - t0
        out(f"{name}: {timings[name]:.0f} s")
    return timings


def _queries() -> list[tuple[str, dict[str, str]]]:
    today = timezone.localdate()
    year = f"fran={today.year}-01&till={today:%Y-%m}"
    del year
    return [
        ("utlanade", {}),
        ("utlanade", {"grupp": "unit"}),
        ("utlanade", {"grupp": "article"}),
        ("utlanade", {"grupp": "month"}),
        ("utlanade", {"grupp": "age"}),
        ("nyforskrivna", {}),
        ("nyforskrivna", {"grupp": "supplier"}),
        ("socialstyrelsen", {}),
        ("per-1000-invanare", {}),
        ("ateranvandning", {}),
        ("rekonditionering", {}),
        ("leveranser", {}),
        ("hamtningar", {}),
        ("arbetsordrar", {}),
        ("fakturerat", {}),
        ("avvikelser", {}),
        ("reparationer", {}),
        ("forluster", {}),
    ]


def run_all(repeat: int) -> list[Any]:
    """Each statistics page (the figures with their default filters and the heaviest groupings)
    through the test client, as the centre and as a unit manager; the Socialstyrelsen table for
    the year as a spreadsheet; the list of figures."""
    from django.test import Client

    from bench.ops import _sign_in, measure

    centre, manager = people()
    results = []
    for who, person in (("centre", centre), ("unit manager", manager)):
        client = Client()
        _sign_in(client, person.assignment)
        pages = _queries()
        if who == "unit manager":
            pages.append(("socialstyrelsen", {"enhet": str(person.unit.pk)}))

        def page(i: int, client: Client = client, pages: list[Any] = pages) -> None:
            slug, query = pages[i % len(pages)]
            response = client.get(f"/statistik/{slug}/", query)
            assert response.status_code == 200, (slug, query, response.status_code)

        results.append(
            measure(
                f"statistics pages, every figure ({who}, HTTP)",
                page,
                repeat=max(repeat, 2 * len(pages)),
            )  # fmt: skip
        )
    client = Client()
    _sign_in(client, centre.assignment)
    today = timezone.localdate()
    charted = _queries()

    def chart(i: int) -> None:
        # Each figure's chart as the browser fetches it after the page (docs/decisions/0016):
        # the first round draws (cold in this process), the second finds it drawn.
        slug, query = charted[i % len(charted)]
        for width in ({}, {"bredd": "smal"}):
            response = client.get(f"/statistik/{slug}/diagram.svg", {**query, **width})
            assert response.status_code == 200, (slug, query, response.status_code)

    results.append(
        measure(
            "statistics charts, wide and narrow image (centre, HTTP)",
            chart,
            repeat=max(repeat, 2 * len(charted)),
        )  # fmt: skip
    )

    def export(i: int) -> None:
        response = client.get(
            "/statistik/socialstyrelsen/export.xlsx",
            {"fran": f"{today.year}-01", "till": f"{today:%Y-%m}"},
        )
        assert response.status_code == 200, response.status_code

    def index(i: int) -> None:
        assert client.get("/statistik/").status_code == 200

    results.append(measure("Socialstyrelsen table for a year, xlsx (HTTP)", export, repeat=5))
    results.append(measure("statistics list of figures (HTTP)", index, repeat=repeat))
    return results


def run_gunicorn(url: str, repeat: int) -> list[Any]:
    """The figures as a browser gets them: gunicorn (one sync worker), the centre's session."""
    from urllib.parse import urlencode

    from django.test import Client as DjangoClient

    from bench import drills
    from bench.ops import _sign_in, measure

    centre, _manager = people()
    browser = DjangoClient()
    _sign_in(browser, centre.assignment)
    client = drills.Client(browser.cookies["lyfta_session"].value, [], [])
    server = drills.Server(url, workers=1)
    server.start()
    pages = _queries()
    try:

        def get(i: int) -> None:
            slug, query = pages[i % len(pages)]
            response = client.request("GET", f"/statistik/{slug}/?{urlencode(query)}")
            assert response.status == 200, (slug, response.status)

        def with_chart(i: int) -> None:
            # What a browser does: the page, then its chart (drawn in this worker the first
            # time; the pages above did not draw it).
            slug, query = pages[i % len(pages)]
            response = client.request("GET", f"/statistik/{slug}/?{urlencode(query)}")
            assert response.status == 200, (slug, response.status)
            image = client.request("GET", f"/statistik/{slug}/diagram.svg?{urlencode(query)}")
            assert image.status == 200, (slug, image.status)

        repeat = max(repeat, 2 * len(pages))
        return [
            measure("statistics pages, every figure (gunicorn)", get, repeat=repeat),
            measure(
                "statistics page and its chart, every figure (gunicorn)", with_chart, repeat=repeat
            ),  # fmt: skip
        ]
    finally:
        server.stop()
