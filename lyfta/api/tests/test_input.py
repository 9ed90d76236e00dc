"""Bad input never gives a server error, and every error is RFC 9457 problem details: a body that
is not JSON, wrong types, numbers beyond a column's range, NUL bytes and other control
characters, lone surrogates, deep nesting, unknown paths. Run on SQLite and PostgreSQL (a NUL
reached a query only on the latter). Also: the stable cursors of the lists."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from lyfta.api.tests.conftest import Api
from lyfta.catalogue.models import Supplier
from lyfta.orders.models import Order
from lyfta.orders.tests.conftest import Shop

pytestmark = pytest.mark.django_db

HUGE = 10**30
BIGINT_PLUS_ONE = 2**63


def _problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["title"]
    return body


def _order(shop: Shop, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "identifier": "194001019803",
        "lines": [{"article_id": shop.bed.pk, "quantity": 1}],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",  # an empty body where one is required
        b"\xff\xfe{}",  # not UTF-8
        b'{"identifier": "\\ud800"}',  # a lone surrogate
        b'{"identifier": "1940\\u00000101"}',  # NUL escaped in JSON
        b"[" * 5000 + b"]" * 5000,  # nesting deeper than any parser should follow
        b"NaN",
        b"[]",
        b"123",
        b'"a string"',
        b'{"identifier": 194001019803}',  # a number where text belongs
        b'{"identifier": null}',
    ],
)
def test_a_body_that_is_not_what_the_operation_takes_is_a_4xx_problem(
    api: Api, shop: Shop, raw: bytes
) -> None:
    _problem(api.post("/api/v1/patients/lookup", raw=raw), 400, 422)


@pytest.mark.parametrize(
    "changes",
    [
        {"lines": [{"article_id": HUGE}]},
        {"lines": [{"article_id": BIGINT_PLUS_ONE}]},
        {"lines": [{"article_id": -1}]},
        {"lines": [{"article_id": "abc"}]},
        {"lines": [{"article_id": 1.5}]},
        {"lines": [{"article_id": 999_999_999}]},  # in range, but no such article
        {"lines": [{"article_id": 1, "quantity": HUGE}]},
        {"lines": [{"article_id": 1, "quantity": 0}]},
        {"lines": []},
        {"lines": [{"article_id": 1}] * 51},
        {"lines": "all of them"},
        {"identifier": "12\x0034"},
        {"identifier": "１９４００１０１９８０３"},  # fullwidth digits
        {"identifier": "9" * 100_000},
        {"identifier": "19400101-9804"},  # a wrong check digit
        {"delivery": {"kind": "drone"}},
        {"delivery": {"kind": "other", "street": "Gatan\n1", "postal_code": "65225"}},
        {"delivery": {"kind": "other", "street": "Gatan 1", "postal_code": "x", "city": "By"}},
        {"delivery": {"note": "\x07"}},
        {"delivery": {"urgent": "perhaps"}},
        {"prescription": {"follow_up_on": "2026-13-45"}},
        {"prescription": {"follow_up_on": "0000-00-00"}},
        {"prescription": {"follow_up_on": "9999-12-31"}},
        {"prescription": {"short_term_until": "1900-01-01"}},
        {"prescription": {"goal": "Å" * 100_000}},
        {"over_limit_reason": ["a", "list"]},
    ],
)
def test_bad_values_in_an_order_are_a_4xx_problem_and_no_order(
    api: Api, shop: Shop, changes: dict[str, Any]
) -> None:
    _problem(api.post("/api/v1/orders", _order(shop, **changes)), 400, 404, 422)
    assert not Order.unscoped.exists()


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/articles/{HUGE}",
        f"/api/v1/articles/{BIGINT_PLUS_ONE}",
        "/api/v1/articles/-1",
        "/api/v1/articles/abc",
        "/api/v1/articles/%EF%BC%91",  # a fullwidth one
        "/api/v1/articles/1%00",
        f"/api/v1/patients/{HUGE}/holdings",
        f"/api/v1/orders/{BIGINT_PLUS_ONE}",
        "/api/v1/orders/0",
        f"/api/v1/pickups/{HUGE}",
        f"/api/v1/messages/{HUGE}/read",
        "/api/v1/no-such-thing",
        "/api/v2/articles",
        "/api/",
    ],
)
def test_bad_paths_are_a_4xx_problem(api: Api, shop: Shop, path: str) -> None:
    method = api.post if path.endswith("/read") else api.get
    _problem(method(path), 400, 404, 422)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": HUGE},
        {"limit": 0},
        {"limit": "all"},
        {"cursor": "not a cursor"},
        {"cursor": base64.urlsafe_b64encode(b"id:99999999999999999999").decode()},
        {"cursor": base64.urlsafe_b64encode(b"id:-5").decode()},
        {"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()},
        {"cursor": "A" * 41},
        {"supplier": HUGE},
        {"q": "a\x00b"},
        {"q": "Å" * 101},
        {"in_assortment": "maybe"},
    ],
)
def test_bad_query_parameters_are_a_4xx_problem(
    api: Api, shop: Shop, params: dict[str, Any]
) -> None:
    _problem(api.get("/api/v1/articles", params), 400, 422)


def test_a_nul_in_a_header_is_a_problem(client: Client, shop: Shop) -> None:
    response = client.get("/api/v1/articles", headers={"Authorization": "Bearer a\x00b"})
    _problem(response, 400)


def test_a_huge_or_odd_token_is_a_401_problem(client: Client, shop: Shop) -> None:
    for token in ("x" * 100_000, "lyfta_" + "0" * 12 + "_" + "\u00e5" * 43, "", "Basic abc"):
        response = client.get("/api/v1/articles", headers={"Authorization": f"Bearer {token}"})
        _problem(response, 401)


def test_a_wrong_method_is_refused(api: Api, shop: Shop) -> None:
    response = api.client.delete("/api/v1/articles", headers=api._headers(None))
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_validation_problems_name_the_field_never_the_value(api: Api, shop: Shop) -> None:
    body = _problem(api.post("/api/v1/orders", _order(shop, identifier="19400101980X")), 422)
    assert "19400101980X" not in str(body)
    assert body["type"] == "urn:lyfta:problem:invalid"
    assert body["errors"] and all(e["loc"] for e in body["errors"])


# --- Cursors -----------------------------------------------------------------------------------


def test_the_cursor_walks_every_row_once_in_order_while_rows_are_added(
    api: Api, shop: Shop
) -> None:
    for n in range(7):
        Supplier.objects.create(name=f"Leverantör {n}")
    expected = list(Supplier.objects.order_by("pk").values_list("pk", flat=True))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/suppliers", params).json()
        seen += [row["id"] for row in page["items"]]
        pages += 1
        if pages == 2:
            # A row added while the client pages comes at the end: nothing is skipped or repeated.
            expected.append(Supplier.objects.create(name="Ny leverantör").pk)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3  # 9 rows, 3 a page: the last page says there is no next one


def test_a_deleted_row_does_not_break_a_cursor(api: Api, shop: Shop) -> None:
    made = [Supplier.objects.create(name=f"L {n}") for n in range(4)]
    first = api.get("/api/v1/suppliers", {"limit": 2}).json()
    last_shown = first["items"][-1]["id"]
    Supplier.objects.filter(pk=last_shown).delete()
    rest = api.get("/api/v1/suppliers", {"limit": 10, "cursor": first["next_cursor"]}).json()
    assert [row["id"] for row in rest["items"]] == [
        s.pk for s in Supplier.objects.filter(pk__gt=last_shown).order_by("pk")
    ]
    assert made


def test_the_document_is_public_and_every_operation_takes_a_token_and_answers_problems(
    client: Client,
) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["ClientToken"]["scheme"] == "bearer"
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    # 17 with POST /register-events (issue 18 point 4); 25 with the desks (work orders,
    # deviations, billing runs)
    assert len(operations) == 25
    for operation in operations:
        assert operation["security"] == [{"ClientToken": []}]
        for status in ("401", "403", "404", "422", "429"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (operation["operationId"], status)
    assert client.get("/api/v1/").json() == {
        "openapi": "/api/v1/openapi.json",
        "docs": "/api/v1/docs",
    }
