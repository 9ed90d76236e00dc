"""The integration API (issue 18) on the scale data: a machine client registered at the busiest
unit (as a prescriber, the unit's care system) reads its patients' holdings (as JSON and as FHIR
DeviceAssociations) and places orders,
through Django's test client and through gunicorn over HTTP with its bearer token. Targets at
national size: holdings (API and FHIR) p95 <= 50 ms, order create p95 <= 60 ms."""

from __future__ import annotations

import datetime as dt
import http.client
import json
from typing import Any

from bench.ops import Fixture, Result, measure

TARGETS_MS = {"holdings": 50.0, "order create": 60.0}


def _fhir(patient: int) -> str:
    """The patient's loans as FHIR DeviceAssociations (lyfta/fhir)."""
    return f"/fhir/DeviceAssociation?patient=Patient/{patient}"


def _client(fx: Fixture) -> str:
    """A new machine client at the prescriber's unit with every scope a care system may hold
    (not the population-register feed's, a client of its own); its token."""
    from django.utils import timezone

    from lyfta.access.actor import Actor
    from lyfta.access.roles import Role
    from lyfta.accounts.api_clients import api_client_register, scopes_for_role
    from lyfta.accounts.models import ApiClient, ApiScope

    # The bench registers as trusted code, as the register_api_client command does: a person's
    # registration of a client with patient access is a request another approves (R91).
    admin = Actor.system("bench")
    name = f"Bench vårdsystem {timezone.now():%Y%m%d%H%M%S}"
    ApiClient.objects.filter(name=name).delete()
    registered = api_client_register(
        actor=admin,
        name=name,
        unit=fx.unit,
        role=Role.PRESCRIBER,
        scopes=[s for s in scopes_for_role(Role.PRESCRIBER) if s != ApiScope.REGISTER_EVENTS],
        expires_on=timezone.localdate() + dt.timedelta(days=30),
        decision_reference="bench",
        rate_limit=10_000,
    )
    return registered.token


def _articles() -> list[int]:
    from lyfta.catalogue.models import Article

    return list(
        Article.objects.filter(items__status="in_stock", items__location__kind="central")
        .distinct()
        .values_list("pk", flat=True)[:50]
    )


def _order(fx: Fixture, articles: list[int], i: int) -> str:
    number = fx.identifiers[fx.patients[i % len(fx.patients)]]
    return json.dumps(
        {
            "identifier": number,
            "lines": [{"article_id": articles[i % len(articles)], "quantity": 1}],
            "delivery": {"kind": "patient", "contact_phone": "070-123 45 67"},
            "prescription": {"goal": "Bench"},
            # The patients already hold devices of these classes (else 409 asking for it).
            "over_limit_reason": "Byte (bench)",
        }
    )


def run_all(fx: Fixture, repeat: int) -> list[Result]:
    """Through Django's test client (query counts included)."""
    from django.test import Client

    token = _client(fx)
    headers = {"Authorization": f"Bearer {token}"}
    client = Client()
    articles = _articles()

    def holdings(i: int) -> None:
        patient = fx.patients[i % len(fx.patients)]
        response = client.get(f"/api/v1/patients/{patient}/holdings", headers=headers)
        assert response.status_code == 200, (response.status_code, response.content[:300])

    def fhir(i: int) -> None:
        response = client.get(_fhir(fx.patients[i % len(fx.patients)]), headers=headers)
        assert response.status_code == 200, (response.status_code, response.content[:300])

    def order(i: int) -> None:
        response = client.post(
            "/api/v1/orders", _order(fx, articles, i), content_type="application/json",
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 201, (response.status_code, response.content[:300])

    return [
        measure("API: a patient's holdings (test client)", holdings, repeat=repeat),
        measure(
            "FHIR: a patient's holdings as DeviceAssociations (test client)", fhir, repeat=repeat
        ),  # fmt: skip
        measure("API: order create (test client)", order, repeat=repeat),
    ]


def run_gunicorn(fx: Fixture, url: str, repeat: int) -> list[Result]:
    """Over HTTP: gunicorn with one sync worker, one kept-alive connection, the bearer token."""
    from bench import drills

    token = _client(fx)
    articles = _articles()
    server = drills.Server(url, workers=1)
    server.start()
    conn = http.client.HTTPConnection(drills.HOST, drills.PORT, timeout=30)

    def call(method: str, path: str, body: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Host": drills.HOST}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        return response.status, content

    try:

        def holdings(i: int) -> None:
            patient = fx.patients[i % len(fx.patients)]
            status, content = call("GET", f"/api/v1/patients/{patient}/holdings")
            assert status == 200, (status, content[:300])

        def fhir(i: int) -> None:
            status, content = call("GET", _fhir(fx.patients[i % len(fx.patients)]))
            assert status == 200, (status, content[:300])

        def order(i: int) -> None:
            status, content = call("POST", "/api/v1/orders", _order(fx, articles, i))
            assert status == 201, (status, content[:300])

        return [
            measure("API: a patient's holdings (gunicorn)", holdings, repeat=repeat),
            measure(
                "FHIR: a patient's holdings as DeviceAssociations (gunicorn)", fhir, repeat=repeat
            ),  # fmt: skip
            measure("API: order create (gunicorn)", order, repeat=repeat),
        ]
    finally:
        conn.close()
        server.stop()
