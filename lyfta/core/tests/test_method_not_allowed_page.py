"""A method a page does not take (a GET to an address that only takes a posted form: a stale link,
a bookmark, a reload) answers 405 with a short Swedish page, not Django's empty body (attack run,
a blank page). The status and the Allow header stay; the API's and FHIR's own 405s do not change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import Persona, signed_in

pytestmark = pytest.mark.django_db

HEADING = "Sidan kan inte öppnas så här"
TEXT = "Den här adressen tar bara emot formulär. Gå tillbaka och försök igen."


@pytest.fixture
def _restore_language() -> Iterator[None]:
    """Requests activate their language in this thread; leave it as it was for other tests."""
    with translation.override(translation.get_language()):
        yield


def test_a_get_to_a_post_only_address_gets_a_swedish_page_405(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert f"<h1>{HEADING}</h1>" in page
    assert TEXT in page
    assert f'href="{reverse("start")}"' in page
    # The site's layout, as on every page of a signed-in user: who is signed in, and the way out.
    assert '<html lang="sv">' in page
    assert "Alice" in page
    assert f'action="{reverse("accounts:logout")}"' in page
    assert "no-store" in response["Cache-Control"]
    assert "Content-Security-Policy" in response


def test_a_method_a_page_does_not_take_gets_the_page_when_signed_out(client: Client) -> None:
    """The sign-in page takes GET and POST only; without a session the page has no menu."""
    response = client.delete(reverse("accounts:login"))

    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}
    page = response.content.decode()
    assert HEADING in page
    assert TEXT in page
    assert f'action="{reverse("accounts:logout")}"' not in page


@pytest.mark.usefixtures("_restore_language")
def test_the_405_page_is_in_english_for_a_user_who_chose_english(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    client.post(reverse("set_language"), {"language": "en", "next": reverse("start")})
    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    page = response.content.decode()
    assert "This page cannot be opened this way" in page
    assert "This address only accepts forms. Go back and try again." in page
    assert HEADING not in page


def test_machine_clients_405s_are_unchanged(client: Client) -> None:
    """The API answers problem details, FHIR an OperationOutcome; the health check and /metrics
    (load balancers, Prometheus) keep Django's empty 405."""
    api = client.post("/api/v1/docs")
    assert api.status_code == 405
    assert api["Content-Type"] == "application/problem+json"
    assert api["Allow"] == "GET"
    assert api.json() == {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "Metoden stöds inte här.",
    }
    assert HEADING not in api.content.decode()

    fhir = client.post(reverse("fhir:metadata"))
    assert fhir.status_code == 405
    assert fhir["Content-Type"].startswith("application/fhir+json")
    assert fhir.json()["resourceType"] == "OperationOutcome"

    for name in ("healthz", "metrics"):
        machine = client.post(reverse(name))
        assert machine.status_code == 405, name
        assert machine.content == b"", name
