"""Sign-in: validity windows (R3), second factor (R12), hashing (R17), lockout (R18), password
change and reset (R19), identical failures (R21), events (R22) and new session keys (R26)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import County, Persona, make_persona, signed_in
from lyfta import settings as production
from lyfta.access.roles import Role
from lyfta.accounts import services
from lyfta.accounts.models import User
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.accounts.tests.helpers import actions, code_for, last_event, sign_in
from lyfta.audit.actions import Action

pytestmark = pytest.mark.django_db


def ready(persona: Persona) -> Persona:
    services.agreement_accept(user=persona.user)
    return persona


# --- R3: the account's validity window --------------------------------------------------------


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [(1, None), (-30, -1)],
    ids=["starts-tomorrow", "ended-yesterday"],
)
def test_r3_sign_in_is_refused_outside_the_account_window(
    client: Client, alice: Persona, valid_from: int, valid_until: int | None
) -> None:
    today = timezone.localdate()
    User.objects.filter(pk=alice.user.pk).update(
        valid_from=today + dt.timedelta(days=valid_from),
        valid_until=today + dt.timedelta(days=valid_until) if valid_until is not None else None,
    )
    response = sign_in(client, "alice")
    assert response.status_code == 200
    assert "Inloggningen misslyckades" in response.content.decode()
    event = last_event(Action.LOGIN_FAILED)
    assert event.actor_username == "alice"
    assert event.detail["reason"] == "account_not_valid"


def test_r3_an_open_session_ends_at_its_next_request_when_the_window_closes(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    assert client.get(reverse("start")).status_code == 200
    User.objects.filter(pk=alice.user.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    response = client.get(reverse("start"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "account_not_valid"
    assert client.get(reverse("start")).status_code == 302  # the session is gone


def test_r3_a_suspended_account_is_refused(client: Client, alice: Persona) -> None:
    User.objects.filter(pk=alice.user.pk).update(suspended_at=timezone.now())
    sign_in(client, "alice")
    assert last_event(Action.LOGIN_FAILED).detail["reason"] == "account_not_valid"


# --- R12: second factor -----------------------------------------------------------------------


def test_r12_an_administrative_role_must_enrol_a_second_factor(
    client: Client, ulla: Persona
) -> None:
    ready(ulla)
    response = sign_in(client, "ulla")
    assert response.status_code == 302
    start = client.get(reverse("start"))
    assert start["Location"].startswith(reverse("accounts:mfa_enrol"))
    page = client.get(reverse("accounts:mfa_enrol"))
    assert b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=ulla.user, confirmed=False)
    wrong = client.post(reverse("accounts:mfa_enrol"), {"code": "000000"})
    assert wrong.status_code == 400
    device.refresh_from_db()
    assert device.throttling_failure_count == 1, "failures slow down further guesses"
    device.throttle_reset()
    assert client.post(reverse("accounts:mfa_enrol"), {"code": code_for(device)}).status_code == 302
    assert client.get(reverse("start")).status_code == 200
    assert Action.MFA_ENROLLED in actions(actor_username="ulla")
    assert Action.MFA_FAILED in actions(actor_username="ulla")


def test_r12_a_password_alone_never_reaches_a_page_when_a_code_is_required(
    client: Client, alice: Persona, settings: Any
) -> None:
    settings.LYFTA_REQUIRE_MFA = True
    ready(alice)
    device = TOTPDevice.objects.create(user=alice.user, name="telefon", confirmed=True)
    sign_in(client, "alice")
    for name in ("start", "organisations:providers", "accounts:sessions"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:mfa_verify")), name
    assert client.post(reverse("accounts:mfa_verify"), {"code": "123456"}).status_code == 400
    device.refresh_from_db()
    device.throttle_reset()
    assert (
        client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)}).status_code == 302
    )
    assert client.get(reverse("start")).status_code == 200
    assert actions(action__in=[Action.MFA_FAILED, Action.MFA_VERIFIED]) == [
        Action.MFA_FAILED,
        Action.MFA_VERIFIED,
    ]


def test_r12_mfa_is_the_production_default() -> None:
    assert production.LYFTA_REQUIRE_MFA is True


def test_r12_a_prescriber_needs_no_code_when_the_deployment_turns_it_off(
    client: Client, alice: Persona
) -> None:
    ready(alice)
    sign_in(client, "alice")
    assert client.get(reverse("start")).status_code == 200


# --- R17: hashing -----------------------------------------------------------------------------


def test_r17_passwords_are_stored_with_argon2id(settings: Any) -> None:
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    encoded = make_password("en lång lösenfras med fyra ord")
    assert encoded.startswith("argon2$argon2id$")
    assert "m=" in encoded and "t=" in encoded  # parameters stored with each hash


def test_r17_an_older_hash_is_upgraded_at_sign_in(
    client: Client, alice: Persona, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    User.objects.filter(pk=alice.user.pk).update(
        password=make_password(TEST_PASSWORD, hasher="pbkdf2_sha256")
    )
    sign_in(client, "alice")
    alice.user.refresh_from_db()
    assert alice.user.password.startswith("argon2$argon2id$")


# --- R18: lockout -----------------------------------------------------------------------------


def test_r18_ten_failures_lock_the_username_at_that_address(client: Client, alice: Persona) -> None:
    ready(alice)
    for _ in range(10):
        sign_in(client, "alice", "fel fel fel fel", REMOTE_ADDR="10.0.0.7")
    locked = sign_in(client, "alice", REMOTE_ADDR="10.0.0.7")
    assert locked.status_code == 429
    assert "För många misslyckade försök" in locked.content.decode()
    assert last_event(Action.LOCKED_OUT).client_address == "10.0.0.7"
    # Another address is not locked out of the same account (no denial of service by a stranger).
    other = Client()
    assert sign_in(other, "alice", REMOTE_ADDR="10.0.0.8").status_code == 302


def test_r18_a_user_administrator_can_unlock(client: Client, alice: Persona, ulla: Persona) -> None:
    ready(alice)
    for _ in range(11):
        sign_in(client, "alice", "fel fel fel fel")
    assert sign_in(client, "alice").status_code == 429
    services.user_unlock(actor=ulla.actor, user=alice.user)
    assert sign_in(client, "alice").status_code == 302
    assert last_event(Action.USER_UNLOCKED).actor_username == "ulla"


def test_r18_thresholds_are_the_documented_ones() -> None:
    assert production.AXES_FAILURE_LIMIT == 10
    assert dt.timedelta(minutes=15) == production.AXES_COOLOFF_TIME
    assert production.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


# --- R19: change and reset --------------------------------------------------------------------


def test_r19_password_change_requires_the_current_password(client: Client, alice: Persona) -> None:
    signed_in(client, alice)
    new = "nya lösenordet är fyra ovanliga ord kvällsdopp"
    response = client.post(
        reverse("accounts:password_change"), {"current": "inte rätt", "new": new, "repeat": new}
    )
    assert response.status_code == 400
    assert "nuvarande lösenordet stämmer inte" in response.content.decode()
    assert last_event(Action.PASSWORD_CHANGE_FAILED).detail["reason"] == "current_password"
    response = client.post(
        reverse("accounts:password_change"), {"current": TEST_PASSWORD, "new": new, "repeat": new}
    )
    assert response.status_code == 302
    alice.user.refresh_from_db()
    assert alice.user.check_password(new)
    assert last_event(Action.PASSWORD_CHANGED).actor_username == "alice"


def test_r19_the_administrator_gets_a_one_time_code_and_never_the_password(
    client: Client, ulla: Persona, county: County
) -> None:
    from lyfta.accounts.forms import UserForm

    assert "password" not in UserForm.base_fields
    person = services.user_create(
        actor=ulla.actor,
        username="nyanställd",
        first_name="Ny",
        last_name="Anställd",
        personnummer="199001019810",
    )
    assert not person.has_usable_password()
    code = services.password_reset_start(actor=ulla.actor, user=person)
    url = reverse("accounts:password_set", args=[code])
    new = "vårt nya kontor har gröna gardiner"
    assert Client().post(url, {"new": new, "repeat": new}).status_code == 302
    person.refresh_from_db()
    assert person.check_password(new)
    assert Client().get(url).status_code == 404, "a code is used once"
    stored = person.reset_codes.get()
    assert code not in (stored.code_hash,)
    assert stored.expires_at - stored.created_at == dt.timedelta(hours=24)


def test_r19_an_expired_code_is_refused(ulla: Persona, alice: Persona) -> None:
    code = services.password_reset_start(actor=ulla.actor, user=alice.user)
    alice.user.reset_codes.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().get(reverse("accounts:password_set", args=[code]))
    assert response.status_code == 404
    assert "Koden gäller inte" in response.content.decode()


def test_r19_a_reset_never_bypasses_the_second_factor(
    ulla: Persona, alice: Persona, settings: Any
) -> None:
    settings.LYFTA_REQUIRE_MFA = True
    ready(alice)
    TOTPDevice.objects.create(user=alice.user, name="telefon", confirmed=True)
    code = services.password_reset_start(actor=ulla.actor, user=alice.user)
    new = "mitt nya lösenord är en lång mening"
    services.password_reset_complete(code=code, password=new)
    client = Client()
    sign_in(client, "alice", new)
    assert client.get(reverse("start"))["Location"].startswith(reverse("accounts:mfa_verify"))


def test_r19_a_weak_password_is_refused_with_the_code_unused(ulla: Persona, alice: Persona) -> None:
    code = services.password_reset_start(actor=ulla.actor, user=alice.user)
    response = Client().post(
        reverse("accounts:password_set", args=[code]), {"new": "kort", "repeat": "kort"}
    )
    assert response.status_code == 400
    assert "för kort" in response.content.decode()
    assert alice.user.reset_codes.get().used_at is None


# --- R21: one answer for every failure --------------------------------------------------------


def _normalised(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'X-CSRFToken": "[^"]+"', "", html)
    return re.sub(r'value="[^"]*" *(autocomplete="username")', r"\1", html)


def test_r21_unknown_username_and_wrong_password_get_the_same_answer(alice: Persona) -> None:
    unknown = sign_in(Client(), "finns-inte", "något lösenord")
    wrong = sign_in(Client(), "alice", "något lösenord")
    assert unknown.status_code == wrong.status_code == 200
    assert _normalised(unknown.content.decode()).replace("finns-inte", "X") == _normalised(
        wrong.content.decode()
    ).replace("alice", "X")
    assert last_event(Action.LOGIN_FAILED).detail["reason"] == "bad_password"


def test_r21_lockout_answers_unknown_usernames_alike(alice: Persona) -> None:
    client = Client()
    for _ in range(11):
        sign_in(client, "finns-inte", "fel fel fel fel")
    assert sign_in(client, "finns-inte").status_code == 429


# --- R22: authentication events ---------------------------------------------------------------


def test_r22_sign_in_events_carry_username_time_address_method_and_outcome(
    client: Client, alice: Persona
) -> None:
    ready(alice)
    sign_in(client, "alice", "fel fel fel fel", REMOTE_ADDR="192.0.2.10")
    sign_in(client, "alice", REMOTE_ADDR="192.0.2.10")
    client.post(reverse("accounts:logout"), REMOTE_ADDR="192.0.2.10")
    failed, ok, out = (last_event(a) for a in (Action.LOGIN_FAILED, Action.LOGIN, Action.LOGOUT))
    for event in (failed, ok, out):
        assert event.actor_username == "alice"
        assert event.client_address == "192.0.2.10"
        assert event.occurred_at is not None
    assert (failed.outcome, ok.outcome) == ("denied", "granted")
    assert failed.detail["method"] == ok.detail["method"] == "password"


# --- R26: a new session key at sign-in and re-authentication ----------------------------------


def test_r26_sign_in_issues_a_new_session_key(client: Client, alice: Persona) -> None:
    ready(alice)
    client.get(reverse("accounts:login"))
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    sign_in(client, "alice")
    assert client.session.session_key != before


def test_r26_re_authentication_of_the_same_user_issues_a_new_session_key(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    client.get(reverse("start"))
    before = client.session.session_key
    response = client.post(
        reverse("accounts:reauthenticate"), {"password": TEST_PASSWORD, "next": "/"}
    )
    assert response.status_code == 302
    assert client.session.session_key != before
    assert last_event(Action.REAUTHENTICATED).actor_username == "alice"


def test_r26_the_old_session_key_is_worthless_after_sign_in(alice: Persona) -> None:
    ready(alice)
    client = Client()
    sign_in(client, "alice")
    key = client.session.session_key
    client.post(reverse("accounts:reauthenticate"), {"password": TEST_PASSWORD})
    replay = Client()
    assert key is not None
    replay.cookies["lyfta_session"] = key
    assert replay.get(reverse("start")).status_code == 302


def test_r12_administrators_are_asked_for_a_code_even_when_mfa_is_off(
    client: Client, county: County
) -> None:
    lars = make_persona(county.region_admin, Role.SYSTEM_ADMIN, "lars")
    ready(lars)
    TOTPDevice.objects.create(user=lars.user, name="telefon", confirmed=True)
    sign_in(client, "lars")
    assert client.get(reverse("start"))["Location"].startswith(reverse("accounts:mfa_verify"))


def test_r16_the_last_ten_passwords_cannot_be_reused(client: Client, alice: Persona) -> None:
    signed_in(client, alice)
    words = [
        "blåbär",
        "kanot",
        "fjällräv",
        "mörker",
        "glöd",
        "snöflinga",
        "tranbär",
        "ekorre",
        "åskväder",
        "lingon",
        "havsörn",
        "myrstack",
    ]
    current = TEST_PASSWORD
    used = []
    for i in range(11):
        new = f"{words[i]} {words[i + 1]} vandrar över {words[(i + 5) % 12]} {i}x"
        response = client.post(
            reverse("accounts:password_change"), {"current": current, "new": new, "repeat": new}
        )
        assert response.status_code == 302, response.content.decode()[-800:]
        used.append(new)
        current = new
    again = client.post(
        reverse("accounts:password_change"),
        {"current": current, "new": used[-3], "repeat": used[-3]},
    )
    assert again.status_code == 400
    assert "använt det här lösenordet tidigare" in again.content.decode()
    same = client.post(
        reverse("accounts:password_change"), {"current": current, "new": current, "repeat": current}
    )
    assert "inte det du har nu" in same.content.decode()
    oldest = client.post(
        reverse("accounts:password_change"), {"current": current, "new": used[0], "repeat": used[0]}
    )
    assert oldest.status_code == 302, "only the last ten are remembered"
