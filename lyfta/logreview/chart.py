"""A bar chart of accesses per day, drawn on the server as SVG (no scripts, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from lyfta.logreview.review import DayCount

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 200, 36, 28, 10


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    flagged_y: float
    flagged_height: float
    label: str
    title: str
    show_label: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    max_value: int
    baseline: float
    total: int
    flagged: int

    @property
    def bars_svg(self) -> SafeString:
        """The bars as SVG markup, made here rather than in a template loop: a year is 365 bars,
        and the template engine took longer over them than the page's queries (issue 19)."""
        label_y = self.height - 8
        parts = []
        for bar in self.bars:
            parts.append(
                f'<g><title>{escape(bar.title)}</title><rect x="{bar.x}" y="{bar.y}" '
                f'width="{bar.width}" height="{bar.height}" fill="#0b5c74"/>'
            )
            if bar.flagged_height:
                parts.append(
                    f'<rect x="{bar.x}" y="{bar.flagged_y}" width="{bar.width}" '
                    f'height="{bar.flagged_height}" fill="#b3471b"/>'
                )
            if bar.show_label:
                parts.append(
                    f'<text x="{bar.x}" y="{label_y}" font-size="10" fill="#4f5b69">'
                    f"{escape(bar.label)}</text>"
                )
            parts.append("</g>\n")
        return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only


def chart(days: list[DayCount]) -> Chart:
    """Positions for one bar per day: its height is the day's accesses, and the part a targeted
    check flags is drawn in a warning colour on top, so anomalies stand out at a glance."""
    peak = max([d.accesses for d in days] + [1])
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(days), 1)
    every = max(1, len(days) // 10)
    bars = []
    for i, day in enumerate(days):
        h = plot_h * day.accesses / peak
        fh = plot_h * day.flagged / peak
        y = PAD_TOP + plot_h - h
        bars.append(
            Bar(
                x=round(PAD_LEFT + i * step + step * 0.1, 2),
                width=round(step * 0.8, 2),
                y=round(y, 2),
                height=round(h, 2),
                flagged_y=round(y, 2),
                flagged_height=round(fh, 2),
                label=day.day.strftime("%d/%m"),
                title=f"{day.day:%Y-%m-%d}: {day.accesses} ({day.flagged})",
                show_label=i % every == 0,
            )
        )
    return Chart(
        WIDTH,
        HEIGHT,
        bars,
        peak,
        PAD_TOP + plot_h,
        sum(d.accesses for d in days),
        sum(d.flagged for d in days),
    )
