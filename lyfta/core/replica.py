"""Reading from a streaming replica (issue 20 point 1, decision 0022).

With `DATABASE_REPLICA_URL` set, settings add the database alias `replica`. Nothing reads it by
itself: a page or job that may read heavy tables from the replica says so, around its view or its
query, with `reading_replica(*models)`, naming those models. Inside, `ReplicaRouter` sends reads
of exactly those models to the replica; every other read (the access layer's users, assignments,
grants, patients and care relationships, the sessions, what the request itself wrote) and every
write (audit records included) goes to the primary. A list of what may go, not of what may not:
a model added tomorrow, or an access check deep in a selector, cannot end up on the replica by
accident.

Entering the context asks the replica how fresh it is (one query). The page says so
(`freshness`, shown by the base template). The primary is read instead, and the page says that,
when the replica does not answer (it is then left alone for RETRY_AFTER seconds), when it lags
more than LYFTA_REPLICA_MAX_LAG seconds, or when the caller needs every row up to a moment the
replica has not reached (`complete_until`, the log extract's period). Without the setting the
context changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

REPLICA = "replica"
# Seconds an unreachable replica is left alone before a page tries it again; meanwhile the routed
# pages read the primary without waiting for a connection that does not come.
RETRY_AFTER = 30.0

# Why the state reads where it reads.
FRESH = "replica"  # the replica, at most LYFTA_REPLICA_MAX_LAG behind
UNREACHABLE = "unreachable"  # the primary: the replica did not answer
LAGGING = "lagging"  # the primary: the replica is too far behind
INCOMPLETE = "incomplete"  # the primary: the replica has not reached `complete_until`

# The replica's view of itself. A standby that has applied all it has received is current
# (its last replayed commit may be old when the primary is idle); one still applying is as old
# as the commit it applied last. pg_stat_wal_receiver's status says whether it is still
# receiving; an application role without pg_read_all_stats sees NULL there, and Lyfta then
# trusts "applied all received" (docs/operations.md, "Read replicas").
_PROBE = """
SELECT now(), pg_is_in_recovery(), pg_last_xact_replay_timestamp(),
       pg_last_wal_receive_lsn() IS NOT NULL
           AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
       (SELECT status FROM pg_stat_wal_receiver LIMIT 1)
"""

_down_until = 0.0


@dataclass
class ReplicaRead:
    """Where a `reading_replica` context reads `models` (labels), and how fresh that is: its
    data are complete up to `as_of`, `lag` seconds behind the primary (None: unknown)."""

    alias: str
    models: frozenset[str]
    reason: str
    as_of: dt.datetime | None = None
    lag: float | None = None
    written: set[str] = field(default_factory=set)

    @property
    def on_replica(self) -> bool:
        return self.alias == REPLICA

    @property
    def lagging(self) -> bool:
        """Read from a replica a second or more behind: the newest rows may be missing."""
        return self.on_replica and self.lag is not None and self.lag >= 1

    @property
    def notice(self) -> str:
        """What the page says about the freshness of what it shows ("" when nothing)."""
        if self.on_replica and self.as_of is not None:
            at = timezone.localtime(self.as_of).strftime("%H:%M:%S")
            if self.lagging:
                return _(
                    "Uppgifterna är från kl. %(time)s (läskopian ligger %(seconds)s s efter). "
                    "Det senaste kan saknas."
                ) % {"time": at, "seconds": round(self.lag or 0)}
            return _("Uppgifterna är aktuella kl. %(time)s.") % {"time": at}
        if self.reason == UNREACHABLE:
            return _("Läskopian svarar inte: uppgifterna hämtades från huvuddatabasen.")
        if self.reason == LAGGING and self.lag is not None:
            return _(
                "Läskopian ligger %(seconds)s s efter: uppgifterna hämtades från huvuddatabasen."
            ) % {"seconds": round(self.lag)}
        if self.reason == LAGGING:
            return _("Läskopian ligger efter: uppgifterna hämtades från huvuddatabasen.")
        return ""


_current: ContextVar[ReplicaRead | None] = ContextVar("lyfta_replica_read", default=None)


def configured() -> bool:
    """Whether there is a replica alias (DATABASE_REPLICA_URL, or one a test adds)."""
    return REPLICA in connections


def probe(alias: str = REPLICA) -> tuple[dt.datetime, float | None]:
    """How fresh the database `alias` is: the moment its data are complete up to, and how many
    seconds it is behind (0 for a primary, or a standby that has applied all it has received;
    None when a standby has applied nothing yet). Raises DatabaseError when it does not answer."""
    connection = connections[alias]
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        return timezone.now(), 0.0  # SQLite has no replicas: whatever it holds is current
    with connection.cursor() as cursor:
        cursor.execute(_PROBE)
        now, in_recovery, replayed_at, applied_all, receiver = cursor.fetchone()
    if not in_recovery or (applied_all and receiver in (None, "streaming")):
        return now, 0.0
    if replayed_at is None:
        return now, None
    return replayed_at, max(0.0, (now - replayed_at).total_seconds())


def forget_failures() -> None:
    """Try the replica again at the next context (tests; an operator's replica back up)."""
    global _down_until  # noqa: PLW0603 - one flag per process, read on every context
    _down_until = 0.0


def _decide(models: frozenset[str], complete_until: dt.datetime | None) -> ReplicaRead | None:
    global _down_until  # noqa: PLW0603
    if not configured():
        return None
    if time.monotonic() < _down_until:
        return ReplicaRead(DEFAULT_DB_ALIAS, models, UNREACHABLE)
    try:
        as_of, lag = probe(REPLICA)
    except DatabaseError as error:
        _down_until = time.monotonic() + RETRY_AFTER
        logger.warning("replica unreachable, reading the primary for %ss: %s", RETRY_AFTER, error)
        with suppress(DatabaseError):
            connections[REPLICA].close()
        return ReplicaRead(DEFAULT_DB_ALIAS, models, UNREACHABLE)
    if lag is None or lag > settings.LYFTA_REPLICA_MAX_LAG:
        return ReplicaRead(DEFAULT_DB_ALIAS, models, LAGGING, lag=lag)
    if complete_until is not None and as_of < complete_until:
        return ReplicaRead(DEFAULT_DB_ALIAS, models, INCOMPLETE, as_of=as_of, lag=lag)
    return ReplicaRead(REPLICA, models, FRESH, as_of=as_of, lag=lag)


def _within(
    outer: ReplicaRead, models: frozenset[str], complete_until: dt.datetime | None
) -> ReplicaRead:
    """A context inside another: the outer one's answer (one probe a request), for more models."""
    wanted = outer.models | models
    as_of = outer.as_of
    if outer.on_replica and complete_until and as_of is not None and as_of < complete_until:
        return ReplicaRead(DEFAULT_DB_ALIAS, wanted, INCOMPLETE, as_of, outer.lag)
    return ReplicaRead(outer.alias, wanted, outer.reason, outer.as_of, outer.lag, outer.written)


@contextmanager
def reading_replica(
    *models: type[Model], complete_until: dt.datetime | None = None
) -> Iterator[ReplicaRead | None]:
    """Read `models` from the replica inside this block (or view, as a decorator) when it is
    fresh enough; everything else as always. `complete_until`: read the replica only if it holds
    every commit up to that moment (a moment in the future always reads the primary). Yields the
    state (None without a replica)."""
    labels = frozenset(model._meta.label_lower for model in models)
    outer = _current.get()
    state = (
        _decide(labels, complete_until) if outer is None else _within(outer, labels, complete_until)
    )
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)


@contextmanager
def reading_primary() -> Iterator[None]:
    """Inside a `reading_replica` context, read everything from the primary in this block: an
    access decision that reads a table the context sends to the replica (whether a reviewer's
    provider knows a patient, from its log) decides on the primary's rows."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


class ReplicaRouter:
    """DATABASE_ROUTERS: reads of the models a `reading_replica` context names go to the replica
    while it reads there, unless the context has written that model (a read of one's own write
    stays on the primary); everything else, and every write, goes to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        state = _current.get()
        if state is None or not state.on_replica:
            return DEFAULT_DB_ALIAS
        label = model._meta.label_lower
        if label in state.models and label not in state.written:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        state = _current.get()
        if state is not None:
            state.written.add(model._meta.label_lower)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # one database and its copy: any two rows may refer to each other

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS  # the replica gets the schema by replication


def freshness(request: HttpRequest) -> dict[str, Any]:
    """Template context: what a page rendered inside a `reading_replica` context says about how
    fresh its data are (base.html shows it above the content)."""
    state = _current.get()
    if state is None:
        return {}
    return {"replica_notice": state.notice, "replica_lagging": state.lagging}
