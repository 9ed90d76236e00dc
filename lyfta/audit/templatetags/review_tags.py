"""Small template helpers of the log review pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """`{{ labels|lookup:e.patient_id }}`: the value for `key`, or "" when there is none."""
    if not mapping or key is None:
        return ""
    return mapping.get(key, "")
