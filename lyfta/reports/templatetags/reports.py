"""Showing a figure's values: counts with grouping, shares in percent, days with a decimal,
kronor with öre; a hidden (suppressed) or empty value as a dash."""

from __future__ import annotations

from typing import Any

from django import template

from lyfta.reports.services.subscriptions import format_value

register = template.Library()


@register.filter
def figure_value(value: float | int | None, kind: str) -> str:
    return format_value(value, kind)


@register.filter
def cells(values: list[float | int | None], table: Any) -> list[tuple[str, str]]:
    """A row's values shown, each with its column's label (for the phone layout's labels)."""
    return [
        (format_value(v, kind), label)
        for v, kind, label in zip(values, table.kinds, table.columns, strict=False)
    ]
