"""FHIR R5 under /fhir/ (issue 18 point 2): the API's machine clients read devices, a patient's
holdings, order lines and deliveries as FHIR resources.

A call authenticates exactly as an API call (lyfta.api.auth: the same bearer token, rate limit
and actor), needs the API scope for the same data (catalogue:read, holdings:read, orders:read),
and reads through the same selectors and access layer, which record every read of patient data
with the client's identity. Every answer is `application/fhir+json`; every error an
OperationOutcome (400 bad search, 401, 403, 404, 405, 406, 429), never a server error for bad
input. A personnummer never goes in a URL (R60, as in the API): a search by one is a
POST [type]/_search with the parameters in a form body."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

import orjson
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from lyfta.access.actor import Actor
from lyfta.accounts.models import ApiScope
from lyfta.api.auth import MAX_TOKEN, ClientToken, acting, session_ref
from lyfta.api.errors import RateLimited, ScopeMissing, record_refusal
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record
from lyfta.fhir import resources, selectors
from lyfta.patients import selectors as patients

logger = logging.getLogger("lyfta.fhir")

JSON = dict[str, Any]
MAX_ID = 2**63 - 1
# The values of _format that mean JSON (FHIR's shorthands and the MIME types).
JSON_FORMATS = {"json", "application/json", "application/fhir+json"}
# Parameters every search takes (and ignores beyond checking them).
COMMON = {"_format"}
# The scope each resource type needs: the API's scope for the same data.
SCOPES = {
    "DeviceAssociation": ApiScope.HOLDINGS_READ,
    "Device": ApiScope.HOLDINGS_READ,
    "Patient": ApiScope.HOLDINGS_READ,
    "DeviceDefinition": ApiScope.CATALOGUE_READ,
    "DeviceRequest": ApiScope.ORDERS_READ,
    "DeviceDispense": ApiScope.ORDERS_READ,
}
# Parameters that carry a personnummer: refused in a URL's query string.
IDENTIFYING = {"patient.identifier", "subject.identifier", "identifier"}
_ID = re.compile(r"[0-9]{1,19}")
_PATIENT_REF = re.compile(r"(?:Patient/)?([0-9]{1,19})")
_DEVICE_REF = re.compile(r"(?:Device/)?([0-9]{1,19})")


class BadSearch(Exception):
    """A search FHIR-wise malformed or not offered: 400 with the reason."""


class Answer(Exception):
    """An OperationOutcome to answer with at once."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics


def fhir_response(body: JSON, status: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(body),
        status=status,
        content_type=f"{resources.FHIR_JSON}; charset=utf-8",
    )


def outcome(status: int, code: str, diagnostics: str) -> HttpResponse:
    return fhir_response(resources.operation_outcome(code, diagnostics), status)


def _unauthorized() -> HttpResponse:
    response = outcome(401, "login", _("Ange en giltig nyckel: Authorization: Bearer …"))
    response["WWW-Authenticate"] = 'Bearer realm="lyfta"'
    return response


def _authenticate(request: HttpRequest) -> bool:
    """As django-ninja's HttpBearer does for the API: the client becomes `request.auth`, its actor
    `request.actor` (ClientToken counts the call against the rate limit)."""
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > MAX_TOKEN:
        return False
    client = ClientToken().authenticate(request, token.strip())
    if client is None:
        return False
    request.auth = client  # type: ignore[attr-defined]
    return True


def _check_format(request: HttpRequest) -> None:
    for value in request.GET.getlist("_format"):
        if value.strip().lower() not in JSON_FORMATS:
            raise Answer(406, "not-supported", _("Bara JSON: _format=json."))


View = Callable[..., JSON]


def fhir_endpoint(
    *, methods: tuple[str, ...] = ("GET",), authenticated: bool = True
) -> Callable[[View], Callable[..., HttpResponse]]:
    """Wrap a view that returns a resource: the method, `_format`, the token, and every error as
    an OperationOutcome. Refusals nobody recorded are recorded with the route (R38), as the API
    records them."""

    def decorate(view: View) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = outcome(405, "not-supported", _("Metoden stöds inte här."))
                response["Allow"] = ", ".join(methods)
                return response
            try:
                _check_format(request)
                if authenticated and not _authenticate(request):
                    return _unauthorized()
                return fhir_response(view(request, **kwargs))
            except Answer as exc:
                return outcome(exc.status, exc.code, exc.diagnostics)
            except BadSearch as exc:
                return outcome(400, "invalid", str(exc))
            except ValidationError as exc:
                return outcome(400, "invalid", " ".join(exc.messages))
            except RateLimited as exc:
                response = outcome(
                    429,
                    "throttled",
                    _("Klienten har gjort för många anrop. Försök igen om %(s)d sekunder.")
                    % {"s": exc.retry_after},
                )
                response["Retry-After"] = str(exc.retry_after)
                return response
            except ScopeMissing as exc:
                return outcome(
                    403,
                    "forbidden",
                    _("Klientens nyckel saknar behörigheten %(scope)s.") % {"scope": exc.scope},
                )
            except (Http404, ObjectDoesNotExist):
                record_refusal(request, "not_found")
                return outcome(
                    404, "not-found", _("Finns inte, eller så saknar klienten behörighet.")
                )
            except PermissionDenied:
                record_refusal(request, "forbidden")
                return outcome(
                    403, "forbidden", _("Klienten har inte behörighet att göra det här.")
                )
            except Exception:
                logger.exception("FHIR call failed: %s %s", request.method, request.path)
                from django.core.signals import got_request_exception

                got_request_exception.send(sender=None, request=request)
                return outcome(500, "exception", _("Ett internt fel inträffade."))

        return wrapper

    return decorate


# --- Parameters -----------------------------------------------------------------------------------


def _params(request: HttpRequest, kind: str) -> QueryDict:
    """The search's parameters: the query string, and for POST _search the form body too. A
    parameter this server does not offer for `kind` is refused (400), as is a personnummer in a
    URL."""
    params = request.GET.copy()
    for name in params:
        if name in IDENTIFYING and (kind == "Patient" or name != "identifier"):
            raise BadSearch(
                _(
                    "Personnummer skickas aldrig i en URL: sök med POST %(kind)s/_search och "
                    "parametrarna i anropets kropp."
                )
                % {"kind": kind}
            )
    if request.method == "POST":
        content_type = request.content_type or ""
        if content_type != "application/x-www-form-urlencoded":
            raise BadSearch(
                _("POST _search tar parametrarna som application/x-www-form-urlencoded.")
            )
        for name, values in request.POST.lists():
            params.setlist(name, params.getlist(name) + values)
    offered = {name for name, _kind, _doc in resources.SEARCHES[kind]} | COMMON
    for name, values in params.lists():
        if name not in offered:
            raise BadSearch(_("Sökparametern %(name)s stöds inte.") % {"name": name[:60]})
        if name not in COMMON and len(values) != 1:
            raise BadSearch(_("Ange %(name)s en gång.") % {"name": name})
    return params


def _one(params: QueryDict, *names: str) -> tuple[str, str] | None:
    """The one search among `names` that was given (name, value), or None; two at once is a 400."""
    given = [(name, str(params.get(name, ""))) for name in names if name in params]
    if len(given) > 1:
        raise BadSearch(_("Ange bara en av %(names)s.") % {"names": ", ".join(names)})
    if given and not given[0][1].strip():
        raise BadSearch(_("Sökparametern %(name)s är tom.") % {"name": given[0][0]})
    return given[0] if given else None


def _required(params: QueryDict, *names: str) -> tuple[str, str]:
    found = _one(params, *names)
    if found is None:
        raise BadSearch(_("Ange en av %(names)s.") % {"names": ", ".join(names)})
    return found


def _ref_id(value: str, pattern: re.Pattern[str], what: str) -> int:
    match = pattern.fullmatch(value.strip())
    if match is None or not 0 < int(match[1]) <= MAX_ID:
        raise BadSearch(_("Ogiltig referens till %(what)s.") % {"what": what})
    return int(match[1])


def _token(value: str, systems: frozenset[str] | None) -> str:
    """The value of a token search `[system|]value`; a system not in `systems` is a 400."""
    system, bar, code = value.partition("|")
    if not bar:
        system, code = "", value
    if system and systems is not None and system not in systems:
        raise BadSearch(_("Okänt identifierarsystem."))
    code = code.strip()
    if not code or len(code) > 60:
        raise BadSearch(_("Ogiltig identifierare."))
    return code


def _resource_id(value: str) -> int:
    if _ID.fullmatch(value) is None or not 0 < int(value) <= MAX_ID:
        raise Http404
    return int(value)


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/")


def _bundle(request: HttpRequest, found: list[JSON]) -> JSON:
    # The self link is the URL as called: never a personnummer (those come in a POST body).
    return resources.searchset(found, base=_base(request), self_url=request.build_absolute_uri())


def _grant(request: HttpRequest, actor: Actor, params: QueryDict) -> Any:
    """The grant for the patient a search names (by Lyfta's id, or by number in a POST body),
    or the API's recorded 404 for a patient the client may not open."""
    name, value = _required(params, "patient", "subject", "patient.identifier")
    if name == "patient.identifier":
        number = _token(value, resources.PATIENT_SEARCH_SYSTEMS)
        return patients.grant_by_identifier(
            actor=actor, identifier=number, session_ref=session_ref(request)
        )
    patient_id = _ref_id(value, _PATIENT_REF, "Patient")
    return patients.grant_or_404(
        actor=actor, patient_id=patient_id, session_ref=session_ref(request)
    )


# --- The endpoints --------------------------------------------------------------------------------


@fhir_endpoint(authenticated=False)
def metadata(request: HttpRequest) -> JSON:
    """The CapabilityStatement: public, as the API's OpenAPI document (it holds no data)."""
    return resources.capability_statement(
        base=_base(request), scopes={kind: str(scope) for kind, scope in SCOPES.items()}
    )


@fhir_endpoint(methods=("GET", "POST"))
def device_association_search(request: HttpRequest) -> JSON:
    """A patient's holdings (patient, subject, or patient.identifier in a POST body), or a
    device's loans to patients the client may see (device)."""
    actor = acting(request, SCOPES["DeviceAssociation"])
    params = _params(request, "DeviceAssociation")
    device = _one(params, "device")
    if device is not None:
        if _one(params, "patient", "subject", "patient.identifier") is not None:
            raise BadSearch(_("Sök på patient eller på hjälpmedel, inte båda."))
        item_id = _ref_id(device[1], _DEVICE_REF, "Device")
        loans = selectors.device_loans(
            actor=actor, item_id=item_id, session_ref=session_ref(request)
        )
    else:
        grant = _grant(request, actor, params)
        loans = selectors.patient_loans(actor=actor, grant=grant)
    return _bundle(request, [resources.device_association(loan) for loan in loans])


@fhir_endpoint()
def device_read(request: HttpRequest, resource_id: str) -> JSON:
    actor = acting(request, SCOPES["Device"])
    item = selectors.device_get(
        actor=actor, item_id=_resource_id(resource_id), session_ref=session_ref(request)
    )
    return resources.device(item)


@fhir_endpoint(methods=("GET", "POST"))
def device_search(request: HttpRequest) -> JSON:
    actor = acting(request, SCOPES["Device"])
    params = _params(request, "Device")
    _name, value = _required(params, "identifier")
    number = _token(value, frozenset({resources.INDIVIDUAL_NUMBER}))
    item = selectors.device_by_number(
        actor=actor, individual_number=number, session_ref=session_ref(request)
    )
    return _bundle(request, [resources.device(item)] if item is not None else [])


@fhir_endpoint()
def device_definition_read(request: HttpRequest, resource_id: str) -> JSON:
    actor = acting(request, SCOPES["DeviceDefinition"])
    article = selectors.definition_get(actor=actor, article_id=_resource_id(resource_id))
    return resources.device_definition(article)


@fhir_endpoint(methods=("GET", "POST"))
def device_definition_search(request: HttpRequest) -> JSON:
    actor = acting(request, SCOPES["DeviceDefinition"])
    params = _params(request, "DeviceDefinition")
    _name, value = _required(params, "identifier")
    number = _token(value, frozenset({resources.ARTICLE_NUMBER}))
    found = selectors.definitions_by_number(actor=actor, article_number=number)
    return _bundle(request, [resources.device_definition(article) for article in found])


@fhir_endpoint(methods=("GET", "POST"))
def device_request_search(request: HttpRequest) -> JSON:
    actor = acting(request, SCOPES["DeviceRequest"])
    grant = _grant(request, actor, _params(request, "DeviceRequest"))
    lines = selectors.patient_order_lines(actor=actor, grant=grant)
    return _bundle(request, [resources.device_request(line) for line in lines])


@fhir_endpoint(methods=("GET", "POST"))
def device_dispense_search(request: HttpRequest) -> JSON:
    actor = acting(request, SCOPES["DeviceDispense"])
    grant = _grant(request, actor, _params(request, "DeviceDispense"))
    lines = selectors.patient_order_lines(actor=actor, grant=grant, delivered_only=True)
    return _bundle(request, [resources.device_dispense(line) for line in lines])


def _patient(actor: Actor, grant: Any) -> JSON:
    selectors.patient_read(actor=actor, grant=grant, fields=resources.shown_fields(grant))
    return resources.patient(grant)


@fhir_endpoint()
def patient_read(request: HttpRequest, resource_id: str) -> JSON:
    """A patient the client may open (the API's 404 otherwise, recorded)."""
    actor = acting(request, SCOPES["Patient"])
    grant = patients.grant_or_404(
        actor=actor, patient_id=_resource_id(resource_id), session_ref=session_ref(request)
    )
    return _patient(actor, grant)


@fhir_endpoint(methods=("GET", "POST"))
def patient_search(request: HttpRequest) -> JSON:
    """POST Patient/_search with identifier=<system>|<number> in the body."""
    actor = acting(request, SCOPES["Patient"])
    params = _params(request, "Patient")
    _name, value = _required(params, "identifier")
    number = _token(value, resources.PATIENT_SEARCH_SYSTEMS)
    grant = patients.grant_by_identifier(
        actor=actor, identifier=number, session_ref=session_ref(request)
    )
    return _bundle(request, [_patient(actor, grant)])


@fhir_endpoint(methods=("GET", "POST"))
def audit_event(request: HttpRequest, resource_id: str = "") -> JSON:
    """The audit log's FHIR export is the log reviewer's (/loggranskning/sok/fhir/, R63), and no
    client may hold that role (R91): a recorded 403 that says where it is."""
    actor: Any = getattr(request, "actor", None)
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        resource_type="audit.auditevent",
        resource_id=resource_id[:64],
        detail={"reason": "audit_export_is_the_log_reviewers", "path": request.path[:200]},
    )
    raise Answer(
        403,
        "forbidden",
        _(
            "Loggen exporteras som FHIR AuditEvent av en loggranskare på sidan "
            "/loggranskning/sok/fhir/; en API-klient kan inte ha den rollen."
        ),
    )


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Any other path under /fhir/: an OperationOutcome, never the pages' HTML 404."""
    return outcome(404, "not-found", _("Det finns ingen sådan resurs i FHIR-gränssnittet."))
