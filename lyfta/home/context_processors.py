"""What every page's shell shows: the actor, the active unit and role, and the navigation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from lyfta.home.navigation import navigation_for


def shell(request: HttpRequest) -> dict[str, Any]:
    actor = getattr(request, "actor", None)
    if actor is None or actor.user is None:
        return {"actor": None, "nav_items": []}
    from lyfta.home.work import CAP, menu_counts

    counts = menu_counts(actor)
    found = []
    for label, name in navigation_for(actor):
        url = reverse(name)
        here = request.path == url if url == "/" else request.path.startswith(url)
        found.append((label, name, url, here))
    # One entry is current: the longest that matches (Mina patienter, not also Patienter).
    longest = max((len(url) for _label, _name, url, here in found if here), default=0)
    items = []
    for label, name, url, here in found:
        count = counts.get(name, 0)
        shown = f"{CAP}+" if count > CAP else str(count) if count else ""
        current = here and len(url) == longest
        items.append({"label": label, "url": url, "current": current, "count": shown, "name": name})
    return {
        "actor": actor,
        "nav_items": items,
        "idle_timeout": settings.LYFTA_IDLE_TIMEOUT,
        "idle_warning": settings.LYFTA_IDLE_WARNING,
    }
