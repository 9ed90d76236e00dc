"""Browser helpers for the signature pad of the delivery and collection receipts."""

from __future__ import annotations

from typing import Any


def draw_signature(page: Any, scope: str = "") -> None:
    """Draw a signature on the first pad in `scope` with the mouse (pointer events, as a finger
    on a phone gives them): two strokes across the box."""
    canvas = page.locator(f"{scope} [data-signature-canvas]".strip()).first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    for stroke in (
        [(0.1, 0.7), (0.2, 0.3), (0.3, 0.7), (0.4, 0.3), (0.45, 0.6)],
        [(0.55, 0.5), (0.65, 0.35), (0.75, 0.6), (0.9, 0.4)],
    ):
        page.mouse.move(x + w * stroke[0][0], y + h * stroke[0][1])
        page.mouse.down()
        for px, py in stroke[1:]:
            page.mouse.move(x + w * px, y + h * py, steps=6)
        page.mouse.up()
