"""Sessions: idle timeout (R23), absolute lifetime (R24), logout on the server (R25), cookie
flags (R27), listing and ending sessions (R28), the concurrency limit (R29) and
re-authentication before sensitive steps (R30)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from conftest import Persona, signed_in
from lyfta import settings as production
from lyfta.accounts import services, sessions
from lyfta.accounts.models import UserSession
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.accounts.tests.helpers import last_event, sign_in
from lyfta.audit.actions import Action

pytestmark = pytest.mark.django_db


def age_session(client: Client, **seconds_ago: float) -> None:
    session = client.session
    for key, ago in seconds_ago.items():
        session[getattr(sessions, key)] = time.time() - ago
    session.save()


def test_r23_an_idle_session_requires_login_at_the_next_request(
    client: Client, alice: Persona, settings: Any
) -> None:
    settings.LYFTA_IDLE_TIMEOUT = 60
    signed_in(client, alice)
    key = client.session.session_key
    age_session(client, LAST_ACTIVITY=61)
    response = client.get(reverse("organisations:providers"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert last_event(Action.SESSION_IDLE_TIMEOUT).actor_username == "alice"
    assert not Session.objects.filter(session_key=key).exists()
    follow = client.get(response["Location"])
    assert "inte har varit aktiv" in follow.content.decode()


def test_r23_activity_keeps_the_session(client: Client, alice: Persona, settings: Any) -> None:
    settings.LYFTA_IDLE_TIMEOUT = 60
    signed_in(client, alice)
    age_session(client, LAST_ACTIVITY=50)
    assert client.post(reverse("accounts:keepalive")).status_code == 204
    age_session(client, AUTH_AT=100)  # keep-alive reset LAST_ACTIVITY; the page still works
    assert client.get(reverse("start")).status_code == 200


def test_r23_pages_carry_the_idle_warning(as_alice: Client) -> None:
    html = as_alice.get(reverse("start")).content.decode()
    assert f'data-idle-timeout="{production.LYFTA_IDLE_TIMEOUT}"' in html
    assert 'data-idle-warning="60"' in html
    assert 'id="idle-dialog"' in html and "Fortsätt vara inloggad" in html


def test_r23_the_default_is_fifteen_minutes() -> None:
    assert production.LYFTA_IDLE_TIMEOUT == 15 * 60


def test_r24_a_session_ends_after_twelve_hours_whatever_the_activity(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    age_session(client, AUTH_AT=12 * 3600 + 1, LAST_ACTIVITY=1)
    response = client.get(reverse("start"))
    assert response["Location"].startswith(reverse("accounts:login"))
    assert last_event(Action.SESSION_EXPIRED).detail["reason"] == "absolute"
    assert production.SESSION_COOKIE_AGE == 12 * 3600


def test_r25_logout_ends_the_session_on_the_server(client: Client, alice: Persona) -> None:
    services.agreement_accept(user=alice.user)
    sign_in(client, "alice")
    key = client.session.session_key
    client.post(reverse("accounts:logout"))
    replay = Client()
    assert key is not None
    replay.cookies[production.SESSION_COOKIE_NAME] = key
    assert replay.get(reverse("start")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert UserSession.objects.get(user=alice.user).end_reason == "logout"


@pytest.mark.parametrize(
    "name",
    [
        "start",
        "organisations:providers",
        "accounts:sessions",
        "accounts:agreement",
        "accounts:password_change",
    ],
)
def test_r25_every_page_has_a_logout_button_and_is_not_cached(as_alice: Client, name: str) -> None:
    response = as_alice.get(reverse(name))
    html = response.content.decode()
    assert f'action="{reverse("accounts:logout")}"' in html
    assert "no-store" in response["Cache-Control"]


def test_r25_logout_is_a_post(as_alice: Client) -> None:
    assert as_alice.get(reverse("accounts:logout")).status_code == 405


def test_r27_cookie_flags_in_production() -> None:
    assert production.SESSION_COOKIE_SECURE is True
    assert production.SESSION_COOKIE_HTTPONLY is True
    assert production.SESSION_COOKIE_SAMESITE in {"Lax", "Strict"}
    assert production.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert production.CSRF_COOKIE_SECURE is True


def test_r27_the_session_cookie_is_httponly_samesite_and_a_browser_session_cookie(
    alice: Persona,
) -> None:
    services.agreement_accept(user=alice.user)
    client = Client()
    response = sign_in(client, "alice")
    cookie = response.cookies[production.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"] and not cookie["expires"], "expires at browser close"


def test_r28_a_user_sees_and_ends_their_other_sessions(alice: Persona) -> None:
    services.agreement_accept(user=alice.user)
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice", HTTP_USER_AGENT="Laptop")
    sign_in(phone, "alice", HTTP_USER_AGENT="Phone")
    page = laptop.get(reverse("accounts:sessions")).content.decode()
    assert "Laptop" in page and "Phone" in page
    other = UserSession.objects.get(user=alice.user, user_agent="Phone")
    # Fresh from signing in, no password is asked again; later it would be (R30).
    assert laptop.post(reverse("accounts:session_end", args=[other.pk])).status_code == 302
    assert phone.get(reverse("start")).status_code == 302
    assert laptop.get(reverse("start")).status_code == 200


def test_r28_ending_another_session_asks_for_the_password_again(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    services.agreement_accept(user=alice.user)
    other = Client()
    sign_in(other, "alice")
    age_session(client, REAUTH_AT=3600)
    row = (
        UserSession.objects.filter(user=alice.user)
        .exclude(session_key=client.session.session_key)
        .first()
    )
    assert row is not None
    response = client.post(reverse("accounts:session_end", args=[row.pk]))
    assert response["Location"].startswith(reverse("accounts:reauthenticate"))
    assert other.get(reverse("start")).status_code == 200


def test_r28_an_administrator_ends_all_sessions_of_a_user(alice: Persona, ulla: Persona) -> None:
    services.agreement_accept(user=alice.user)
    clients = [Client(), Client()]
    for c in clients:
        sign_in(c, "alice")
    assert services.sessions_end_for_user(actor=ulla.actor, user=alice.user) == 2
    for c in clients:
        assert c.get(reverse("start")).status_code == 302
    assert last_event(Action.SESSION_ENDED).actor_username == "ulla"


def test_r29_a_fourth_sign_in_ends_the_oldest_session(alice: Persona) -> None:
    services.agreement_accept(user=alice.user)
    clients = [Client() for _ in range(4)]
    for c in clients:
        sign_in(c, "alice")
    assert production.LYFTA_MAX_SESSIONS == 3
    assert clients[0].get(reverse("start")).status_code == 302
    for c in clients[1:]:
        assert c.get(reverse("start")).status_code == 200
    assert UserSession.objects.get(user=alice.user, end_reason="limit")


def test_r29_the_limit_is_documented() -> None:
    from pathlib import Path

    readme = (Path(production.BASE_DIR) / "README.md").read_text()
    assert "LYFTA_MAX_SESSIONS" in readme


def test_r30_a_sensitive_step_asks_for_the_password_again(client: Client, ulla: Persona) -> None:
    signed_in(client, ulla)
    age_session(client, REAUTH_AT=production.LYFTA_REAUTH_WINDOW + 1)
    response = client.get(reverse("accounts:admin_user_create"))
    assert response["Location"].startswith(reverse("accounts:reauthenticate"))
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from lyfta.accounts.tests.helpers import code_for

    device = TOTPDevice.objects.get(user=ulla.user)
    ok = client.post(
        reverse("accounts:reauthenticate"),
        {
            "password": TEST_PASSWORD,
            "code": code_for(device),
            "next": reverse("accounts:admin_user_create"),
        },
    )
    assert ok["Location"] == reverse("accounts:admin_user_create")
    assert client.get(reverse("accounts:admin_user_create")).status_code == 200


def test_r30_a_wrong_password_does_not_pass_and_is_recorded(client: Client, ulla: Persona) -> None:
    signed_in(client, ulla)
    response = client.post(
        reverse("accounts:reauthenticate"), {"password": "fel", "code": "000000"}
    )
    assert response.status_code == 400
    assert last_event(Action.REAUTH_FAILED).actor_username == "ulla"
