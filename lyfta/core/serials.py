"""Serial numbers as people read them (issue 15): a prefix and a number compare by the number,
so "SN-9" comes before "SN-10" (text comparison puts it after, and a range misses devices). One
comparison for the recall list, its form and the safety campaigns."""

from __future__ import annotations

import re


def serial_key(serial: str) -> tuple[tuple[int, int | str], ...]:
    """A serial number as people order it: runs of digits by value, the rest by letter, case
    ignored ("SN-9" < "SN-10" < "sn-11")."""
    return tuple(
        (0, int(part)) if part.isascii() and part.isdigit() else (1, part.casefold())
        for part in re.split(r"([0-9]+)", serial.strip())
        if part
    )


def serial_in_range(serial: str, low: str, high: str) -> bool:
    """Whether `serial` lies between `low` and `high` (either may be empty: open-ended)."""
    if not serial.strip():
        return False
    key = serial_key(serial)
    return (not low or key >= serial_key(low)) and (not high or key <= serial_key(high))
