"""Fixtures of the API tests: a machine client requested by the system administrator (sigge) at
alice's unit A and approved by a second one (sigrid, R91), and the device flow's small shop
(lyfta/orders/tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.test.client import RequestFactory
from django.utils import timezone

from conftest import County, Persona, make_persona
from lyfta.access.roles import Role
from lyfta.accounts.api_clients import (
    Registered,
    api_client_register,
    api_client_request,
    needs_second_person,
    scopes_for_role,
)
from lyfta.accounts.models import ApiScope, User
from lyfta.accounts.services import privilege_request_approve
from lyfta.orders.tests.conftest import Shop, shop  # noqa: F401 - the fixture, for these tests too
from lyfta.organisations.models import Unit


def role_scopes(role: str) -> list[str]:
    """Every scope a client in `role` may hold together: the population-register feed's scope
    is a client of its own (lyfta.accounts.api_clients._check)."""
    return [s for s in scopes_for_role(role) if s != ApiScope.REGISTER_EVENTS]


def second_admin(admin: Persona) -> Persona:
    """Sigrid, a second system administrator at the first one's unit: the other person who
    approves a client that reaches patient data (R91)."""
    user = User.objects.filter(username="sigrid").first()
    if user is None:
        return make_persona(
            admin.assignment.unit, Role.SYSTEM_ADMIN, "sigrid", first_name="Sigrid", last_name="Två"
        )
    return Persona(user=user, assignment=user.assignments.get())


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
    """A client registered by `admin`: one that reaches patient data on his request and a
    second system administrator's approval (R91), the token being the approver's."""
    fields: dict[str, Any] = {
        "name": name,
        "unit": unit,
        "role": role,
        "scopes": role_scopes(role) if scopes is None else scopes,
        "expires_on": timezone.localdate() + dt.timedelta(days=days),
        "decision_reference": "Beslut API 2026-01",
        "rate_limit": rate_limit,
    }
    if not needs_second_person(admin.actor, role=role, scopes=fields["scopes"]):
        return api_client_register(actor=admin.actor, **fields)
    request = api_client_request(actor=admin.actor, **fields)
    approval = privilege_request_approve(actor=second_admin(admin).actor, request=request)
    assert approval.request.api_client is not None and approval.token is not None
    return Registered(approval.request.api_client, approval.token)


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


__all__ = ["Api", "RequestFactory", "register", "second_admin"]
