"""Small-cell suppression (issue 17 point 2): below the provider level every cell of 1–4 persons
is hidden, and no hidden cell can be worked out from a shown total and the shown parts of the
same relation. Proved over generated tables, and on the page for a unit and for the provider."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lyfta.access.actor import Actor
from lyfta.reports.selectors import BANDS, SEXES, Filters, person_table, relations_of
from lyfta.reports.services.refresh import statistics_refresh
from lyfta.reports.suppression import derivable, suppress
from lyfta.reports.tests.world import loan_world


def _table(draw: Any) -> dict[Any, int]:
    codes = draw(st.lists(st.sampled_from(["12 22", "12 06", "18 12", "09 12"]), min_size=1,
                          max_size=3, unique=True))  # fmt: skip
    values: dict[Any, int] = {}
    for code in codes:
        row_total = 0
        for sex in SEXES:
            sex_total = 0
            for band in BANDS:
                n = draw(st.integers(0, 9))
                if n:
                    values[(code, sex, band)] = n
                sex_total += n
            if sex_total:
                values[(code, sex, "")] = sex_total
            row_total += sex_total
        if row_total:
            values[(code, "", "")] = row_total
    return values


@st.composite
def tables(draw: Any) -> dict[Any, int]:
    return _table(draw)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_small_cells_are_hidden_and_none_can_be_worked_out(values: dict[Any, int]) -> None:
    codes = sorted({c for c, _s, _b in values})
    relations = relations_of(codes)
    hidden = suppress(values, relations)
    assert {cell for cell, n in values.items() if 0 < n < 5} <= hidden
    assert not derivable(values, relations, hidden)


def test_a_lone_small_cell_takes_a_second_one_with_it() -> None:
    values: dict[Any, int] = {
        ("12 22", "K", "80-"): 3, ("12 22", "K", "65-79"): 7, ("12 22", "K", "18-64"): 9,
        ("12 22", "K", ""): 19, ("12 22", "", ""): 19,
    }  # fmt: skip
    hidden = suppress(values, relations_of(["12 22"]))
    assert ("12 22", "K", "80-") in hidden
    assert ("12 22", "K", "65-79") in hidden  # the next smallest: 19 - 9 - ? is no longer one sum
    assert ("12 22", "K", "18-64") not in hidden


@pytest.mark.django_db
def test_the_unit_table_hides_what_the_provider_table_shows(county: Any, logan: Any) -> None:
    loan_world(county)
    statistics_refresh(actor=Actor.system("test"), months=[dt.date(2026, 4, 1)],
                       today=dt.date(2026, 4, 20))  # fmt: skip
    filters = Filters(first=dt.date(2026, 1, 1), last=dt.date(2026, 4, 1))
    unit = person_table(logan.actor, Filters(**{**filters.__dict__, "unit": county.unit_a.pk}))
    provider = person_table(
        logan.actor, Filters(**{**filters.__dict__, "provider": county.municipality.pk})
    )
    assert unit.level == "unit"
    assert provider.level == "provider"
    unit_cells = [v for _c, _l, cells, _d in unit.rows for v in cells]
    provider_cells = [v for _c, _l, cells, _d in provider.rows for v in cells]
    # Unit A has 3 persons: every non-zero cell is small and hidden; nothing below 5 shows.
    assert all(v is None or v == 0 or v >= 5 for v in unit_cells)
    assert unit.suppressed > 0
    # The provider's table is not suppressed: its small numbers show.
    assert None not in provider_cells
    assert any(0 < (v or 0) < 5 for v in provider_cells)


@pytest.mark.django_db
def test_a_hidden_unit_cell_cannot_be_worked_out_from_the_provider_and_its_siblings(
    county: Any, logan: Any
) -> None:
    """The differencing an attacker tried on the demo: the provider's (shown) figure less the
    sibling units' shown figures. For every cell the provider counts, no unit is the only one
    that hides it."""
    from lyfta.organisations.models import Unit
    from lyfta.reports.models import PersonCount

    loan_world(county)
    statistics_refresh(actor=Actor.system("test"), months=[dt.date(2026, 4, 1)],
                       today=dt.date(2026, 4, 20))  # fmt: skip
    base = Filters(first=dt.date(2026, 1, 1), last=dt.date(2026, 4, 1))
    provider_cells = {
        (c.iso_code, c.sex, c.age_band): c.persons
        for c in PersonCount.objects.filter(
            year=2026, kind="on_loan", provider=county.municipality, unit__isnull=True
        )
    }
    hiding: dict[tuple[str, str, str], int] = {}
    units = Unit.objects.filter(provider=county.municipality)
    assert units.count() >= 2
    for unit in units:
        table = person_table(logan.actor, Filters(**{**base.__dict__, "unit": unit.pk}))
        for code, _label, cells, _devices in table.rows:
            for (sex, band), value in zip(table.columns, cells, strict=True):
                if value is None:
                    hiding[(code, sex, band)] = hiding.get((code, sex, band), 0) + 1
    assert hiding, "the world has small cells: some must be hidden"
    lone = [cell for cell, n in hiding.items() if n == 1 and provider_cells.get(cell, 0) > 0]
    assert lone == []
