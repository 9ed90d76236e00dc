"""Charts for the statistics pages and their PDF versions (issue 17 point 3), drawn on the
server with matplotlib as SVG (docs/decisions/0016-charts.md): no script, no CDN. A chart is
delivered as an image (a data: URI, which the strict CSP allows for images); the table beside
it holds the same numbers, and a text alternative says what it shows."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import lru_cache

import matplotlib
from django.utils import formats
from django.utils.translation import get_language
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
    # Fixed margins (set by each chart), not bbox_inches="tight": that draws the figure twice.
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode(), svg


def bars(labels: list[str], values: list[float], *, title: str, unit: str) -> Chart:
    """Horizontal bars, largest first as given, at most MAX_BARS (the table has the rest). The
    same numbers draw the same chart: drawn charts are kept (per process) until the numbers
    change, which is at the nightly refresh."""
    return _bars(tuple(labels[:MAX_BARS]), tuple(values[:MAX_BARS]), title, unit, get_language())


def series(labels: list[str], values: list[float], *, title: str, unit: str) -> Chart:
    """One bar per month, in time order, every few labelled (kept like `bars`)."""
    return _series(tuple(labels), tuple(values), title, unit, get_language())


@lru_cache(maxsize=256)
def _bars(
    labels: tuple[str, ...], values: tuple[float, ...], title: str, unit: str, language: str
) -> Chart:
    del language  # part of the key: the description is in the page's language
    height = 0.9 + 0.32 * max(len(labels), 1)
    fig = MplFigure(figsize=(7.2, height), dpi=100)
    shown = [lbl if len(lbl) <= 40 else lbl[:39] + "…" for lbl in labels]
    longest = max((len(lbl) for lbl in shown), default=4)
    fig.subplots_adjust(
        left=min(0.5, 0.03 + 0.0112 * longest), right=0.9, top=1 - 0.45 / height,
        bottom=0.5 / height,
    )  # fmt: skip
    ax = fig.subplots()
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=BLUE, height=0.7)
    ax.set_yticks(positions, shown)
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


@lru_cache(maxsize=256)
def _series(
    labels: tuple[str, ...], values: tuple[float, ...], title: str, unit: str, language: str
) -> Chart:
    del language
    fig = MplFigure(figsize=(7.2, 2.8), dpi=100)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.88, bottom=0.3)
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
