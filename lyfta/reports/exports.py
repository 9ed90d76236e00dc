"""A figure's exports (issue 17 point 4): a spreadsheet (xlsx), CSV (semicolons, UTF-8 with a
BOM for Excel) and PDF with the chart. Each has every row (the page shows the largest groups),
the filters and the definition; text cells that a spreadsheet could read as a formula are
neutralised (`lyfta.core.csvsafe`)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import override

from lyfta.core import csvsafe
from lyfta.reports.figures import Figure
from lyfta.reports.selectors import Filters, PersonTable, PopulationRow, Table, params_described

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx", "pdf")


def _about(figure: Figure, filters: Filters) -> list[list[object]]:
    """What the table is: its period (a year for the yearly tables), its filters in words, its
    definition and when it was made. The title comes before it in each format."""
    if figure.kind == "facts":
        rows: list[list[object]] = [[_("Period"), f"{filters.first:%Y-%m} – {filters.last:%Y-%m}"]]
    else:
        rows = [[_("År"), str(filters.last.year)]]
    rows += [[label, value] for label, value in params_described(figure, filters.as_params())]
    rows += [
        [_("Definition"), str(figure.definition)],
        [_("Framtagen"), timezone.localtime().strftime("%Y-%m-%d %H:%M")],
    ]
    return rows


def rows_of(figure: Figure, context: dict[str, Any]) -> Iterator[list[object]]:
    """The table as rows of cells: the header first. Hidden (suppressed) cells are empty."""
    if "table" in context:
        table: Table = context["table"]
        yield [table.group_label, *table.columns]
        for row in [*table.all_rows, table.total]:
            yield [row.label, *[_cell(v, k) for v, k in zip(row.values, table.kinds, strict=True)]]
    elif "persons" in context:
        persons: PersonTable = context["persons"]
        header: list[object] = [_("ISO-klass")]
        for label in persons.column_labels:
            header += [f"{label}: {_('personer')}", f"{label}: {_('hjälpmedel')}"]
        yield header
        for _code, label, cells_p, cells_d in persons.rows:
            line: list[object] = [label]
            for p, d in zip(cells_p, cells_d, strict=True):
                line += [p if p is not None else "", d if d is not None else ""]
            yield line
    else:
        population: list[PopulationRow] = context["population"]
        yield [_("Kommun"), _("Personer med hjälpmedel"), _("Invånare"), _("Per 1 000 invånare")]
        for r in population:
            yield [
                r.municipality, r.persons, r.inhabitants or "",
                round(r.per_thousand, 1) if r.per_thousand is not None else "",
            ]  # fmt: skip


def _cell(value: float | int | None, kind: str) -> object:
    if value is None:
        return ""
    if kind in ("pct", "days", "money"):
        return round(float(value), 2 if kind == "money" else 1)
    return value


def _filename(figure: Figure, filters: Filters, suffix: str) -> str:
    return f"{figure.slug}-{filters.first:%Y%m}-{filters.last:%Y%m}.{suffix}"


def _attachment(response: HttpResponse, name: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    response["Cache-Control"] = "private, no-store"
    return response


def respond(figure: Figure, context: dict[str, Any], fmt: str) -> HttpResponse:
    """The export of `figure` as computed in `context` (the page's), in `fmt`."""
    filters: Filters = context["filters"]
    if fmt == "csv":
        text = io.StringIO()
        writer = csvsafe.writer(text, delimiter=";")
        writer.writerows([[str(figure.title)], *_about(figure, filters), []])
        writer.writerows(rows_of(figure, context))
        response = HttpResponse(
            ("\ufeff" + text.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
        )
        return _attachment(response, _filename(figure, filters, "csv"))
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = str(figure.title)[:31].replace("/", "-")
        about: list[list[object]] = [[str(figure.title)], *_about(figure, filters), []]
        for line in [*about, *rows_of(figure, context)]:
            sheet.append([csvsafe.cell(v) if isinstance(v, str) else v for v in line])
        sheet.column_dimensions["A"].width = 48
        buffer = io.BytesIO()
        book.save(buffer)
        return _attachment(HttpResponse(buffer.getvalue(), content_type=XLSX),
                           _filename(figure, filters, "xlsx"))  # fmt: skip
    if fmt == "pdf":
        return _attachment(_pdf(figure, context), _filename(figure, filters, "pdf"))
    raise Http404


_XML_HEAD = re.compile(rb"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?")


def _pdf(figure: Figure, context: dict[str, Any]) -> HttpResponse:
    import weasyprint

    chart = context.get("chart")
    # The drawing (without comments, see charts._render) without its XML head.
    svg = _XML_HEAD.sub(b"", chart.svg()).decode() if chart is not None else ""
    lines = list(rows_of(figure, context))
    with override("sv"):
        html = render_to_string(
            "reports/figure_pdf.html",
            {
                "figure": figure,
                "filters": context["filters"],
                "about": _about(figure, context["filters"]),
                # matplotlib's drawing: its text is drawn as paths, nothing from the data is markup
                "chart_svg": mark_safe(svg),  # noqa: S308
                "description": chart.description if chart is not None else "",
                "header": lines[0],
                "lines": lines[1:],
            },
        )
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    return HttpResponse(pdf, content_type="application/pdf")
