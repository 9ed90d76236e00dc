"""Swedish public holidays and working-day arithmetic.

Rent stops a number of working days after a pick-up order (DOMAIN.md §5), so the holidays are
computed from the rules of lag (1989:253) om allmänna helgdagar rather than kept as a list of
years that someone has to extend.
"""

from __future__ import annotations

import datetime as dt
import functools

__all__ = [
    "MIN_YEAR",
    "add_working_days",
    "de_facto_holidays",
    "easter_sunday",
    "is_working_day",
    "next_working_day",
    "swedish_public_holidays",
    "working_days_between",
]

# Today's law is applied to every year with only the 2005 change modelled, so years before 1953
# (midsummer and All Saints' on fixed dates then) follow today's rules, not the ones in force at
# the time. The floor turns a mistyped year into an error rather than a plausible wrong answer.
MIN_YEAR = 1900

# The 2004 amendment made 6 June a public holiday from 2005 and dropped Whit Monday in exchange.
NATIONAL_DAY_FROM = 2005

_ONE_DAY = dt.timedelta(days=1)
_SATURDAY = 5


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday of `year` in the Gregorian calendar (the anonymous algorithm, after Meeus)."""
    if year < 1583:
        # The algorithm is for the Gregorian calendar, which did not exist earlier.
        raise ValueError(f"Easter is computed for Gregorian years (1583 on), not {year}")
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    moon_correction = (century - (century + 8) // 25 + 1) // 3
    # Days from 21 March to the paschal full moon.
    epact = (19 * golden + century - leap_centuries - moon_correction + 15) % 30
    leap_years, year_rest = divmod(year_of_century, 4)
    # Days from the full moon to the following Sunday.
    weekday_offset = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7
    exception = (golden + 11 * epact + 22 * weekday_offset) // 451
    month, day = divmod(epact + weekday_offset - 7 * exception + 114, 31)
    return dt.date(year, month, day + 1)


def _saturday_from(first: dt.date) -> dt.date:
    """The first Saturday on or after `first`."""
    return first + dt.timedelta(days=(_SATURDAY - first.weekday()) % 7)


def _check_year(year: int) -> None:
    if year < MIN_YEAR:
        raise ValueError(f"Swedish holidays are computed from {MIN_YEAR} on, not for {year}")


@functools.cache  # bounded by the date type itself: at most years MIN_YEAR-9999
def _public_holidays(year: int) -> tuple[tuple[dt.date, str], ...]:
    _check_year(year)
    easter = easter_sunday(year)

    def after_easter(days: int) -> dt.date:
        return easter + dt.timedelta(days=days)

    rules: list[tuple[dt.date, str]] = [
        (dt.date(year, 1, 1), "Nyårsdagen"),
        (dt.date(year, 1, 6), "Trettondedag jul"),
        (after_easter(-2), "Långfredagen"),
        (easter, "Påskdagen"),
        (after_easter(1), "Annandag påsk"),
        (dt.date(year, 5, 1), "Första maj"),
        (after_easter(39), "Kristi himmelsfärdsdag"),
        (after_easter(49), "Pingstdagen"),
        (
            (dt.date(year, 6, 6), "Sveriges nationaldag")
            if year >= NATIONAL_DAY_FROM
            else (after_easter(50), "Annandag pingst")
        ),
        (_saturday_from(dt.date(year, 6, 20)), "Midsommardagen"),
        (_saturday_from(dt.date(year, 10, 31)), "Alla helgons dag"),
        (dt.date(year, 12, 25), "Juldagen"),
        (dt.date(year, 12, 26), "Annandag jul"),
    ]
    # Two holidays can fall on one date (Ascension on 1 May in 2008, Whit Sunday on 6 June in
    # 2049); the date then carries both names so that neither disappears.
    names: dict[dt.date, list[str]] = {}
    for day, name in rules:
        names.setdefault(day, []).append(name)
    return tuple((day, " och ".join(names[day])) for day in sorted(names))


@functools.cache
def _non_working_days(year: int) -> frozenset[dt.date]:
    return frozenset(day for day, _ in _public_holidays(year)) | frozenset(de_facto_holidays(year))


def swedish_public_holidays(year: int) -> dict[dt.date, str]:
    """The public holidays (allmänna helgdagar) of `year` other than Sundays, by date, in Swedish.

    The law names thirteen days besides Sundays; since 2005 Sveriges nationaldag (6 June) has
    taken the place of Annandag pingst, so there are thirteen in every year. When two fall on the
    same date the date carries both names joined by " och " (e.g. "Första maj och Kristi
    himmelsfärdsdag" in 2008), so the dict then has twelve entries.

    Raises ValueError for years before MIN_YEAR.
    """
    # A fresh dict each call: the cached tuple must not be changed by a caller.
    return dict(_public_holidays(year))


def de_facto_holidays(year: int) -> dict[dt.date, str]:
    """Days that are not public holidays by law but on which public administration is closed.

    Midsommarafton, Julafton and Nyårsafton are treated like Saturdays in collective agreements
    and by most authorities, so nothing can be expected to happen on them.
    """
    _check_year(year)
    midsummer_day = _saturday_from(dt.date(year, 6, 20))
    return {
        midsummer_day - _ONE_DAY: "Midsommarafton",
        dt.date(year, 12, 24): "Julafton",
        dt.date(year, 12, 31): "Nyårsafton",
    }


def weekday_holidays(first_year: int, last_year: int) -> list[dt.date]:
    """The public and de facto holidays from `first_year` to `last_year` that fall on a Monday to
    Friday: with the weekends, exactly the days on which `is_working_day` is false."""
    return sorted(
        day
        for year in range(max(first_year, MIN_YEAR), last_year + 1)
        for day in _non_working_days(year)
        if day.weekday() < _SATURDAY
    )


def is_working_day(day: dt.date) -> bool:
    """Whether `day` is a weekday that is neither a public nor a de facto holiday."""
    return day.weekday() < _SATURDAY and day not in _non_working_days(day.year)


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day` (the same as `add_working_days(day, 1)`)."""
    day += _ONE_DAY
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The `n`-th working day after `start`, counting from the day after `start`.

    `start` itself is never counted, working day or not: rent that stops three working days after
    a pick-up order registered on Thursday 2 April 2026 stops on `add_working_days(registered, 3)`
    = Thursday 9 April (Good Friday, the weekend and Easter Monday are skipped). A registration on
    a Saturday counts Monday as day one.

    `n` = 0 gives `start` when it is a working day, else the next working day: the first day on
    which something registered on `start` can be acted on.

    Inverse of `working_days_between`: `working_days_between(start, add_working_days(start, n))
    == n` for every `n` ≥ 1 (and for 0 when `start` is a working day).
    """
    if n < 0:
        raise ValueError(f"n must be zero or more, not {n}")
    if n == 0:
        return start if is_working_day(start) else next_working_day(start)
    day = start
    for _ in range(n):
        day = next_working_day(day)
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """The number of working days in (start, end]: after `start`, up to and including `end`.

    Half-open so that it inverts `add_working_days` and consecutive intervals add up without
    counting a shared end twice; 0 when `end` is on or before `start`.
    """
    count = 0
    day = start + _ONE_DAY
    while day <= end:
        if is_working_day(day):
            count += 1
        day += _ONE_DAY
    return count
