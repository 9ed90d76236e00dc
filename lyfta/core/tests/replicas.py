"""Test helpers for read replicas (decision 0022): the `replica` database alias, as
DATABASE_REPLICA_URL adds it in production.

Django's test case lets a test use only the aliases it names (`django_db(databases=[...])`), and
checks them before the test's own fixtures run: a module adds the alias in a module-scoped
fixture (higher scopes are set up first) and names it in its tests' marks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from lyfta.core import replica


def add_replica_alias(**changes: Any) -> str:
    """Add the alias `replica`: the primary's connection settings with `changes` (no changes: a
    second connection to the test database, which Lyfta takes for a replica that has caught up;
    it sees what the tests commit, so only transactional tests read through it). A test mirror
    of the primary, as settings make it, so that the test case never flushes it."""
    settings_dict = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    # SQLite's IMMEDIATE transactions would take the write lock for a read-only connection.
    settings_dict["OPTIONS"].pop("transaction_mode", None)
    settings_dict.update(changes)
    settings_dict["TEST"] = {**settings_dict["TEST"], "MIRROR": DEFAULT_DB_ALIAS}
    # The handler's settings are settings.DATABASES: the alias is configured as a deployment's.
    connections.settings[replica.REPLICA] = settings_dict
    replica.forget_failures()
    return replica.REPLICA


def remove_replica_alias() -> None:
    """Close and forget the alias `replica`, and whatever the router learnt about it."""
    if replica.REPLICA in connections.settings:
        with suppress(Exception):
            connections[replica.REPLICA].close()
        with suppress(AttributeError):
            del connections[replica.REPLICA]
        del connections.settings[replica.REPLICA]
    replica.forget_failures()


@contextmanager
def replica_settings(**changes: Any) -> Iterator[None]:
    """The alias `replica` connects with `changes` in the block (another port: a replica that does
    not answer), and as before after it. Only for a transactional test: the connection is closed
    at both ends."""
    settings_dict = connections[replica.REPLICA].settings_dict
    kept = {key: settings_dict[key] for key in changes}
    _really_close()
    settings_dict.update(changes)
    replica.forget_failures()
    try:
        yield
    finally:
        _really_close()
        settings_dict.update(kept)
        replica.forget_failures()


def _really_close() -> None:
    # Django keeps a connection to an in-memory SQLite database open through close() (it would
    # lose the database); the primary's connection keeps this one alive.
    BaseDatabaseWrapper.close(connections[replica.REPLICA])
