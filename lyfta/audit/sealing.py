"""The hash chain over audit events (R66) and its keyed checkpoints (R67).

Writers never touch the chain: an event is inserted on its own, so no write waits for another
transaction's audit write. A sealing step, run every few seconds by the scheduler and on demand,
takes the events not yet sealed in id order and appends them to the chain:

    entry_hash = SHA-256(prev_hash || canonical(event))
    mac        = HMAC-SHA-256(LYFTA_AUDIT_KEY, "seal:" || seq || ":" || entry_hash)

The canonical form is the JSON object of the fields of FORMAT_FIELDS[version], keys sorted, no
spaces, UTF-8, datetimes as UTC ISO 8601 with microseconds. Only one sealer runs at a time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lyfta.audit import daily
from lyfta.audit.models import AuditCheckpoint, AuditEvent, AuditSeal

log = logging.getLogger(__name__)

GENESIS = bytes(32)
FORMAT_VERSION = 1
# The fields each format version hashes. A new AuditEvent field means a new version here; old
# events keep being verified with the version they were sealed with.
FORMAT_FIELDS: dict[int, tuple[str, ...]] = {
    1: (
        "id",
        "occurred_at",
        "action",
        "outcome",
        "purpose",
        "actor_id",
        "actor_username",
        "actor_name",
        "actor_title",
        "actor_role",
        "assignment_id",
        "actor_provider_id",
        "actor_provider_orgno",
        "actor_unit_id",
        "actor_unit_name",
        "patient_id",
        "owner_provider_id",
        "owner_unit_id",
        "resource_type",
        "resource_id",
        "legal_basis",
        "legal_basis_ref",
        "source_system",
        "client_address",
        "session_hash",
        "request_id",
        "changes",
        "detail",
    ),
}
EVENT_FIELDS = FORMAT_FIELDS[FORMAT_VERSION]
JSON_FIELDS = frozenset({"changes", "detail"})
# PostgreSQL advisory lock key for "one sealer at a time" (any fixed 64-bit number).
SEAL_LOCK = 0x4C79667461A0D17
# How far below the newest sealed event the sealer looks for events whose transaction committed
# late. Anything older is picked up by a full scan (`seal_audit --full`, run hourly).
LOOKBACK_IDS = 20_000


def audit_key() -> bytes:
    key: str = settings.LYFTA_AUDIT_KEY
    if not key:
        raise RuntimeError("LYFTA_AUDIT_KEY is not set")
    return key.encode()


def verification_keys() -> dict[str, bytes]:
    """The current key and any retired ones (LYFTA_AUDIT_RETIRED_KEYS), by key id, so that a chain
    sealed before a key rotation still verifies. A seal under any other key is a finding."""
    keys = [audit_key(), *(k.encode() for k in settings.LYFTA_AUDIT_RETIRED_KEYS if k)]
    return {key_id(key): key for key in keys}


def key_id(key: bytes) -> str:
    """A short name for a key, stored beside what it signed, that does not reveal the key."""
    return hashlib.sha256(b"lyfta-audit-key-id:" + key).hexdigest()[:16]


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def canonical(row: dict[str, Any], version: int = FORMAT_VERSION) -> bytes:
    """The bytes that are hashed for an event (a dict of its field values): byte for byte what
    `json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()` gives,
    made with orjson because sealing and verification serialise every event of the system."""
    fields = FORMAT_FIELDS[version]
    data = row if len(row) == len(fields) else {name: row[name] for name in fields}
    data = {**data, "occurred_at": _value(data["occurred_at"])}
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def fetch_events(
    query: QuerySet[AuditEvent], fields: Sequence[str] = EVENT_FIELDS
) -> list[dict[str, Any]]:
    """Rows of `query` as dicts of `fields`, read with one raw cursor, `occurred_at` already in
    its canonical text form. Sealing and verification read every event of the system, and the
    ORM's per-row conversions (timestamps above all) cost more than the hashing itself."""
    names = ["occurred_text" if name == "occurred_at" else name for name in fields]
    query = query.annotate(occurred_text=Cast("occurred_at", TextField()))
    sql, params = query.values_list(*names).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    json_at = [i for i, name in enumerate(fields) if name in JSON_FIELDS]
    time_at = fields.index("occurred_at") if "occurred_at" in fields else -1
    result = []
    for raw in rows:
        values = list(raw)
        for i in json_at:
            text = values[i]
            if isinstance(text, str):
                values[i] = {} if text == "{}" else orjson.loads(text)
        if time_at >= 0:
            values[time_at] = iso_utc(values[time_at])
        result.append(dict(zip(fields, values, strict=True)))
    return result


def iso_utc(text: str) -> str:
    """The canonical UTC form (`2026-01-02T03:04:05.006000+00:00`) of a timestamp as the database
    prints it: PostgreSQL in a UTC session gives `2026-01-02 03:04:05.006+00`, SQLite the stored
    `2026-01-02 03:04:05.006000`."""
    body = text
    if body.endswith("+00:00"):
        body = body[:-6]
    elif body.endswith("+00"):
        body = body[:-3]
    if len(body) < 19 or "+" in body[10:] or body[10:].count("-"):
        parsed = parse_datetime(text)  # any other offset: take the slow, exact path
        if parsed is None:
            raise ValueError(f"unreadable audit timestamp {text!r}")
        return str(_value(parsed))
    date_time, _, fraction = body.partition(".")
    return f"{date_time.replace(' ', 'T', 1)}.{fraction:0<6}+00:00"


def chain_hash(prev_hash: bytes, row: dict[str, Any], version: int = FORMAT_VERSION) -> bytes:
    return hashlib.sha256(prev_hash + canonical(row, version)).digest()


def seal_mac(key: bytes, seq: int, entry_hash: bytes) -> bytes:
    return hmac.digest(key, b"seal:%d:" % seq + entry_hash, "sha256")


def checkpoint_mac(
    key: bytes,
    *,
    kind: str,
    seal_seq: int,
    entry_hash: bytes,
    created_at: dt.datetime,
    from_seq: int | None = None,
) -> bytes:
    content: dict[str, Any] = {
        "kind": kind,
        "seal_seq": seal_seq,
        "entry_hash": entry_hash.hex(),
        "created_at": _value(created_at),
    }
    if from_seq is not None:
        content["from_seq"] = from_seq
    message = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, b"checkpoint:" + message, hashlib.sha256).digest()


@dataclass(frozen=True)
class SealResult:
    sealed: int
    head_seq: int
    head_hash: bytes
    checkpoint: AuditCheckpoint | None


def _lock_sealer() -> None:
    # SQLite needs nothing more: the IMMEDIATE transaction already holds the database's write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])


def _head() -> tuple[int, bytes, int]:
    """(seq, entry_hash, event id) of the newest seal, or the genesis values. When retention
    pruned the newest seals (a month of old events sealed after every younger one, as a backfill
    of an imported log leaves them), the head is the boundary checkpoint after them, so that a
    sequence number is never given twice."""
    last = AuditSeal.objects.order_by("-seq").values_list("seq", "entry_hash", "event_id").first()
    # Only checkpoints above the newest seal: none, as a rule (the index on seal_seq answers that
    # without reading the many regular checkpoints below it).
    boundary = (
        AuditCheckpoint.objects.filter(
            kind=AuditCheckpoint.Kind.PRUNE_BOUNDARY, seal_seq__gt=last[0] if last else 0
        )
        .order_by("-seal_seq")
        .values_list("seal_seq", "entry_hash")
        .first()
    )
    if boundary is not None:
        return boundary[0], bytes(boundary[1]), last[2] if last is not None else 0
    if last is None:
        return 0, GENESIS, 0
    return last[0], bytes(last[1]), last[2]


def seal_grace() -> dt.timedelta:
    return dt.timedelta(seconds=settings.LYFTA_AUDIT_SEAL_GRACE)


def _unsealed(
    floor: int, limit: int, full: bool = False, backfill: bool = False
) -> list[dict[str, Any]]:
    if connection.vendor == "postgresql" and not full:
        # Probe the seal index once per recent event (nested loop) instead of hashing every seal
        # ever made: the cost stays proportional to the look-back window, not to the log's size.
        # The probe names the event's time too, so that it reads the one month's partition.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
    sealed = AuditSeal.objects.filter(event_id=OuterRef("id"), occurred_at=OuterRef("occurred_at"))
    events = AuditEvent.objects.filter(id__gt=floor).filter(~Exists(sealed))
    if not backfill:
        # An event recorded long ago and still unsealed was not written by the running system:
        # the regular sealer leaves it out, and verification reports it as inserted. Only an
        # operator's backfill (which vouches for its range with a checkpoint) seals such events.
        events = events.filter(occurred_at__gte=timezone.now() - seal_grace())
    return fetch_events(events.order_by("id")[:limit])


def audit_seal(
    *,
    batch_size: int = 10_000,
    max_events: int | None = None,
    full: bool = False,
    checkpoint: bool | None = None,
    backfill: bool = False,
    checkpoint_spacing: dt.timedelta | None = None,
) -> SealResult:
    """Append every committed, unsealed event to the chain, in batches of `batch_size`, each in its
    own transaction. `full` scans the whole table instead of the recent ids. A checkpoint is written
    when `checkpoint` is True, or (None) when the head has moved past the newest checkpoint and that
    one is at least `checkpoint_spacing` old (default: `default_checkpoint_spacing`), also when this
    run sealed nothing: an idle system's tail gets covered too.

    Events recorded more than LYFTA_AUDIT_SEAL_GRACE ago are sealed only by a `backfill` (an
    operator's decision, e.g. after the scheduler was down, or a data import), which writes a
    backfill checkpoint vouching for the seals it made; verification otherwise reports a seal made
    long after its event as an insertion."""
    key = audit_key()
    kid = key_id(key)
    sealed = 0
    result_cp: AuditCheckpoint | None = None
    # After the first batch, the next one starts above the last id sealed in this run: the first
    # batch already looked back for late commits, so a bulk catch-up does not rescan them.
    scanned_to = -1
    while True:
        remaining = None if max_events is None else max_events - sealed
        if remaining is not None and remaining <= 0:
            break
        with transaction.atomic():
            _lock_sealer()
            seq, prev, head_event = _head()
            floor = 0 if full else max(0, head_event - LOOKBACK_IDS)
            floor = max(floor, scanned_to)
            limit = batch_size if remaining is None else min(batch_size, remaining)
            rows = _unsealed(floor, limit, full or backfill, backfill)
            now = timezone.now()
            seals: list[tuple[Any, ...]] = []
            for row in rows:
                seq += 1
                entry = chain_hash(prev, row)
                seals.append(
                    (
                        seq,
                        row["id"],
                        FORMAT_VERSION,
                        prev,
                        entry,
                        seal_mac(key, seq, entry),
                        kid,
                        now,
                        row["occurred_at"],
                    )
                )
                prev = entry
            _insert_seals(seals)
            if seals:
                # The reviewer's chart counts the batch in the same transaction (daily.py).
                times = [row["occurred_at"] for row in rows]  # canonical UTC text: sorts as time
                daily.add_seals(seals[0][0], seq, between=(min(times), max(times)))
            if backfill and seals:
                write_checkpoint(
                    kind=AuditCheckpoint.Kind.BACKFILL,
                    seal_seq=seq,
                    entry_hash=prev,
                    key=key,
                    from_seq=seals[0][0],
                )
            sealed += len(seals)
            if rows:
                scanned_to = rows[-1]["id"]
            last_batch = len(rows) < batch_size
            if last_batch and seq > 0 and _checkpoint_due(checkpoint, seq, now, checkpoint_spacing):
                result_cp = write_checkpoint(
                    kind=AuditCheckpoint.Kind.SEAL, seal_seq=seq, entry_hash=prev, key=key
                )
        if last_batch:
            return SealResult(sealed=sealed, head_seq=seq, head_hash=prev, checkpoint=result_cp)
    head_seq, head_hash, _ = _head()
    return SealResult(sealed=sealed, head_seq=head_seq, head_hash=head_hash, checkpoint=result_cp)


SEAL_COLUMNS = (
    "seq",
    "event_id",
    "version",
    "prev_hash",
    "entry_hash",
    "mac",
    "key_id",
    "sealed_at",
    # The event's time: the partition key the seal shares with its event (decision 0023).
    "occurred_at",
)


def _insert_seals(seals: list[tuple[Any, ...]]) -> None:
    """Append seals given as tuples of SEAL_COLUMNS; COPY on PostgreSQL, where it is several times
    faster than INSERT (sealing must keep up with every write of the whole system)."""
    if not seals:
        return
    if connection.vendor != "postgresql":
        AuditSeal.objects.bulk_create(
            [AuditSeal(**dict(zip(SEAL_COLUMNS, seal, strict=True))) for seal in seals],
            batch_size=1000,
        )
        return
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY audit_auditseal ({', '.join(SEAL_COLUMNS)}) FROM STDIN") as copy:
            for seal in seals:
                copy.write_row(seal)


def default_checkpoint_spacing() -> dt.timedelta:
    """The least time between two regular checkpoints. The sealer runs every
    LYFTA_AUDIT_SEAL_INTERVAL seconds, so checkpointing at the last run before
    LYFTA_AUDIT_CHECKPOINT_INTERVAL has passed covers a moved head within that interval."""
    interval = settings.LYFTA_AUDIT_CHECKPOINT_INTERVAL - settings.LYFTA_AUDIT_SEAL_INTERVAL
    return dt.timedelta(seconds=max(0, interval))


def _checkpoint_due(
    requested: bool | None, head_seq: int, now: dt.datetime, spacing: dt.timedelta | None
) -> bool:
    """Whether to checkpoint the head `head_seq`: as `requested`, or (None) when the head has
    moved past every checkpoint and the newest one is at least `spacing` old. Whether this run
    sealed anything does not matter: the events sealed since the last checkpoint are the tail a
    database owner could cut off unnoticed."""
    if requested is not None:
        return requested
    covered = AuditCheckpoint.objects.aggregate(covered=Max("seal_seq"))["covered"]
    if covered is not None and head_seq <= covered:
        return False
    last = AuditCheckpoint.objects.order_by("-id").values_list("created_at", flat=True).first()
    spacing = default_checkpoint_spacing() if spacing is None else spacing
    return last is None or now - last >= spacing


def write_checkpoint(
    *,
    kind: str,
    seal_seq: int,
    entry_hash: bytes,
    key: bytes | None = None,
    from_seq: int | None = None,
) -> AuditCheckpoint:
    """Store an HMAC'd checkpoint of the chain at `seal_seq` and, once the transaction commits,
    append it to the checkpoint file outside the database. A backfill checkpoint also names the
    first seal of the range it vouches for (`from_seq`)."""
    key = key or audit_key()
    created_at = timezone.now()
    cp = AuditCheckpoint.objects.create(
        kind=kind,
        seal_seq=seal_seq,
        from_seq=from_seq,
        entry_hash=entry_hash,
        created_at=created_at,
        key_id=key_id(key),
        mac=checkpoint_mac(
            key,
            kind=kind,
            seal_seq=seal_seq,
            entry_hash=entry_hash,
            created_at=created_at,
            from_seq=from_seq,
        ),
    )
    transaction.on_commit(lambda: export_checkpoint(cp))
    return cp


def checkpoint_line(cp: AuditCheckpoint) -> dict[str, Any]:
    return {
        "kind": cp.kind,
        "seal_seq": cp.seal_seq,
        "entry_hash": bytes(cp.entry_hash).hex(),
        "created_at": _value(cp.created_at),
        "from_seq": cp.from_seq,
        "key_id": cp.key_id,
        "mac": bytes(cp.mac).hex(),
    }


def export_checkpoint(cp: AuditCheckpoint) -> None:
    path: str = settings.LYFTA_AUDIT_CHECKPOINT_FILE
    if not path:
        return
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(checkpoint_line(cp), sort_keys=True) + "\n")


def read_checkpoint_file(path: str | Path) -> Sequence[dict[str, Any]]:
    file = Path(path)
    if not file.exists():
        return []
    with file.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
