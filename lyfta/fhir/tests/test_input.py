"""Bad input to /fhir/ never gives a server error, and every error is an OperationOutcome in
application/fhir+json: odd references, identifiers, numbers beyond a column's range, non-ASCII
digits, markup, very long values, odd tokens and methods. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from lyfta.api.tests.conftest import Api
from lyfta.orders.tests.conftest import Shop

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
ODD = [
    "",
    " ",
    "|",
    "||",
    "a|b|c",
    "Patient/",
    "Patient/0",
    "Patient/-1",
    "Patient/1.5",
    "Patient/1e3",
    "Patient/\u0663",  # an Arabic-Indic digit
    "Patient/99999999999999999999",
    "Patient/9223372036854775808",
    "Device/1/2",
    "urn:oid:1.2.752.129.2.1.3.1|19400101-9803",
    "http://electronichealth.se/identifier/personnummer|",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u00e5\u00e4\u00f6",
    "x" * 5000,
]
SEARCHES = [
    ("/fhir/DeviceAssociation", "patient"),
    ("/fhir/DeviceAssociation", "subject"),
    ("/fhir/DeviceAssociation", "device"),
    ("/fhir/Device", "identifier"),
    ("/fhir/DeviceDefinition", "identifier"),
    ("/fhir/DeviceRequest", "patient"),
    ("/fhir/DeviceDispense", "subject"),
]


def _outcome_or_bundle(response: Any) -> dict[str, Any]:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    expected = "Bundle" if response.status_code == 200 else "OperationOutcome"
    assert body["resourceType"] == expected, body
    return body


@pytest.mark.parametrize(("path", "name"), SEARCHES)
def test_odd_search_values_are_never_a_server_error(
    api: Api, shop: Shop, path: str, name: str
) -> None:
    for value in ODD:
        _outcome_or_bundle(api.get(path, {name: value}))
        posted = api.client.post(
            f"{path}/_search",
            urlencode({name: value}),
            content_type="application/x-www-form-urlencoded",
            headers={"Authorization": f"Bearer {api.token}"},
        )
        _outcome_or_bundle(posted)


def test_odd_patient_identifiers_in_a_post_body_are_never_a_server_error(
    api: Api, shop: Shop
) -> None:
    for path, name in (
        ("/fhir/Patient/_search", "identifier"),
        ("/fhir/DeviceAssociation/_search", "patient.identifier"),
    ):
        for value in [*ODD, "19400101-9803", "1940\uff10101-9803", "19400101980"]:
            posted = api.client.post(
                path,
                urlencode({name: value}),
                content_type="application/x-www-form-urlencoded",
                headers={"Authorization": f"Bearer {api.token}"},
            )
            _outcome_or_bundle(posted)


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Device/0",
        "/fhir/Device/-1",
        "/fhir/Device/1.0",
        "/fhir/Device/99999999999999999999",
        "/fhir/DeviceDefinition/%C3%A5",
        "/fhir/Patient/9223372036854775808",
        "/fhir/Patient/_history",
        "/fhir/DeviceAssociation/1",
        "/fhir/Observation",
        "/fhir/",
        "/fhir",
    ],
)
def test_odd_paths_are_operation_outcomes(api: Api, shop: Shop, path: str) -> None:
    response = api.get(path)
    assert response.status_code in (301, 404) or response.status_code < 500
    if response.status_code != 301:
        assert _outcome_or_bundle(response)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer " + "x" * 10_000, "Basic YTpi", "Bearer", "Bearer lyfta_", "lyfta_abc"],
)
def test_odd_tokens_are_401_operation_outcomes(
    client: Client, shop: Shop, authorization: str
) -> None:
    response = client.get("/fhir/Device/1", headers={"Authorization": authorization})
    assert response.status_code == 401
    _outcome_or_bundle(response)


def test_other_methods_are_405_operation_outcomes(api: Api, shop: Shop) -> None:
    for method in ("put", "delete", "patch"):
        response = getattr(api.client, method)(
            "/fhir/DeviceAssociation", headers={"Authorization": f"Bearer {api.token}"}
        )
        assert response.status_code == 405
        assert "GET" in response["Allow"]
        _outcome_or_bundle(response)
