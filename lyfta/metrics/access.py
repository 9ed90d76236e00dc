"""Who may read /metrics: an address in LYFTA_METRICS_ALLOWED_IPS, or anyone with the token of
LYFTA_METRICS_TOKEN. The address is the audit log's client address: REMOTE_ADDR, or behind a
proxy in LYFTA_TRUSTED_PROXIES the address that proxy forwarded, so that allowing the scraper
never allows everyone the proxy forwards."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

from lyfta.audit.middleware import client_address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def networks(entries: tuple[str, ...]) -> Sequence[Network]:
    # settings.py has refused a malformed entry already.
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks(tuple(settings.LYFTA_METRICS_ALLOWED_IPS)))


def token_valid(request: HttpRequest) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (the digests, so that not even
    the token's length shows)."""
    expected: str = settings.LYFTA_METRICS_TOKEN
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.strip().encode("utf-8", "replace")).digest(),
        hashlib.sha256(expected.encode()).digest(),
    )


def allowed(request: HttpRequest) -> bool:
    return address_allowed(client_address(request)) or token_valid(request)
