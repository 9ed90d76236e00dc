"""Who calls the API: a machine client by its bearer token (lyfta.accounts.api_clients), never a
session. Every operation authenticates by default; each then asks `acting(request, scope)` for
the actor its token holds the scope for, and works through the same services, selectors and
access layer as a page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from lyfta.access.actor import Actor
from lyfta.accounts.api_clients import (
    api_client_authenticate,
    api_client_call_counted,
    client_actor,
)
from lyfta.accounts.models import ApiClient
from lyfta.api.errors import RateLimited, ScopeMissing
from lyfta.audit import context
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record

MAX_TOKEN = 200


class ClientToken(HttpBearer):
    """`Authorization: Bearer lyfta_…`. A client in force is counted against its rate limit
    (429 beyond it) and becomes the request's actor, for the audit context too."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        if len(token) > MAX_TOKEN:
            return None
        client = api_client_authenticate(token=token)
        if client is None:
            return None
        wait = api_client_call_counted(client=client)
        if wait is not None:
            raise RateLimited(wait)
        actor = client_actor(client)
        request.actor = actor  # type: ignore[attr-defined]
        # AuditContextMiddleware's block around the request restores the context after it.
        context.bind(actor=actor)
        return client


def acting(request: HttpRequest, scope: str) -> Actor:
    """The calling client's actor, once its token holds `scope`; otherwise the refusal is
    recorded (R38) and the call answered 403."""
    client: Any = getattr(request, "auth", None)
    actor: Any = getattr(request, "actor", None)
    if not isinstance(client, ApiClient) or not isinstance(actor, Actor):
        raise ScopeMissing(scope)
    if scope not in client.scopes:
        record(
            action=Action.ACCESS_DENIED,
            actor=actor,
            outcome=Outcome.DENIED,
            target=client,
            detail={"reason": "scope", "scope": scope, "path": request.path[:200]},
        )
        raise ScopeMissing(scope)
    return actor


def session_ref(request: HttpRequest) -> str:
    """The API's stand-in for a sign-in session in the access layer (documented needs are tied
    to one): the client itself, so that nothing of a person's session ever applies to it."""
    client: Any = getattr(request, "auth", None)
    return f"api-client:{client.pk}" if isinstance(client, ApiClient) else "api-client:none"
