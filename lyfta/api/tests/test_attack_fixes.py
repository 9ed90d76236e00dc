"""What the attack on the demo (2026-12-05, evening) found under /api/ and /fhir/, fixed: a JSON
body sent as multipart was a server error; requests Django refuses before any view (too many
fields, a form in another charset) were answered with the pages' HTML."""

from __future__ import annotations

import pytest
from django.test import Client

from lyfta.accounts.api_clients import Registered

pytestmark = pytest.mark.django_db
BODY = b'{"identifier": "193801149968"}'
MANY = "&".join(f"x{i}=1" for i in range(1100))


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
)
def test_a_json_body_sent_as_a_form_is_a_415_not_a_server_error(
    machine: Registered, content_type: str
) -> None:
    client = Client(raise_request_exception=False)
    response = client.post(
        "/api/v1/patients/lookup",
        BODY,
        content_type=content_type,
        headers={"Authorization": f"Bearer {machine.token}"},
    )
    # Multipart: Django has read the body as a form, the API says to send JSON. urlencoded: the
    # body is still there and is read as JSON (this number is not the client's patient: 404).
    expected = 415 if content_type.startswith("multipart") else 404
    assert response.status_code == expected, response.content
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_form_django_cannot_read_is_a_problem_under_the_api() -> None:
    client = Client(raise_request_exception=False)
    response = client.post("/api/v1/patients/lookup", BODY, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    many = client.get("/api/v1/articles?" + MANY)
    assert many.status_code == 400
    assert many["Content-Type"].startswith("application/problem+json")


def test_a_request_django_refuses_is_an_operation_outcome_under_fhir() -> None:
    client = Client(raise_request_exception=False)
    many = client.get("/fhir/Patient?" + MANY)
    assert many.status_code == 400
    assert many["Content-Type"].startswith("application/fhir+json")
    assert many.json()["resourceType"] == "OperationOutcome"
    latin = client.post(
        "/fhir/Patient/_search",
        b"identifier=x",
        content_type="application/x-www-form-urlencoded; charset=latin-1",
    )
    assert latin.status_code == 400
    assert latin.json()["resourceType"] == "OperationOutcome"


def test_a_page_still_gets_the_pages_400() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/patienter/?" + MANY)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/pickups", "/api/v1/register-events"])
def test_every_json_operation_answers_a_multipart_body_with_415(
    machine: Registered, path: str
) -> None:
    client = Client(raise_request_exception=False)
    response = client.post(
        path,
        BODY,
        content_type="multipart/form-data; boundary=x",
        headers={"Authorization": f"Bearer {machine.token}"},
    )
    assert response.status_code in (403, 415), response.content  # 403: register-events' scope
    assert response["Content-Type"].startswith("application/problem+json")
