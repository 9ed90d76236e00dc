"""Failure statistics exported (issue 15 point 5): the spreadsheet and the CSV hold the page's
figures for every group, cells that a spreadsheet would read as formulas are neutralised, bad
input gets a Swedish message and never a 500, and no patient is named anywhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import County, signed_in
from lyfta.quality.tests.stats_world import (
    PATIENT_NAME,
    PATIENT_NUMBER,
    TODAY,
    StatsWorld,
    build,
    deviation,
    stats_of,
)

pytestmark = pytest.mark.django_db

QUERY = {"fran": "2025-06-16", "till": TODAY.isoformat()}


@pytest.fixture
def w(county: County) -> StatsWorld:
    return build(county)


def _csv(response: Any) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def _xlsx(response: Any) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(response.content))


@pytest.mark.parametrize("group", ["article", "supplier", "lot", "unit"])
def test_the_exports_hold_every_group_s_figures(client: Client, w: StatsWorld, group: str) -> None:
    signed_in(client, w.sara)
    found = stats_of(
        actor=w.sara.actor,
        since=dt.date(2025, 6, 16),
        until=TODAY,
        group=group,
        in_use_for_all=True,
    )
    query = {**QUERY, "gruppera": group}
    response = client.get(reverse("quality:stats_csv"), query)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"felstatistik-{group}-20250616-20260615.csv" in response["Content-Disposition"]
    lines = _csv(response)
    header = lines.index(next(line for line in lines if line[1:2] == ["Avvikelser"]))
    body = lines[header + 1 : header + 1 + len(found.rows)]
    for line, row in zip(body, found.rows, strict=True):
        label = row.label if not row.label.startswith("=") else "'" + row.label
        in_use = "" if row.in_use is None else str(row.in_use)
        per_100 = "" if row.per_100 is None else str(row.per_100)
        assert line == [label, str(row.deviations), str(row.repairs), in_use, per_100]
    months = lines[lines.index(["Månad", "Avvikelser", "Reparationer"]) + 1 :]
    assert months == [[f"{m.month:%Y-%m}", str(m.deviations), str(m.repairs)] for m in found.months]

    response = client.get(reverse("quality:stats_xlsx"), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = _xlsx(response)
    assert book.sheetnames == ["Per grupp", "Per månad"]
    sheet = [list(r) for r in book["Per grupp"].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(sheet) if r[1:2] == ["Avvikelser"]) + 1
    for cells, row in zip(sheet[start:], found.rows, strict=True):
        label = row.label if not row.label.startswith("=") else "'" + row.label
        ratio = None if row.per_100 is None else float(row.per_100)
        assert cells == [label, row.deviations, row.repairs, row.in_use, ratio]
    monthly = [list(r) for r in book["Per månad"].iter_rows(values_only=True)][1:]
    assert monthly == [[f"{m.month:%Y-%m}", m.deviations, m.repairs] for m in found.months]


def test_formula_cells_are_neutralised_in_both_exports(client: Client, w: StatsWorld) -> None:
    """A lot "=SUM(A1)" and a supplier "=Selar & Co" come out as text, not as formulas."""
    signed_in(client, w.sara)
    for group, dangerous in (("lot", "=SUM(A1)"), ("supplier", "=Selar & Co")):
        query = {**QUERY, "gruppera": group}
        lines = _csv(client.get(reverse("quality:stats_csv"), query))
        cells = [cell for line in lines for cell in line]
        assert "'" + dangerous in cells and dangerous not in cells
        book = _xlsx(client.get(reverse("quality:stats_xlsx"), query))
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", cell.value
                    assert not (isinstance(cell.value, str) and cell.value.startswith("="))
        values = [c for r in book["Per grupp"].iter_rows(values_only=True) for c in r]
        assert "'" + dangerous in values


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"fran": "2026-13-01"}, "Ange datumet som ÅÅÅÅ-MM-DD."),
        ({"fran": "15/06/2026"}, "Ange datumet som ÅÅÅÅ-MM-DD."),
        ({"till": "0001-01-01"}, "Ange ett datum mellan"),
        ({"fran": "2026-06-15", "till": "2026-06-01"}, "Slutdatumet kan inte vara före"),
        ({"fran": "2000-01-01", "till": "2026-01-01"}, "Välj en period på högst tio år."),
        ({"gruppera": "patient"}, "Välj en gruppering i listan."),
        ({"typ": "'; DROP TABLE x"}, "Välj en typ av avvikelse i listan."),
        ({"iso": "99"}, "Välj en ISO-klass i listan."),
        ({"fran": "٢٠٢٦-٠١-٠١"}, "Ange datumet som ÅÅÅÅ-MM-DD."),
        ({"gruppera": "article\x00"}, ""),
    ],
)
def test_bad_input_gets_a_swedish_message_and_no_500(
    client: Client, w: StatsWorld, query: dict[str, str], message: str
) -> None:
    signed_in(client, w.sara)
    page = client.get(reverse("quality:stats"), query)
    assert page.status_code == 400
    assert message in page.content.decode()
    for name in ("quality:stats_csv", "quality:stats_xlsx"):
        export = client.get(reverse(name), query)
        assert export.status_code == 400
        assert message in export.content.decode()


def test_no_patient_is_named_on_the_page_or_in_the_exports(client: Client, w: StatsWorld) -> None:
    """The world's patient has an adverse event and loans: his name and personnummer appear on no
    page and in no export of the statistics, whatever the grouping."""
    deviation(w, article=w.articles[0], patient=w.items[0].holder, lot=PATIENT_NAME[1])
    signed_in(client, w.sara)
    forbidden = [PATIENT_NAME[0], PATIENT_NUMBER, PATIENT_NUMBER[2:], "19400101-9803"]
    for group in ("article", "supplier", "lot", "unit"):
        query = {**QUERY, "gruppera": group}
        texts = [
            client.get(reverse("quality:stats"), query).content.decode(),
            client.get(reverse("quality:stats_csv"), query).content.decode("utf-8"),
        ]
        book = _xlsx(client.get(reverse("quality:stats_xlsx"), query))
        texts.append(
            " ".join(
                str(c) for s in book.worksheets for r in s.iter_rows(values_only=True) for c in r
            )
        )
        for text in texts:
            for word in forbidden:
                assert word not in text, (group, word)


def test_the_exports_are_refused_to_roles_without_the_statistics(
    client: Client, w: StatsWorld, alice: Any
) -> None:
    signed_in(client, alice)
    for name in ("quality:stats", "quality:stats_csv", "quality:stats_xlsx"):
        assert client.get(reverse(name), QUERY).status_code == 403
    signed_in(client, w.cecilia)
    assert client.get(reverse("quality:stats_xlsx"), QUERY).status_code == 200
