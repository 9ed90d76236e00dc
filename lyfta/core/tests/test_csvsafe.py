"""CSV both ways (issue 12, build 8): every CSV Lyfta writes neutralises cells a spreadsheet would
read as a formula (OWASP: prefix them with a single quote), through the one helper in
`lyfta.core.csvsafe`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from lyfta.core import csvsafe

LYFTA = Path(__file__).resolve().parents[2]
RAW_WRITER = re.compile(
    r"\bcsv\s*\.\s*(writer|DictWriter)\b|\bfrom\s+csv\s+import\b.*\b(writer|DictWriter)\b"
)


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "=", "-"],
)
def test_a_cell_that_starts_like_a_formula_is_written_as_text(value: str) -> None:
    buffer = io.StringIO()
    csvsafe.writer(buffer, delimiter=";").writerow([value, "Hemtjänsten", 12, None])
    [written] = list(csv.reader(io.StringIO(buffer.getvalue()), delimiter=";"))
    assert written == ["'" + value, "Hemtjänsten", "12", ""]


@pytest.mark.parametrize("value", ["Hemtjänsten", "2026-03-01", "08:15", "'=x", " =x", ""])
def test_other_cells_are_written_unchanged(value: str) -> None:
    assert csvsafe.cell(value) == value


def test_a_number_stays_a_number_even_when_negative() -> None:
    """A number is never a formula: a credit of -40.00 kr must reach the financial system as a
    number (issue 14 point 5), while the text "-40" is still neutralised."""
    from decimal import Decimal

    assert csvsafe.cell(Decimal("-40.00")) == "-40.00"
    assert csvsafe.cell(-3) == "-3"
    assert csvsafe.cell(-0.5) == "-0.5"
    assert csvsafe.cell("-40") == "'-40"
    assert csvsafe.cell(True) == "True"


def test_no_csv_is_written_outside_the_safe_writer() -> None:
    """The rule holds by construction: a raw `csv.writer` anywhere in Lyfta fails the build."""
    offenders = [
        f"{path.relative_to(LYFTA)}:{number}"
        for path in sorted(LYFTA.rglob("*.py"))
        if path.name != "csvsafe.py" and "tests" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if RAW_WRITER.search(line)
    ]
    assert offenders == [], "write CSV with lyfta.core.csvsafe.writer"
