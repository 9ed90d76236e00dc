"""The history panel's template: the recorder's own rows, shown on the pages of the apps whose
objects they describe (each app's selector checks who may see them)."""

from __future__ import annotations

from django.http import HttpRequest


def history_template(request: HttpRequest) -> str:
    """The bare panel for an htmx request, the whole page otherwise."""
    return (
        "audit/history_panel.html"
        if request.headers.get("HX-Request")
        else "audit/history_page.html"
    )
