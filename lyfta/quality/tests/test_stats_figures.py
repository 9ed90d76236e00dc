"""Failure statistics (issue 15 point 5): every figure the selector and the page show, computed
again here in plain Python over the rows the test created, for each grouping and filter."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, signed_in
from lyfta.quality.models import Deviation
from lyfta.quality.selectors import stats as selectors
from lyfta.quality.tests.stats_world import TODAY, StatsWorld, build, stats_of

pytestmark = pytest.mark.django_db

SINCE, UNTIL = dt.date(2025, 6, 16), TODAY
GROUPS = ["article", "supplier", "lot", "unit"]


@pytest.fixture
def w(county: County) -> StatsWorld:
    return build(county)


def _article(row: Any) -> Any:
    if row.article_id is not None:
        return row.article
    return row.item.article if row.item_id is not None else None


def _key(row: Any, group: str, lot: str) -> object:
    article = _article(row)
    if group == "article":
        return article.pk if article else None
    if group == "supplier":
        return article.supplier_id if article else None
    if group == "lot":
        return lot or None
    return row.unit_id


def _in_class(row: Any, iso: str) -> bool:
    article = _article(row)
    return not iso or (article is not None and article.iso_class.code.startswith(iso))


def expected(
    w: StatsWorld, group: str, since: dt.date, until: dt.date, kind: str = "", iso: str = ""
) -> dict[object, tuple[int, int]]:
    """(deviations, repairs) per group key, counted from the rows themselves."""
    deviations: Counter[object] = Counter()
    repairs: Counter[object] = Counter()
    for d in w.deviations:
        d.refresh_from_db()
        day = timezone.localtime(d.reported_at).date()
        if since <= day <= until and (not kind or d.kind == kind) and _in_class(d, iso):
            lot = d.lot or (d.item.batch if d.item else "")
            deviations[_key(d, group, lot)] += 1
    for o in w.work_orders:
        day = timezone.localtime(o.registered_at).date()
        if (
            o.kind == "repair"
            and o.status != "cancelled"
            and since <= day <= until
            and _in_class(o, iso)
        ):
            repairs[_key(o, group, o.item.batch if o.item else "")] += 1
    keys = set(deviations) | set(repairs)
    return {key: (deviations[key], repairs[key]) for key in keys}


def expected_in_use(w: StatsWorld, group: str, iso: str = "") -> Counter[object]:
    in_use: Counter[object] = Counter()
    for loan in w.loans:
        if loan.ended_on is not None or (iso and not loan.article.iso_class.code.startswith(iso)):
            continue
        key = {
            "article": loan.article_id,
            "supplier": loan.article.supplier_id,
            "lot": loan.item.batch if loan.item else None,
            "unit": loan.unit_id,
        }[group]
        if key:
            in_use[key] += loan.quantity
    return in_use


def _per_100(failures: int, in_use: int) -> Decimal | None:
    if not in_use:
        return None
    return (Decimal(failures * 100) / Decimal(in_use)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


CASES = [
    (group, kind, iso)
    for group in GROUPS
    for kind, iso in [("", ""), ("product_fault", ""), ("near_miss", ""), ("", "12 36")]
]


@pytest.mark.parametrize(("group", "kind", "iso"), CASES)
def test_every_figure_equals_a_count_of_the_rows(
    w: StatsWorld, group: str, kind: str, iso: str
) -> None:
    found = stats_of(actor=w.sara.actor, since=SINCE, until=UNTIL, group=group, kind=kind, iso=iso)
    want = expected(w, group, SINCE, UNTIL, kind, iso)
    assert want, "the world has rows for every case"
    assert {row.key: (row.deviations, row.repairs) for row in found.rows} == want
    in_use = expected_in_use(w, group, iso)
    for row in found.rows:
        if row.key is None:
            assert row.in_use is None and row.per_100 is None
            continue
        assert row.in_use == in_use[row.key], (group, row.label)
        assert row.per_100 == _per_100(row.deviations + row.repairs, in_use[row.key])
    # Most failures first.
    failures = [r.failures for r in found.rows]
    assert failures == sorted(failures, reverse=True)
    # Per month: the same rows counted by their month.
    months: Counter[tuple[dt.date, str]] = Counter()
    for d in w.deviations:
        day = timezone.localtime(d.reported_at).date()
        if SINCE <= day <= UNTIL and (not kind or d.kind == kind) and _in_class(d, iso):
            months[(day.replace(day=1), "d")] += 1
    for o in w.work_orders:
        day = timezone.localtime(o.registered_at).date()
        repair = o.kind == "repair" and o.status != "cancelled"
        if repair and SINCE <= day <= UNTIL and _in_class(o, iso):
            months[(day.replace(day=1), "r")] += 1
    assert [m.month for m in found.months] == selectors.month_list(SINCE, UNTIL)
    assert len(found.months) == 13  # June 2025 to June 2026
    for m in found.months:
        assert (m.deviations, m.repairs) == (months[(m.month, "d")], months[(m.month, "r")])
    assert found.total_deviations == sum(v[0] for v in want.values())


def test_the_known_figures_of_the_world(w: StatsWorld) -> None:
    """A few figures by hand, so that a mistake shared by the selector and `expected` shows."""
    found = stats_of(actor=w.sara.actor, since=SINCE, until=UNTIL, group="article")
    lift, lift2, sling = w.articles
    by_key = {row.key: row for row in found.rows}
    # Lift T1: 4 deviations (one only by its item, one on the period's first minute), 2 repairs
    # (one only by its item); 4 of its 5 items are on loan.
    assert (by_key[lift.pk].deviations, by_key[lift.pk].repairs) == (4, 2)
    assert by_key[lift.pk].in_use == 4
    assert by_key[lift.pk].per_100 == Decimal("150.0")
    # The sling: 2 deviations, 1 repair, 7 in use (4 + 3 on open loans; 5 returned).
    assert (by_key[sling.pk].deviations, by_key[sling.pk].repairs, by_key[sling.pk].in_use) == (
        2,
        1,
        7,
    )
    assert by_key[sling.pk].per_100 == Decimal("42.9")
    # G2: 1 deviation in the period, 1 repair by its item; 2 of 3 on loan.
    assert (by_key[lift2.pk].deviations, by_key[lift2.pk].repairs) == (1, 1)
    # The information error names no device.
    assert by_key[None].deviations == 1 and by_key[None].label == "Ingen artikel angiven"
    assert found.total_deviations == 8 and found.total_repairs == 4


def test_the_page_shows_the_selector_figures_for_the_quality_role(
    client: Client, w: StatsWorld
) -> None:
    query = {"fran": SINCE.isoformat(), "till": UNTIL.isoformat()}
    page = signed_in(client, w.sara).get(reverse("quality:stats"), query)
    assert page.status_code == 200
    html = page.content.decode()
    found = stats_of(actor=w.sara.actor, since=SINCE, until=UNTIL, group="article")
    for row in found.rows:
        assert f">{row.label}</th>" in html
        cells = (
            f'<td data-label="Avvikelser">{row.deviations}</td>\n'
            f'    <td data-label="Reparationer">{row.repairs}</td>'
        )
        assert cells in html, row.label
    assert "Från 2025-06-16 till och med 2026-06-15" in html
    assert "8 avvikelser och 4 reparationer" in html
    # Two charts, each with its title and description; no script.
    assert html.count('role="img"') == 2 and html.count("<desc id=") == 2
    assert "<script>" not in html.split("</header>")[-1]


def test_the_catalogue_manager_sees_it_too_and_others_do_not(
    client: Client, w: StatsWorld, alice: Any, logan: Any
) -> None:
    assert signed_in(client, w.cecilia).get(reverse("quality:stats")).status_code == 200
    for persona in (alice, logan):
        assert signed_in(Client(), persona).get(reverse("quality:stats")).status_code == 403


def test_a_deviation_s_kind_filters_deviations_only(w: StatsWorld) -> None:
    found = stats_of(actor=w.sara.actor, since=SINCE, until=UNTIL, group="unit", kind="near_miss")
    assert found.total_deviations == sum(
        1
        for d in w.deviations
        if d.kind == Deviation.Kind.NEAR_MISS
        and SINCE <= timezone.localtime(d.reported_at).date() <= UNTIL
    )
    assert found.total_repairs == 4


def test_the_default_period_is_the_last_twelve_months(client: Client, w: StatsWorld) -> None:
    from lyfta.quality.forms.stats import default_period

    assert default_period(TODAY) == (SINCE, UNTIL)
    assert default_period(dt.date(2028, 2, 29)) == (dt.date(2027, 3, 1), dt.date(2028, 2, 29))
    today = timezone.localdate()
    since, until = default_period(today)
    page = signed_in(client, w.sara).get(reverse("quality:stats"))
    assert page.status_code == 200
    assert f"Från {since.isoformat()} till och med {until.isoformat()}" in page.content.decode()
    # Only a start: up to today; only an end: the twelve months before it.
    page = client.get(reverse("quality:stats"), {"till": UNTIL.isoformat()})
    assert "Från 2025-06-16 till och med 2026-06-15" in page.content.decode()


def test_the_charts_escape_names_and_carry_the_figures(client: Client, w: StatsWorld) -> None:
    """A name with markup is text in the SVG; each bar's tooltip names its figures."""
    lift = w.articles[0]
    lift.name = '<script>alert("x")</script> Taklyft'
    lift.save()
    query = {"fran": SINCE.isoformat(), "till": UNTIL.isoformat()}
    html = signed_in(client, w.sara).get(reverse("quality:stats"), query).content.decode()
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Taklyft: 4 avvikelser, 2" in html
    assert "<title>2026-06: 1 avvikelser, 1 reparationer</title>" in html
