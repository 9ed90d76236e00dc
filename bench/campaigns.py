"""Safety campaigns at scale (issue 15, "Done when"): building a campaign for an article with
20,000 devices, p95 ≤ 2 s at national size.

The article with the most individuals is topped up to 20,000 inside a transaction that is rolled
back at the end (the generated data is left as it was); each build runs in a savepoint rolled
back after it is timed, so each one builds the same campaign from the same state: every device
listed where it is (the items' open loans read for those with patients), stock blocked from
picking, a message to each holding unit, one audit record. The notice names one serial range
over every serial number of the article, so the natural comparison runs on each device.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

DEVICES = 20_000
TARGET_S = 2.0


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def officer() -> Any:
    """The bench's quality officer (an actor) at the centre."""
    from bench.ops import _person
    from lyfta.access.roles import Role

    return _person(Role.QUALITY, "bench.kvalitet", centre=True)


def _top_up(article: Any, have: int) -> int:
    """Add in-stock individuals of `article` at the central warehouse until it has DEVICES."""
    from django.utils import timezone

    from lyfta.inventory.models import Item, StockLocation

    missing = DEVICES - have
    if missing <= 0:
        return 0
    central = StockLocation.objects.filter(kind=StockLocation.Kind.CENTRAL).order_by("pk").first()
    assert central is not None, "no central warehouse: run the scale generator first"
    today = timezone.localdate()
    for start in range(0, missing, 5000):
        Item.objects.bulk_create(
            [
                Item(
                    individual_number=f"BC{n:08d}",
                    article=article,
                    serial_number=f"SN-BENCH-{n}",
                    batch="BENCH",
                    status=Item.Status.IN_STOCK,
                    location=central,
                    acquired_on=today,
                    acquisition_value=1000,
                )
                for n in range(start, min(missing, start + 5000))
            ]
        )
    return missing


def run_all(repeat: int = 10) -> list[Any]:
    """Time the build of a campaign over DEVICES devices of one article."""
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.ops import Result
    from lyfta.catalogue.models import Article
    from lyfta.core.serials import serial_key
    from lyfta.inventory.models import Item
    from lyfta.quality.models import CampaignDevice
    from lyfta.quality.services import campaigns

    actor = officer()
    samples: list[float] = []
    queries = 0
    rows = 0
    with transaction.atomic():
        top = (
            Item.objects.filter(article__tracked=True)
            .values("article_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        assert top is not None, "no individuals: run the scale generator first"
        article = Article.objects.get(pk=top["article_id"])
        added = _top_up(article, top["n"])
        serials = list(Item.objects.filter(article=article).values_list("serial_number", flat=True))
        keys = sorted((s for s in serials if s.strip()), key=serial_key)
        log(
            f"article {article.article_number}: {top['n']:,} individuals, {added:,} added "
            f"in this transaction, serials {keys[0]} … {keys[min(DEVICES, len(keys)) - 1]}"
        )
        notice = campaigns.NoticeInput(
            title="Benchmark",
            notice_reference="FSN-BENCH",
            notice_date=timezone.localdate(),
            description="Kontrollera.",
            action="check",
            articles=[article],
            # Exactly the first DEVICES serial numbers in natural order (an article with more
            # individuals than that is cut to them; one with fewer was topped up).
            serial_ranges=[(keys[0], keys[min(DEVICES, len(keys)) - 1])],
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_item")
        for i in range(repeat + 1):
            with transaction.atomic():
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    campaign = campaigns.campaign_create(actor=actor, notice=notice)
                    took = time.perf_counter() - start
                rows = CampaignDevice.unscoped.filter(campaign=campaign).count()
                transaction.set_rollback(True)
            if i:  # the first run warms the caches
                samples.append(took)
                queries = len(captured.captured_queries)
        transaction.set_rollback(True)
    log(
        f"campaign build: {rows:,} devices, median {statistics.median(samples):.2f} s, "
        f"{queries} queries"
    )
    return [Result(f"campaign build for an article with {rows:,} devices", samples, queries)]
