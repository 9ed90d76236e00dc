"""CSV both ways without formula injection (OWASP's "CSV Injection" rule; issue 12, build 8).

A spreadsheet program reads a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula, so a unit named ``=HYPERLINK("http://x","y")`` would come out live. Every CSV
Lyfta writes goes through `writer` (or `cell`/`row`), which prefixes such a cell with a single
quote so that it is read as text. Imports refuse such cells instead (`formula_like`): the file's
author is asked to correct them, nothing is changed silently."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula."""
    return text.startswith(FORMULA_START)


def cell(value: object) -> str:
    """`value` as a CSV cell a spreadsheet reads as text. A number (int, Decimal, float) is
    written as it is: it is never a formula, and a negative amount must stay a number."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return f"'{text}" if formula_like(text) else text


def row(values: Iterable[object]) -> list[str]:
    return [cell(value) for value in values]


class SafeWriter:
    """A `csv.writer` whose every cell is neutralised: the only way Lyfta writes CSV."""

    def __init__(self, stream: _Writable, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(stream: _Writable, **options: Any) -> SafeWriter:
    """Like `csv.writer(stream, **options)`, with every cell neutralised."""
    return SafeWriter(stream, **options)
