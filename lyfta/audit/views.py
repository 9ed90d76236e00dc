"""Helpers for pages that show parts of the audit trail."""

from django.http import HttpRequest


def history_template(request: HttpRequest) -> str:
    """The bare panel for an htmx request, the whole page otherwise."""
    return (
        "audit/history_panel.html"
        if request.headers.get("HX-Request")
        else "audit/history_page.html"
    )
