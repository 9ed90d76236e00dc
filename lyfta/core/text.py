"""What text Lyfta takes at its edge (issue 12, build point 5).

- Numbers that identify something (personnummer, samordningsnummer, reservnummer, organisation
  numbers, item numbers, postal codes, one-time codes) are written with the ASCII digits 0–9
  only. Python's `\\d`, `str.isdigit()` and `int()` also take fullwidth (`１２`) and Arabic-Indic
  (`١٢`) digits: a number written so would otherwise be a second, different identifier for the
  same thing.
- No text field takes control characters (NUL and the rest of Unicode's Cc): they cannot be typed,
  PostgreSQL refuses NUL outright, and the rest hide in logs and exports. Multi-line notes may
  hold tabs and line breaks.
- Names of people also refuse the invisible characters that change how text is shown: bidi
  embeddings, overrides and isolates (a name that reads differently from how it sorts and
  searches) and zero-width characters (two names that look the same and are not).

Forms get these checks from `lyfta.core.forms`; code that reads a value without a form calls the
functions here."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Allowed in multi-line text (a textarea): tab, line feed, carriage return.
MULTILINE_CONTROLS = frozenset("\t\n\r")
# Bidi embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the direction
# marks (U+200E, U+200F, U+061C).
BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)
# Zero-width space, non-joiner and joiner, word joiner, and the byte-order mark (zero-width
# no-break space).
ZERO_WIDTH = frozenset(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
# Form fields that hold a number (beyond a form's own `number_fields`): digits 0–9 only.
NUMBER_FIELDS = frozenset(
    {
        "individual_number",
        "nummer",
        "items_seen",
        "serials",
        "serie_fran",
        "serie_till",
        "article_number",
        "accessory_numbers",
        "organisation_number",
        "customer_number",
        "cost_centre",
        "postal_code",
    }
)
# Form fields that hold a person's name (beyond a form's own `name_fields`).
PERSON_NAME_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "requested_by",
        "representative",
        "contact_name",
        "requester",
        "receiver_name",
    }
)

ASCII_DIGITS = re.compile(r"[0-9]+")

CONTROL_MESSAGE = _(
    "Texten innehåller ett styrtecken som inte kan sparas (till exempel ett nolltecken). "
    "Ta bort det och försök igen."
)
NAME_MESSAGE = _(
    "Namnet innehåller osynliga tecken eller tecken som vänder skrivriktningen. "
    "Skriv namnet med vanliga bokstäver."
)
DIGITS_MESSAGE = _("Skriv siffrorna med vanliga siffror (0–9).")


def control_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The control characters in `value` (tab and line breaks allowed when `multiline`)."""
    allowed = MULTILINE_CONTROLS if multiline else frozenset()
    return [c for c in value if unicodedata.category(c) == "Cc" and c not in allowed]


def refuse_control_characters(value: str) -> None:
    """A validator for single-line text."""
    if control_characters(value):
        raise ValidationError(CONTROL_MESSAGE, code="control_character")


def refuse_control_characters_multiline(value: str) -> None:
    """A validator for notes (tab and line breaks allowed)."""
    if control_characters(value, multiline=True):
        raise ValidationError(CONTROL_MESSAGE, code="control_character")


INVISIBLE_ONLY_MESSAGE = _("Skriv med synliga tecken.")


# Letters that draw nothing: Hangul and halfwidth fillers, the braille blank, the Mongolian vowel
# separator, the combining grapheme joiner.
BLANK_LETTERS = frozenset(["\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u034f"])
# Unicode categories that draw nothing on their own: separators, controls, format characters
# (zero-width, bidi, invisible operators, tags, soft hyphen), combining marks, unassigned.
INVISIBLE_CATEGORIES = frozenset(["Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"])


def invisible(c: str) -> bool:
    return c in BLANK_LETTERS or unicodedata.category(c) in INVISIBLE_CATEGORIES


def refuse_invisible_only(value: str) -> None:
    """A validator for any text: something must be visible. A reason, a name or a note made only
    of spaces, format characters (zero-width, bidi, invisible operators, soft hyphens), combining
    marks or blank letters (which Python's strip() keeps) says nothing."""
    if value and all(c.isspace() or invisible(c) for c in value):
        raise ValidationError(INVISIBLE_ONLY_MESSAGE, code="invisible_only")


def refuse_invisible_in_name(value: str) -> None:
    """A validator for a person's name: no bidi controls, no zero-width characters."""
    if any(
        c in BIDI_CONTROLS
        or c in ZERO_WIDTH
        or c in BLANK_LETTERS
        or unicodedata.category(c) in ("Cf", "Cs", "Co", "Cn")
        for c in value
    ):
        raise ValidationError(NAME_MESSAGE, code="invisible_character")


def non_ascii_digits(value: str) -> bool:
    """True when `value` has a decimal digit other than 0–9 (fullwidth, Arabic-Indic, …)."""
    return any(c.isdigit() and not ("0" <= c <= "9") for c in value)


def refuse_non_ascii_digits(value: str) -> None:
    """A validator for numbers: only the digits 0–9."""
    if non_ascii_digits(value):
        raise ValidationError(DIGITS_MESSAGE, code="non_ascii_digits")


def is_ascii_number(value: str | None, *, max_digits: int = 18) -> bool:
    """True for a non-empty string of at most `max_digits` ASCII digits (an id of ours)."""
    if not value or len(value) > max_digits:
        return False
    return ASCII_DIGITS.fullmatch(value) is not None


def id_or_none(value: str | None, *, max_digits: int = 18) -> int | None:
    """A database id from a query or form value, or None for anything else: never a ValueError,
    never a number PostgreSQL's bigint cannot hold."""
    if value is not None and is_ascii_number(value, max_digits=max_digits):
        number = int(value)
        return number if number <= 2**63 - 1 else None
    return None
