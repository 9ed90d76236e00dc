"""Every error of the API as RFC 9457 problem details (`application/problem+json`), never a
server error for bad input: a body that is not JSON, wrong types, numbers beyond a column's
range, NUL bytes. Refusals are recorded (R38) as the pages record them: the code that refuses
records its reason; a 404 or 403 nobody recorded is recorded here with the route and ids, as
`DenialMiddleware` does for the pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestInvalid
from pydantic import Field

from lyfta.audit import context
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record

logger = logging.getLogger("lyfta.api")

PROBLEM_JSON = "application/problem+json"
# Problem types beyond the plain HTTP status (RFC 9457 §3.1.1): URNs, named in docs/api.md.
OVER_ISO_LIMIT = "urn:lyfta:problem:over-iso-limit"
PRECONDITION = "urn:lyfta:problem:precondition"
RATE_LIMITED = "urn:lyfta:problem:rate-limited"
INVALID = "urn:lyfta:problem:invalid"
SCOPE = "urn:lyfta:problem:scope"


class FieldProblem(Schema):
    """One invalid part of a request: where (`loc`, as pydantic names it) and what is wrong.
    The value sent is never echoed: it may be a personnummer."""

    loc: list[str | int] = Field(default_factory=list)
    msg: str


class Problem(Schema):
    """RFC 9457 problem details. `errors` lists the invalid fields of a 422; `over_limit` the ISO
    classes of an order that needs `over_limit_reason` (409)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[FieldProblem] = Field(default_factory=list)
    over_limit: list[dict[str, Any]] = Field(default_factory=list)


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class PreconditionFailed(Exception):
    """If-Match does not name the resource's current ETag (412), or is missing (428)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ScopeMissing(PermissionDenied):
    """The client's token does not hold the scope the operation needs (already recorded)."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def problem(
    request: HttpRequest | None,
    status: int,
    detail: str = "",
    *,
    type_: str = "about:blank",
    **extensions: Any,
) -> HttpResponse:
    """A problem+json response. `instance` names the request (its X-Request-Id), so that a
    client's report can be matched to the audit log."""
    body: dict[str, Any] = {
        "type": type_,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    request_id = context.current().request_id
    if request_id:
        body["instance"] = f"urn:lyfta:request:{request_id}"
    body.update({key: value for key, value in extensions.items() if value})
    return HttpResponse(orjson.dumps(body), status=status, content_type=PROBLEM_JSON)


def record_refusal(request: HttpRequest, reason: str) -> None:
    """A 404 or 403 that no code recorded: recorded with the route and the ids asked for (R38),
    when a client is known (an unauthenticated call names no one)."""
    actor = getattr(request, "actor", None)
    if actor is None or getattr(request, "_lyfta_denial_recorded", False):
        return
    match = request.resolver_match
    kwargs = match.kwargs if match is not None else {}
    ids = ",".join(f"{key}={value}" for key, value in sorted(kwargs.items()))
    patient_id = kwargs.get("patient_id")
    try:
        patient = int(patient_id) if patient_id is not None else None
    except (TypeError, ValueError):
        patient = None
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        patient_id=patient if patient is not None and 0 < patient < 2**63 else None,
        resource_type=(match.view_name if match is not None else request.path)[:64],
        resource_id=ids[:64],
        detail={"reason": reason, "method": request.method or ""},
    )


def _invalid(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
    errors = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors[:50]
        if isinstance(error, dict)
    ]
    return problem(request, 422, _("Anropet har ogiltiga värden."), type_=INVALID, errors=errors)


def _django_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # The domain's own errors are imported where they are answered: the wiring imports no
    # domain app at its top, so that any app's api module may import it.
    from lyfta.orders.services import OverIsoLimit

    if isinstance(exc, OverIsoLimit):
        return problem(
            request,
            409,
            " ".join(exc.messages),
            type_=OVER_ISO_LIMIT,
            over_limit=[
                {"iso_class": e.code, "name": e.name, "held": e.held, "ordered": e.ordered}
                for e in exc.excess
            ],
        )
    if hasattr(exc, "error_dict"):
        errors = [
            {"loc": ["body", field], "msg": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"loc": ["body"], "msg": message} for message in exc.messages]
    detail = " ".join(str(e["msg"]) for e in errors)
    return problem(request, 422, detail, type_=INVALID, errors=errors)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        response = problem(request, 401, _("Ange en giltig nyckel: Authorization: Bearer …"))
        response["WWW-Authenticate"] = 'Bearer realm="lyfta"'
        return response
    if exc.status_code == 404:
        record_refusal(request, "not_found")
    return problem(request, exc.status_code, _("Anropet kunde inte tolkas."))


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    record_refusal(request, "not_found")
    return problem(request, 404, _("Finns inte, eller så saknar klienten behörighet."))


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    from lyfta.access.refusals import Refused

    if isinstance(exc, ScopeMissing):
        return problem(
            request,
            403,
            _("Klientens nyckel saknar behörigheten %(scope)s.") % {"scope": exc.scope},
            type_=SCOPE,
        )
    record_refusal(request, "forbidden")
    detail = exc.user_message if isinstance(exc, Refused) else ""
    return problem(request, 403, detail or _("Klienten har inte behörighet att göra det här."))


def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = problem(
        request,
        429,
        _("Klienten har gjort för många anrop. Försök igen om %(s)d sekunder.")
        % {"s": exc.retry_after},
        type_=RATE_LIMITED,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _precondition(request: HttpRequest, exc: Any) -> HttpResponse:
    detail = (
        _("Ange If-Match med den ETag som resursen hade när den lästes.")
        if exc.status == 428
        else _("Resursen har ändrats sedan den lästes. Läs den igen.")
    )
    return problem(request, exc.status, detail, type_=PRECONDITION)


def _bad_request(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem(request, 400, _("Anropet kunde inte tolkas."))


def _unreadable_body(request: HttpRequest, exc: Any) -> HttpResponse:
    """A body sent as a form (multipart or urlencoded) where the API reads JSON: Django has
    read it as a form already, and the JSON parser cannot have it again."""
    return problem(request, 415, _("Skicka kroppen som JSON: Content-Type: application/json."))


def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API call failed: %s %s", request.method, request.path)
    from django.core.signals import got_request_exception

    # As Django does for a page's exception, so that error reporting sees it too.
    got_request_exception.send(sender=None, request=request)
    return problem(request, 500, _("Ett internt fel inträffade."))


Handler = Callable[[HttpRequest, Any], HttpResponse]
HANDLERS: list[tuple[type[Exception], Handler]] = [
    (Exception, _server_error),
    (Http404, _not_found),
    (ObjectDoesNotExist, _not_found),
    (HttpError, _http_error),
    (RequestInvalid, _invalid),
    (ValidationError, _django_invalid),
    (PermissionDenied, _forbidden),
    (RateLimited, _rate_limited),
    (PreconditionFailed, _precondition),
    (SuspiciousOperation, _bad_request),
    (UnicodeError, _bad_request),
    (RawPostDataException, _unreadable_body),
]


def install(api: NinjaAPI) -> None:
    """Put the handlers above in place of django-ninja's (which answer plain JSON, and a bare
    Django 500 for an unexpected exception)."""
    for exception, handler in HANDLERS:
        api.add_exception_handler(exception, handler)
