"""The payer derivation per day (issue 14 point 3, "Done when": a move mid-month splits the rent
between payers to the day). Property tests over the pure `PayerBook`: whatever the rules, housing
periods and units' cost-centre periods, the segments cover every day of the span exactly once, in
order, and each segment's payer is the one `decide` gives for every one of its days; a move
changes the payer from the day of the move; a rule's last day changes the payer the next day;
with no rule the prescribing unit pays, with its cost centre of the day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lyfta.billing.models import Housing, PayerRule
from lyfta.billing.services.payers import (
    HousingPeriod,
    LoanFacts,
    PayerBook,
    Segment,
)

REGION_PROVIDER, TOWN_A, TOWN_B = 1, 2, 3
CUSTOMERS = {REGION_PROVIDER: 100, TOWN_A: 200, TOWN_B: 300}
DEFAULTS = {100: 1000, 200: 2000, 300: 3000}
UNIT = 7  # the prescribing unit, of the region
ONE = dt.timedelta(days=1)


def _rule(pk: int, priority: int, payer: str, **conditions: Any) -> PayerRule:
    return PayerRule(
        pk=pk,
        region_id=REGION_PROVIDER,
        priority=priority,
        payer=payer,
        valid_from=conditions.pop("valid_from", dt.date(2000, 1, 1)),
        valid_until=conditions.pop("valid_until", None),
        **conditions,
    )


def _book(
    rules: list[PayerRule], unit_periods: list[tuple[dt.date, dt.date | None, int]]
) -> PayerBook:
    return PayerBook(
        rules=rules,
        customer_of_provider=dict(CUSTOMERS),
        default_cost_centre=dict(DEFAULTS),
        region_customer_id=CUSTOMERS[REGION_PROVIDER],
        unit_periods={UNIT: unit_periods},
    )


def _facts(
    klass: int | None = 2, short_term: bool = False, kind: str = "primary_care"
) -> LoanFacts:
    return LoanFacts(
        loan_id=1,
        patient_id=1,
        unit_id=UNIT,
        unit_provider_id=REGION_PROVIDER,
        unit_kind=kind,
        responsibility_class=klass,
        cost_class="region",
        iso_code="12 22 03",
        short_term=short_term,
        born=dt.date(1940, 3, 3),
    )


def _days(start: dt.date, until: dt.date) -> list[dt.date]:
    return [start + ONE * n for n in range((until - start).days + 1)]


def _assert_partition(segments: list[Segment], start: dt.date, until: dt.date) -> None:
    """Every day from start to until in exactly one segment, in order, no gaps."""
    covered = [day for s in segments for day in _days(s.start, s.until)]
    assert covered == _days(start, until)
    assert sum(s.days for s in segments) == (until - start).days + 1
    for left, right in zip(segments, segments[1:], strict=False):
        assert left.until + ONE == right.start
        assert left.decision != right.decision  # neighbours with one payer are one segment


ANSVAR_2 = [
    _rule(1, 40, PayerRule.Payer.HOME_MUNICIPALITY, responsibility_class=2, housing="special"),
    _rule(2, 41, PayerRule.Payer.REGION, responsibility_class=2),
]
MONTH = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 1)).map(
    lambda d: d.replace(day=1)
)


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - ONE


@settings(max_examples=300, deadline=None)
@given(MONTH, st.integers(min_value=1, max_value=31))
def test_a_move_mid_month_splits_the_month_between_payers_to_the_day(
    month: dt.date, move_day: int
) -> None:
    end = _month_end(month)
    moved = min(month.replace(day=1) + ONE * (move_day - 1), end)
    housing = [
        HousingPeriod(dt.date(2010, 1, 1), Housing.ORDINARY, TOWN_A),
        HousingPeriod(moved, Housing.SPECIAL, TOWN_A),
    ]
    segments = _book(ANSVAR_2, []).segments(_facts(2), housing, month, end)
    _assert_partition(segments, month, end)
    for segment in segments:
        for day in _days(segment.start, segment.until):
            expected = CUSTOMERS[TOWN_A] if day >= moved else CUSTOMERS[REGION_PROVIDER]
            assert segment.decision.customer_id == expected, (day, moved)
    region_days = sum(s.days for s in segments if s.decision.customer_id == 100)
    assert region_days == (moved - month).days
    town = [s for s in segments if s.decision.customer_id == CUSTOMERS[TOWN_A]]
    assert town and town[0].start == moved
    assert "särskilt boende" in town[0].decision.explanation
    assert "regel 40" in town[0].decision.explanation


@settings(max_examples=200, deadline=None)
@given(MONTH, st.integers(min_value=0, max_value=30))
def test_a_rules_last_day_changes_the_payer_the_next_day(month: dt.date, offset: int) -> None:
    end = _month_end(month)
    last_day = min(month + ONE * offset, end - ONE)
    rules = [
        _rule(1, 10, PayerRule.Payer.REGION, valid_until=last_day),
        _rule(2, 20, PayerRule.Payer.HOME_MUNICIPALITY),
    ]
    housing = [HousingPeriod(dt.date(2010, 1, 1), Housing.ORDINARY, TOWN_B)]
    segments = _book(rules, []).segments(_facts(), housing, month, end)
    _assert_partition(segments, month, end)
    assert [s.decision.customer_id for s in segments] == [100, 300]
    assert segments[0].until == last_day
    assert segments[1].start == last_day + ONE


def test_with_no_rule_the_prescribing_unit_pays_with_its_cost_centre_of_the_day() -> None:
    month, end = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
    periods = [(dt.date(2020, 1, 1), dt.date(2026, 3, 9), 11), (dt.date(2026, 3, 10), None, 12)]
    segments = _book([], periods).segments(_facts(), [], month, end)
    _assert_partition(segments, month, end)
    assert [(s.start.day, s.until.day, s.decision.cost_centre_id) for s in segments] == [
        (1, 9, 11),
        (10, 31, 12),
    ]
    for segment in segments:
        assert segment.decision.customer_id == CUSTOMERS[REGION_PROVIDER]
        assert segment.decision.rule_id is None
        assert "ingen regel" in segment.decision.explanation


def test_a_unit_without_a_cost_centre_falls_back_to_the_customers_default() -> None:
    day = dt.date(2026, 3, 1)
    decision = _book([], []).decide(_facts(), None, day)
    assert (decision.customer_id, decision.cost_centre_id) == (100, 1000)


# --- Random rules, housing and cost centres: the segments agree with the day-by-day oracle -----

HOUSING = st.sampled_from([h.value for h in Housing])
PAYER = st.sampled_from([p.value for p in PayerRule.Payer])
OFFSET = st.integers(min_value=-40, max_value=80)
BASE = dt.date(2026, 2, 1)


@st.composite
def rules(draw: st.DrawFn) -> list[PayerRule]:
    found = []
    for pk in range(1, draw(st.integers(min_value=0, max_value=6)) + 1):
        start = BASE + ONE * draw(OFFSET)
        until = draw(st.none() | st.integers(min_value=0, max_value=60))
        found.append(
            _rule(
                pk,
                draw(st.integers(min_value=1, max_value=99)),
                draw(PAYER),
                valid_from=start,
                valid_until=start + ONE * until if until is not None else None,
                housing=draw(st.sampled_from(["", *Housing.values])),
                responsibility_class=draw(st.none() | st.integers(min_value=1, max_value=4)),
                short_term=draw(st.none() | st.booleans()),
                habilitation=draw(st.none() | st.booleans()),
            )
        )
    return sorted(found, key=lambda r: (r.priority, r.valid_from, r.pk))


@st.composite
def housing(draw: st.DrawFn) -> list[HousingPeriod]:
    starts = sorted(set(draw(st.lists(OFFSET, max_size=5))))
    return [
        HousingPeriod(BASE + ONE * n, draw(HOUSING), draw(st.sampled_from([TOWN_A, TOWN_B, 99])))
        for n in starts
    ]


@st.composite
def unit_periods(draw: st.DrawFn) -> list[tuple[dt.date, dt.date | None, int]]:
    cuts = sorted(set(draw(st.lists(OFFSET, max_size=4))))
    found: list[tuple[dt.date, dt.date | None, int]] = []
    for index, n in enumerate(cuts):
        until = BASE + ONE * (cuts[index + 1] - 1) if index + 1 < len(cuts) else None
        found.append((BASE + ONE * n, until, 10 + index))
    return found


@settings(max_examples=400, deadline=None)
@given(
    rules(),
    housing(),
    unit_periods(),
    st.integers(min_value=1, max_value=4),
    st.booleans(),
    st.integers(min_value=-20, max_value=40),
    st.integers(min_value=0, max_value=70),
)
def test_segments_cover_every_day_once_and_agree_with_each_days_decision(
    found_rules: list[PayerRule],
    periods: list[HousingPeriod],
    centres: list[tuple[dt.date, dt.date | None, int]],
    klass: int,
    short_term: bool,
    start_offset: int,
    length: int,
) -> None:
    book = _book(found_rules, centres)
    facts = _facts(klass, short_term)
    start = BASE + ONE * start_offset
    until = start + ONE * length
    segments = book.segments(facts, periods, start, until)
    _assert_partition(segments, start, until)
    starts = [p.valid_from for p in periods]
    for segment in segments:
        for day in _days(segment.start, segment.until):
            on = [p for p, s in zip(periods, starts, strict=True) if s <= day]
            assert book.decide(facts, on[-1] if on else None, day) == segment.decision, day


@settings(max_examples=100, deadline=None)
@given(rules(), housing(), st.integers(min_value=0, max_value=59))
def test_billing_two_spans_separately_equals_billing_them_together(
    found_rules: list[PayerRule], periods: list[HousingPeriod], cut: int
) -> None:
    """January and February billed apart give the same payer for every day as billed as one."""
    book = _book(found_rules, [])
    facts = _facts(2)
    start, until = dt.date(2026, 1, 1), dt.date(2026, 3, 1)
    middle = start + ONE * cut

    def per_day(segments: list[Segment]) -> dict[dt.date, object]:
        return {d: s.decision for s in segments for d in _days(s.start, s.until)}

    together = per_day(book.segments(facts, periods, start, until))
    apart = per_day(book.segments(facts, periods, start, middle)) | per_day(
        book.segments(facts, periods, middle + ONE, until)
    )
    assert together == apart
