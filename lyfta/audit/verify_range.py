"""Verifying one stretch of the sealed audit chain (R66–R67): the seals from `start` to `end`
against their events. A module of its own, apart from `verify`, so that the parallel
verifier's child processes (`parallel`) import it without `verify` importing them back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Min, TextField
from django.db.models.functions import Cast

from lyfta.audit.models import AuditEvent, AuditSeal
from lyfta.audit.sealing import (
    FORMAT_FIELDS,
    GENESIS,
    _value,
    chain_hash,
    fetch_events,
    iso_utc,
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
    # The seal's copy of its event's time, read as text (as the events' time is): compared with
    # the event's for every seal without parsing a timestamp per row.
    "occurred_text",
)

# Stretches of seals that retention cleanup removed, as its boundary checkpoints name them:
# (first seq, last seq, entry hash of the last), sorted.
Pruned = tuple[tuple[int, int, bytes], ...]


def vouched(pruned: Pruned, first: int, last: int) -> bytes | None:
    """The entry hash of seal `last` when retention cleanup removed every seal from `first` to
    `last` (checkpoints whose ranges together cover them, one of them ending at `last`), so that
    the chain after them goes on from it; None when no cleanup accounts for those seals."""
    end = next((entry for _, hi, entry in pruned if hi == last), None)
    if end is None:
        return None
    low = reach = None
    for lo, hi, _ in pruned:
        if reach is None or lo > reach + 1:
            low, reach = lo, hi
        else:
            reach = max(reach, hi)
        if low is not None and low <= first and reach >= last:
            return end
    return None


def _seal_chunks(start: int, end: int | None, size: int) -> Iterator[list[dict[str, Any]]]:
    """The seals from `start` to `end` in order of seq, read a window of `size` numbers at a
    time. Windows of numbers rather than of rows: on PostgreSQL the key of the partitioned seals
    is (seq, occurred_at), so a second row with a number in use could exist, and a window keeps
    both in one chunk, where verification finds them side by side."""
    last = start - 1
    while end is None or last < end:
        top = last + size if end is None else min(last + size, end)
        query = AuditSeal.objects.filter(seq__gt=last, seq__lte=top).annotate(
            occurred_text=Cast("occurred_at", TextField())
        )
        sql, params = query.order_by("seq").values_list(*_SEAL_COLUMNS).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            chunk = [dict(zip(_SEAL_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        for seal in chunk:
            seal["occurred_at"] = _time_text(seal.pop("occurred_text"))
        if chunk:
            yield chunk
            last = top
            continue
        # An empty window (seals removed by retention cleanup): go on from the next seal.
        after = AuditSeal.objects.filter(seq__gt=top)
        if end is not None:
            after = after.filter(seq__lte=end)
        following = after.aggregate(first=Min("seq"))["first"]
        if following is None:
            return
        last = following - 1


def _events_for(seals: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The events the seals name, by id. A list per id: on PostgreSQL the key of the partitioned
    events is (id, occurred_at), so a row repeating a sealed id with another time could exist;
    the seal's own copy of the time tells which row it sealed."""
    ids = [s["event_id"] for s in seals]
    low, high = min(ids), max(ids)
    query = AuditEvent.objects.order_by()
    # Seals follow id order closely, so a range scan is the cheap way to fetch their events.
    if high - low < 3 * len(ids) + 100:
        query = query.filter(id__gte=low, id__lte=high)
    else:
        query = query.filter(id__in=ids)
    found: dict[int, list[dict[str, Any]]] = {}
    for row in fetch_events(query, ALL_FIELDS):
        found.setdefault(row["id"], []).append(row)
    return found


def _time_text(value: Any) -> str:
    """A seal's copy of its event's time in the canonical text the events are read in."""
    return iso_utc(value) if isinstance(value, str) else str(_value(value))


def _sealed_row(
    candidates: list[dict[str, Any]] | None, seal: dict[str, Any]
) -> dict[str, Any] | None:
    """The event row a seal sealed: the one with its id and, should several rows have that id,
    the time the seal keeps (`seal["occurred_at"]`, canonical text). A seal whose time is not
    its event's is reported by the caller."""
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    sealed_time = seal["occurred_at"]
    return next((r for r in candidates if r["occurred_at"] == sealed_time), candidates[0])


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
    pruned: Pruned = (),
) -> RangeResult:
    """Recompute seals `start`..`end` (inclusive; None: to the newest). Each seal is checked from
    its own stored prev_hash, so stretches verify independently and are joined afterwards. A seal
    made more than `grace_seconds` after its event was recorded, outside every `backfilled` range,
    marks an event added to the log later (R66). Seals missing inside the chain are a finding
    unless retention cleanup removed them (`pruned`, R74)."""
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
            if expected_seq is not None and seq < expected_seq:
                findings.append(
                    Finding(
                        "inserted",
                        f"seal {seq} appears twice (again for event {event_id}): a seal was "
                        "added to the chain with a number already in use",
                        seq,
                        event_id,
                    )
                )
                continue
            if expected_seq is None:
                out.first_seq, out.first_prev = seq, prev
            elif seq != expected_seq:
                expected_prev = vouched(pruned, expected_seq, seq - 1)
                if expected_prev is None:
                    findings.append(_gap(expected_seq, seq))
            if expected_prev is not None and prev != expected_prev:
                findings.append(_break(seq, event_id))
            row = _sealed_row(events.get(event_id), seal)
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
            elif seal["occurred_at"] != row["occurred_at"]:
                # The sealer copies the event's time into its seal. On PostgreSQL the keys hold
                # the time (decision 0023), so the database no longer refuses a second seal of a
                # sealed event (under another time) or a seal moved to another month.
                findings.append(
                    Finding(
                        "inserted",
                        f"seal {seq} files event {event_id} under {seal['occurred_at']}, not "
                        f"under the event's time {row['occurred_at']}: the sealer did not make "
                        "it (a second seal of one event, or a seal moved to another month)",
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
