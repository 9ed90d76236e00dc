"""Separation of duties (R91) for closing and reopening accounts: deactivating an account that
holds system administration, user administration or log review takes that role away in effect, and
reactivating it gives the role back, so either is a request by one person and an approval by
another, under the same rules as the other privileged changes. An ordinary account is still
deactivated and reactivated in one step (R5)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.accounts import services
from lyfta.accounts.models import PrivilegeRequest, User
from lyfta.accounts.tests.helpers import last_event
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ursula(county: County) -> Persona:
    """The region's user administrator, at the assistive-device centre."""
    return make_persona(
        county.centre, Role.USER_ADMIN, "ursula", first_name="Ursula", last_name="Uppsåt"
    )


@pytest.fixture
def ulrik(county: County) -> Persona:
    """A second user administrator of the region."""
    return make_persona(
        county.region_admin, Role.USER_ADMIN, "ulrik", first_name="Ulrik", last_name="Ärlig"
    )


def _action(client: Client, user: User, action: str, **data: str) -> Any:
    return client.post(reverse("accounts:admin_user_action", args=[user.pk, action]), data)


def _decide(client: Client, name: str, request: PrivilegeRequest) -> Any:
    return client.post(reverse(f"accounts:admin_privilege_{name}", args=[request.pk]))


def _active(user: User) -> bool:
    user.refresh_from_db()
    return user.is_active


def test_r91_a_user_administrator_cannot_deactivate_a_system_administrator_alone(
    client: Client, ursula: Persona, sigge: Persona
) -> None:
    """The security test's finding: one user administrator closed the system administrator's
    account with a reason, alone."""
    own = Client()
    signed_in(own, sigge)
    signed_in(client, ursula)
    response = _action(client, sigge.user, "deactivate", reason="Misstänkt intrång")
    assert response.status_code == 302
    assert _active(sigge.user), "still open until another person approves"
    assert own.get(reverse("accounts:admin_privilege_requests")).status_code == 200, "still in"
    request = PrivilegeRequest.objects.get(subject=sigge.user)
    assert (request.kind, request.status, request.reason) == (
        "deactivate",
        "pending",
        "Misstänkt intrång",
    )
    asked = last_event(Action.PRIVILEGE_REQUESTED)
    assert (asked.actor_username, asked.detail["kind"]) == ("ursula", "deactivate")
    assert not AuditEvent.objects.filter(action=Action.USER_DEACTIVATED).exists()
    page = client.get(response["Location"]).content.decode()
    assert "väntar på godkännande" in page
    assert "Misstänkt intrång" in page

    # The one-step service refuses, and the refusal is recorded.
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=ursula.actor, user=sigge.user, reason="x")
    assert last_event(Action.ACCESS_DENIED).detail == {
        "attempted": Action.USER_DEACTIVATED,
        "reason": "needs_approval",
    }
    # She cannot approve her own request; he cannot approve one about himself.
    assert _decide(client, "approve", request).status_code == 403
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "own_request"
    assert _decide(own, "approve", request).status_code == 403
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "about_self"
    assert _active(sigge.user)


def test_r91_an_approved_deactivation_closes_the_account_and_ends_its_sessions(
    client: Client, ursula: Persona, ulrik: Persona, sigge: Persona
) -> None:
    own = Client()
    signed_in(own, sigge)
    request = services.privilege_request_deactivate(
        actor=ursula.actor, user=sigge.user, reason="Slutat"
    )
    signed_in(client, ulrik)
    listing = client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Sigge Sys" in listing and "Avaktivera kontot" in listing and "Slutat" in listing
    assert _decide(client, "approve", request).status_code == 302
    assert not _active(sigge.user)
    assert own.get(reverse("accounts:admin_privilege_requests")).status_code == 302, "out (R5)"
    deactivated = last_event(Action.USER_DEACTIVATED)
    assert deactivated.actor_username == "ulrik"
    assert deactivated.detail["request"] == request.pk
    assert deactivated.detail["requested_by"] == ursula.user.pk
    assert deactivated.detail["reason"] == "Slutat"
    approved = last_event(Action.PRIVILEGE_APPROVED)
    assert (approved.actor_username, approved.detail["kind"]) == ("ulrik", "deactivate")
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", ulrik.user)


def test_r91_a_deactivation_request_is_rejected_withdrawn_or_lapses_without_effect(
    client: Client, ursula: Persona, ulrik: Persona, sigge: Persona
) -> None:
    signed_in(client, ulrik)
    rejected = services.privilege_request_deactivate(
        actor=ursula.actor, user=sigge.user, reason="x"
    )
    assert _decide(client, "reject", rejected).status_code == 302
    assert last_event(Action.PRIVILEGE_REJECTED).actor_username == "ulrik"

    lapsed = services.privilege_request_deactivate(actor=ursula.actor, user=sigge.user, reason="y")
    with pytest.raises(ValidationError):  # one of a kind waits at a time
        services.privilege_request_deactivate(actor=ursula.actor, user=sigge.user, reason="y")
    PrivilegeRequest.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now())
    with pytest.raises(ValidationError):
        services.privilege_request_approve(actor=ulrik.actor, request=lapsed)

    withdrawn = services.privilege_request_deactivate(
        actor=ursula.actor, user=sigge.user, reason="z"
    )
    assert _decide(client, "cancel", withdrawn).status_code == 403, "only the requester"
    services.privilege_request_cancel(actor=ursula.actor, request=withdrawn)
    assert last_event(Action.PRIVILEGE_CANCELLED).detail["kind"] == "deactivate"
    assert _decide(client, "approve", withdrawn).status_code == 302
    assert _active(sigge.user)
    assert not AuditEvent.objects.filter(action=Action.USER_DEACTIVATED).exists()


def test_r91_another_providers_administrator_cannot_decide_a_deactivation(
    ursula: Persona, ulla: Persona, sigge: Persona, lena: Persona
) -> None:
    request = services.privilege_request_deactivate(actor=ursula.actor, user=sigge.user, reason="x")
    with pytest.raises(PermissionDenied):
        services.privilege_request_approve(actor=ulla.actor, request=request)
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "outside_scope"
    with pytest.raises(PermissionDenied):  # nor ask about an account outside his scope
        services.privilege_request_deactivate(actor=ulla.actor, user=sigge.user, reason="x")
    with pytest.raises(PermissionDenied):  # nor about his own
        services.privilege_request_deactivate(actor=ulla.actor, user=ulla.user, reason="x")
    assert _active(sigge.user) and _active(ulla.user)


def test_r91_deactivating_and_reactivating_an_ordinary_account_stay_one_step(
    client: Client, ulla: Persona, alice: Persona
) -> None:
    signed_in(client, ulla)
    assert _action(client, alice.user, "deactivate", reason="slutat").status_code == 302
    assert not _active(alice.user)
    page = client.get(reverse("accounts:admin_user", args=[alice.user.pk])).content.decode()
    assert "Återaktivera kontot" in page
    assert _action(client, alice.user, "reactivate", reason="tillbaka").status_code == 302
    assert _active(alice.user)
    reactivated = last_event(Action.USER_REACTIVATED)
    assert reactivated.actor_username == "ulla"
    assert reactivated.changes == {"is_active": [False, True]}
    assert reactivated.detail == {"reason": "tillbaka"}
    assert not PrivilegeRequest.objects.exists()
    # Reactivating an open account is refused with a message, not an error page.
    response = _action(client, alice.user, "reactivate", reason="igen")
    assert response.status_code == 302
    assert "Kontot är redan aktivt" in client.get(response["Location"]).content.decode()


def test_r91_reactivating_a_privileged_account_is_a_request(
    client: Client, ulla: Persona, lena: Persona, sigge: Persona
) -> None:
    """The log reviewer's account was closed (with approval); reopening it gives the role back, so
    it too waits for a second person."""
    deactivation = services.privilege_request_deactivate(
        actor=ulla.actor, user=lena.user, reason="tjänstledig"
    )
    services.privilege_request_approve(actor=sigge.actor, request=deactivation)
    assert not _active(lena.user)

    signed_in(client, ulla)
    assert _action(client, lena.user, "reactivate", reason="åter i tjänst").status_code == 302
    assert not _active(lena.user), "still closed until approved"
    with pytest.raises(PermissionDenied):
        services.user_reactivate(actor=ulla.actor, user=lena.user, reason="x")
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "needs_approval"
    request = PrivilegeRequest.objects.get(subject=lena.user, kind="reactivate")
    assert _decide(client, "approve", request).status_code == 403

    approver = Client()
    signed_in(approver, sigge)
    assert _decide(approver, "approve", request).status_code == 302
    assert _active(lena.user)
    reactivated = last_event(Action.USER_REACTIVATED)
    assert (reactivated.actor_username, reactivated.detail["request"]) == ("sigge", request.pk)
    assert reactivated.detail["requested_by"] == ulla.user.pk


def test_r91_reopening_a_dormant_privileged_account_is_a_request_too(
    ulla: Persona, lena: Persona, sigge: Persona
) -> None:
    """An account made dormant by the job (R7) is reopened the same way; the job itself acts
    alone, as trusted code does."""
    past = timezone.now() - dt.timedelta(days=400)
    User.objects.filter(pk=lena.user.pk).update(last_login=past, date_joined=past)
    services.accounts_suspend_dormant(actor=Actor.system("suspend_dormant_accounts"))
    lena.user.refresh_from_db()
    assert lena.user.suspended_at is not None
    with pytest.raises(PermissionDenied):
        services.user_reactivate(actor=ulla.actor, user=lena.user, reason="x")
    request = services.privilege_request_reactivate(actor=ulla.actor, user=lena.user, reason="åter")
    services.privilege_request_approve(actor=sigge.actor, request=request)
    reopened = User.objects.get(pk=lena.user.pk)
    assert (reopened.suspended_at, reopened.suspension_reason) == (None, "")
    assert "suspended_at" in last_event(Action.USER_REACTIVATED).changes


def test_r91_a_management_command_still_deactivates_in_one_step(sigge: Persona) -> None:
    services.user_deactivate(
        actor=Actor.system("offboarding"), user=sigge.user, reason="avslutad anställning"
    )
    assert not _active(sigge.user)
    assert not PrivilegeRequest.objects.exists()


def test_r91_shortening_a_system_administrators_window_needs_a_second_person(
    ursula: Persona, sigge: Persona
) -> None:
    """Found after the deactivation fix: setting a privileged account's end date to yesterday
    locks it out as surely as deactivating it. One user administrator cannot do it alone; the
    refusal is recorded. Lengthening the window, or other fields, stay one step."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        services.user_update(actor=ursula.actor, user=sigge.user, valid_until=yesterday)
    assert "valid_until" in refused.value.message_dict
    sigge.user.refresh_from_db()
    assert sigge.user.valid_until != yesterday
    denial = last_event(Action.ACCESS_DENIED)
    assert (denial.actor_username, denial.detail["reason"]) == ("ursula", "needs_approval")
    services.user_update(actor=ursula.actor, user=sigge.user, title="Systemförvaltare")
    sigge.user.refresh_from_db()
    assert sigge.user.title == "Systemförvaltare"


def _edit_form(user: User, **changes: str) -> dict[str, str]:
    user.refresh_from_db()
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "personnummer": user.personnummer or "194003149806",
        "username": user.username,
        "hsa_id": user.hsa_id or "",
        "title": user.title or "Systemadministratör",
        "workplace": user.workplace or "Regionen",
        "email": user.email,
        "phone": user.phone,
        "valid_from": user.valid_from.isoformat(),
        "valid_until": user.valid_until.isoformat() if user.valid_until else "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "change",
    [
        {"valid_until": "yesterday"},
        {"valid_from": "next month"},
        {"username": "sigge.x"},
        # The HSA id names who signs in with SITHS (decision 0017): a new one hands the account
        # to another card.
        {"hsa_id": "SE2321000016-ZZZZ"},
    ],
)
def test_r91_the_account_page_cannot_lock_out_a_system_administrator_alone(
    client: Client, ursula: Persona, sigge: Persona, change: dict[str, str]
) -> None:
    """Found by the second attack pass: through the account form (whose model form copies the
    posted values onto the account before the service compares them) one user administrator
    shortened the system administrator's window, or renamed him, and so locked him out alone."""
    today = timezone.localdate()
    words = {
        "yesterday": (today - dt.timedelta(days=1)).isoformat(),
        "next month": (today + dt.timedelta(days=30)).isoformat(),
    }
    posted = {name: words.get(value, value) for name, value in change.items()}
    before = (sigge.user.username, sigge.user.valid_from, sigge.user.valid_until, None)
    signed_in(client, ursula)
    response = client.post(
        reverse("accounts:admin_user_edit", args=[sigge.user.pk]), _edit_form(sigge.user, **posted)
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "annan administratör" in page, re.findall(r"errorlist[^<]*<li>([^<]*)", page)
    stored = User.objects.get(pk=sigge.user.pk)
    assert (stored.username, stored.valid_from, stored.valid_until, stored.hsa_id) == before
    denial = last_event(Action.ACCESS_DENIED)
    assert (denial.actor_username, denial.detail["reason"]) == ("ursula", "needs_approval")
