"""Charts for the statistics pages and their PDF versions (issue 17 point 3), drawn on the
server with matplotlib as SVG (docs/decisions/0016-charts.md): no script, no CDN. A chart is
delivered as an image (a data: URI, which the strict CSP allows for images); the table beside
it holds the same numbers, and a text alternative says what it shows."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib
from django.utils import formats
from django.utils.translation import gettext as _

# A Figure made directly (not through pyplot) draws with the SVG canvas: no display, no global
# state shared between requests.
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter

matplotlib.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.size": 10,
        "svg.fonttype": "path",  # glyphs as paths: the same look in the browser and the PDF
        "svg.hashsalt": "lyfta",  # stable element ids: the same chart gives the same SVG
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
BLUE, GREY = "#0b5c74", "#4f5b69"
MAX_BARS = 20


@dataclass(frozen=True)
class Chart:
    uri: str
    description: str
    svg: bytes


def _number(value: float) -> str:
    if float(value).is_integer():
        return formats.number_format(int(value), force_grouping=True)
    return formats.number_format(value, decimal_pos=1, force_grouping=True)


def _render(fig: MplFigure) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode(), svg


def bars(labels: list[str], values: list[float], *, title: str, unit: str) -> Chart:
    """Horizontal bars, largest first as given, at most MAX_BARS (the table has the rest)."""
    labels, values = labels[:MAX_BARS], values[:MAX_BARS]
    height = 0.9 + 0.32 * max(len(labels), 1)
    fig = MplFigure(figsize=(7.2, height), dpi=100)
    ax = fig.subplots()
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=BLUE, height=0.7)
    ax.set_yticks(positions, [lbl if len(lbl) <= 42 else lbl[:41] + "…" for lbl in labels])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _number(v)))
    ax.set_xlabel(unit, color=GREY)
    ax.set_title(title, loc="left", fontsize=11)
    for y, v in zip(positions, values, strict=True):
        ax.text(v, y, " " + _number(v), va="center", fontsize=8, color=GREY)
    uri, svg = _render(fig)
    described = "; ".join(f"{lbl}: {_number(v)}" for lbl, v in zip(labels, values, strict=True))
    description = _("Stapeldiagram, %(title)s (%(unit)s). %(values)s.") % {
        "title": title,
        "unit": unit,
        "values": described or _("inga värden"),
    }
    return Chart(uri, description, svg)


def series(labels: list[str], values: list[float], *, title: str, unit: str) -> Chart:
    """One bar per month, in time order, every few labelled."""
    fig = MplFigure(figsize=(7.2, 2.8), dpi=100)
    ax = fig.subplots()
    positions = list(range(len(labels)))
    ax.bar(positions, values, color=BLUE, width=0.7)
    every = max(1, (len(labels) + 11) // 12)
    ax.set_xticks(positions[::every], labels[::every], rotation=30, ha="right", fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _number(v)))
    ax.set_ylabel(unit, color=GREY)
    ax.set_title(title, loc="left", fontsize=11)
    uri, svg = _render(fig)
    if values:
        low = min(range(len(values)), key=values.__getitem__)
        high = max(range(len(values)), key=values.__getitem__)
        text = _(
            "Stapeldiagram över tid, %(title)s (%(unit)s), %(first)s till %(last)s: lägst "
            "%(low)s (%(low_at)s), högst %(high)s (%(high_at)s)."
        ) % {
            "title": title, "unit": unit, "first": labels[0], "last": labels[-1],
            "low": _number(values[low]), "low_at": labels[low],
            "high": _number(values[high]), "high_at": labels[high],
        }  # fmt: skip
    else:
        text = _("Stapeldiagram över tid, %(title)s: inga värden.") % {"title": title}
    return Chart(uri, text, svg)
