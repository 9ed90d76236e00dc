"""Sign-in with OpenID Connect (issue 18 point 3, decision 0017), through a real provider:
django-oauth-toolkit in OIDC mode, run by these tests as a separate process on a free port
(oidc_provider/). Lyfta exchanges the code at the provider's token endpoint over HTTP and checks
the signed ID token against the provider's published key; nothing is mocked.

The requirements: the sign-in events (R22) and new session keys (R26), the account's validity
(R3) and lockout (R18), the second factor (R12) and re-authentication (R30)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.roles import Role
from lyfta.accounts import services
from lyfta.accounts.models import FailedSignIn, User, UserSession
from lyfta.accounts.tests.factories import TEST_PASSWORD, AssignmentFactory
from lyfta.accounts.tests.helpers import last_event, sign_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ROOT = Path(django_settings.BASE_DIR)
CLIENT_ID = "lyfta-test"
CLIENT_SECRET = "lyfta-test-secret-at-the-test-provider"
REDIRECT_URI = "http://testserver/konto/oidc/svar/"
PROVIDER_PASSWORD = "provider-password"
# The provider's people, by HSA id; "loa3" signs in with a SITHS card (acr LoA 3).
ALICE_HSA = "SE2321000016-A001"
WEAK_HSA = "SE2321000016-A002"
STRANGER_HSA = "SE2321000016-X999"
NO_CLAIM = "SE2321000016-A003"


@dataclass(frozen=True)
class Provider:
    issuer: str
    base: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The identity provider, one per test process (xdist worker), on a port of its own."""
    state = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (state / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    people = [
        {"username": ALICE_HSA, "first_name": "loa3"},
        {"username": WEAK_HSA},
        {"username": STRANGER_HSA, "first_name": "loa3"},
        {"username": NO_CLAIM, "first_name": "loa3", "last_name": "no-claim"},
    ]
    setup = {
        "client": {"id": CLIENT_ID, "secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI},
        "users": [{**p, "password": PROVIDER_PASSWORD} for p in people],
    }
    for _attempt in range(3):
        port = _free_port()
        env = {
            **os.environ,
            "OIDC_PROVIDER_DIR": str(state),
            "OIDC_PROVIDER_PORT": str(port),
            "OIDC_PROVIDER_SETUP": json.dumps(setup),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("DATABASE_URL", None)
        (state / "idp.sqlite3").unlink(missing_ok=True)
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "lyfta.accounts.tests.oidc_provider.serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"{base}/o/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            process.kill()
            _out, err = process.communicate()
            if "Address already in use" in err:
                continue  # another process took the port between the probe and the bind
            raise RuntimeError(f"the test identity provider did not start:\n{err[-3000:]}")
        break
    else:
        raise RuntimeError("no free port for the test identity provider")
    try:
        yield Provider(issuer=f"{base}/o", base=base)
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture
def oidc(settings: Any, provider: Provider) -> Provider:
    """Lyfta configured for the test provider, as a deployment would be from its environment."""
    settings.LYFTA_OIDC_ISSUER = provider.issuer
    settings.LYFTA_OIDC_DISCOVERY_URL = f"{provider.issuer}/.well-known/openid-configuration"
    settings.LYFTA_OIDC_CLIENT_ID = CLIENT_ID
    settings.LYFTA_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.LYFTA_OIDC_SCOPES = "openid"
    settings.LYFTA_OIDC_CLAIM = "employeeHsaId"
    settings.LYFTA_OIDC_MFA_ACR = ["http://id.sambi.se/loa/loa3"]
    settings.LYFTA_OIDC_MFA_AMR = ["mfa"]
    return provider


@pytest.fixture
def ready_alice(alice: Persona, county: County) -> Persona:
    """Alice with her HSA id, the agreement accepted and two assignments to choose between."""
    User.objects.filter(pk=alice.user.pk).update(hsa_id=ALICE_HSA)
    alice.user.refresh_from_db()
    services.agreement_accept(user=alice.user)
    AssignmentFactory(user=alice.user, unit=county.unit_a2, role=Role.PRESCRIBER)
    return alice


def at_provider(provider: Provider, authorize_url: str, hsa_id: str) -> str:
    """The person's browser at the provider: sign in there, then the authorization request; the
    provider's redirect back to Lyfta (the callback URL with code and state)."""
    browser = requests.Session()
    response = browser.post(
        f"{provider.base}/login/",
        data={"username": hsa_id, "password": PROVIDER_PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    if response.status_code == 302 and response.headers["Location"].startswith("/login/"):
        # prompt=login: the provider signed the person out and asks again.
        again = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
        browser.post(
            f"{provider.base}/login/",
            data={"username": hsa_id, "password": PROVIDER_PASSWORD},
            timeout=10,
        )
        response = browser.get(f"{provider.base}{again}", allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:2000]
    location: str = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    return location


def to_lyfta(client: Client, callback_url: str) -> Any:
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def start(client: Client, provider: Provider, **params: str) -> str:
    url = reverse("accounts:oidc_start") + (f"?{urlencode(params)}" if params else "")
    response = client.get(url)
    assert response.status_code == 302, response.content[:500]
    location: str = response["Location"]
    assert location.startswith(f"{provider.issuer}/authorize/"), location
    return location


def sign_in_oidc(client: Client, provider: Provider, hsa_id: str) -> Any:
    return to_lyfta(client, at_provider(provider, start(client, provider), hsa_id))


# --- The flow ------------------------------------------------------------------------------------


def test_r22_oidc_sign_in_lands_on_the_assignment_choice(
    client: Client, oidc: Provider, ready_alice: Persona, settings: Any
) -> None:
    settings.LYFTA_REQUIRE_MFA = True  # the SITHS card (LoA 3) is the second factor
    authorize = start(client, oidc, next="/patienter/")
    query = parse_qs(urlsplit(authorize).query)
    # Authorization code flow with state, nonce and PKCE (S256), asking for the HSA id claim.
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    assert json.loads(query["claims"][0]) == {"id_token": {"employeeHsaId": {"essential": True}}}
    before = client.session.session_key

    response = to_lyfta(client, at_provider(oidc, authorize, ALICE_HSA))
    assert response.status_code == 302 and response["Location"] == "/patienter/"
    assert client.session.session_key != before  # R26
    # The gates as after a password: the agreement is accepted, the card counts as the second
    # factor, and of two assignments she must choose one.
    following = client.get(response["Location"])
    assert following.status_code == 302
    assert following["Location"].startswith(reverse("accounts:choose_assignment"))
    assert client.get(following["Location"]).status_code == 200
    event = last_event(Action.LOGIN)
    assert event.actor_username == "alice"
    assert event.detail["method"] == "oidc" and event.detail["second_factor"] is True
    assert event.detail["acr"] == "http://id.sambi.se/loa/loa3"
    assert UserSession.objects.filter(user=ready_alice.user, ended_at__isnull=True).count() == 1


def test_r12_a_weaker_oidc_sign_in_still_asks_for_the_second_factor(
    client: Client, oidc: Provider, ready_alice: Persona, settings: Any
) -> None:
    settings.LYFTA_REQUIRE_MFA = True
    User.objects.filter(pk=ready_alice.user.pk).update(hsa_id=WEAK_HSA)
    response = sign_in_oidc(client, oidc, WEAK_HSA)
    assert response.status_code == 302
    following = client.get("/")
    assert following["Location"].startswith(reverse("accounts:mfa_enrol"))
    assert last_event(Action.LOGIN).detail["second_factor"] is False


def test_r22_an_identity_unknown_to_lyfta_is_refused_with_a_clear_page(
    client: Client, oidc: Provider, ready_alice: Persona
) -> None:
    accounts = User.objects.count()
    response = sign_in_oidc(client, oidc, STRANGER_HSA)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Ditt konto finns inte i Lyfta" in page
    assert User.objects.count() == accounts  # never created silently
    assert "_auth_user_id" not in client.session
    event = last_event(Action.LOGIN_FAILED)
    assert event.actor_username == f"employeeHsaId:{STRANGER_HSA}"
    assert event.detail == {"method": "oidc", "reason": "unknown_identity"}


def test_r3_an_account_outside_its_dates_is_refused_after_oidc_too(
    client: Client, oidc: Provider, ready_alice: Persona
) -> None:
    User.objects.filter(pk=ready_alice.user.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    response = sign_in_oidc(client, oidc, ALICE_HSA)
    assert response.status_code == 403
    assert "Ditt konto i Lyfta gäller inte just nu" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = last_event(Action.LOGIN_FAILED)
    assert event.actor_username == "alice"
    assert event.detail == {"method": "oidc", "reason": "account_not_valid"}


def test_r18_a_locked_account_is_refused_after_oidc_too(
    client: Client, oidc: Provider, ready_alice: Persona, settings: Any
) -> None:
    for _ in range(settings.LYFTA_LOCKOUT_ACCOUNT_FAILURES):
        FailedSignIn.objects.create(username="alice", client_address="192.0.2.9", at=timezone.now())
    response = sign_in_oidc(client, oidc, ALICE_HSA)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert last_event(Action.LOCKED_OUT).detail == {"method": "oidc", "reason": "locked_account"}


def test_a_tampered_state_is_refused_without_a_server_error(
    client: Client, oidc: Provider, ready_alice: Persona
) -> None:
    callback = urlsplit(at_provider(oidc, start(client, oidc), ALICE_HSA))
    query = parse_qs(callback.query)
    query["state"] = ["forged" + query["state"][0][6:]]
    response = to_lyfta(client, urlunsplit(callback._replace(query=urlencode(query, doseq=True))))
    assert response.status_code == 400
    assert "Inloggningen misslyckades" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = last_event(Action.LOGIN_FAILED)
    assert event.detail["method"] == "oidc" and event.detail["reason"].startswith("oauth:")


def test_a_callback_without_a_flow_of_this_session_is_refused(
    client: Client, oidc: Provider, ready_alice: Persona
) -> None:
    callback = at_provider(oidc, start(Client(), oidc), ALICE_HSA)  # another browser's flow
    response = to_lyfta(client, callback)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert last_event(Action.LOGIN_FAILED).detail["reason"] == "no_flow"


def test_an_id_token_without_the_claim_is_refused(
    client: Client, oidc: Provider, ready_alice: Persona
) -> None:
    response = sign_in_oidc(client, oidc, NO_CLAIM)
    assert response.status_code == 400
    assert last_event(Action.LOGIN_FAILED).detail["reason"] == "claim_missing"


def test_a_token_from_another_issuer_is_refused(
    client: Client, oidc: Provider, ready_alice: Persona, settings: Any
) -> None:
    """The ID token's `iss` must be the configured issuer, whatever the discovery document says."""
    settings.LYFTA_OIDC_ISSUER = "https://idp.example.org/oidc"
    response = sign_in_oidc(client, oidc, ALICE_HSA)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert last_event(Action.LOGIN_FAILED).detail["reason"].startswith("token:")


def test_r30_reauthentication_through_the_provider(
    client: Client, oidc: Provider, ready_alice: Persona
) -> None:
    assert sign_in_oidc(client, oidc, ALICE_HSA).status_code == 302
    key = client.session.session_key
    authorize = start(client, oidc, next="/konto/sessioner/")
    assert parse_qs(urlsplit(authorize).query)["prompt"] == ["login"]
    response = to_lyfta(client, at_provider(oidc, authorize, ALICE_HSA))
    assert response.status_code == 302 and response["Location"] == "/konto/sessioner/"
    assert client.session.session_key != key  # R26
    assert last_event(Action.REAUTHENTICATED).detail == {"method": "oidc"}


def test_r30_reauthentication_as_someone_else_is_refused(
    client: Client, oidc: Provider, ready_alice: Persona, bob: Persona
) -> None:
    User.objects.filter(pk=bob.user.pk).update(hsa_id=WEAK_HSA)
    assert sign_in_oidc(client, oidc, ALICE_HSA).status_code == 302
    response = to_lyfta(client, at_provider(oidc, start(client, oidc), WEAK_HSA))
    assert response.status_code == 403
    assert client.session["_auth_user_id"] == str(ready_alice.user.pk)
    assert last_event(Action.REAUTH_FAILED).detail == {
        "method": "oidc",
        "reason": "other_identity",
    }


# --- Local passwords switched off ---------------------------------------------------------------


def test_r12_without_local_passwords_the_form_is_gone_and_its_post_refused(
    client: Client, oidc: Provider, ready_alice: Persona, settings: Any
) -> None:
    settings.LYFTA_LOCAL_PASSWORDS = False
    page = client.get(reverse("accounts:login")).content.decode()
    assert 'type="password"' not in page
    assert "Logga in med SITHS eID" in page
    response = sign_in(client, "alice", TEST_PASSWORD)
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert last_event(Action.LOGIN_FAILED).detail == {
        "method": "password",
        "reason": "local_passwords_off",
    }
    # The password is not even checked: no failure counts towards a lockout.
    assert not FailedSignIn.objects.filter(username="alice").exists()


def test_r30_without_local_passwords_reauthentication_has_only_the_button(
    client: Client, oidc: Provider, ready_alice: Persona, settings: Any
) -> None:
    settings.LYFTA_LOCAL_PASSWORDS = False
    assert sign_in_oidc(client, oidc, ALICE_HSA).status_code == 302
    page = client.get(reverse("accounts:reauthenticate")).content.decode()
    assert 'type="password"' not in page and "Bekräfta med SITHS eID" in page
    response = client.post(reverse("accounts:reauthenticate"), {"password": TEST_PASSWORD})
    assert response.status_code == 400
    assert last_event(Action.REAUTH_FAILED).detail == {"reason": "local_passwords_off"}


# --- Off by default --------------------------------------------------------------------------


def test_without_an_issuer_the_login_page_is_as_before(client: Client, settings: Any) -> None:
    settings.LYFTA_OIDC_ISSUER = ""
    page = client.get(reverse("accounts:login")).content.decode()
    assert "SITHS" not in page and 'type="password"' in page
    assert client.get(reverse("accounts:oidc_start")).status_code == 404
    assert client.get(reverse("accounts:oidc_callback")).status_code == 404
    assert not AuditEvent.objects.filter(action=Action.LOGIN_FAILED).exists()


def test_the_hsa_id_is_stored_in_capitals_without_spaces() -> None:
    from lyfta.accounts.forms import UserForm

    form = UserForm(data={"hsa_id": " se2321000016-a001 "})
    form.is_valid()
    assert form.cleaned_data["hsa_id"] == ALICE_HSA
    form = UserForm(data={"hsa_id": ""})
    form.is_valid()
    assert form.cleaned_data["hsa_id"] is None
