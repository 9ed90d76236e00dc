"""The start page."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lyfta.core.http import LyftaRequest
from lyfta.home.navigation import may_open, navigation_for


@require_GET
def start(request: LyftaRequest) -> HttpResponse:
    """The start page: the actor's work queues, each row a link to where the work is done
    (issue 16); for a log reviewer, the units whose review is overdue and the emergency accesses
    awaiting a verdict (R79, R52); who you are acting as and where you can go from here."""
    from lyfta.home.work import start_queues
    from lyfta.workorders.start import desk_summary

    queues = start_queues(request.actor)
    # The first thing a prescriber does, one press from the start page on a phone too (where
    # the menu is folded away).
    shortcuts = [
        (label, reverse(name))
        for label, name in (
            (_("Mina patienter"), "patients:mine"),
            (_("Sök patient"), "patients:search"),
        )
        if may_open(request.actor, name)
    ]
    context: dict[str, object] = {
        "shortcuts": shortcuts,
        "links": navigation_for(request.actor)[1:],
        "queues": [q for q in queues if q.rows or q.note],
        "quiet": [q for q in queues if not (q.rows or q.note)],
        "desk": desk_summary(request.actor),
    }
    return render(request, "core/start.html", context)
