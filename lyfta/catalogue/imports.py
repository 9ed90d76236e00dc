"""Reading an article file (CSV) into rows of typed values, with a Swedish reason for every cell
that cannot be read. Nothing here writes: `services.article_import` validates the rows against the
database and saves them all or none.

The file: UTF-8 (with or without BOM), separated by semicolons (as Excel writes in Sweden) or
commas, one header row naming the columns, in any order:

    article_number;name;iso_code;supplier;supplier_article_number;billing_type;price_group;
    monthly_rent;price;tracked;delivery_class;lead_time_days;substitution_group;
    maintenance_interval_months;warranty_months;cost_class;in_assortment

Only `article_number` must be present; a new article needs the required columns (see REQUIRED).
Amounts may use a decimal comma and spaces ("1 234,50"), yes/no columns ja/nej/1/0, and choice
columns either the code ("rent") or the Swedish label ("Hyra"). An empty cell of an existing
article keeps its value where the field is required, and clears it where it is optional."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.files.uploadedfile import UploadedFile
from django.db.models import TextChoices
from django.utils import translation
from django.utils.translation import gettext as _

from lyfta.catalogue.models import BillingType, CostClass, DeliveryClass
from lyfta.core import csvsafe

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000

COLUMNS: tuple[str, ...] = (
    "article_number",
    "name",
    "iso_code",
    "supplier",
    "supplier_article_number",
    "billing_type",
    "price_group",
    "monthly_rent",
    "price",
    "tracked",
    "delivery_class",
    "lead_time_days",
    "substitution_group",
    "maintenance_interval_months",
    "warranty_months",
    "cost_class",
    "in_assortment",
)
# Columns a new article cannot do without (the lead time has a default for stock items).
REQUIRED: tuple[str, ...] = (
    "article_number",
    "name",
    "iso_code",
    "supplier",
    "billing_type",
    "tracked",
    "delivery_class",
    "cost_class",
)
# The model field each column fills, where the names differ.
FIELD_OF = {"iso_code": "iso_class"}
COLUMN_OF = {value: key for key, value in FIELD_OF.items()}

# Swedish headings accepted as well, as a spreadsheet user would write them.
ALIASES = {
    "artikelnummer": "article_number",
    "artikelnr": "article_number",
    "benämning": "name",
    "namn": "name",
    "iso": "iso_code",
    "iso_kod": "iso_code",
    "isokod": "iso_code",
    "leverantör": "supplier",
    "leverantörens_artikelnummer": "supplier_article_number",
    "lev_artikelnummer": "supplier_article_number",
    "debiteringstyp": "billing_type",
    "prisgrupp": "price_group",
    "månadshyra": "monthly_rent",
    "hyra": "monthly_rent",
    "pris": "price",
    "individmärkt": "tracked",
    "leveransklass": "delivery_class",
    "leveranstid": "lead_time_days",
    "ersättningsgrupp": "substitution_group",
    "underhållsintervall": "maintenance_interval_months",
    "garantitid": "warranty_months",
    "garanti": "warranty_months",
    "kostnadsansvar": "cost_class",
    "i_sortimentet": "in_assortment",
    "sortiment": "in_assortment",
}

# Shown with the error report so that the column names in a message are understood.
COLUMN_LABELS = {
    "article_number": "artikelnummer",
    "name": "benämning",
    "iso_code": "ISO-kod",
    "supplier": "leverantör",
    "supplier_article_number": "leverantörens artikelnummer",
    "billing_type": "debiteringstyp",
    "price_group": "prisgrupp",
    "monthly_rent": "månadshyra",
    "price": "pris",
    "tracked": "individmärkt",
    "delivery_class": "leveransklass",
    "lead_time_days": "leveranstid",
    "substitution_group": "ersättningsgrupp",
    "maintenance_interval_months": "underhållsintervall",
    "warranty_months": "garantitid",
    "cost_class": "kostnadsansvar",
    "in_assortment": "i sortimentet",
}

TRUE_WORDS = frozenset({"ja", "j", "1", "true", "sant", "yes", "y", "x"})
FALSE_WORDS = frozenset({"nej", "n", "0", "false", "falskt", "no"})
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9]+(?:[.,][0-9]+)?(?:kr|sek|:-)?", re.IGNORECASE)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class RowError:
    """One problem: the file's line number (0 for the file as a whole), the column if one is to
    blame, and the reason in Swedish."""

    line: int
    message: str
    column: str = ""

    @property
    def column_label(self) -> str:
        return COLUMN_LABELS.get(self.column, self.column)


@dataclass
class ImportResult:
    """What an import did, or why it did nothing: with any error, every count is zero."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors if e.line})


@dataclass
class Row:
    """One data row: its first line in the file and its cells by column name (present columns
    only, stripped)."""

    line: int
    cells: dict[str, str]


class CellError(ValueError):
    """A cell that cannot be read; the message is the Swedish reason."""


def read_rows(file: UploadedFile | IO[bytes]) -> tuple[list[Row], list[RowError]]:
    """The data rows of `file`, or the reasons it cannot be read as an article file."""
    name = str(getattr(file, "name", "") or "")
    if name and not name.lower().endswith((".csv", ".txt")):
        return [], [
            RowError(0, _("Filen ska vara en CSV-fil (.csv). Spara kalkylbladet som CSV UTF-8."))
        ]
    size = getattr(file, "size", None)
    if isinstance(size, int) and size > MAX_BYTES:
        return [], [_too_big()]
    raw = file.read(MAX_BYTES + 1)
    if not isinstance(raw, bytes):
        raw = str(raw).encode()
    if len(raw) > MAX_BYTES:
        return [], [_too_big()]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        return [], [
            RowError(
                0,
                _(
                    "Filen innehåller binära data och är ingen CSV-fil. Spara kalkylbladet som "
                    "CSV UTF-8 och försök igen."
                ),
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return [], [
            RowError(
                0,
                _(
                    "Filen är inte UTF-8-kodad. Spara den som ”CSV UTF-8 (kommaavgränsad)” och "
                    "försök igen."
                ),
            )
        ]
    if not text.strip():
        return [], [RowError(0, _("Filen är tom."))]
    return _parse(text)


def _too_big() -> RowError:
    return RowError(
        0,
        _("Filen är för stor (högst %(mb)s MB). Dela upp den i flera filer.")
        % {"mb": MAX_BYTES // (1024 * 1024)},
    )


def _parse(text: str) -> tuple[list[Row], list[RowError]]:
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    header_line = 0
    rows: list[Row] = []
    errors: list[RowError] = []
    previous_end = 0
    try:
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header, problems = _header(cells, line)
                header_line = line
                if problems:
                    return [], problems
                continue
            if len(cells) != len(header):
                errors.append(
                    RowError(
                        line,
                        _("Raden har %(got)s fält men rubrikraden har %(want)s.")
                        % {"got": len(cells), "want": len(header)},
                    )
                )
                continue
            values = {col: cell.strip() for col, cell in zip(header, cells, strict=True) if col}
            formulas = [
                RowError(line, _formula_message(value), col)
                for col, value in values.items()
                if _formula_like(col, value)
            ]
            if formulas:
                errors.extend(formulas)
                continue
            rows.append(Row(line, values))
            if len(rows) > MAX_ROWS:
                return [], [
                    RowError(
                        0,
                        _("Filen har fler än %(max)s artikelrader. Dela upp den i flera filer.")
                        % {"max": MAX_ROWS},
                    )
                ]
    except csv.Error as error:
        return [], [
            RowError(previous_end + 1, _("Raden kan inte läsas som CSV (%(e)s).") % {"e": error})
        ]
    if header is None:
        return [], [RowError(0, _("Filen är tom."))]
    if not rows and not errors:
        return [], [RowError(header_line, _("Filen har en rubrikrad men inga artikelrader."))]
    return rows, errors


def _formula_like(column: str, value: str) -> bool:
    """A cell a spreadsheet could take for a formula (CSV injection), refused rather than stored:
    it would come out live in a later export. A plain number ("-5", "+12,50") in a number column
    is no formula; the column's reader decides whether it is a good value."""
    if not csvsafe.formula_like(value):
        return False
    return not (
        column in (*DECIMALS, *INTEGERS) and _PLAIN_NUMBER.fullmatch(_SPACES.sub("", value))
    )


def _formula_message(value: str) -> str:
    return _(
        "”%(v)s” börjar med ett tecken som ett kalkylprogram läser som en formel (=, +, -, @). "
        "Ta bort tecknet eller skriv texten på ett annat sätt."
    ) % {"v": value[:40]}


def _header(cells: list[str], line: int) -> tuple[list[str], list[RowError]]:
    names = [_column_name(cell) for cell in cells]
    problems: list[RowError] = []
    # An empty heading (a spreadsheet's trailing separator) marks a column that is ignored.
    unknown = [
        cell.strip()
        for cell, name in zip(cells, names, strict=True)
        if name and name not in COLUMNS
    ]
    if unknown:
        problems.append(
            RowError(
                line,
                _("Okända kolumner i rubrikraden: %(cols)s. Tillåtna kolumner: %(allowed)s.")
                % {"cols": ", ".join(unknown), "allowed": ";".join(COLUMNS)},
            )
        )
    twice = sorted({name for name in names if names.count(name) > 1 and name in COLUMNS})
    if twice:
        problems.append(
            RowError(
                line,
                _("Kolumnen %(cols)s förekommer mer än en gång i rubrikraden.")
                % {"cols": ", ".join(twice)},
            )
        )
    if "article_number" not in names and not unknown:
        problems.append(
            RowError(
                line,
                _(
                    "Rubrikraden saknar kolumnen article_number. Första raden ska vara "
                    "rubrikraden: %(allowed)s."
                )
                % {"allowed": ";".join(COLUMNS)},
            )
        )
    return names, problems


def _column_name(cell: str) -> str:
    name = _SPACES.sub("_", cell.strip().lstrip("\ufeff").strip().lower()).replace("-", "_")
    return ALIASES.get(name, name)


# --- Cell readers ---------------------------------------------------------------------------------


def read_decimal(raw: str) -> Decimal | None:
    """An amount in kronor: "1 234,50", "1234.50", "1234,5 kr"; None when empty."""
    text = _SPACES.sub("", raw)
    text = re.sub(r"(?i)(kr|sek|:-)$", "", text)
    if not text:
        return None
    if "," in text and "." in text:
        raise CellError(_("”%(v)s” är inget belopp; skriv till exempel 1 234,50.") % {"v": raw})
    text = text.replace(",", ".")
    if not _AMOUNT.fullmatch(text):
        raise CellError(_("”%(v)s” är inget belopp; skriv till exempel 1 234,50.") % {"v": raw})
    value = Decimal(text)
    try:
        rounded = value.quantize(CENT)
    except InvalidOperation as error:  # more digits than the decimal context holds
        raise CellError(_("”%(v)s” är för stort.") % {"v": raw}) from error
    if rounded != value:
        raise CellError(_("”%(v)s” har fler än två decimaler.") % {"v": raw})
    return rounded


def read_int(raw: str) -> int | None:
    text = _SPACES.sub("", raw)
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise CellError(_("”%(v)s” är inget heltal.") % {"v": raw})
    return int(text)


def read_bool(raw: str) -> bool | None:
    text = raw.strip().lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError(_("”%(v)s” ska vara ja eller nej.") % {"v": raw})


def read_choice(raw: str, choices: type[TextChoices]) -> str | None:
    """The code of a choice given as its code or its Swedish label, in any case."""
    text = raw.strip().casefold()
    if not text:
        return None
    # The file's labels are Swedish whatever language the page is shown in.
    with translation.override("sv"):
        swedish = [(str(value), str(label)) for value, label in choices.choices]
    for value, label in [*swedish, *((str(v), str(lab)) for v, lab in choices.choices)]:
        if text in (value.casefold(), label.casefold()):
            return value
    allowed = ", ".join(str(label) for label in choices.labels)
    raise CellError(
        _("”%(v)s” är inget giltigt värde (ange %(allowed)s).") % {"v": raw, "allowed": allowed}
    )


CHOICES: dict[str, type[TextChoices]] = {
    "billing_type": BillingType,
    "delivery_class": DeliveryClass,
    "cost_class": CostClass,
}
DECIMALS = ("monthly_rent", "price")
INTEGERS = ("lead_time_days", "maintenance_interval_months", "warranty_months")
BOOLEANS = ("tracked", "in_assortment")
TEXTS = ("name", "supplier_article_number", "price_group")


def read_cell(column: str, raw: str) -> Any:
    """The typed value of a plain (non-lookup) column; None for an empty cell."""
    if column in CHOICES:
        return read_choice(raw, CHOICES[column])
    if column in DECIMALS:
        return read_decimal(raw)
    if column in INTEGERS:
        return read_int(raw)
    if column in BOOLEANS:
        return read_bool(raw)
    return raw or None


def template_csv() -> str:
    """A header row and two example rows, for the import page's download."""
    rows = [
        list(COLUMNS),
        [
            "100123",
            "Rollator Exempel, 4 hjul",
            "12 06 06",
            "Rullix AB",
            "RX-4711",
            "Hyra",
            "B2",
            "85,00",
            "",
            "ja",
            "Lagervara",
            "3",
            "Rollatorer standard",
            "",
            "24",
            "Kommunen",
            "ja",
        ],
        [
            "200456",
            "Kryckkäpp Exempel, justerbar",
            "12 03 06",
            "Rullix AB",
            "",
            "Försäljning",
            "",
            "",
            "1 234,50",
            "nej",
            "Högprioriterad lagervara",
            "",
            "",
            "",
            "24",
            "Förskrivande enhet",
            "ja",
        ],
    ]
    out = io.StringIO()
    writer = csvsafe.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()
