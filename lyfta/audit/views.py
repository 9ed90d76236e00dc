"""Pages that show parts of the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.http import HttpResponse

    from lyfta.core.http import LyftaRequest


def history_template(request: HttpRequest) -> str:
    """The bare panel for an htmx request, the whole page otherwise."""
    return (
        "audit/history_panel.html"
        if request.headers.get("HX-Request")
        else "audit/history_page.html"
    )


def cross_provider(request: LyftaRequest) -> HttpResponse:
    """R43: who from other providers read our data, and whose data our users read."""
    from django.shortcuts import render

    from lyfta.audit.reports import cross_provider_report

    # Only plain digits, and few of them: "²" passes isdigit() but not int() (never a 500).
    days = request.GET.get("dagar", "")
    valid = days.isascii() and days.isdecimal() and len(days) <= 4
    report = cross_provider_report(actor=request.actor, days=int(days) if valid else 30)
    return render(request, "audit/cross_provider.html", {"report": report})
