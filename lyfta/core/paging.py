"""Pages of a long list without counting it: a page reads one row more than it shows to know
whether a next page exists. A work queue or a due list at national size has tens of thousands of
rows; counting them on every view would cost more than showing fifty (issue 13's targets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_PAGE = 10_000


def page_number(raw: object) -> int:
    """A page number from a query parameter: anything but a plain positive number is page 1."""
    text = str(raw or "")
    if not (text.isascii() and text.isdigit()):
        return 1
    return min(max(int(text), 1), MAX_PAGE)


@dataclass
class Window(Generic[T]):
    """One page of rows: `object_list`, `number`, and whether there are pages around it."""

    object_list: list[T] = field(default_factory=list)
    number: int = 1
    has_next: bool = False

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    def __iter__(self) -> Any:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def window(rows: Any, size: int, raw_page: object) -> Window[Any]:
    """Rows `size` at a time (an ordered queryset or a list); the page from `raw_page`."""
    number = page_number(raw_page)
    start = (number - 1) * size
    found = list(rows[start : start + size + 1])
    return Window(found[:size], number, len(found) > size)


@dataclass
class Keyset(Generic[T]):
    """One page of rows in ascending id after `after`, and the id to continue after (None when
    this is the last page): the API's stable cursors (lyfta.api.paging)."""

    rows: list[T]
    last: int | None


def keyset(queryset: Any, after: int, size: int) -> Keyset[Any]:
    """The `size` rows of `queryset` with an id above `after`, ascending; one row more is read
    to know whether a next page exists. Rows added meanwhile get higher ids: no row is skipped
    or shown twice, whatever happens between two pages."""
    found = list(queryset.filter(pk__gt=after).order_by("pk")[: size + 1])
    rows = found[:size]
    return Keyset(rows, rows[-1].pk if len(found) > size and rows else None)
