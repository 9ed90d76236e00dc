"""Lyfta's formatting filters: `{% load lyfta_format %}` … `{{ article.price|kronor }}`."""

from __future__ import annotations

from django import template

from lyfta.core.money import kronor as format_kronor

register = template.Library()


@register.filter
def kronor(value: object) -> str:
    """An amount in kronor: `12 400,00 kr` (no-break spaces), or "" for no amount."""
    return format_kronor(value)
