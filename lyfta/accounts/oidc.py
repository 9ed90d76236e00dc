"""Sign-in with OpenID Connect, e.g. SITHS eID through Inera's IdP (decision 0017).

Authlib's Django client runs the authorization code flow: `state` and `nonce` and a PKCE
verifier (S256) are kept in the session between the redirect and the callback, the code is
exchanged at the token endpoint, and the ID token is checked against the provider's published keys
(its signature, `iss`, `aud`, `exp`, `iat` and `nonce`; the key set is fetched again when a token
names a key it does not know). This module adds what is Lyfta's: the configuration from settings,
the match of the verified identity to an account by one claim, and whether the sign-in counts as
the second factor. It never creates or changes an account."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from lyfta.accounts.models import User

# The session's note of how the user signed in ("password" or "oidc"), and whether the identity
# provider vouched for two factors (R12).
AUTH_METHOD = "lyfta_auth_method"
OIDC_MFA = "lyfta_oidc_mfa"
# What the flow under way is for: {"purpose": "sign_in" | "reauth", "next": path, "at": time}.
FLOW = "lyfta_oidc_flow"
SIGN_IN = "sign_in"
REAUTH = "reauth"


class OidcError(Exception):
    """The flow failed: a refused or tampered answer, an unreachable provider or a bad token.
    `reason` goes to the audit log; the user sees one plain message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """A verified ID token's claims that Lyfta uses."""

    subject: str
    claim_value: str
    acr: str
    amr: tuple[str, ...]
    auth_time: float | None

    @property
    def two_factor(self) -> bool:
        """Whether the provider vouches for two factors: a configured `acr` (Inera: LoA 3) or a
        configured `amr` method (RFC 8176, e.g. "mfa")."""
        return bool(
            (self.acr and self.acr in settings.LYFTA_OIDC_MFA_ACR)
            or set(self.amr) & set(settings.LYFTA_OIDC_MFA_AMR)
        )

    @property
    def label(self) -> str:
        """How the identity is named in the audit log: the claim and its value."""
        return f"{settings.LYFTA_OIDC_CLAIM}:{self.claim_value}"[:150]


def enabled() -> bool:
    return bool(settings.LYFTA_OIDC_ISSUER)


def local_passwords() -> bool:
    return bool(settings.LYFTA_LOCAL_PASSWORDS)


_clients: dict[tuple[Any, ...], Any] = {}


def _client() -> Any:
    """Authlib's client for the configured provider, one per configuration and process: it keeps
    the discovery document and key set it has fetched."""
    from authlib.integrations.django_client import OAuth

    key = (
        settings.LYFTA_OIDC_DISCOVERY_URL,
        settings.LYFTA_OIDC_CLIENT_ID,
        settings.LYFTA_OIDC_CLIENT_SECRET,
        settings.LYFTA_OIDC_SCOPES,
        settings.LYFTA_OIDC_TIMEOUT,
    )
    client = _clients.get(key)
    if client is None:
        oauth = OAuth()
        client = oauth.register(
            name="lyfta",
            client_id=settings.LYFTA_OIDC_CLIENT_ID,
            client_secret=settings.LYFTA_OIDC_CLIENT_SECRET,
            server_metadata_url=settings.LYFTA_OIDC_DISCOVERY_URL,
            client_kwargs={
                "scope": settings.LYFTA_OIDC_SCOPES,
                "code_challenge_method": "S256",
                "default_timeout": settings.LYFTA_OIDC_TIMEOUT,
            },
        )
        _clients[key] = client
    return client


def begin(request: HttpRequest, *, purpose: str, next_path: str, redirect_uri: str) -> HttpResponse:
    """The redirect to the provider's authorization endpoint. The claim that names the account is
    asked for in the ID token, as essential (Inera's IdP then refuses a card without it); a
    re-authentication asks the provider to authenticate the person again (prompt=login)."""
    import json

    from authlib.integrations.base_client import OAuthError
    from requests import RequestException

    claims = {"id_token": {settings.LYFTA_OIDC_CLAIM: {"essential": True}}}
    extra: dict[str, Any] = {"claims": json.dumps(claims, separators=(",", ":"))}
    if purpose == REAUTH:
        extra.update(prompt="login", max_age=0)
    try:
        response: HttpResponse = _client().authorize_redirect(request, redirect_uri, **extra)
    except (OAuthError, RequestException, ValueError) as error:
        raise OidcError(f"provider_unreachable:{type(error).__name__}") from error
    request.session[FLOW] = {"purpose": purpose, "next": next_path, "at": time.time()}
    return response


def complete(request: HttpRequest) -> tuple[dict[str, Any], Identity]:
    """Check the provider's answer and the ID token; the flow's note and the verified identity.
    Raises OidcError for anything but a valid answer to a flow this session started."""
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError
    from requests import RequestException

    flow = request.session.pop(FLOW, None)
    if not isinstance(flow, dict):
        raise OidcError("no_flow")
    options = {
        "iss": {"essential": True, "value": settings.LYFTA_OIDC_ISSUER},
        "aud": {"essential": True, "value": settings.LYFTA_OIDC_CLIENT_ID},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }
    try:
        token = _client().authorize_access_token(request, claims_options=options, leeway=60)
    except OAuthError as error:
        raise OidcError(f"oauth:{error.error or type(error).__name__}") from error
    except (JoseError, RequestException, ValueError, KeyError) as error:
        raise OidcError(f"token:{type(error).__name__}") from error
    claims = token.get("userinfo")
    if not claims:
        # No ID token: an OAuth answer, not an OpenID Connect sign-in.
        raise OidcError("no_id_token")
    value = claims.get(settings.LYFTA_OIDC_CLAIM)
    if not isinstance(value, str) or not value.strip():
        raise OidcError("claim_missing")
    amr = claims.get("amr") or []
    auth_time = claims.get("auth_time")
    identity = Identity(
        subject=str(claims["sub"]),
        claim_value=value.strip(),
        acr=str(claims.get("acr") or ""),
        amr=tuple(str(m) for m in amr) if isinstance(amr, list) else (),
        auth_time=float(auth_time) if isinstance(auth_time, int | float) else None,
    )
    if flow.get("purpose") == REAUTH and (
        identity.auth_time is None or identity.auth_time < float(flow.get("at", 0)) - 60
    ):
        # Asked to authenticate again, the provider answered with an older sign-in.
        raise OidcError("not_reauthenticated")
    return flow, identity


def account_for(identity: Identity) -> User | None:
    """The one account whose HSA id equals the claim (compared without case, as stored); never a
    new one."""
    wanted = identity.claim_value.replace(" ", "").upper()
    return User.objects.filter(hsa_id=wanted).first()
