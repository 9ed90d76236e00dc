"""Verifying one stretch of the sealed audit chain (R66–R67): the seals from `start` to `end`
against their events. A module of its own, apart from `verify`, so that the parallel
verifier's child processes (`parallel`) import it without `verify` importing them back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from lyfta.audit.models import AuditEvent, AuditSeal
from lyfta.audit.sealing import (
    FORMAT_FIELDS,
    GENESIS,
    chain_hash,
    fetch_events,
    seal_mac,
)

ALL_FIELDS = tuple(dict.fromkeys(name for fields in FORMAT_FIELDS.values() for name in fields))


@dataclass(frozen=True)
class Finding:
    kind: str  # changed, missing, inserted, reordered, unkeyed, truncated, checkpoint, shipped
    message: str
    seq: int | None = None
    event_id: int | None = None


_SEAL_COLUMNS = (
    "seq",
    "event_id",
    "version",
    "prev_hash",
    "entry_hash",
    "mac",
    "key_id",
    "sealed_at",
)


def _seal_chunks(start: int, end: int | None, size: int) -> Iterator[list[dict[str, Any]]]:
    last = start - 1
    while True:
        query = AuditSeal.objects.filter(seq__gt=last)
        if end is not None:
            query = query.filter(seq__lte=end)
        sql, params = (
            query.order_by("seq").values_list(*_SEAL_COLUMNS)[:size].query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            chunk = [dict(zip(_SEAL_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["seq"]


def _events_for(seals: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    ids = [s["event_id"] for s in seals]
    low, high = min(ids), max(ids)
    query = AuditEvent.objects.order_by()
    # Seals follow id order closely, so a range scan is the cheap way to fetch their events.
    if high - low < 3 * len(ids) + 100:
        query = query.filter(id__gte=low, id__lte=high)
    else:
        query = query.filter(id__in=ids)
    return {row["id"]: row for row in fetch_events(query, ALL_FIELDS)}


@dataclass
class RangeResult:
    """What verifying one stretch of seals found, to be joined with its neighbours."""

    findings: list[Finding] = field(default_factory=list)
    mismatched: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    hashes_at: dict[int, bytes] = field(default_factory=dict)
    events: int = 0
    first_seq: int = 0
    first_prev: bytes | None = None
    last_seq: int = 0
    last_entry: bytes = GENESIS


def _aware(value: Any) -> dt.datetime:
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _verify_range(
    start: int,
    end: int | None,
    keys: dict[str, bytes],
    wanted: set[int],
    chunk_size: int,
    grace_seconds: float = 6 * 3600,
    backfilled: tuple[tuple[int, int], ...] = (),
) -> RangeResult:
    """Recompute seals `start`..`end` (inclusive; None: to the newest). Each seal is checked from
    its own stored prev_hash, so stretches verify independently and are joined afterwards. A seal
    made more than `grace_seconds` after its event was recorded, outside every `backfilled` range,
    marks an event added to the log later (R66)."""
    out = RangeResult()
    findings = out.findings
    expected_seq: int | None = None
    expected_prev: bytes | None = None
    unkeyed_run = False
    for seals in _seal_chunks(start, end, chunk_size):
        events = _events_for(seals)
        for seal in seals:
            seq, event_id = seal["seq"], seal["event_id"]
            prev, entry = bytes(seal["prev_hash"]), bytes(seal["entry_hash"])
            if expected_seq is None:
                out.first_seq, out.first_prev = seq, prev
            elif seq != expected_seq:
                findings.append(_gap(expected_seq, seq))
                expected_prev = None
            if expected_prev is not None and prev != expected_prev:
                findings.append(_break(seq, event_id))
            row = events.get(event_id)
            if row is None:
                findings.append(
                    Finding(
                        "missing",
                        f"event {event_id}, sealed at {seq}, is missing: it was deleted",
                        seq,
                        event_id,
                    )
                )
            elif (
                (_aware(seal["sealed_at"]) - _aware(row["occurred_at"])).total_seconds()
                > grace_seconds
                and not any(lo <= seq <= hi for lo, hi in backfilled)
                and chain_hash(prev, row, seal["version"]) == entry
            ):
                findings.append(
                    Finding(
                        "inserted",
                        f"event {event_id} (seal {seq}) was sealed long after the "
                        "time it claims: it was added to the log later",
                        seq,
                        event_id,
                    )
                )
            elif chain_hash(prev, row, seal["version"]) != entry:
                out.mismatched.append((seal, row))
                findings.append(
                    Finding(
                        "changed",
                        f"event {event_id} (seal {seq}) is not what was sealed: "
                        "it was changed after sealing",
                        seq,
                        event_id,
                    )
                )
            key = keys.get(seal["key_id"])
            if key is None or bytes(seal["mac"]) != seal_mac(key, seq, entry):
                if not unkeyed_run:
                    findings.append(
                        Finding(
                            "unkeyed",
                            f"seal {seq} (event {event_id}) does not carry the "
                            f"audit key's MAC: event {event_id} was inserted, or the chain was "
                            "recomputed from here after a change",
                            seq,
                            event_id,
                        )
                    )
                unkeyed_run = True
            else:
                unkeyed_run = False
            if seq in wanted:
                out.hashes_at[seq] = entry
            expected_prev, expected_seq = entry, seq + 1
            out.events += 1
            out.last_seq, out.last_entry = seq, entry
    return out


def _gap(expected: int, found: int) -> Finding:
    return Finding(
        "missing",
        f"seals {expected}–{found - 1} are missing: the events sealed there were deleted",
        seq=expected,
    )


def _break(seq: int, event_id: int | None) -> Finding:
    return Finding(
        "reordered",
        f"the chain breaks at seal {seq} (event {event_id}): an event "
        "before it was inserted, removed or moved",
        seq,
        event_id,
    )
