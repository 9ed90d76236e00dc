"""Machine clients (issue 18): registered by the system administrator, a token shown once and
kept only as a hash, scopes, expiry, revocation and a rate limit per client; a service account
that never signs in on the pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.access.roles import Role
from lyfta.accounts.api_clients import Registered, api_client_revoke
from lyfta.accounts.backends import WindowedModelBackend
from lyfta.accounts.models import ApiClient, Assignment, User
from lyfta.accounts.selectors import users_list
from lyfta.api.tests.conftest import Api, register
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, Outcome
from lyfta.orders.tests.conftest import Shop

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"lyfta_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _refusals(client: ApiClient) -> list[str]:
    return [
        e.detail["reason"]
        for e in AuditEvent.objects.filter(action=Action.API_CLIENT_REFUSED).order_by("id")
        if e.actor_id == client.user_id
    ]


def test_the_token_is_kept_only_as_its_hash(machine: Registered) -> None:
    client = ApiClient.objects.get()
    assert TOKEN.fullmatch(machine.token)
    assert client.token_hash == hashlib.sha256(machine.token.encode()).hexdigest()
    assert machine.token not in str(list(ApiClient.objects.values()))
    secret = machine.token.rsplit("_", 1)[1]
    for event in AuditEvent.objects.all():
        assert secret not in f"{event.detail}{event.changes}"
    registered = AuditEvent.objects.get(action=Action.API_CLIENT_REGISTERED)
    assert registered.detail["role"] == Role.PRESCRIBER
    assert registered.changes["scopes"][1] == sorted(client.scopes)


def test_the_client_acts_in_an_assignment_of_its_own(machine: Registered, county: County) -> None:
    client = machine.client
    assert client.user.is_service and not client.user.has_usable_password()
    assignment = Assignment.objects.get(user=client.user)
    assert (assignment.unit, assignment.role, assignment.purpose) == (
        county.unit_a,
        Role.PRESCRIBER,
        "care",
    )
    assert assignment.valid_until == timezone.localdate() + dt.timedelta(days=30)
    assert assignment.decision_reference == "Beslut API 2026-01"


def test_the_service_account_never_signs_in_on_the_pages(
    client: Client, machine: Registered, ulla: Persona
) -> None:
    user = machine.client.user
    user.set_password("ett långt lösenord som ingen vet om")
    user.save()
    assert not WindowedModelBackend().user_can_authenticate(user)
    login = Client().post(
        reverse("accounts:login"),
        {"username": user.username, "password": "ett långt lösenord som ingen vet om"},
    )
    assert "_auth_user_id" not in login.wsgi_request.session
    # Nor can a user administrator reach it (no one-time code, no new assignment).
    assert user not in users_list(actor=ulla.actor)
    # A session made for it some other way is refused at its next request.
    client.force_login(user)
    assert client.get(reverse("start")).status_code == 302


def test_only_the_system_administrator_registers_clients(
    county: County, alice: Persona, ulla: Persona
) -> None:
    for persona in (alice, ulla):
        with pytest.raises(PermissionDenied):
            register(persona, county.unit_a)
    assert not ApiClient.objects.exists()


def test_no_client_gets_a_privileged_role(county: County, sigge: Persona) -> None:
    from django.core.exceptions import ValidationError

    for role in (Role.SYSTEM_ADMIN, Role.USER_ADMIN, Role.LOG_REVIEWER):
        with pytest.raises(ValidationError):
            register(sigge, county.unit_a, role=role)


def test_an_expired_token_is_refused_and_recorded(api: Api, machine: Registered) -> None:
    ApiClient.objects.filter(pk=machine.client.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = api.get("/api/v1/articles")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert _refusals(machine.client) == ["expired"]


def test_a_revoked_token_is_refused_at_once_and_recorded(
    api: Api, machine: Registered, sigge: Persona
) -> None:
    assert api.get("/api/v1/articles").status_code == 200
    api_client_revoke(actor=sigge.actor, client=machine.client, reason="Avtalet upphört")
    assert api.get("/api/v1/articles").status_code == 401
    assert _refusals(machine.client) == ["revoked"]
    user = User.objects.get(pk=machine.client.user_id)
    assert not user.is_active
    assert Assignment.objects.get(user=user).ended_at is not None
    revoked = AuditEvent.objects.get(action=Action.API_CLIENT_REVOKED)
    assert revoked.detail["reason"] == "Avtalet upphört"


def test_a_wrong_secret_for_a_known_key_is_refused_and_recorded_once_a_minute(
    api: Api, machine: Registered
) -> None:
    forged = machine.token[:-4] + ("AAAA" if not machine.token.endswith("AAAA") else "BBBB")
    for _ in range(3):
        assert Api(api.client, forged).get("/api/v1/articles").status_code == 401
    assert _refusals(machine.client) == ["wrong_token"]
    # A token of no client names no one: refused, not recorded.
    nobody = "lyfta_000000000000_" + "A" * 43
    assert Api(api.client, nobody).get("/api/v1/articles").status_code == 401
    assert Api(api.client, "not a token").get("/api/v1/articles").status_code == 401
    assert AuditEvent.objects.filter(action=Action.API_CLIENT_REFUSED).count() == 1


def test_a_scope_the_token_lacks_is_refused_and_recorded(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    reader = register(sigge, county.unit_a, name="Katalogläsare", scopes=["catalogue:read"])
    api = Api(client, reader.token)
    assert api.get("/api/v1/articles").status_code == 200
    body = {"identifier": "194001019803", "lines": [{"article_id": shop.bed.pk}]}
    response = api.post("/api/v1/orders", body)
    assert response.status_code == 403
    problem = response.json()
    assert problem["type"] == "urn:lyfta:problem:scope"
    assert "orders:write" in problem["detail"]
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED, actor_id=reader.client.user_id)
    assert denied.detail["scope"] == "orders:write" and denied.outcome == Outcome.DENIED


def test_the_role_decides_beyond_the_scope(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    """A logistics client holding orders:write still may not prescribe (the role's capability),
    and its refusal is recorded."""
    logistics = register(sigge, county.centre, name="Lagersystem", role=Role.LOGISTICS)
    api = Api(client, logistics.token)
    body = {"identifier": "194001019803", "lines": [{"article_id": shop.bed.pk}]}
    assert api.post("/api/v1/orders", body).status_code == 403
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED, actor_id=logistics.client.user_id)
    assert denied.detail["capability"] == "orders.prescribe"


def test_the_rate_limit_answers_429_with_retry_after(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    limited = register(sigge, county.unit_a, name="Snålt system", rate_limit=3)
    api = Api(client, limited.token)
    # Three calls in a minute pass; the fourth of the same minute is refused. (Should the minute
    # turn between two calls, the window starts over: tried again.)
    for _attempt in range(3):
        ApiClient.objects.filter(pk=limited.client.pk).update(window_start=None, window_count=0)
        minute = timezone.now().replace(second=0, microsecond=0)
        answers = [api.get("/api/v1/suppliers") for _ in range(5)]
        if timezone.now().replace(second=0, microsecond=0) == minute:
            break
    codes = [a.status_code for a in answers]
    assert codes == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:lyfta:problem:rate-limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # One event for the window, however many calls it refused.
    events = AuditEvent.objects.filter(action=Action.API_CLIENT_RATE_LIMITED)
    assert [(e.actor_id, e.detail["limit"]) for e in events] == [(limited.client.user_id, 3)]


def test_the_rate_limit_is_per_client_and_per_minute(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    one = register(sigge, county.unit_a, name="System ett", rate_limit=2)
    two = register(sigge, county.unit_a, name="System två", rate_limit=2)
    minute = timezone.now().replace(second=0, microsecond=0)
    ApiClient.objects.filter(pk=one.client.pk).update(window_start=minute, window_count=2)
    over = Api(client, one.token).get("/api/v1/suppliers").status_code
    if timezone.now().replace(second=0, microsecond=0) == minute:
        assert over == 429
    assert Api(client, two.token).get("/api/v1/suppliers").status_code == 200
    # A count from an earlier minute does not carry over.
    ApiClient.objects.filter(pk=one.client.pk).update(
        window_start=minute - dt.timedelta(minutes=1), window_count=99
    )
    assert Api(client, one.token).get("/api/v1/suppliers").status_code == 200


def test_the_pages_register_show_the_token_once_and_revoke(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    """A client that reaches no patient data (the assortment only) is registered in one step;
    one that does is a request (test_r91_api_clients)."""
    signed_in(client, sigge)
    form = client.get(reverse("accounts:admin_api_client_create"))
    assert form.status_code == 200
    expires = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    shown = client.post(
        reverse("accounts:admin_api_client_create"),
        {
            "name": "Sortimentsportalen",
            "unit": county.centre.pk,
            "role": Role.CATALOGUE_MANAGER,
            "scopes": ["catalogue:read"],
            "expires_on": expires,
            "rate_limit": 60,
            "decision_reference": "Dnr 2026/12",
        },
    )
    assert shown.status_code == 200, shown.content
    tokens = TOKEN.findall(shown.content.decode())
    assert len(set(tokens)) == 1
    token = tokens[0]
    registered = ApiClient.objects.get(name="Sortimentsportalen")
    assert (registered.assignment.role, registered.rate_limit) == (Role.CATALOGUE_MANAGER, 60)
    # The client's page never shows it again.
    detail = client.get(reverse("accounts:admin_api_client", args=[registered.pk]))
    assert detail.status_code == 200 and token not in detail.content.decode()
    listing = client.get(reverse("accounts:admin_api_clients"))
    assert "Sortimentsportalen" in listing.content.decode()
    api = Api(Client(), token)
    assert api.get("/api/v1/articles").status_code == 200
    revoked = client.post(
        reverse("accounts:admin_api_client_revoke", args=[registered.pk]),
        {"reason": "Testet är klart"},
    )
    assert revoked.status_code == 302
    assert api.get("/api/v1/articles").status_code == 401


def test_a_session_does_not_open_the_api(client: Client, alice: Persona, shop: Shop) -> None:
    signed_in(client, alice)
    response = client.get("/api/v1/articles")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_command_registers_a_client_as_a_system_actor(county: County, shop: Shop) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "register_api_client",
        name="Kommandoklient",
        unit=county.unit_b.customer_number,
        role=Role.ORDERER,
        scopes="catalogue:read,orders:read",
        expires=(timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        decision="Dnr 1",
        stdout=out,
    )
    token = TOKEN.search(out.getvalue())
    assert token is not None
    client = ApiClient.objects.get(name="Kommandoklient")
    assert client.token_hash == hashlib.sha256(token.group(0).encode()).hexdigest()
    assert client.assignment.unit == county.unit_b
    event = AuditEvent.objects.get(action=Action.API_CLIENT_REGISTERED)
    assert (event.actor_username, event.source_system) == (
        "system:register_api_client",
        "lyfta-cli",
    )
    assert Api(Client(), token.group(0)).get("/api/v1/orders").status_code == 200
