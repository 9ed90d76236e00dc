"""Holes found in review and closed: each test names the requirement it protects."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import County, Persona, signed_in
from lyfta import settings as production
from lyfta.accounts import services, sessions
from lyfta.accounts.models import Assignment, User, UserSession
from lyfta.accounts.tests.factories import TEST_PASSWORD, UserFactory
from lyfta.accounts.tests.helpers import last_event, sign_in
from lyfta.audit.actions import Action

pytestmark = pytest.mark.django_db


def stale(client: Client) -> None:
    session = client.session
    session[sessions.REAUTH_AT] = time.time() - 3600
    session.save()


def test_r30_a_second_authenticator_cannot_be_added_to_an_open_session(
    client: Client, ulla: Persona
) -> None:
    signed_in(client, ulla)
    response = client.get(reverse("accounts:mfa_enrol"))
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=ulla.user).count() == 1


def test_r30_a_code_does_not_count_as_re_authentication(client: Client, ulla: Persona) -> None:
    signed_in(client, ulla)
    stale(client)
    assert client.get(reverse("accounts:mfa_verify")).status_code == 302  # already verified
    assert client.get(reverse("accounts:admin_user_create"))["Location"].startswith(
        reverse("accounts:reauthenticate")
    )


def test_r22_the_admin_site_has_no_password_change_or_logout_of_its_own(
    client: Client, sigge: Persona
) -> None:
    signed_in(client, sigge)
    assert client.get("/admin/password_change/")["Location"] == reverse("accounts:password_change")
    assert client.post("/admin/logout/")["Location"] == reverse("start")
    sigge.user.refresh_from_db()
    assert sigge.user.check_password(TEST_PASSWORD)


def test_r38_the_admin_site_refuses_other_roles_with_an_audited_403(as_alice: Client) -> None:
    response = as_alice.get("/admin/")
    assert response.status_code == 403
    denied = last_event(Action.ACCESS_DENIED)
    assert (denied.actor_username, denied.detail["capability"]) == ("alice", "admin.site")


def test_r6_remove_at_follow_up_asks_for_re_authentication(
    client: Client, ulla: Persona, bob: Persona, county: County
) -> None:
    signed_in(client, ulla)
    stale(client)
    url = reverse("accounts:admin_recertification_unit", args=[county.unit_a.pk])
    response = client.post(url, {"assignment": bob.assignment.pk, "outcome": "remove"})
    assert response["Location"].startswith(reverse("accounts:reauthenticate"))
    bob.assignment.refresh_from_db()
    assert bob.assignment.ended_at is None


def test_r6_a_unit_manager_follows_up_only_their_own_unit(county: County, bob: Persona) -> None:
    from conftest import make_persona
    from lyfta.access import users as access_users
    from lyfta.access.roles import Role

    manager = make_persona(county.unit_a, Role.UNIT_MANAGER, "maja")
    assert list(access_users.units_recertifiable_by(manager.actor)) == [county.unit_a]
    decision = services.recertification_record(
        actor=manager.actor, assignment=bob.assignment, outcome="keep"
    )
    assert decision.decided_by == manager.user


def test_r18_one_address_spraying_many_usernames_is_refused(settings: Any, alice: Persona) -> None:
    settings.LYFTA_LOCKOUT_ADDRESS_FAILURES = 5
    client = Client()
    for n in range(5):
        sign_in(client, f"someone{n}", "fel fel fel fel", REMOTE_ADDR="203.0.113.9")
    services.agreement_accept(user=alice.user)
    assert sign_in(client, "alice", REMOTE_ADDR="203.0.113.9").status_code == 429
    assert last_event(Action.LOCKED_OUT).detail["reason"] == "locked_address"
    assert sign_in(Client(), "alice", REMOTE_ADDR="203.0.113.10").status_code == 302


def test_r18_an_account_closes_after_many_failures_from_anywhere(
    settings: Any, alice: Persona, ulla: Persona
) -> None:
    settings.LYFTA_LOCKOUT_ACCOUNT_FAILURES = 6
    services.agreement_accept(user=alice.user)
    for n in range(6):
        sign_in(Client(), "alice", "fel fel fel fel", REMOTE_ADDR=f"198.51.100.{n}")
    assert sign_in(Client(), "alice", REMOTE_ADDR="198.51.100.99").status_code == 429
    assert last_event(Action.LOCKED_OUT).detail["reason"] == "locked_account"
    services.user_unlock(actor=ulla.actor, user=alice.user)
    assert sign_in(Client(), "alice", REMOTE_ADDR="198.51.100.99").status_code == 302
    assert production.LYFTA_LOCKOUT_ACCOUNT_FAILURES <= 100


def test_r18_guessing_passwords_inside_a_session_ends_it(
    settings: Any, client: Client, alice: Persona
) -> None:
    settings.LYFTA_LOCKOUT_ADDRESS_FAILURES = 3
    signed_in(client, alice)
    for _ in range(3):
        client.post(reverse("accounts:reauthenticate"), {"password": "gissning"})
    response = client.post(reverse("accounts:reauthenticate"), {"password": TEST_PASSWORD})
    assert response.status_code == 429
    assert client.get(reverse("start")).status_code == 302
    assert last_event(Action.LOCKED_OUT).detail["reason"] == "guessing_in_session"


def test_r14_an_enormous_password_is_refused_quickly(client: Client, alice: Persona) -> None:
    signed_in(client, alice)
    huge = "ab" * 50_000
    started = time.perf_counter()
    response = client.post(
        reverse("accounts:password_change"), {"current": TEST_PASSWORD, "new": huge, "repeat": huge}
    )
    assert response.status_code == 400
    assert time.perf_counter() - started < 2


def test_r15_an_administrator_can_force_a_password_change(
    client: Client, ulla: Persona, alice: Persona
) -> None:
    services.user_force_password_change(actor=ulla.actor, user=alice.user, reason="röjt")
    signed_in(client, alice)
    response = client.get(reverse("start"))
    assert response["Location"].startswith(reverse("accounts:password_change"))
    new = "ett helt nytt lösenord med många ord"
    client.post(
        reverse("accounts:password_change"), {"current": TEST_PASSWORD, "new": new, "repeat": new}
    )
    assert client.get(reverse("start")).status_code == 200
    assert last_event(Action.USER_UPDATED).changes == {"must_change_password": [False, True]}


def test_r29_a_session_ended_by_the_limit_is_audited(alice: Persona) -> None:
    services.agreement_accept(user=alice.user)
    for _ in range(4):
        sign_in(Client(), "alice")
    event = last_event(Action.SESSION_ENDED)
    assert event.detail["reason"] == "limit"
    assert UserSession.objects.filter(user=alice.user, end_reason="limit").count() == 1


def test_r38_looking_up_an_account_outside_ones_provider_is_audited(
    client: Client, ulla: Persona, charlie: Persona
) -> None:
    signed_in(client, ulla)
    client.get(reverse("accounts:admin_user", args=[charlie.user.pk]))
    denied = last_event(Action.ACCESS_DENIED)
    assert (denied.resource_type, denied.resource_id) == ("accounts.user", str(charlie.user.pk))


def test_r19_a_reset_code_works_once_even_when_used_twice(ulla: Persona, alice: Persona) -> None:
    from django.core.exceptions import ValidationError

    code = services.password_reset_start(actor=ulla.actor, user=alice.user)
    services.password_reset_complete(code=code, password="första lösenordet är en lång fras")
    with pytest.raises(ValidationError):
        services.password_reset_complete(code=code, password="andra lösenordet är en annan fras")
    alice.user.refresh_from_db()
    assert alice.user.check_password("första lösenordet är en lång fras")


def test_r9_system_administration_is_granted_only_at_the_centre(
    ulla: Persona, county: County
) -> None:
    from django.core.exceptions import PermissionDenied

    from lyfta.access import users as access_users
    from lyfta.access.roles import Role

    person = UserFactory(provider=county.municipality)
    assert not access_users.can_grant(ulla.actor, person, county.unit_a, Role.SYSTEM_ADMIN)
    import datetime as dt

    from django.utils import timezone

    with pytest.raises(PermissionDenied):
        services.assignment_create(
            actor=ulla.actor,
            user=person,
            unit=county.unit_a,
            role=Role.SYSTEM_ADMIN,
            valid_from=timezone.localdate(),
            valid_until=timezone.localdate() + dt.timedelta(days=10),
            decision_reference="x",
        )
    assert not Assignment.objects.filter(user=person).exists()
    assert User.objects.filter(pk=person.pk).exists()
