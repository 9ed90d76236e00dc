"""The UI shell: login required everywhere, the header, security headers, Swedish error pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conftest import Persona

# Routes that are deliberately public (marked login_not_required).
PUBLIC = {
    "accounts:login",
    "accounts:oidc_start",
    "accounts:oidc_callback",
    "accounts:password_set",
    "healthz",
    "metrics",
    "set_language",
}
# The API's routes take a client's token instead of a session (issue 18); its document, index and
# not-found answer hold no data.
API_PUBLIC = {"api:openapi-json", "api:api-root", "api:docs", "api_not_found"}


# FHIR (issue 18 point 2) takes the API's tokens too; its CapabilityStatement and its not-found
# answer hold no data.
FHIR_PUBLIC = {"fhir:metadata", "fhir:not_found"}


def is_api(name: str) -> bool:
    return name.startswith("api:") or name == "api_not_found"


def is_fhir(name: str) -> bool:
    return name.startswith("fhir:")


def all_url_names() -> list[str]:
    names: list[str] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue
                ns = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                walk(pattern.url_patterns, ns)
            elif pattern.name:
                names.append(prefix + pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def sample_url(name: str) -> str:
    try:
        return reverse(name)
    except Exception:  # noqa: BLE001 - routes with arguments get a sample id
        return reverse(name, kwargs=_kwargs_for(name))


def _kwargs_for(name: str) -> dict[str, int]:
    from django.urls import get_resolver

    resolver = get_resolver()
    for ns in name.split(":")[:-1]:
        resolver = resolver.namespace_dict[ns][1]
    possibilities = resolver.reverse_dict.getlist(name.split(":")[-1])
    params = possibilities[0][0][0][1]
    return dict.fromkeys(params, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", [n for n in all_url_names() if n not in PUBLIC and not is_api(n) and not is_fhir(n)]
)
def test_every_page_requires_login(client: Client, name: str) -> None:
    """Default deny: an anonymous request to any route goes to the login page."""
    url = sample_url(name)
    response = client.get(url)
    assert response.status_code == 302, url
    assert response["Location"].startswith(reverse("accounts:login")), url


@pytest.mark.django_db
@pytest.mark.parametrize("name", [n for n in all_url_names() if is_api(n) and n not in API_PUBLIC])
def test_every_api_operation_requires_a_token(client: Client, name: str) -> None:
    """Default deny on the API: without a token every operation answers 401 (a method the path
    does not take, 405), as problem details, never the sign-in page."""
    url = sample_url(name)
    answers = [client.get(url), client.post(url, "{}", content_type="application/json")]
    assert {a.status_code for a in answers} <= {401, 405}, url
    assert 401 in {a.status_code for a in answers}, url
    for answer in answers:
        if answer.status_code == 401:
            assert answer["Content-Type"] == "application/problem+json", url


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", [n for n in all_url_names() if is_fhir(n) and n not in FHIR_PUBLIC]
)
def test_every_fhir_interaction_requires_a_token(client: Client, name: str) -> None:
    """Default deny on FHIR: without a token a 401 OperationOutcome, never the sign-in page."""
    url = sample_url(name)
    response = client.get(url)
    assert response.status_code == 401, url
    assert response["Content-Type"].startswith("application/fhir+json"), url
    assert response.json()["resourceType"] == "OperationOutcome", url


@pytest.mark.django_db
def test_fhirs_public_routes_hold_no_data(client: Client) -> None:
    assert client.get(reverse("fhir:metadata")).json()["resourceType"] == "CapabilityStatement"
    missing = client.get("/fhir/Nothing")
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"


@pytest.mark.django_db
def test_public_routes_are_only_the_marked_ones(client: Client) -> None:
    assert client.get(reverse("accounts:login")).status_code == 200
    assert client.get(reverse("healthz")).json() == {"status": "ok"}
    # Only from an allowed address or with the token (lyfta/metrics/tests).
    assert client.get(reverse("metrics"), REMOTE_ADDR="203.0.113.9").status_code == 403


@pytest.mark.django_db
def test_start_page_shows_user_unit_role_and_logout(as_alice: Client, alice: Persona) -> None:
    html = as_alice.get(reverse("start")).content.decode()
    assert "Alice Ask" in html
    assert alice.assignment.unit.name in html
    assert "Förskrivare" in html
    assert 'action="/konto/logga-ut/"' in html
    assert 'href="#main"' in html and 'id="main"' in html  # skip link and its target


@pytest.mark.django_db
def test_pages_carry_strict_security_headers(as_alice: Client) -> None:
    response = as_alice.get(reverse("start"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["accounts:login", "start", "organisations:providers"])
def test_no_inline_scripts_or_styles(as_alice: Client, url_name: str) -> None:
    html = as_alice.get(reverse(url_name)).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


@pytest.mark.django_db
def test_htmx_is_served_from_our_own_static_files(as_alice: Client) -> None:
    html = as_alice.get(reverse("start")).content.decode()
    assert re.search(r'<script src="/static/lyfta/htmx(\.[0-9a-f]+)?\.min\.js"', html)
    assert "unpkg" not in html and "cdn" not in html.lower()


@pytest.mark.django_db
def test_not_found_page_is_swedish(as_alice: Client) -> None:
    response = as_alice.get("/finns-inte/")
    assert response.status_code == 404
    assert "Sidan finns inte" in response.content.decode()


@pytest.mark.django_db
def test_forbidden_page_is_swedish(as_alice: Client, alice: Persona) -> None:
    """A prescriber may not read a unit's change history: a Swedish 403 page."""
    response = as_alice.get(reverse("organisations:unit_history", args=[alice.assignment.unit.pk]))
    assert response.status_code == 403
    assert "Du har inte behörighet" in response.content.decode()


def test_server_error_page_is_swedish() -> None:
    from django.test import RequestFactory

    from lyfta.core.views import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Något gick fel" in response.content.decode()


@pytest.mark.django_db
def test_an_unreachable_database_gets_a_swedish_503_not_a_500(
    as_alice: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restart (bench/drills.py pg-restart): the request fails where it first needs
    the database, here loading the session, and the page says so and that nothing was half-done."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    def down(self: SessionStore) -> None:
        raise OperationalError("connection failed: the database system is starting up")

    monkeypatch.setattr(SessionStore, "load", down)
    as_alice.raise_request_exception = False
    response = as_alice.get(reverse("start"))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "når inte sin databas" in response.content.decode()
    # Any other fault is still a 500.
    monkeypatch.setattr(SessionStore, "load", lambda self: 1 / 0)
    assert as_alice.get(reverse("start")).status_code == 500


@pytest.mark.django_db
def test_csrf_failure_page_is_swedish(alice: Persona) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("accounts:login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "Formuläret kunde inte skickas" in response.content.decode()
