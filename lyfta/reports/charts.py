"""Charts for the statistics pages and their PDF versions (issue 17 point 3), drawn on the
server with matplotlib as SVG (docs/decisions/0016-charts.md): no script, no CDN. On a page a
chart is an image of its own (`/statistik/<figure>/diagram.svg` with the page's filters, drawn
when the browser asks for it and kept by the browser until the next refresh), so the page and
its table never wait for the drawing; the PDF carries the SVG itself. The table beside the
chart holds the same numbers, and a text alternative, written from the numbers without
drawing, says what it shows."""

from __future__ import annotations

import hashlib
import io
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import matplotlib
from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# A Figure made directly (not through pyplot) draws with the SVG canvas: no display, no global
# state shared between requests.
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator

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
    """What a chart shows, and its text alternative; drawn only when asked for: for a wide
    screen and the PDF (`svg()`), or for a phone's width (`svg(narrow=True)`), where the wide
    drawing scaled down to 330 px has text too small to read."""

    kind: str  # "bars" or "series"
    labels: tuple[str, ...]
    values: tuple[float, ...]
    title: str
    unit: str
    description: str

    def key(self, *, narrow: bool = False) -> str:
        """Names the drawing: the same key, the same drawing (for the image's ETag)."""
        said = repr((self.kind, self.labels, self.values, self.title, self.unit, narrow))
        return hashlib.sha256(f"{said}{get_language()}".encode()).hexdigest()[:32]

    def svg(self, *, narrow: bool = False) -> bytes:
        """The drawing. The same numbers draw the same chart: drawn charts are kept (per
        process) until the numbers change, which is at the nightly refresh."""
        language = get_language()  # numbers and "no values" are written in the page's language
        return _drawn(self.kind, self.labels, self.values, self.title, self.unit, narrow, language)


@dataclass(frozen=True)
class _Size:
    width: float  # inches
    font: float  # points
    label: int  # a longer label is cut to this many characters
    per_char: float  # the share of the width a character of a label takes
    ticks: int  # at most this many month labels
    title: int  # a longer title is wrapped at this many characters


WIDE = _Size(7.2, 10, 40, 0.0112, 12, 80)
NARROW = _Size(3.8, 10, 20, 0.0212, 6, 38)


def _number(value: float) -> str:
    if float(value).is_integer():
        return formats.number_format(int(value), force_grouping=True)
    return formats.number_format(value, decimal_pos=1, force_grouping=True)


_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)


def _render(fig: MplFigure) -> bytes:
    """The drawing without its comments: matplotlib writes each label's text in a comment, and
    a label holding "-->" must not end one inside the page or the image (the text itself is
    drawn as paths, so nothing from the data is markup)."""
    buffer = io.BytesIO()
    # Fixed margins (set by each chart), not bbox_inches="tight": that draws the figure twice.
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return _COMMENT.sub(b"", buffer.getvalue())


@lru_cache(maxsize=256)
def _drawn(
    kind: str, labels: tuple[str, ...], values: tuple[float, ...], title: str, unit: str,
    narrow: bool, language: str,
) -> bytes:  # fmt: skip
    del language  # part of the key
    size = NARROW if narrow else WIDE
    draw = _series_drawn if kind == "series" else _bars_drawn
    return _render(draw(labels, values, title, unit, size))


def _titled(fig: MplFigure, title: str, size: _Size, height: float) -> None:
    """The title at the figure's left edge (not the axes', which starts after the labels: a
    long title would run off the drawing), wrapped to its width."""
    fig.suptitle(
        "\n".join(_title_lines(title, size)), x=0.01, y=1 - 0.1 / height, ha="left", va="top",
        fontsize=size.font + 1,
    )  # fmt: skip


def _title_lines(title: str, size: _Size) -> list[str]:
    return textwrap.wrap(title, size.title) or [""]


def _whole(values: tuple[float, ...]) -> bool:
    """Counts only: the axis then has no ticks between whole numbers (no "0,5 personer")."""
    return all(float(v).is_integer() for v in values)


def _empty(title: str, size: _Size) -> MplFigure:
    """Nothing to draw (nothing counted, or every cell hidden): the title and a line saying so,
    not empty axes."""
    lines = len(_title_lines(title, size))
    height = 0.6 + 0.2 * lines
    fig = MplFigure(figsize=(size.width, height), dpi=100)
    fig.subplots_adjust(left=0.01, right=0.98, top=1 - (0.14 + 0.2 * lines) / height, bottom=0.05)
    ax = fig.subplots()
    ax.set_axis_off()
    _titled(fig, title, size, height)
    ax.text(0, 0.5, _("Inga värden att visa."), fontsize=size.font, color=GREY, va="center")
    return fig


def bars(labels: list[str], values: list[float], *, title: str, unit: str) -> Chart:
    """Horizontal bars, largest first as given, at most MAX_BARS (the table has the rest)."""
    shown, numbers = tuple(labels[:MAX_BARS]), tuple(values[:MAX_BARS])
    described = "; ".join(f"{lbl}: {_number(v)}" for lbl, v in zip(shown, numbers, strict=True))
    description = _("Stapeldiagram, %(title)s (%(unit)s). %(values)s.") % {
        "title": title,
        "unit": unit,
        "values": described or _("inga värden"),
    }
    return Chart("bars", shown, numbers, title, unit, description)


def series(labels: list[str], values: list[float], *, title: str, unit: str) -> Chart:
    """One bar per month, in time order, every few labelled."""
    if values:
        # The labels are months: inside a sentence a month takes a small letter.
        said = [lbl[:1].lower() + lbl[1:] for lbl in labels]
        low = min(range(len(values)), key=values.__getitem__)
        high = max(range(len(values)), key=values.__getitem__)
        text = _(
            "Stapeldiagram över tid, %(title)s (%(unit)s), %(first)s till %(last)s: lägst "
            "%(low)s (%(low_at)s), högst %(high)s (%(high_at)s)."
        ) % {
            "title": title, "unit": unit, "first": said[0], "last": said[-1],
            "low": _number(values[low]), "low_at": said[low],
            "high": _number(values[high]), "high_at": said[high],
        }  # fmt: skip
    else:
        text = _("Stapeldiagram över tid, %(title)s: inga värden.") % {"title": title}
    return Chart("series", tuple(labels), tuple(values), title, unit, text)


def _bars_drawn(
    labels: tuple[str, ...], values: tuple[float, ...], title: str, unit: str, size: _Size
) -> MplFigure:
    if not values:
        return _empty(title, size)
    lines = len(_title_lines(title, size))
    height = 0.9 + 0.32 * max(len(labels), 1) + 0.2 * (lines - 1)
    fig = MplFigure(figsize=(size.width, height), dpi=100)
    cut = size.label
    shown = [lbl if len(lbl) <= cut else lbl[: cut - 1] + "…" for lbl in labels]
    longest = max((len(lbl) for lbl in shown), default=4)
    fig.subplots_adjust(
        left=min(0.5, 0.03 + size.per_char * longest), right=0.9,
        top=1 - (0.25 + 0.2 * lines) / height, bottom=0.5 / height,
    )  # fmt: skip
    ax = fig.subplots()
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=BLUE, height=0.7)
    ax.set_yticks(positions, shown, fontsize=size.font)
    ax.tick_params(axis="x", labelsize=size.font)
    if _whole(values):
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _number(v)))
    ax.set_xlabel(unit, color=GREY, fontsize=size.font)
    _titled(fig, title, size, height)
    for y, v in zip(positions, values, strict=True):
        ax.text(v, y, " " + _number(v), va="center", fontsize=size.font - 2, color=GREY)
    return fig


def _series_drawn(
    labels: tuple[str, ...], values: tuple[float, ...], title: str, unit: str, size: _Size
) -> MplFigure:
    if not values:
        return _empty(title, size)
    lines = len(_title_lines(title, size))
    height = 2.8 + 0.2 * (lines - 1)
    fig = MplFigure(figsize=(size.width, height), dpi=100)
    fig.subplots_adjust(
        left=0.8 / size.width, right=0.98, top=1 - (0.14 + 0.2 * lines) / height,
        bottom=0.84 / height,
    )  # fmt: skip
    ax = fig.subplots()
    positions = list(range(len(labels)))
    ax.bar(positions, values, color=BLUE, width=0.7)
    every = max(1, -(-len(labels) // size.ticks))
    ax.set_xticks(
        positions[::every], labels[::every], rotation=30, ha="right", fontsize=size.font - 2
    )
    ax.tick_params(axis="y", labelsize=size.font)
    if _whole(values):
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _number(v)))
    ax.set_ylabel(unit, color=GREY, fontsize=size.font)
    _titled(fig, title, size, height)
    return fig


def warm() -> None:
    """Load matplotlib and its font by drawing an empty chart, untimed, when a server starts."""
    _render(_empty("", NARROW))
