"""Fixtures of the API tests: a machine client registered by the system administrator (sigge) at
alice's unit A, and the device flow's small shop (lyfta/orders/tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.test.client import RequestFactory
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.roles import Role
from lyfta.accounts.api_clients import Registered, api_client_register, scopes_for_role
from lyfta.accounts.models import ApiScope
from lyfta.orders.tests.conftest import Shop, shop  # noqa: F401 - the fixture, for these tests too
from lyfta.organisations.models import Unit


def role_scopes(role: str) -> list[str]:
    """Every scope a client in `role` may hold together: the population-register feed's scope
    is a client of its own (lyfta.accounts.api_clients._check)."""
    return [s for s in scopes_for_role(role) if s != ApiScope.REGISTER_EVENTS]


def register(
    admin: Persona,
    unit: Unit,
    *,
    name: str = "Treserva Testköping",
    role: str = Role.PRESCRIBER,
    scopes: list[str] | None = None,
    days: int = 30,
    rate_limit: int | None = None,
) -> Registered:
    return api_client_register(
        actor=admin.actor,
        name=name,
        unit=unit,
        role=role,
        scopes=role_scopes(role) if scopes is None else scopes,
        expires_on=timezone.localdate() + dt.timedelta(days=days),
        decision_reference="Beslut API 2026-01",
        rate_limit=rate_limit,
    )


class Api:
    """The Django test client with a token: JSON in, JSON out."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(
        self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            path, data, content_type="application/json", headers=self._headers(headers)
        )


@pytest.fixture
def machine(county: County, sigge: Persona, shop: Shop) -> Registered:  # noqa: F811
    """Unit A's care system, as a prescriber with every scope."""
    return register(sigge, county.unit_a)


@pytest.fixture
def api(client: Client, machine: Registered) -> Api:
    return Api(client, machine.token)


__all__ = ["Api", "RequestFactory", "register"]
