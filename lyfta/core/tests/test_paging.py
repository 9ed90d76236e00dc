"""The count-free pager of long work lists (lyfta/core/paging.py)."""

from __future__ import annotations

import pytest

from lyfta.core.paging import MAX_PAGE, page_number, window


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", 1), (None, 1), ("3", 3), ("0", 1), ("-2", 1), ("x", 1), ("２", 1), ("10" * 9, MAX_PAGE)],
)
def test_page_number_from_a_query_parameter(raw: object, expected: int) -> None:
    assert page_number(raw) == expected


def test_window_reads_one_more_row_to_know_of_a_next_page() -> None:
    rows = list(range(1, 8))
    first = window(rows, 3, "1")
    assert first.object_list == [1, 2, 3] and first.has_next and not first.has_previous
    last = window(rows, 3, "3")
    assert last.object_list == [7] and not last.has_next and last.has_previous
    assert last.previous_page_number == 2 and first.next_page_number == 2
    exact = window(list(range(6)), 3, "2")
    assert not exact.has_next and exact.has_other_pages
    assert not window([], 3, "1").has_other_pages
