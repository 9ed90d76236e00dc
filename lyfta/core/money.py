"""Amounts in kronor as a Swedish reader writes them: `12 400,00 kr`, the thousands grouped with
a no-break space (so that neither the number nor its unit breaks over a line), the decimal
comma, two decimals. Follows the active language: the English pages say `12,400.00 kr`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format

NBSP = "\xa0"


def amount(value: object) -> str:
    """`value` (a Decimal, int, float or numeric string) grouped, with two decimals: `12 400,00`;
    "" for None or "", and the text itself for something that is not a number (never an exception
    in a page)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    return number_format(number, 2, use_l10n=True, force_grouping=True)


def kronor(value: object) -> str:
    """The amount with its unit: `12 400,00 kr`; "" for no amount."""
    text = amount(value)
    return f"{text}{NBSP}kr" if text else ""
