"""/api/v1/docs: the API's documentation as a page of Lyfta's own (issue 18 point 1), drawn on
the server from the OpenAPI document: every operation with its method, path, summary, parameters
and answers. No Swagger UI: it needs scripts and inline styles the Content-Security-Policy
refuses (docs/decisions/0015-api-clients.md). Public, as the document is: it holds no data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from ninja import NinjaAPI

WHERE = {
    "path": gettext_lazy("i sökvägen"),
    "query": gettext_lazy("i frågan"),
    "header": gettext_lazy("i ett huvud"),
}
ANSWERS = {
    "200": gettext_lazy("svaret"),
    "201": gettext_lazy("skapad"),
    "204": gettext_lazy("klart, inget innehåll"),
    "400": gettext_lazy("felaktig begäran"),
    "401": gettext_lazy("nyckel saknas, är ogiltig, har gått ut eller är återkallad"),
    "403": gettext_lazy("nyckeln saknar behörigheten"),
    "404": gettext_lazy("finns inte, eller får inte visas för klienten"),
    "409": gettext_lazy("konflikt, till exempel ett skäl som saknas"),
    "412": gettext_lazy("ändrad sedan klienten läste den (If-Match)"),
    "422": gettext_lazy("ogiltiga fält"),
    "428": gettext_lazy("If-Match saknas"),
    "429": gettext_lazy("för många anrop: vänta Retry-After sekunder"),
}
TYPES = {
    "integer": gettext_lazy("heltal"),
    "string": gettext_lazy("text"),
    "boolean": gettext_lazy("ja/nej"),
    "number": gettext_lazy("tal"),
    "array": gettext_lazy("lista"),
}


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str
    required: bool
    kind: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    parameters: tuple[Parameter, ...]
    body: bool
    answers: tuple[tuple[str, str], ...]
    anchor: str


def _kind(schema: dict[str, Any]) -> str:
    types = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
    said = [str(TYPES[t]) for t in types if t in TYPES]
    return said[0] if said else str(TYPES["string"])


@lru_cache(maxsize=4)
def _sections(
    api: NinjaAPI, prefix: str, language: str
) -> tuple[tuple[str, tuple[Operation, ...]], ...]:
    del language  # part of the key: the words are in the page's language
    schema = api.get_openapi_schema(path_prefix=prefix)
    sections: dict[str, list[Operation]] = {}
    for route, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            parameters = tuple(
                Parameter(
                    p["name"],
                    str(WHERE.get(p["in"], p["in"])),
                    bool(p.get("required")),
                    _kind(p.get("schema", {})),
                )  # fmt: skip
                for p in operation.get("parameters", [])
            )
            answers = tuple(
                (str(code), str(ANSWERS.get(str(code), "")))
                for code in sorted(operation.get("responses", {}), key=str)
            )
            tag = (operation.get("tags") or [_("Övrigt")])[0]
            sections.setdefault(tag, []).append(
                Operation(
                    method.upper(),
                    route,
                    operation.get("summary", ""),
                    parameters,
                    "requestBody" in operation,
                    answers,
                    operation.get("operationId", ""),
                )  # fmt: skip
            )
    return tuple((tag, tuple(ops)) for tag, ops in sections.items())


@login_not_required
@require_GET
def docs(request: HttpRequest, *, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
    """Every operation of `api`, grouped as in its document, with a link to the document."""
    prefix = reverse("api:api-root")
    return render(
        request,
        "api/docs.html",
        {
            "sections": _sections(api, prefix, get_language()),
            "openapi": reverse("api:openapi-json"),
        },
    )
