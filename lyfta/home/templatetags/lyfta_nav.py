"""`{% submenu "stock" section %}`: a section's submenu, with only the pages the actor may open."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from lyfta.home.navigation import holds, submenu_for

register = template.Library()


@register.inclusion_tag("core/_submenu.html", takes_context=True)
def submenu(context: template.Context, name: str, section: str = "") -> dict[str, Any]:
    actor = context.get("actor")
    entries = [] if actor is None else submenu_for(actor, name)
    return {
        "label": name,
        "items": [
            {
                "label": entry.label,
                "url": reverse(entry.url_name),
                "current": bool(section) and entry.section == section,
            }
            for entry in entries
        ],
    }


@register.filter
def may_do(actor: Any, capability: str) -> bool:
    """`{% if actor|may_do:"quality.report" %}`: whether the actor holds a capability (a link to
    another app's page, shown only where its view would let the actor in)."""
    return actor is not None and holds(actor, capability)
