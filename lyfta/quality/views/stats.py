"""The quality desk's failure statistics (issue 15 point 5): deviations and repairs per article,
supplier, lot or holding unit over a period, as a table, two charts drawn on the server as SVG
(no scripts, no CDN: the CSP allows neither) and exports as a spreadsheet (xlsx) and as CSV.

For the quality role and, for procurement, the catalogue managers. Statistics are aggregates:
no page or export here names a patient."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lyfta.access import rows as access_rows
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.core import csvsafe
from lyfta.core.http import LyftaRequest
from lyfta.quality.forms.stats import GROUP_CHOICES, StatsForm
from lyfta.quality.models import Deviation
from lyfta.quality.selectors import stats as selectors
from lyfta.quality.services import stats as services

BLUE, ORANGE, GREY = "#0b5c74", "#b3471b", "#4f5b69"


# --- Charts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    title: str
    description: str
    body: SafeString


def _bar(x: float, y: float, w: float, h: float, colour: str) -> str:
    if w <= 0 or h <= 0:
        return ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}"/>'


def group_chart(found: selectors.Statistics, group_label: str) -> Chart:
    """One stacked bar per group shown (deviations, then repairs), its label above it: a label
    stays readable when the drawing is scaled down to a phone's width."""
    width, line, bar_h, left = 480, 40, 16, 4
    shown = found.shown
    peak = max([row.failures for row in shown] + [1])
    plot_w = width - left - 50
    parts = []
    for i, row in enumerate(shown):
        top = 6 + i * line
        dev_w = plot_w * row.deviations / peak
        rep_w = plot_w * row.repairs / peak
        label = row.label if len(row.label) <= 50 else row.label[:49] + "…"
        parts.append(
            f"<g><title>{escape(row.label)}: {row.deviations} {escape(_('avvikelser'))}, "
            f"{row.repairs} {escape(_('reparationer'))}</title>"
            f'<text x="{left}" y="{top + 12}" font-size="14" fill="{GREY}">{escape(label)}</text>'
            + _bar(left, top + 16, dev_w, bar_h, BLUE)
            + _bar(left + dev_w, top + 16, rep_w, bar_h, ORANGE)
            + f'<text x="{left + dev_w + rep_w + 4:.1f}" y="{top + 29}" font-size="12" '
            f'fill="{GREY}">{row.failures}</text></g>\n'
        )
    height = max(40, 10 + len(shown) * line)
    description = _(
        "%(groups)s grupper per %(group)s: %(deviations)s avvikelser och %(repairs)s "
        "reparationer. Tabellen nedan har samma siffror."
    ) % {
        "groups": len(shown),
        "group": group_label.lower(),
        "deviations": sum(row.deviations for row in shown),
        "repairs": sum(row.repairs for row in shown),
    }
    return Chart(
        width,
        height,
        _("Avvikelser och reparationer per %(group)s") % {"group": group_label.lower()},
        description,
        mark_safe("".join(parts)),  # noqa: S308 - numbers and escaped text only
    )


def month_chart(found: selectors.Statistics) -> Chart:
    """One stacked bar per month (deviations, then repairs), every few months labelled."""
    width, height, left, bottom, top = 720, 220, 36, 28, 12
    months = found.months
    peak = max([m.deviations + m.repairs for m in months] + [1])
    plot_w, plot_h = width - left - 8, height - bottom - top
    step = plot_w / max(len(months), 1)
    every = max(1, (len(months) + 11) // 12)
    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" '
        f'stroke="#6b7785" stroke-width="1"/>',
        f'<text x="2" y="{top + 10}" font-size="11" fill="{GREY}">{peak}</text>',
    ]
    for i, month in enumerate(months):
        x = left + i * step + step * 0.15
        w = step * 0.7
        dev_h = plot_h * month.deviations / peak
        rep_h = plot_h * month.repairs / peak
        base = top + plot_h
        parts.append(
            f"<g><title>{month.month:%Y-%m}: {month.deviations} {escape(_('avvikelser'))}, "
            f"{month.repairs} {escape(_('reparationer'))}</title>"
            + _bar(x, base - dev_h, w, dev_h, BLUE)
            + _bar(x, base - dev_h - rep_h, w, rep_h, ORANGE)
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 8}" font-size="10" fill="{GREY}">'
                f"{month.month:%Y-%m}</text>"
            )
        parts.append("</g>\n")
    description = _(
        "%(months)s månader från %(first)s till %(last)s: %(deviations)s avvikelser och "
        "%(repairs)s reparationer. Tabellen per månad nedan har samma siffror."
    ) % {
        "months": len(months),
        "first": f"{months[0].month:%Y-%m}" if months else "",
        "last": f"{months[-1].month:%Y-%m}" if months else "",
        "deviations": sum(m.deviations for m in months),
        "repairs": sum(m.repairs for m in months),
    }
    return Chart(
        width,
        height,
        _("Avvikelser och reparationer per månad"),
        description,
        mark_safe("".join(parts)),  # noqa: S308 - numbers and escaped text only
    )


# --- The page and its exports --------------------------------------------------------------


def _statistics(
    request: LyftaRequest, *, for_export: bool = False
) -> tuple[StatsForm, selectors.Statistics | None]:
    if not access_rows.may_see_failure_statistics(request.actor):
        require(request.actor, Cap.QUALITY_MANAGE)
    form = StatsForm(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    counted_at = services.in_use_counted_at(actor=request.actor)
    found = selectors.failure_statistics(
        actor=request.actor,
        since=data["fran"],
        until=data["till"],
        group=data["gruppera"],
        kind=data.get("typ") or "",
        iso=data.get("iso") or "",
        in_use_at=counted_at,
        in_use_for_all=for_export,
    )
    return form, found


def _group_label(group: str) -> str:
    return str(dict(GROUP_CHOICES)[group])


def _kind_label(kind: str) -> str:
    return str(dict(Deviation.Kind.choices).get(kind, "")) if kind else _("Alla typer")


@require_GET
def statistics(request: LyftaRequest) -> HttpResponse:
    """The statistics page: the filters, the charts, the table per group and per month."""
    form, found = _statistics(request)
    context: dict[str, Any] = {"form": form, "stats": found}
    if found is not None:
        label = _group_label(found.group)
        context.update(
            group_label=label,
            kind_label=_kind_label(found.kind),
            group_chart=group_chart(found, label),
            month_chart=month_chart(found),
            query=request.GET.urlencode(),
        )
    return render(request, "quality/stats/statistics.html", context, status=200 if found else 400)


def _header(found: selectors.Statistics) -> list[object]:
    return [
        _group_label(found.group),
        _("Avvikelser"),
        _("Reparationer"),
        _("I bruk i dag"),
        _("Fel per 100 i bruk"),
    ]


def _table(found: selectors.Statistics) -> Iterator[list[object]]:
    for row in found.rows:
        yield [row.label, row.deviations, row.repairs, row.in_use, row.per_100]


def _months(found: selectors.Statistics) -> Iterator[list[object]]:
    for month in found.months:
        yield [f"{month.month:%Y-%m}", month.deviations, month.repairs]


def _about(found: selectors.Statistics) -> list[list[object]]:
    return [
        [_("Felstatistik")],
        [_("Period"), f"{found.since.isoformat()} – {found.until.isoformat()}"],
        [_("Gruppering"), _group_label(found.group)],
        [_("Typ av avvikelse"), _kind_label(found.kind)],
        [_("ISO-klass"), found.iso or _("Alla klasser")],
        [_("Framtagen"), timezone.localtime().strftime("%Y-%m-%d %H:%M")],
        [],
    ]


def _filename(found: selectors.Statistics, suffix: str) -> str:
    return f"felstatistik-{found.group}-{found.since:%Y%m%d}-{found.until:%Y%m%d}.{suffix}"


def _invalid(form: StatsForm) -> HttpResponse:
    problems = [str(message) for errors in form.errors.values() for message in errors]
    return HttpResponse("\n".join(problems), status=400, content_type="text/plain; charset=utf-8")


@require_GET
def statistics_csv(request: LyftaRequest) -> HttpResponse:
    """The statistics as CSV (semicolons, UTF-8 with BOM for Excel), every group, every cell
    that a spreadsheet could read as a formula neutralised."""
    form, found = _statistics(request, for_export=True)
    if found is None:
        return _invalid(form)
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer, delimiter=";")
    writer.writerows(_about(found))
    writer.writerow(_header(found))
    writer.writerows(_table(found))
    writer.writerow([])
    writer.writerow([_("Månad"), _("Avvikelser"), _("Reparationer")])
    writer.writerows(_months(found))
    response = HttpResponse(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(found, "csv")}"'
    return response


def _sheet_rows(sheet: Any, values: Iterable[list[object]]) -> None:
    for row in values:
        sheet.append([csvsafe.cell(v) if isinstance(v, str) else v for v in row])


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@require_GET
def statistics_xlsx(request: LyftaRequest) -> HttpResponse:
    """The statistics as a spreadsheet: one sheet per group with the devices in use and the
    failures per 100, one per month. Text cells go in as text; one that starts like a formula
    is neutralised as in the CSV."""
    from openpyxl import Workbook

    form, found = _statistics(request, for_export=True)
    if found is None:
        return _invalid(form)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Per grupp")
    _sheet_rows(sheet, _about(found))
    _sheet_rows(sheet, [_header(found)])
    for row in _table(found):
        sheet.append(
            [
                csvsafe.cell(row[0]),
                row[1],
                row[2],
                row[3],
                None if row[4] is None else float(row[4]),  # type: ignore[arg-type]
            ]
        )
    sheet.column_dimensions["A"].width = 48
    months = book.create_sheet(_("Per månad"))
    _sheet_rows(months, [[_("Månad"), _("Avvikelser"), _("Reparationer")]])
    _sheet_rows(months, _months(found))
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_filename(found, "xlsx")}"'
    return response


urlpatterns: list[URLPattern | URLResolver] = [
    path("statistik/", statistics, name="stats"),
    path("statistik/felstatistik.csv", statistics_csv, name="stats_csv"),
    path("statistik/felstatistik.xlsx", statistics_xlsx, name="stats_xlsx"),
]
