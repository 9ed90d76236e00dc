"""The API's contract test (issue 18 point 5): schemathesis generates requests from the OpenAPI
document (/api/v1/openapi.json) — valid ones and, in negative mode, ones the schema forbids —
and calls the application in-process (WSGI, the test database). Every answer must be below
500, have a status the document names, the content type it names, and a body that matches its
schema. A bounded number of examples per operation keeps it to well under a minute.

The client calling is a prescriber of unit A with every scope its role may hold (not the
economy role's billing:read: those operations answer 403), so that the generated calls get
past the token into the code; the scenario (lyfta/orders/tests/conftest.py) gives the ids it
tries something to find."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import County, Persona
from lyfta.api.main import api
from lyfta.api.tests.conftest import register
from lyfta.orders.tests.conftest import Shop

# Examples per operation (16) and phase: about 40 s with the database set-up on SQLite.
EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class App:
    """The WSGI application the cases call: Django's handler, made afresh by each test (it reads
    the test settings, plain HTTP among them, when it is made; this module is imported before
    they are in force)."""

    handler: WSGIHandler | None = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        assert self.handler is not None
        return self.handler(environ, start_response)


APP = App()


def _schema() -> Any:
    """The document the API serves, called in-process."""
    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
    loaded.app = APP
    loaded.config.generation.update(max_examples=EXAMPLES)
    return loaded


@pytest.fixture
def scenario(shop: Shop) -> Shop:
    return shop


def _deeper(case: Any, shop: Shop) -> None:
    """Half of the generated bodies name the scenario's patient and articles instead of random
    ones, so that orders are placed and pick-ups looked for (a random personnummer is refused
    before anything is read, which test_input.py covers)."""
    body = case.body
    if not isinstance(body, dict) or len(repr(body)) % 2:
        return
    if isinstance(body.get("identifier"), str):
        body["identifier"] = shop.patient.identifier
    articles = [shop.cushion.pk, shop.grips.pk, shop.bed.pk]
    for line in body.get("lines") or []:
        if isinstance(line, dict) and isinstance(line.get("article_id"), int):
            line["article_id"] = articles[line["article_id"] % len(articles)]


@pytest.fixture
def token(county: County, sigge: Persona, shop: Shop) -> Iterator[str]:
    APP.handler = WSGIHandler()
    # As Django's test client does: the end of a request must not close the test's connection
    # (its transaction holds the scenario).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield register(sigge, county.unit_a, name="Kontraktstest", rate_limit=10_000).token
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
@pytest.mark.django_db
def test_every_answer_matches_the_document_and_none_is_a_server_error(
    case: Any, token: str, scenario: Shop
) -> None:
    _deeper(case, scenario)
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=CHECKS)
