"""/api/v1/docs (issue 18 point 1): the API's documentation as a page of Lyfta's own, drawn from
the OpenAPI document: every operation is on it, in Swedish, public like the document."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_docs_page_lists_every_operation_of_the_document(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = html.unescape(response.content.decode())
    operations = [
        (method.upper(), route, operation["summary"])
        for route, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 15
    for method, route, summary in operations:
        assert f"<code>{method} {route}</code>" in page, (method, route)
        assert summary in page
    # Each path parameter is named with where it goes.
    assert re.search(r"<code>patient_id</code></td><td[^>]*>i sökvägen</td>", page)
    # The document's own descriptions are for the JSON (English for integrators); the page
    # says what it says in Swedish and links to the document.
    assert "The id comes from" not in page
    assert 'href="/api/v1/openapi.json"' in page
    assert "404</code> finns inte, eller får inte visas för klienten" in page


def test_the_api_index_names_the_docs_page(client: Client) -> None:
    assert client.get("/api/v1/").json()["docs"] == "/api/v1/docs"


def test_the_docs_page_answers_only_get(client: Client) -> None:
    assert client.post("/api/v1/docs").status_code == 405
