"""Supplies each request's audit context: request id, client address, source and the request
itself (for the session hash). The actor is added by the accounts middleware once it is known."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

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
        # The FHIR endpoint is the API's too: the same machine clients and tokens.
        machine = request.path.startswith(("/api/", "/fhir/"))
        source = "lyfta-api" if machine else "lyfta-web"
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


class DenialMiddleware:
    """Every 404 or 403 on a URL that names an object (a patient, an order, an item, a review
    check, a log extract…) is a refusal, recorded with the route and the ids asked for (R38),
    unless the code that refused has already recorded it with its reason. Missing and not
    allowed look the same to the user and to this record; the reviewer tells them apart."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if not isinstance(exception, Http404 | PermissionDenied):
            return
        actor = getattr(request, "actor", None)
        match = request.resolver_match
        if actor is None or actor.user is None or match is None or not match.kwargs:
            return
        if getattr(request, "_lyfta_denial_recorded", False):
            return
        from lyfta.audit.actions import Action
        from lyfta.audit.models import Outcome
        from lyfta.audit.services import record

        ids = ",".join(f"{key}={value}" for key, value in sorted(match.kwargs.items()))
        patient_id = match.kwargs.get("patient_id")
        record(
            action=Action.ACCESS_DENIED,
            actor=actor,
            outcome=Outcome.DENIED,
            patient_id=patient_id
            if isinstance(patient_id, int) and 0 < patient_id < 2**63
            else None,
            resource_type=match.view_name[:64],
            resource_id=ids[:64],
            detail={
                "reason": "forbidden" if isinstance(exception, PermissionDenied) else "not_found",
                "method": request.method or "",
            },
        )
