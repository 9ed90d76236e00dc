"""SQLite's LIKE folds the case of ASCII letters only, so on the embedded database a search for
"östlund" missed "Östlund" and "åsa" missed "Åsa" (PostgreSQL's UPPER folds every letter). Each
SQLite connection gets a LIKE that folds case as Python does, with LIKE's own wildcards and
escape character: `icontains` (and the other LIKE lookups, already case-blind on SQLite for ASCII)
then behave as on PostgreSQL for Swedish letters."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=512)
def _compiled(pattern: str, escape: str | None) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if escape is not None and char == escape:
            following = next(chars, "")
            parts.append(re.escape(following))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def like(pattern: Any, value: Any, escape: Any = None) -> int | None:
    """SQL `value LIKE pattern [ESCAPE escape]`, case folded for every letter; NULL gives NULL."""
    if pattern is None or value is None:
        return None
    found = _compiled(str(pattern), str(escape) if escape is not None else None)
    return 1 if found.fullmatch(str(value)) else 0


def install(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created`: give a new SQLite connection the case-folding LIKE."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("like", 2, like, deterministic=True)
    raw.create_function("like", 3, like, deterministic=True)
