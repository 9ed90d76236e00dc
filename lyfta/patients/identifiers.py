"""Swedish patient identifiers: personnummer, samordningsnummer and reservnummer.

Accepted forms: 10 or 12 digits, with or without a separator ("-" or, for people aged 100 or
more, "+"). Stored as 12 digits (reservnummer as 12 characters). Every rejection says why, in
Swedish: the format, the digits, the date, the birth number or the check digit.

Digits are the ASCII digits 0–9 only: a regex digit class and `int()` also take fullwidth and
Arabic-Indic digits, and a number written with them was stored as another identifier for the
same person (issue 12, finding 5). Birth numbers run 001–999 (Skatteverket); no birth date
lies ahead."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.core.luhn import luhn_ok
from lyfta.core.text import non_ascii_digits


class Kind:
    PERSONNUMMER = "personnummer"
    SAMORDNINGSNUMMER = "samordningsnummer"
    RESERVNUMMER = "reservnummer"


LABELS = {
    Kind.PERSONNUMMER: "personnummer",
    Kind.SAMORDNINGSNUMMER: "samordningsnummer",
    Kind.RESERVNUMMER: "reservnummer",
}

_NUMBER = re.compile(
    r"^(?P<century>[0-9]{2})?(?P<date>[0-9]{6})(?P<sep>[-+]?)(?P<serial>[0-9]{3})(?P<check>[0-9])$"
)
# Lyfta's reservnummer (a temporary identity for someone without a known number): the birth
# date, "R" and three digits, e.g. 19840512-R123. Regions with their own series map them to this.
_RESERV = re.compile(r"^(?P<date>[0-9]{8})-?R(?P<serial>[0-9]{3})$", re.IGNORECASE)


@dataclass(frozen=True)
class Identifier:
    value: str  # normalised: 12 digits, or YYYYMMDDRnnn for a reservnummer
    kind: str
    birth_date: dt.date

    @property
    def display(self) -> str:
        """As people write it: YYYYMMDD-NNNN (YYYYMMDD-RNNN)."""
        return f"{self.value[:8]}-{self.value[8:]}"

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse(raw: str, *, today: dt.date | None = None) -> Identifier:
    """Validate and normalise an identifier, or raise ValidationError with a Swedish reason."""
    text = re.sub(r"\s", "", raw or "")
    if not text:
        raise ValidationError(_("Ange personnummer, samordningsnummer eller reservnummer."))
    if non_ascii_digits(text):
        raise ValidationError(
            _(
                "Numret innehåller siffror av ett annat slag än 0–9 (till exempel breda "
                "siffror). Skriv numret med vanliga siffror."
            )
        )
    today = today or timezone.localdate()
    reserve = _RESERV.match(text)
    if reserve:
        date_text = reserve["date"]
        born = _date(int(date_text[:4]), int(date_text[4:6]), int(date_text[6:8]))
        if born is None:
            raise ValidationError(_("Reservnumret innehåller inget giltigt datum."))
        if born > today:
            raise ValidationError(_("Födelsedatumet i numret ligger i framtiden."))
        return Identifier(f"{date_text}R{reserve['serial']}", Kind.RESERVNUMMER, born)
    match = _NUMBER.match(text)
    if not match:
        raise ValidationError(
            _(
                "Skriv numret som ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN (tio eller tolv siffror). "
                "Ett reservnummer skrivs ÅÅÅÅMMDD-RNNN."
            )
        )
    date6 = match["date"]
    year2, month, day = int(date6[:2]), int(date6[2:4]), int(date6[4:6])
    kind = Kind.PERSONNUMMER
    if day > 60:
        kind, day = Kind.SAMORDNINGSNUMMER, day - 60
    if match["century"]:
        year = int(match["century"] + date6[:2])
    else:
        # Ten digits: the latest century that puts the date in the past; "+" adds a hundred years.
        year = (today.year // 100) * 100 + year2
        if year > today.year:
            year -= 100
        if match["sep"] == "+":
            year -= 100
    born = _date(year, month, day)
    if born is None:
        raise ValidationError(
            _("Numret innehåller inget giltigt datum (%(date)s).") % {"date": date6}
        )
    if born > today:
        raise ValidationError(_("Födelsedatumet i numret ligger i framtiden."))
    if match["serial"] == "000":
        raise ValidationError(
            _("Födelsenumret (de tre siffrorna före kontrollsiffran) kan inte vara 000.")
        )
    if not luhn_ok(date6 + match["serial"] + match["check"]):
        raise ValidationError(_("Kontrollsiffran stämmer inte. Kontrollera numret."))
    value = f"{born.year:04d}{date6[2:]}{match['serial']}{match['check']}"
    return Identifier(value, kind, born)
