"""Separation of duties for the API's machine clients (R91, R9; ADR 0015's addendum): a client
whose role or scopes reach patient data is a request by one system administrator and an approval
by another user administrator or system administrator; nobody approves his own; the token is
shown once, to the approver alone; both steps are audited and seen by the log reviewers of the
provider that owns the client's unit (R42). A client that reaches no patient data is registered in
one step, and clients registered before the rule keep working."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.accounts import services
from lyfta.accounts.api_clients import (
    api_client_register,
    api_client_request,
    needs_second_person,
)
from lyfta.accounts.models import ApiClient, ApiScope, PrivilegeRequest
from lyfta.accounts.tests.helpers import last_event
from lyfta.api.tests.conftest import Api, second_admin
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.logreview.review import scope as review_scope
from lyfta.orders.tests.conftest import Shop
from lyfta.organisations.models import Unit

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"lyfta_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
PATIENT_SCOPES = ["catalogue:read", "holdings:read", "orders:read"]


def _form(unit: Unit, name: str = "Vårdsystem Testköping", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "unit": unit.pk,
        "role": Role.PRESCRIBER,
        "scopes": PATIENT_SCOPES,
        "expires_on": (timezone.localdate() + dt.timedelta(days=90)).isoformat(),
        "rate_limit": 60,
        "decision_reference": "Dnr 2026/91",
        **extra,
    }


def _request(sigge: Persona, unit: Unit, name: str = "Vårdsystem Testköping") -> PrivilegeRequest:
    return api_client_request(
        actor=sigge.actor,
        name=name,
        unit=unit,
        role=Role.PRESCRIBER,
        scopes=PATIENT_SCOPES,
        expires_on=timezone.localdate() + dt.timedelta(days=30),
        decision_reference="Dnr 2026/91",
    )


@pytest.fixture
def sigrid(sigge: Persona) -> Persona:
    """A second system administrator of the region."""
    return second_admin(sigge)


@pytest.fixture
def ursula(county: County) -> Persona:
    """The region's user administrator: not of the municipality that owns unit A."""
    return make_persona(
        county.centre, Role.USER_ADMIN, "ursula", first_name="Ursula", last_name="Uppsåt"
    )


# --- The attack of the security review fails ------------------------------------------------------


def test_r91_api_client_a_system_administrator_cannot_give_a_system_patient_access_alone(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    """The attack: the region's system administrator registers a prescriber client at the
    municipality's unit A. He gets no token, and no client exists until another person
    approves."""
    signed_in(client, sigge)
    response = client.post(reverse("accounts:admin_api_client_create"), _form(county.unit_a))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:admin_privilege_requests")
    assert not TOKEN.search(response.content.decode())
    page = client.get(response["Location"]).content.decode()
    assert not TOKEN.search(page)
    assert "registreras först när en annan" in page
    assert "Vårdsystem Testköping" in page
    assert not ApiClient.objects.exists()
    request = PrivilegeRequest.objects.get(kind=PrivilegeRequest.Kind.API_CLIENT)
    assert (request.status, request.unit, request.role, request.scopes) == (
        "pending",
        county.unit_a,
        Role.PRESCRIBER,
        sorted(PATIENT_SCOPES),
    )
    # The one-step service refuses him outright, and records the refusal.
    with pytest.raises(PermissionDenied):
        api_client_register(
            actor=sigge.actor,
            name="Bakvägen",
            unit=county.unit_a,
            role=Role.PRESCRIBER,
            scopes=PATIENT_SCOPES,
            expires_on=timezone.localdate() + dt.timedelta(days=30),
            decision_reference="x",
        )
    refused = last_event(Action.ACCESS_DENIED)
    assert refused.detail["reason"] == "needs_approval"
    assert refused.owner_provider_id == county.unit_a.provider_id
    assert not ApiClient.objects.exists()


def test_r91_api_client_nobody_approves_his_own_request(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    request = _request(sigge, county.unit_a)
    signed_in(client, sigge)
    page = client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Inga begäranden väntar på ditt beslut." in page
    response = client.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    assert response.status_code == 403
    assert not TOKEN.search(response.content.decode())
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "own_request"
    with pytest.raises(PermissionDenied):
        services.privilege_request_approve(actor=sigge.actor, request=request)
    request.refresh_from_db()
    assert request.status == "pending"
    assert not ApiClient.objects.exists()


def test_r91_api_client_another_system_administrator_approves_and_alone_sees_the_token(
    client: Client, county: County, sigge: Persona, sigrid: Persona, shop: Shop
) -> None:
    request = _request(sigge, county.unit_a)
    signed_in(client, sigrid)
    page = client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Vårdsystem Testköping" in page and "Läsa patienters hjälpmedelsinnehav" in page
    shown = client.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    assert shown.status_code == 200
    tokens = set(TOKEN.findall(shown.content.decode()))
    assert len(tokens) == 1
    token = tokens.pop()
    made = ApiClient.objects.get(name="Vårdsystem Testköping")
    assert made.registered_by == sigrid.user
    assert made.assignment.decided_by == sigrid.user
    assert (made.assignment.unit, made.assignment.role) == (county.unit_a, Role.PRESCRIBER)
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.api_client) == (
        "approved",
        sigrid.user,
        made,
    )
    # The token works; the client's page, and the requester's pages, never show it again.
    assert Api(Client(), token).get("/api/v1/orders").status_code == 200
    assert (
        token
        not in client.get(reverse("accounts:admin_api_client", args=[made.pk])).content.decode()
    )
    requester = Client()
    signed_in(requester, sigge)
    for name in ("accounts:admin_privilege_requests", "accounts:admin_api_clients", "start"):
        answer = requester.get(reverse(name))
        assert answer.status_code == 200 and not TOKEN.search(answer.content.decode())
    # Approved once: a second approval changes nothing and says so.
    again = client.post(reverse("accounts:admin_privilege_approve", args=[request.pk]), follow=True)
    assert "Begäran är redan godkänd." in again.content.decode()
    assert ApiClient.objects.count() == 1


def test_r91_api_client_the_owning_providers_user_administrator_may_approve_another_may_not(
    client: Client,
    county: County,
    sigge: Persona,
    ulla: Persona,
    ursula: Persona,
    shop: Shop,
) -> None:
    """Unit A is the municipality's: its user administrator (ulla) decides; the region's
    (ursula) neither sees nor decides the request."""
    request = _request(sigge, county.unit_a)
    signed_in(client, ursula)
    page = client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Vårdsystem Testköping" not in page
    refused = client.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    assert refused.status_code == 404
    with pytest.raises(PermissionDenied):
        services.privilege_request_approve(actor=ursula.actor, request=request)
    assert not ApiClient.objects.exists()
    approver = Client()
    signed_in(approver, ulla)
    assert "Vårdsystem Testköping" in approver.get(reverse("start")).content.decode()
    shown = approver.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    assert shown.status_code == 200
    body = shown.content.decode()
    assert len(set(TOKEN.findall(body))) == 1
    # She has no API-client pages: the answer links back to the requests, not to them.
    assert reverse("accounts:admin_api_clients") not in body
    assert ApiClient.objects.get().registered_by == ulla.user


def test_r91_api_client_both_steps_are_audited_and_seen_by_the_owning_providers_reviewers(
    county: County, sigge: Persona, sigrid: Persona, lena: Persona, shop: Shop
) -> None:
    """Lena reviews the log of the municipality, which owns unit A: she sees the region's
    administrators' request, approval and registration, and the client's reads."""
    request = _request(sigge, county.unit_a)
    approval = services.privilege_request_approve(actor=sigrid.actor, request=request)
    assert approval.token is not None
    Api(Client(), approval.token).get("/api/v1/orders")
    owner = county.unit_a.provider_id
    requested = last_event(Action.PRIVILEGE_REQUESTED)
    approved = last_event(Action.PRIVILEGE_APPROVED)
    registered = last_event(Action.API_CLIENT_REGISTERED)
    assert requested.actor_id == sigge.user.pk and approved.actor_id == sigrid.user.pk
    assert requested.detail["kind"] == "api_client" and requested.detail["unit"] == county.unit_a.pk
    assert str(approved.detail["api_client"]) == registered.resource_id
    assert registered.detail["request"] == request.pk
    assert registered.detail["requested_by"] == sigge.user.pk
    for event in (requested, approved, registered):
        assert (event.owner_provider_id, event.owner_unit_id) == (owner, county.unit_a.pk)
        assert event.actor_provider_id != owner, "made by the region's administrators"
    seen = set(review_scope(lena.actor).values_list("id", flat=True))
    assert {requested.pk, approved.pk, registered.pk} <= seen
    # The token appears in no event.
    for event in AuditEvent.objects.all():
        assert approval.token not in f"{event.detail} {event.changes}"


def test_r91_api_client_a_rejected_or_withdrawn_request_registers_nothing(
    client: Client, county: County, sigge: Persona, sigrid: Persona, shop: Shop
) -> None:
    first = _request(sigge, county.unit_a)
    services.privilege_request_reject(actor=sigrid.actor, request=first, note="Inget avtal")
    second = _request(sigge, county.unit_a, name="Andra försöket")
    services.privilege_request_cancel(actor=sigge.actor, request=second)
    assert not ApiClient.objects.exists()
    for action in (Action.PRIVILEGE_REJECTED, Action.PRIVILEGE_CANCELLED):
        assert last_event(action).owner_provider_id == county.unit_a.provider_id


def test_r91_api_client_the_approval_checks_again_and_answers_in_swedish(
    client: Client, county: County, sigge: Persona, sigrid: Persona, shop: Shop
) -> None:
    """The name was taken while the request waited: the approval says so, nothing is made."""
    request = _request(sigge, county.unit_a, name="Samma namn")
    api_client_register(
        actor=Actor.system("test"),
        name="Samma namn",
        unit=county.unit_b,
        role=Role.PRESCRIBER,
        scopes=PATIENT_SCOPES,
        expires_on=timezone.localdate() + dt.timedelta(days=5),
        decision_reference="x",
    )
    signed_in(client, sigrid)
    answer = client.post(
        reverse("accounts:admin_privilege_approve", args=[request.pk]), follow=True
    )
    assert answer.status_code == 200
    assert "Det finns redan en API-klient med det namnet." in answer.content.decode()
    request.refresh_from_db()
    assert request.status == "pending"
    assert ApiClient.objects.count() == 1


def test_r91_api_client_a_second_like_request_is_a_form_error(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    signed_in(client, sigge)
    url = reverse("accounts:admin_api_client_create")
    assert client.post(url, _form(county.unit_a)).status_code == 302
    again = client.post(url, _form(county.unit_a))
    assert again.status_code == 400
    assert "En likadan begäran väntar redan på godkännande." in again.content.decode()
    bad = client.post(url, _form(county.unit_a, name="Ny", scopes=["orders:write", "nonsense"]))
    assert bad.status_code == 400
    assert PrivilegeRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "scopes", "second"),
    [
        (Role.CATALOGUE_MANAGER, [ApiScope.CATALOGUE_READ], False),
        (Role.BILLING, [ApiScope.CATALOGUE_READ, ApiScope.BILLING_READ], False),
        # A care role reaches patients even with the assortment's scope alone.
        (Role.PRESCRIBER, [ApiScope.CATALOGUE_READ], True),
        # The population-register feed changes any patient, whatever the role.
        (Role.CATALOGUE_MANAGER, [ApiScope.REGISTER_EVENTS], True),
        (Role.ORDERER, [ApiScope.MESSAGES_READ], True),
    ],
)
def test_r9_api_client_what_reaches_patient_data_needs_a_second_person(
    sigge: Persona, role: str, scopes: list[str], second: bool
) -> None:
    assert needs_second_person(sigge.actor, role=role, scopes=scopes) is second
    # A management command (trusted code, as for the other privileged changes) acts alone.
    assert not needs_second_person(Actor.system("test"), role=role, scopes=scopes)


def test_r9_api_client_without_patient_data_is_registered_in_one_step_and_recorded(
    county: County, sigge: Persona, shop: Shop
) -> None:
    made = api_client_register(
        actor=sigge.actor,
        name="Ekonomisystemet",
        unit=county.centre,
        role=Role.BILLING,
        scopes=[ApiScope.BILLING_READ],
        expires_on=timezone.localdate() + dt.timedelta(days=30),
        decision_reference="Dnr E",
    )
    assert made.client.registered_by == sigge.user
    event = last_event(Action.API_CLIENT_REGISTERED)
    assert event.owner_provider_id == county.centre.provider_id
    assert not PrivilegeRequest.objects.exists()


def test_r91_api_client_registered_before_the_rule_keeps_working(
    client: Client, county: County, sigge: Persona, shop: Shop
) -> None:
    """A client made in one step (as every client was before the rule, and as the command still
    does) keeps its token, and is revoked as before (the revocation seen by its unit's
    provider)."""
    from lyfta.accounts.api_clients import api_client_revoke

    old = api_client_register(
        actor=Actor.system("register_api_client"),
        name="Gammal klient",
        unit=county.unit_a,
        role=Role.PRESCRIBER,
        scopes=PATIENT_SCOPES,
        expires_on=timezone.localdate() + dt.timedelta(days=30),
        decision_reference="Dnr 2025/1",
    )
    api = Api(client, old.token)
    assert api.get("/api/v1/orders").status_code == 200
    api_client_revoke(actor=sigge.actor, client=old.client, reason="Ersatt")
    assert api.get("/api/v1/orders").status_code == 401
    assert last_event(Action.API_CLIENT_REVOKED).owner_provider_id == county.unit_a.provider_id
