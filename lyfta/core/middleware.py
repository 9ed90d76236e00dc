"""Response headers that Django's SecurityMiddleware does not set, the refusal of NUL bytes at the
edge, and a page for a method a page does not take."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

# Machine clients' addresses: the API and FHIR answer a 405 of their own (problem details, an
# OperationOutcome), and the health check and /metrics are read by load balancers and Prometheus.
MACHINE_PATHS = ("/api/", "/fhir/", "/healthz", "/metrics")


class ContentSecurityPolicyMiddleware:
    """A strict Content-Security-Policy (no inline scripts or styles), a closed
    Permissions-Policy and no caching of pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
        )
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if not request.path.startswith(settings.STATIC_URL):
            # Pages may carry patient data: nothing is kept in the browser's or a proxy's cache, so
            # the back button after logout shows no data (R25).
            response.headers["Cache-Control"] = "no-store, private"
        return response


def _any_nul(pairs: Iterable[tuple[str, list[Any]]]) -> bool:
    return any("\x00" in key or any("\x00" in str(v) for v in values) for key, values in pairs)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or _any_nul(request.GET.lists()):
        return True
    if _any_nul((k, [v]) for k, v in request.COOKIES.items()):
        return True
    if _any_nul((k, [v]) for k, v in request.META.items() if k.startswith("HTTP_")):
        return True
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        files = ((k, [f.name for f in fs]) for k, fs in request.FILES.lists())
        return _any_nul(request.POST.lists()) or _any_nul(files)
    return False


class RefuseNulMiddleware:
    """A NUL byte in the path, the query string, a posted field, a cookie or a header answers 400
    before any view runs (issue 12, build point 5). No person types one; PostgreSQL cannot store
    or even compare one, so a NUL that reached a query was a server error. Forms refuse the other
    control characters with a message of their own (lyfta.core.forms)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            if request.path_info.startswith("/fhir/"):
                # The FHIR endpoint answers every error as an OperationOutcome.
                return JsonResponse(
                    {"resourceType": "OperationOutcome",
                     "issue": [{"severity": "error", "code": "invalid",
                                "diagnostics": "NUL"}]},
                    status=400,
                    content_type="application/fhir+json",
                )  # fmt: skip
            if request.path_info.startswith("/api/"):
                # The API answers every error as RFC 9457 problem details.
                return JsonResponse(
                    {"type": "about:blank", "title": "Bad Request", "status": 400},
                    status=400,
                    content_type="application/problem+json",
                )
            body = loader.get_template("errors/400_control.html").render()
            return HttpResponse(body, status=400)
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path_info.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/problem+json")
        ):
            # A method the API does not take: problem details too, with the methods it does.
            answer = JsonResponse(
                {"type": "about:blank", "title": "Method Not Allowed", "status": 405,
                 "detail": "Metoden stöds inte här."},
                status=405,
                content_type="application/problem+json",
            )  # fmt: skip
            if response.has_header("Allow"):
                answer["Allow"] = response["Allow"]
            return answer
        return response


class MethodNotAllowedPageMiddleware:
    """A method a page does not take (a GET to an address that only takes a posted form: a stale
    link, a bookmark, a reload) answers Django's 405 with an empty body, and the user sees a blank
    page. This gives that 405 a short page in the site's layout, keeping the status and the
    Allow header. Only the shell is rendered (the view never ran): no patient's data. Machine
    clients' 405s are left as they are."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not response.streaming
            and not response.content
            and not request.path_info.startswith(MACHINE_PATHS)
        ):
            response.content = loader.render_to_string("errors/405.html", request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response
