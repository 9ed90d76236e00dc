"""Swedish public holidays and working-day arithmetic (DOMAIN.md §5: rent stops 3 working days
after a pick-up order). No database: the module is pure date arithmetic."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lyfta.core.workdays import (
    add_working_days,
    de_facto_holidays,
    easter_sunday,
    is_working_day,
    next_working_day,
    swedish_public_holidays,
    working_days_between,
)

D = dt.date

LAW_NAMES_BEFORE_2005 = {
    "Nyårsdagen",
    "Trettondedag jul",
    "Långfredagen",
    "Påskdagen",
    "Annandag påsk",
    "Första maj",
    "Kristi himmelsfärdsdag",
    "Pingstdagen",
    "Annandag pingst",
    "Midsommardagen",
    "Alla helgons dag",
    "Juldagen",
    "Annandag jul",
}
LAW_NAMES_FROM_2005 = LAW_NAMES_BEFORE_2005 - {"Annandag pingst"} | {"Sveriges nationaldag"}

years = st.integers(min_value=1900, max_value=2200)
days = st.dates(min_value=D(1900, 1, 1), max_value=D(2199, 12, 31))
working_days = days.filter(is_working_day)


def by_name(year: int) -> dict[str, dt.date]:
    """The holidays of `year` by name, with a date that carries two names split into both."""
    return {
        name: day
        for day, joined in swedish_public_holidays(year).items()
        for name in joined.split(" och ")
    }


def knuth_easter(year: int) -> dt.date:
    """Easter by a second, independent method (Knuth, TAOCP 1.3.2 exercise 14) as an oracle."""
    golden = year % 19 + 1
    century = year // 100 + 1
    skipped_leap_days = 3 * century // 4 - 12
    moon_correction = (8 * century + 5) // 25 - 5
    sunday = 5 * year // 4 - skipped_leap_days - 10
    epact = (11 * golden + 20 + moon_correction - skipped_leap_days) % 30
    if (epact == 25 and golden > 11) or epact == 24:
        epact += 1
    full_moon = 44 - epact
    if full_moon < 21:
        full_moon += 30
    march_day = full_moon + 7 - (sunday + full_moon) % 7
    return D(year, 4, march_day - 31) if march_day > 31 else D(year, 3, march_day)


# --- Easter -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (1943, D(1943, 4, 25)),
        (2000, D(2000, 4, 23)),
        (2024, D(2024, 3, 31)),
        (2025, D(2025, 4, 20)),
        (2026, D(2026, 4, 5)),
        (2027, D(2027, 3, 28)),
        (2038, D(2038, 4, 25)),
        (2285, D(2285, 3, 22)),
    ],
)
def test_easter_sunday_of_known_years(year: int, expected: dt.date) -> None:
    assert easter_sunday(year) == expected


@given(st.integers(min_value=1583, max_value=9999))
def test_easter_is_a_sunday_between_22_march_and_25_april(year: int) -> None:
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert D(year, 3, 22) <= easter <= D(year, 4, 25)


@given(st.integers(min_value=1583, max_value=9999))
def test_easter_agrees_with_an_independent_algorithm(year: int) -> None:
    assert easter_sunday(year) == knuth_easter(year)


def test_easter_before_the_gregorian_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="Gregorian"):
        easter_sunday(1582)


# --- Public holidays --------------------------------------------------------------------------


def test_public_holidays_of_2026() -> None:
    assert swedish_public_holidays(2026) == {
        D(2026, 1, 1): "Nyårsdagen",
        D(2026, 1, 6): "Trettondedag jul",
        D(2026, 4, 3): "Långfredagen",
        D(2026, 4, 5): "Påskdagen",
        D(2026, 4, 6): "Annandag påsk",
        D(2026, 5, 1): "Första maj",
        D(2026, 5, 14): "Kristi himmelsfärdsdag",
        D(2026, 5, 24): "Pingstdagen",
        D(2026, 6, 6): "Sveriges nationaldag",
        D(2026, 6, 20): "Midsommardagen",
        D(2026, 10, 31): "Alla helgons dag",
        D(2026, 12, 25): "Juldagen",
        D(2026, 12, 26): "Annandag jul",
    }


# Good Friday, Easter Monday, Ascension, Whit Sunday, Midsummer Day, All Saints' Day: the
# holidays that move from year to year, from the almanac.
MOVABLE_HOLIDAYS = {
    2020: ("04-10", "04-13", "05-21", "05-31", "06-20", "10-31"),
    2021: ("04-02", "04-05", "05-13", "05-23", "06-26", "11-06"),
    2022: ("04-15", "04-18", "05-26", "06-05", "06-25", "11-05"),
    2023: ("04-07", "04-10", "05-18", "05-28", "06-24", "11-04"),
    2024: ("03-29", "04-01", "05-09", "05-19", "06-22", "11-02"),
    2025: ("04-18", "04-21", "05-29", "06-08", "06-21", "11-01"),
    2026: ("04-03", "04-06", "05-14", "05-24", "06-20", "10-31"),
    2027: ("03-26", "03-29", "05-06", "05-16", "06-26", "11-06"),
    2028: ("04-14", "04-17", "05-25", "06-04", "06-24", "11-04"),
    2029: ("03-30", "04-02", "05-10", "05-20", "06-23", "11-03"),
    2030: ("04-19", "04-22", "05-30", "06-09", "06-22", "11-02"),
}


@pytest.mark.parametrize("year", sorted(MOVABLE_HOLIDAYS))
def test_movable_holidays_2020_to_2030(year: int) -> None:
    names = (
        "Långfredagen",
        "Annandag påsk",
        "Kristi himmelsfärdsdag",
        "Pingstdagen",
        "Midsommardagen",
        "Alla helgons dag",
    )
    holidays = by_name(year)
    assert {name: holidays[name] for name in names} == {
        name: D.fromisoformat(f"{year}-{month_day}")
        for name, month_day in zip(names, MOVABLE_HOLIDAYS[year], strict=True)
    }
    assert set(holidays) == LAW_NAMES_FROM_2005


def test_whit_monday_was_a_holiday_until_2004() -> None:
    holidays = swedish_public_holidays(2004)
    assert holidays[D(2004, 5, 31)] == "Annandag pingst"
    assert D(2004, 6, 6) not in holidays
    assert not is_working_day(D(2004, 5, 31))


def test_national_day_replaced_whit_monday_from_2005() -> None:
    holidays = swedish_public_holidays(2005)
    assert holidays[D(2005, 6, 6)] == "Sveriges nationaldag"
    assert "Annandag pingst" not in holidays.values()
    # Whit Monday 2005 was an ordinary Monday, the national day a Monday off.
    assert is_working_day(D(2005, 5, 16))
    assert not is_working_day(D(2005, 6, 6))


def test_two_holidays_on_one_date_keep_both_names() -> None:
    assert swedish_public_holidays(2008)[D(2008, 5, 1)] == "Första maj och Kristi himmelsfärdsdag"
    assert swedish_public_holidays(2049)[D(2049, 6, 6)] == "Pingstdagen och Sveriges nationaldag"
    assert len(swedish_public_holidays(2008)) == 12


@given(years)
def test_every_year_has_the_thirteen_holidays_of_the_law(year: int) -> None:
    """Lag (1989:253) names thirteen days besides Sundays, before 2005 as after: the national day
    took Whit Monday's place. Two of them can share a date, which then carries both names."""
    holidays = swedish_public_holidays(year)
    names = [name for joined in holidays.values() for name in joined.split(" och ")]
    assert len(names) == 13
    assert set(names) == (LAW_NAMES_FROM_2005 if year >= 2005 else LAW_NAMES_BEFORE_2005)
    assert len(holidays) in (12, 13)
    assert all(day.year == year for day in holidays)


@given(years)
def test_midsummer_and_all_saints_are_saturdays_in_their_windows(year: int) -> None:
    holidays = by_name(year)
    midsummer, all_saints = holidays["Midsommardagen"], holidays["Alla helgons dag"]
    assert midsummer.weekday() == 5 and D(year, 6, 20) <= midsummer <= D(year, 6, 26)
    assert all_saints.weekday() == 5 and D(year, 10, 31) <= all_saints <= D(year, 11, 6)


@given(years)
def test_easter_based_holidays_keep_their_weekdays(year: int) -> None:
    holidays = by_name(year)
    assert holidays["Långfredagen"].weekday() == 4
    assert holidays["Påskdagen"] == easter_sunday(year)
    assert holidays["Annandag påsk"].weekday() == 0
    assert holidays["Kristi himmelsfärdsdag"].weekday() == 3
    assert holidays["Pingstdagen"].weekday() == 6


def test_years_before_1900_are_refused() -> None:
    with pytest.raises(ValueError, match="1900"):
        swedish_public_holidays(1899)
    with pytest.raises(ValueError, match="1900"):
        is_working_day(D(1899, 12, 29))


def test_changing_the_returned_holidays_does_not_change_the_next_answer() -> None:
    swedish_public_holidays(2026).clear()
    assert len(swedish_public_holidays(2026)) == 13


# --- De facto holidays and working days -------------------------------------------------------


def test_de_facto_holidays_of_2026() -> None:
    assert de_facto_holidays(2026) == {
        D(2026, 6, 19): "Midsommarafton",
        D(2026, 12, 24): "Julafton",
        D(2026, 12, 31): "Nyårsafton",
    }


@given(years)
def test_de_facto_holidays_are_not_public_holidays(year: int) -> None:
    de_facto = de_facto_holidays(year)
    assert not set(de_facto) & set(swedish_public_holidays(year))
    assert all(not is_working_day(day) for day in de_facto)
    midsummer_eve = next(day for day, name in de_facto.items() if name == "Midsommarafton")
    assert midsummer_eve == by_name(year)["Midsommardagen"] - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 4, 2), True),  # Maundy Thursday is a working day
        (D(2026, 4, 3), False),  # Långfredagen
        (D(2026, 4, 4), False),  # Saturday
        (D(2026, 4, 5), False),  # Påskdagen, a Sunday
        (D(2026, 4, 6), False),  # Annandag påsk
        (D(2026, 4, 7), True),
        (D(2026, 6, 19), False),  # Midsommarafton
        (D(2026, 12, 24), False),  # Julafton
        (D(2026, 12, 28), True),  # between Christmas and New Year
        (D(2026, 12, 31), False),  # Nyårsafton
        (D(2027, 1, 1), False),  # Nyårsdagen
        (D(2027, 1, 6), False),  # Trettondedag jul
    ],
)
def test_is_working_day(day: dt.date, expected: bool) -> None:
    assert is_working_day(day) is expected


# --- Adding and counting working days ---------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "n", "expected"),
    [
        # Easter 2026: Good Friday, the weekend and Easter Monday are skipped.
        (D(2026, 4, 2), 3, D(2026, 4, 9)),
        (D(2026, 4, 2), 1, D(2026, 4, 7)),
        # Christmas and New Year 2026/27: Christmas Eve to Boxing Day, New Year's Eve and Day,
        # and Epiphany are skipped.
        (D(2026, 12, 23), 3, D(2026, 12, 30)),
        (D(2026, 12, 23), 4, D(2027, 1, 4)),
        (D(2026, 12, 30), 3, D(2027, 1, 7)),
        # Midsummer 2026: Midsummer Eve (Friday) and the weekend are skipped.
        (D(2026, 6, 17), 3, D(2026, 6, 23)),
        # A registration on a Saturday counts Monday as day one.
        (D(2026, 3, 7), 1, D(2026, 3, 9)),
        (D(2026, 3, 7), 3, D(2026, 3, 11)),
    ],
)
def test_add_working_days(registered: dt.date, n: int, expected: dt.date) -> None:
    assert add_working_days(registered, n) == expected
    assert working_days_between(registered, expected) == n


def test_add_zero_working_days_is_the_day_itself_or_the_next_working_day() -> None:
    assert add_working_days(D(2026, 4, 2), 0) == D(2026, 4, 2)
    assert add_working_days(D(2026, 4, 4), 0) == D(2026, 4, 7)


def test_adding_a_negative_number_of_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        add_working_days(D(2026, 4, 2), -1)


def test_next_working_day_is_strictly_after_the_day() -> None:
    assert next_working_day(D(2026, 4, 7)) == D(2026, 4, 8)
    assert next_working_day(D(2026, 4, 2)) == D(2026, 4, 7)
    assert next_working_day(D(2026, 12, 23)) == D(2026, 12, 28)


def test_working_days_between_counts_after_start_up_to_and_including_end() -> None:
    assert working_days_between(D(2026, 4, 7), D(2026, 4, 8)) == 1
    assert working_days_between(D(2026, 4, 7), D(2026, 4, 7)) == 0
    assert working_days_between(D(2026, 4, 9), D(2026, 4, 2)) == 0
    # All of April 2026: 22 weekdays less Good Friday and Easter Monday.
    assert working_days_between(D(2026, 3, 31), D(2026, 4, 30)) == 20


@given(days, st.integers(min_value=1, max_value=400))
def test_adding_working_days_lands_on_a_working_day_n_working_days_later(
    start: dt.date, n: int
) -> None:
    end = add_working_days(start, n)
    assert is_working_day(end)
    assert end > start
    assert working_days_between(start, end) == n
    assert working_days_between(start, end - dt.timedelta(days=1)) == n - 1


@given(working_days, st.integers(min_value=0, max_value=400))
def test_working_days_between_inverts_add_working_days_from_a_working_day(
    start: dt.date, n: int
) -> None:
    assert working_days_between(start, add_working_days(start, n)) == n


@given(days)
def test_next_working_day_is_adding_one_working_day(day: dt.date) -> None:
    assert next_working_day(day) == add_working_days(day, 1)


@given(days, st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
def test_working_days_between_adds_up_over_consecutive_intervals(
    start: dt.date, first: int, second: int
) -> None:
    middle = start + dt.timedelta(days=first)
    end = middle + dt.timedelta(days=second)
    assert working_days_between(start, middle) + working_days_between(
        middle, end
    ) == working_days_between(start, end)
