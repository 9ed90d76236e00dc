"""Supplies each request's audit context: request id, client address, source and the request
itself (for the session hash). The actor is added by the accounts middleware once it is known."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from lyfta.audit.context import audit_context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_address(request: HttpRequest) -> str:
    """The client's address; X-Forwarded-For is believed only from a configured trusted proxy."""
    remote: str = request.META.get("REMOTE_ADDR", "")
    trusted = settings.LYFTA_TRUSTED_PROXIES
    forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote in trusted and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if hop not in trusted:
                return hop[:45]
    return remote[:45]


def request_id(request: HttpRequest) -> str:
    """A well-formed X-Request-Id from a proxy is kept for correlation (BALP), else a new one."""
    incoming: str = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id(request)
        source = "lyfta-api" if request.path.startswith("/api/") else "lyfta-web"
        with audit_context(
            source_system=source,
            request_id=rid,
            client_address=client_address(request),
            request=request,
            actor=None,
        ):
            response = self.get_response(request)
        response.headers["X-Request-Id"] = rid
        return response
