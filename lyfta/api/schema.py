"""Input types the API's schemas share: text refused at the edge as the forms refuse it
(lyfta.core.text), and ids within the database's range."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.core.exceptions import ValidationError
from pydantic import AfterValidator, Field, StringConstraints

from lyfta.core import text
from lyfta.core.forms import EARLIEST_DATE, LATEST_DATE

MAX_ID = 2**63 - 1


def _line(value: str) -> str:
    """A single line: no control characters at all (a NUL would be a server error on
    PostgreSQL, a line break could forge a line in any plain-text rendering)."""
    try:
        text.refuse_control_characters(value)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    return value


def _text(value: str) -> str:
    """Several lines: tab and line breaks, no other control character."""
    try:
        text.refuse_control_characters_multiline(value)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    return value


def _said(value: str) -> str:
    """Several lines that say something: as `_text`, and not only invisible characters (the
    forms' edge, lyfta.core.forms)."""
    _text(value)
    try:
        text.refuse_invisible_only(value)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    return value


def _in_range(value: dt.date) -> dt.date:
    """Dates within Lyfta's range, as the forms take them (lyfta.core.forms)."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"{EARLIEST_DATE.isoformat()}–{LATEST_DATE.isoformat()}")
    return value


def _digits(value: str) -> str:
    try:
        text.refuse_non_ascii_digits(value)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    return value


Line6 = Annotated[str, StringConstraints(max_length=6), AfterValidator(_line)]
Line30 = Annotated[str, StringConstraints(max_length=30), AfterValidator(_line)]
Line100 = Annotated[str, StringConstraints(max_length=100), AfterValidator(_line)]
Line120 = Annotated[str, StringConstraints(max_length=120), AfterValidator(_line)]
Line200 = Annotated[str, StringConstraints(max_length=200), AfterValidator(_line)]
Line300 = Annotated[str, StringConstraints(max_length=300), AfterValidator(_line)]
Line500 = Annotated[str, StringConstraints(max_length=500), AfterValidator(_line)]
Line60 = Annotated[str, StringConstraints(max_length=60), AfterValidator(_line)]
Text500 = Annotated[str, StringConstraints(max_length=500), AfterValidator(_text)]
Text2000 = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_text)]
Text4000 = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_text)]
# Text that must say something: not empty, not only spaces.
Said2000 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True),
    AfterValidator(_said),
]
Said4000 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4000, strip_whitespace=True),
    AfterValidator(_said),
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    AfterValidator(_line),
]
Day = Annotated[dt.date, AfterValidator(_in_range)]
# A personnummer, samordningsnummer or reservnummer as a person writes it; parsed by the
# patients app, which says what is wrong with it.
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=20),
    AfterValidator(_line),
    AfterValidator(_digits),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
