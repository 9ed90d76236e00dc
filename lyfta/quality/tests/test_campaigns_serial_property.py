"""Natural-order serial ranges (issue 15, "Done when"): for any prefix and numbers, the range
contains exactly the numbers between its ends, whatever their number of digits ("SN-9" lies
between "SN-8" and "SN-10", which text comparison denies). The campaign builder and the recall
list use this one comparison (`lyfta.core.serials`)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyfta.core.serials import serial_in_range, serial_key

# A prefix as manufacturers write them: letters, a dash or a slash, no digits at its end.
PREFIX = st.text(alphabet="ABCDEFGHJKLMNPRSTUVXYZabcdefz-/ ", min_size=0, max_size=6).filter(
    lambda p: p.strip() == p
)
NUMBER = st.integers(min_value=0, max_value=10**12)


@settings(max_examples=300, deadline=None)
@given(PREFIX, NUMBER, NUMBER, st.lists(NUMBER, min_size=1, max_size=30))
def test_a_range_contains_exactly_the_numbers_between_its_ends(
    prefix: str, a: int, b: int, numbers: list[int]
) -> None:
    low, high = min(a, b), max(a, b)
    for n in numbers:
        inside = serial_in_range(f"{prefix}{n}", f"{prefix}{low}", f"{prefix}{high}")
        assert inside == (low <= n <= high), (prefix, n, low, high)


@settings(max_examples=200, deadline=None)
@given(PREFIX, NUMBER, NUMBER, st.integers(min_value=1, max_value=6))
def test_leading_zeros_and_case_do_not_move_a_serial(
    prefix: str, a: int, b: int, width: int
) -> None:
    padded = f"{prefix.upper()}{a:0{width}d}"
    plain = f"{prefix.lower()}{a}"
    assert serial_key(padded) == serial_key(plain)
    assert (serial_key(f"{prefix}{a}") < serial_key(f"{prefix}{b}")) == (a < b)


def test_the_example_of_the_issue() -> None:
    assert serial_in_range("SN-9", "SN-8", "SN-10")
    assert not serial_in_range("SN-10", "SN-1", "SN-9")
    assert "SN-9" > "SN-10"  # what text comparison says, and why it is not used
