"""Where an audit event comes from: the request (or command) in progress and who acts in it.

The middleware sets this for each request and `system_command` for management commands, so that
`audit.record` can fill request id, client address, session hash and source without every caller
passing them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from lyfta.audit.actor import AuditActor


@dataclass(frozen=True)
class AuditContext:
    source_system: str = "lyfta"
    request_id: str = ""
    client_address: str = ""
    actor: AuditActor | None = None
    request: HttpRequest | None = None

    @property
    def session_hash(self) -> str:
        """SHA-256 of the session key, so that events of one session can be grouped without the
        log ever holding a usable session token (R60)."""
        session = getattr(self.request, "session", None)
        key = getattr(session, "session_key", None)
        return hashlib.sha256(key.encode()).hexdigest() if key else ""


# AuditContext is a frozen dataclass, so the shared default cannot be mutated by anyone.
_current: ContextVar[AuditContext] = ContextVar(
    "lyfta_audit_context",
    default=AuditContext(),  # noqa: B039
)


def current() -> AuditContext:
    return _current.get()


@contextmanager
def audit_context(**changes: Any) -> Iterator[AuditContext]:
    """Run a block with some context fields replaced (source, actor, request id…)."""
    token = _current.set(replace(_current.get(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def bind(**changes: Any) -> None:
    """Replace context fields for the rest of the enclosing `audit_context` block, without a
    block of one's own: for the API's token check, which learns the actor inside a request
    (`AuditContextMiddleware`'s block, whose end restores the context as it was)."""
    _current.set(replace(_current.get(), **changes))
