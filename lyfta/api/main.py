"""The integration API, /api/v1/ (issue 18): django-ninja wired to Lyfta's access layer.

Endpoints live in the apps (`lyfta/<app>/api.py`); this module gathers their routers, puts the
token check on every operation (lyfta.api.auth), answers every error as problem details
(lyfta.api.errors) and describes the whole in an OpenAPI document at /api/v1/openapi.json.

django-ninja's docs page (Swagger UI) is left out: it would need its scripts and styles from a
CDN or, served locally, inline styles the Content-Security-Policy refuses, and it cannot pass the
every-page test (a phone's width, axe). Instead /api/v1/docs is a page of Lyfta's own, drawn
from the document (lyfta.api.docs). The document itself is public (it holds no data) and any
OpenAPI viewer reads it. See docs/decisions/0015-api-clients.md."""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path, reverse
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser

from lyfta.api import errors
from lyfta.api.auth import ClientToken
from lyfta.api.docs import docs

DESCRIPTION = """Lyfta's integration API for the region's and municipalities' systems.

**Clients.** A system administrator registers each client system (/konto/admin/api-klienter/)
with its own unit, role and purpose, scopes, expiry and rate limit; one that reaches patient
data is registered only when another administrator approves the request, and the approver
hands over its token once. Send it as `Authorization: Bearer lyfta_…`. The client acts as a
named actor through the same access rules as a person in that assignment: it sees a patient
only through a care relationship of its unit, and every read and write of patient data is
recorded in the audit log with the client's identity.

**Errors** are RFC 9457 problem details (`application/problem+json`). A patient, order or
pick-up that does not exist and one the client may not see both answer 404.

**Lists** are paged with `cursor` and `limit`: follow `next_cursor` until it is null.

**Updates** need `If-Match` with the ETag the client last read (412 when it has changed, 428
without it).

**Rate limit**: calls per minute per client; beyond it 429 with `Retry-After`.

**Personnummer** never go in a URL: they are sent in the body of a POST."""

# Problems every operation may answer, besides its own responses.
COMMON_PROBLEMS = (400, 401, 403, 404, 422, 429)
ETAG_HEADER = {
    "description": "The resource's version, for If-Match on an update",
    "required": True,
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER = {
    "description": "Seconds until the client's rate-limit window ends",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


class StrictParser(Parser):
    """JSON bodies through orjson (strict UTF-8, no NaN, bounded nesting), refusing a NUL
    anywhere in a key or a string: PostgreSQL cannot store or compare one."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = orjson.loads(request.body)
        stack: list[Any] = [data]
        while stack:
            value = stack.pop()
            if isinstance(value, str):
                if "\x00" in value:
                    raise ValueError("NUL")
            elif isinstance(value, dict):
                stack.extend(value.keys())
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
        return data  # type: ignore[no-any-return]


class LyftaAPI(NinjaAPI):
    """NinjaAPI with problem details documented on every operation, and URLs that Django's
    LoginRequiredMiddleware lets through (the token, not a session, is checked here)."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        result: list[URLResolver | URLPattern] = []
        for pattern in super()._get_urls():
            if isinstance(pattern, URLPattern) and pattern.name == "api-root":
                pattern = path("", index, name="api-root")
            if isinstance(pattern, URLPattern):
                # Views and functools.partial objects alike take the attribute.
                callback: Any = pattern.callback
                callback.login_required = False
            result.append(pattern)
        page: Any = partial(docs, api=self)
        page.login_required = False  # public, as the document is (a partial keeps no attributes)
        result.append(path("docs", page, name="docs"))
        return result

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = errors.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                own = operation.pop("x-problems", [])
                if operation.pop("x-etag", False):
                    for status, response in operation["responses"].items():
                        if str(status).startswith("2"):
                            response["headers"] = {"ETag": ETAG_HEADER}
                # django-ninja keys its own responses by int: a code it documents is kept.
                documented = {str(code) for code in operation["responses"]}
                for status in (*COMMON_PROBLEMS, *own):
                    if str(status) in documented:
                        continue
                    operation["responses"][str(status)] = {
                        "description": errors.TITLES[status],
                        "content": {
                            errors.PROBLEM_JSON: {
                                "schema": {"$ref": "#/components/schemas/Problem"}
                            }
                        },
                    }
                operation["responses"]["429"]["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
        return schema


@login_not_required
def index(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """/api/v1/: where the OpenAPI document is."""
    return JsonResponse(
        {
            "openapi": reverse("api:openapi-json"),
            "docs": reverse("api:docs"),
        }
    )


api = LyftaAPI(
    title="Lyfta API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=ClientToken(),
    parser=StrictParser(),
    # No Swagger UI: see the module's docstring.
    docs_url=None,
)
errors.install(api)
api.add_router("", "lyfta.catalogue.api.router")
api.add_router("", "lyfta.patients.api.router")
api.add_router("", "lyfta.orders.api.router")
api.add_router("", "lyfta.messages.api.router")
api.add_router("", "lyfta.workorders.api.router")
api.add_router("", "lyfta.quality.api.router")
api.add_router("", "lyfta.billing.api.router")
