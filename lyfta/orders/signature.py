"""A signature drawn on the driver's phone (the delivery and collection receipts).

The page's script (lyfta/static/lyfta/signature.js) records each stroke of the finger, pen or
mouse as whole-number points in a 1000 × 400 box and posts them as JSON in a hidden field:
`[[x0, y0, x1, y1, …], …]`. Nothing the browser sends is trusted: `parse` accepts only that
shape, within the box and the size limits, and refuses anything else with a Swedish message;
`svg` draws what was accepted, so the markup it returns holds nothing but numbers."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 1000, 400
MAX_CHARS = 40_000  # what the hidden field may carry
MAX_STROKES = 80
MAX_POINTS = 5_000
MIN_POINTS = 8  # a tap or two is not a signature
MIN_EXTENT = 40  # nor is a dot: the strokes must span this much of the box

Strokes = list[list[int]]


def parse(raw: str) -> Strokes:
    """The strokes in `raw`, or ValidationError with what is wrong, in Swedish."""
    if len(raw) > MAX_CHARS:
        raise ValidationError(_("Signaturen är för stor. Rensa och signera igen."))
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:  # RecursionError: "[[[[…" nested deep
        raise ValidationError(_("Signaturen kunde inte läsas. Rensa och signera igen.")) from error
    return validate(data)


def validate(data: object) -> Strokes:
    """`data` checked as strokes: a list of lists of whole numbers in x, y pairs inside the box."""
    unreadable = ValidationError(_("Signaturen kunde inte läsas. Rensa och signera igen."))
    if not isinstance(data, list) or not data or len(data) > MAX_STROKES:
        raise unreadable
    strokes: Strokes = []
    points = 0
    xs: list[int] = []
    ys: list[int] = []
    for stroke in data:
        if not isinstance(stroke, list) or not stroke or len(stroke) % 2:
            raise unreadable
        for value in stroke:
            # bool is an int in Python; true/false are not coordinates.
            if type(value) is not int:
                raise unreadable
        stroke_xs, stroke_ys = stroke[0::2], stroke[1::2]
        if not all(0 <= x <= WIDTH for x in stroke_xs) or not all(
            0 <= y <= HEIGHT for y in stroke_ys
        ):
            raise unreadable
        points += len(stroke_xs)
        if points > MAX_POINTS:
            raise ValidationError(_("Signaturen är för stor. Rensa och signera igen."))
        xs.extend(stroke_xs)
        ys.extend(stroke_ys)
        strokes.append(list(stroke))
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    if points < MIN_POINTS or extent < MIN_EXTENT:
        raise ValidationError(
            _("Signaturen är för kort. Låt mottagaren signera med namnteckning i rutan.")
        )
    return strokes


def svg(strokes: Strokes | None, *, label: str = "") -> SafeString:
    """The signature as inline SVG (validated numbers only), or "" when there is none."""
    if not strokes:
        return mark_safe("")  # noqa: S308 - empty
    lines = []
    for stroke in validate(strokes):
        if len(stroke) == 2:
            stroke = [*stroke, stroke[0] + 1, stroke[1]]  # a dot stays visible
        points = " ".join(f"{x},{y}" for x, y in zip(stroke[0::2], stroke[1::2], strict=True))
        lines.append(f'<polyline points="{points}"/>')
    body = "".join(lines)  # numbers and fixed markup only
    return format_html(
        '<svg class="signature" viewBox="0 0 {} {}" width="250" height="100" role="img" '
        'aria-label="{}" xmlns="http://www.w3.org/2000/svg"><g fill="none" stroke="#111" '
        'stroke-width="5" stroke-linecap="round" stroke-linejoin="round">{}</g></svg>',
        WIDTH,
        HEIGHT,
        label or _("Signatur"),
        mark_safe(body),  # noqa: S308 - built from validated integers above
    )
