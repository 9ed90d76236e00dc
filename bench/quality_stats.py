"""The failure statistics at scale (issue 15 point 5): generated deviations on top of the scale
data (`bench/scale.py`) and the work orders (`bench/workorders.py`), and the statistics page the
issue sets a target for (p95 ≤ 500 ms at national size) requested as the quality officer gets it:
signed in, through the whole middleware stack.

National size: 300,000 deviations over three years, spread over the tracked articles, the units
that hold them and the lots; every item gets a batch (20 per article) so that the lot grouping
and the devices in use per lot have something to count. Regional and small in proportion."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.utils import timezone

SIZES = {"small": 2_000, "regional": 15_000, "national": 300_000}
# Kinds in proportion: most deviations are product faults; adverse events are rare.
KINDS = (
    ["product_fault"] * 10
    + ["near_miss"] * 4
    + ["delivery_error"] * 3
    + ["service_error"] * 2
    + ["information_error"] * 1
    + ["adverse_event"] * 1
)
SEVERITIES = ["none"] * 12 + ["minor"] * 5 + ["moderate"] * 2 + ["serious"]
SOURCES = ["holdings", "holdings", "item", "workorder", "delivery", "pickup"]
LOTS_PER_ARTICLE = 20


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def quality_officer() -> Any:
    """The bench's quality officer (an actor) at the centre."""
    from bench.ops import _person
    from lyfta.access.roles import Role

    return _person(Role.QUALITY, "bench.kvalitet", centre=True)


def generate(size_name: str, *, seed: int = 15) -> dict[str, Any]:
    """Generate the deviations of `size_name` once (a counter marks them), in one transaction:
    a failed run leaves nothing behind."""
    from django.db import transaction

    with transaction.atomic():
        result = _generate(size_name, seed)
    if not result.get("skipped"):
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE inventory_item")
            cursor.execute("VACUUM ANALYZE quality_deviation")
    return result


def _generate(size_name: str, seed: int) -> dict[str, Any]:
    from bench.scale import copy_rows, next_id, reset_sequence
    from bench.workorders import _columns, _row
    from lyfta.inventory.models import Counter
    from lyfta.quality.models import Deviation

    marker = f"dev:{size_name}"  # (a counter's name has at most 20 characters)
    if Counter.objects.filter(name=marker).exists():
        log(f"{size_name} deviations are already here (counter {marker})")
        return {"skipped": True}
    count = SIZES[size_name]
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
    started = time.perf_counter()
    officer = quality_officer()
    log("batches")
    with connection.cursor() as cursor:
        # Every item a batch of its article: B<article>-<n>, twenty per article.
        cursor.execute(
            "UPDATE inventory_item SET batch = 'B' || article_id || '-' || (id %% %s) "
            "WHERE batch = ''",
            [LOTS_PER_ARTICLE],
        )
        # Items on loan with their open loan's unit and patient, a sample to report on.
        cursor.execute(
            "SELECT i.id, i.article_id, i.batch, l.unit_id, l.patient_id FROM inventory_item i "
            "JOIN orders_loan l ON l.item_id = i.id AND l.ended_on IS NULL "
            "WHERE i.status = 'on_loan' ORDER BY i.id LIMIT %s",
            [count],
        )
        on_loan = cursor.fetchall()
    assert on_loan, "generate the scale data first"
    first = next_id(Deviation)
    now = timezone.now()
    year = timezone.localdate().year

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(count):
            item_id, article_id, batch, unit_id, patient_id = on_loan[rng.randrange(len(on_loan))]
            reported = now - dt.timedelta(days=rng.randint(0, 3 * 365), minutes=rng.randint(0, 900))
            day = timezone.localtime(reported).date()
            kind = rng.choice(KINDS)
            with_item = kind not in ("information_error", "delivery_error") or n % 3 == 0
            status = "closed" if day < now.date() - dt.timedelta(days=120) else "registered"
            yield _row(
                Deviation,
                {
                    "id": first + n,
                    "number": f"AV{year}-S{first + n:09d}",
                    "kind": kind,
                    "severity": rng.choice(SEVERITIES),
                    "status": status,
                    "source": rng.choice(SOURCES),
                    "occurred_on": day - dt.timedelta(days=rng.randint(0, 3)),
                    "description": "Skalningsdata: avvikelse",
                    "item_id": item_id if with_item else None,
                    "article_id": article_id,
                    "lot": batch if with_item else "",
                    "patient_id": patient_id if with_item else None,
                    "order_id": None,
                    "pickup_id": None,
                    "workorder_id": None,
                    "unit_id": unit_id,
                    "reported_by_id": officer.user.pk,
                    "reported_at": reported,
                    "quarantined_at": None,
                    "is_incident": kind == "adverse_event",
                    "decided_by_id": officer.user.pk if status == "closed" else None,
                    "decided_at": reported if status == "closed" else None,
                    "closed_by_id": officer.user.pk if status == "closed" else None,
                    "closed_at": reported if status == "closed" else None,
                },
            )

    log("deviations")
    copy_rows(Deviation, _columns(Deviation), rows())
    reset_sequence(Deviation)
    Counter.objects.create(name=marker, value=1)
    seconds = time.perf_counter() - started
    log(f"{count:,} deviations generated in {seconds:.0f} s")
    return {"seconds": seconds}


def run_all(repeat: int) -> list[Any]:
    """Time the statistics page as the bench quality officer opens it: the default (the last
    twelve months per article) and each other grouping, a filter of kind and of ISO class."""
    from django.test import Client
    from django.urls import reverse

    from bench.ops import _sign_in, measure
    from lyfta.quality.models import InUseCount
    from lyfta.quality.services import stats as services

    officer = quality_officer()
    client = Client()
    _sign_in(client, officer.assignment)
    queries = [
        {},
        {"gruppera": "supplier"},
        {"gruppera": "lot"},
        {"gruppera": "unit"},
        {"typ": "product_fault"},
        {"gruppera": "article", "fran": (timezone.localdate() - dt.timedelta(days=3 * 365))
         .isoformat()},
    ]  # fmt: skip

    def page(i: int) -> None:
        response = client.get(reverse("quality:stats"), queries[i % len(queries)])
        assert response.status_code == 200, response.status_code

    def default(i: int) -> None:
        response = client.get(reverse("quality:stats"))
        assert response.status_code == 200, response.status_code

    def export(i: int) -> None:
        response = client.get(reverse("quality:stats_xlsx"))
        assert response.status_code == 200, response.status_code

    def recount(i: int) -> None:
        services.in_use_counted_at(actor=officer)

    def forget(i: int) -> None:
        InUseCount.objects.all().delete()

    return [
        # The hourly count of the devices in use that the page takes when the last is an hour
        # old (the page's own figures below read it).
        measure("devices in use, hourly recount (service)", recount, repeat=5, prepare=forget),
        measure("failure statistics page, default (HTTP)", default, repeat=repeat),
        measure("failure statistics page, every grouping and filter (HTTP)", page, repeat=repeat),
        measure("failure statistics export, xlsx (HTTP)", export, repeat=max(5, repeat // 6)),
    ]


def run_gunicorn(url: str, repeat: int) -> list[Any]:
    """The default statistics page as a browser gets it: gunicorn (one sync worker) on
    127.0.0.1, one kept-alive connection, the quality officer's session cookie."""
    from django.test import Client as DjangoClient
    from django.urls import reverse

    from bench import drills
    from bench.ops import _sign_in, measure

    officer = quality_officer()
    browser = DjangoClient()
    _sign_in(browser, officer.assignment)
    client = drills.Client(browser.cookies["lyfta_session"].value, [], [])
    server = drills.Server(url, workers=1)
    server.start()
    try:

        def get(i: int) -> None:
            response = client.request("GET", reverse("quality:stats"))
            assert response.status == 200, response.status

        return [measure("failure statistics page, default (gunicorn)", get, repeat=repeat)]
    finally:
        server.stop()
