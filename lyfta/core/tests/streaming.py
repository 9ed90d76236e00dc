"""A real streaming replica for the tests (issue 20 point 1, decision 0022).

The cluster the tests run on (127.0.0.1:5432 on the CI machine) allows no replication
connections, and the tests may not reconfigure it. So `streaming_pair` makes a pair of its own:
a primary cluster (initdb, on a free port, which allows replication from the loopback) holding a
copy of the worker's migrated test database, and a hot standby of it (pg_basebackup, streaming
WAL), on another free port. It then points the `default` alias at that primary and adds the
`replica` alias for the standby, under the same database name, for the test; afterwards the
default alias is the test database of the suite again, both clusters are stopped and their
directories removed. Some five seconds in all, most of it initdb and the base backup.

The clusters run as the `postgres` operating-system user when the tests run as root (PostgreSQL
refuses root), else as the user running the tests. Nothing is synced to disk (initdb -N,
pg_basebackup --no-sync, fsync=off): a cluster that lives for one test need not survive a crash,
and on a busy machine the syncing took longer than all the rest.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from lyfta.core.replica import REPLICA
from lyfta.core.tests.replicas import add_replica_alias, remove_replica_alias

TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "psql")
# CI sets this: a missing PostgreSQL tool there fails the test instead of skipping it.
REQUIRE = "LYFTA_REQUIRE_REPLICA"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{reason}; {REQUIRE}=1 requires the streaming-replica test to run")
    pytest.skip(reason)


def _free_ports() -> tuple[int, int]:
    """Two ports free on the loopback now (held together, so that they differ)."""
    with socket.socket() as one, socket.socket() as two:
        one.bind(("127.0.0.1", 0))
        two.bind(("127.0.0.1", 0))
        return int(one.getsockname()[1]), int(two.getsockname()[1])


@dataclass
class StreamingPair:
    """A primary and its streaming standby, both holding the test database `name`."""

    base: Path
    bin: Path
    as_user: list[str]
    primary_port: int
    replica_port: int
    name: str

    def run(self, tool: str, *args: str, **kwargs: Any) -> str:
        """Run a PostgreSQL tool as the clusters' owner; its output, or a failure with its say."""
        done = subprocess.run(  # noqa: S603 - our own arguments, no shell
            [*self.as_user, str(self.bin / tool), *args],
            cwd=self.base,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            **kwargs,
        )
        if done.returncode != 0:
            logs = "".join(
                f"\n--- {log.name}\n{log.read_text()[-2000:]}" for log in self.base.glob("*.log")
            )
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr}{logs}")
        return str(done.stdout)

    def start(self, cluster: str, port: int) -> None:
        options = f"-p {port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.base / cluster), "-l", str(self.base / f"{cluster}.log"),
                 "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, cluster: str) -> None:
        if (self.base / cluster / "postmaster.pid").exists():
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                self.run("pg_ctl", "-D", str(self.base / cluster), "-m", "immediate", "-w", "stop")

    def on_replica(self, sql: str) -> Any:
        """The first value of `sql` run on the standby (through the `replica` alias)."""
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
        return row[0] if row else None

    def wait_for_replay(self, timeout: float = 20) -> None:
        """Until the standby has applied everything the primary has committed so far."""
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            target = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while not self.on_replica(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby did not replay up to {target}")
            time.sleep(0.05)

    def pause_replay(self) -> None:
        self.on_replica("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 20
        while self.on_replica("SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not pause its replay")
            time.sleep(0.05)

    def resume_replay(self) -> None:
        self.on_replica("SELECT pg_wal_replay_resume()")


def postgres_bin() -> Path:
    """The directory of the tools of the test server's major version (skips when missing)."""
    default = connections[DEFAULT_DB_ALIAS]
    if default.vendor != "postgresql":
        pytest.skip("a streaming replica needs PostgreSQL (DATABASE_URL)")
    default.ensure_connection()
    major = default.pg_version // 10000  # type: ignore[attr-defined]
    found = Path(f"/usr/lib/postgresql/{major}/bin")
    missing = [tool for tool in TOOLS if not (found / tool).exists()]
    if missing:
        _unavailable(f"{', '.join(missing)} not found in {found}")
    return found


def _owner() -> tuple[list[str], int | None, int | None]:
    """How to run as the clusters' owner: `postgres` through runuser for root, else oneself."""
    if os.geteuid() != 0:
        return [], None, None
    import pwd

    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        _unavailable("running as root, and there is no postgres user to run PostgreSQL as")
    if shutil.which("runuser") is None:
        _unavailable("running as root, and runuser is missing")
    return ["runuser", "-u", "postgres", "--"], account.pw_uid, account.pw_gid


def _copy_database(pair: StreamingPair, source: dict[str, Any]) -> None:
    """The test database as migrated (schema, triggers, data migrations), onto the new primary."""
    env = {**os.environ, "PGPASSWORD": str(source.get("PASSWORD") or "")}
    dump = [str(pair.bin / "pg_dump"), "--no-owner", "--no-privileges", "-d", pair.name]
    for flag, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if source.get(key):
            dump += [flag, str(source[key])]
    psql = [str(pair.bin / "psql"), "-h", "127.0.0.1", "-p", str(pair.primary_port),
            "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]  # fmt: skip
    _checked([*psql, "-d", "postgres", "-c", f'CREATE DATABASE "{pair.name}"'])
    dumped = _checked(dump, env=env)
    _checked([*psql, "-d", pair.name], input=dumped)


def _checked(command: list[str], **kwargs: Any) -> bytes:
    done = subprocess.run(command, capture_output=True, check=False, timeout=120, **kwargs)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()}")
    return bytes(done.stdout)


@contextmanager
def streaming_pair() -> Iterator[StreamingPair]:
    """A primary with a copy of the test database and its streaming standby, as the `default`
    and `replica` aliases, for the block (the module's docstring says how and why)."""
    tools = postgres_bin()
    as_user, uid, gid = _owner()
    default = connections[DEFAULT_DB_ALIAS]
    source = dict(default.settings_dict)
    base = Path(tempfile.mkdtemp(prefix="lyfta-replica-"))
    if uid is not None and gid is not None:
        os.chown(base, uid, gid)
    base.chmod(0o700)
    pair = StreamingPair(base, tools, as_user, *_free_ports(), source["NAME"])
    kept = {key: source[key] for key in ("HOST", "PORT", "USER", "PASSWORD")}
    with default.cursor() as cursor:  # the same sort order as the test database's
        cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        locale = cursor.fetchone()[0]
    try:
        pair.run("initdb", "-D", str(base / "primary"), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", f"--locale={locale}", "-N")  # fmt: skip
        pair.start("primary", pair.primary_port)
        _copy_database(pair, source)
        pair.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(pair.primary_port),
                 "-U", "postgres", "-D", str(base / "replica"), "-R", "-X", "stream",
                 "-c", "fast", "--no-sync", "--no-manifest")  # fmt: skip
        pair.start("replica", pair.replica_port)
        default.close()
        default.settings_dict.update(
            HOST="127.0.0.1", PORT=str(pair.primary_port), USER="postgres", PASSWORD=""
        )
        add_replica_alias(HOST="127.0.0.1", PORT=str(pair.replica_port))
        pair.wait_for_replay()
        yield pair
    finally:
        remove_replica_alias()
        default.close()
        default.settings_dict.update(kept)
        pair.stop("replica")
        pair.stop("primary")
        shutil.rmtree(base, ignore_errors=True)
