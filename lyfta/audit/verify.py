"""Verification of the audit trail (R66–R67, R69, R74): recompute the chain from the stored events,
check every seal's MAC and every checkpoint (in the database and in the file outside it), compare
the seals with the copy shipped to the log store, and report the first changed, missing, inserted
or reordered event.

The keyed chain cannot show that its newest seals were cut off: what is left is still a valid
chain. Only what lies outside the database can, so the tail is checked against the checkpoint file
and the shipped copy, and the report says how many sealed events no checkpoint covers yet."""

from __future__ import annotations

import bisect
import datetime as dt
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef
from django.utils import timezone

from lyfta.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from lyfta.audit.sealing import (
    GENESIS,
    chain_hash,
    checkpoint_mac,
    read_checkpoint_file,
    seal_grace,
    verification_keys,
)
from lyfta.audit.shipping import ShippedSeal, read_shipped, shipped_copy_path
from lyfta.audit.verify_range import (
    Finding,
    Pruned,
    RangeResult,
    _break,
    _gap,
    _verify_range,
    vouched,
)

# Chains at least this long are verified by parallel processes on PostgreSQL.
PARALLEL_FROM = 100_000
MAX_WORKERS = 4


@dataclass
class VerifyReport:
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    first_seq: int = 0
    last_seq: int = 0
    head_hash: bytes = GENESIS
    checkpoints: int = 0
    file_checkpoints: int = 0
    pending: int = 0
    # The highest seal a checkpoint with a valid MAC names (database or file); 0: none.
    covered_seq: int = 0
    # The shipped copy compared with the database ("" when there was none), and its lines read.
    shipped_file: str = ""
    shipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def uncovered(self) -> int:
        """How many sealed events lie after the newest checkpoint: a database owner could delete
        them without a checkpoint showing it."""
        return max(0, self.last_seq - self.covered_seq)

    def coverage(self) -> str:
        at = f" (seal {self.covered_seq})" if self.covered_seq else " (there is none)"
        shipped = (
            f"{self.shipped} shipped seals compared with the shipped copy"
            if self.shipped_file
            else "no shipped copy to compare with"
        )
        return f"{self.uncovered} sealed events not covered by the newest checkpoint{at}, {shipped}"

    def summary(self) -> str:
        if self.ok:
            seals = f"seals {self.first_seq}–{self.last_seq}" if self.events else "no seals yet"
            return (
                f"audit trail intact: {self.events} events ({seals}), head "
                f"{self.head_hash.hex()[:16]}, {self.checkpoints} checkpoints verified "
                f"({self.file_checkpoints} from the file), {self.coverage()}, "
                f"{self.pending} pending sealing"
            )
        first = self.findings[0]
        more = f" (+{len(self.findings) - 1} more findings)" if len(self.findings) > 1 else ""
        return f"audit trail NOT intact: {first.message}{more}"


def _ranges(first: int, last: int, workers: int) -> list[tuple[int, int | None]]:
    size = (last - first + 1 + workers - 1) // workers
    bounds = [(first + i * size, first + (i + 1) * size - 1) for i in range(workers)]
    return [(lo, None if i == workers - 1 else hi) for i, (lo, hi) in enumerate(bounds)]


def audit_verify(
    *,
    checkpoint_file: str | Path | None = None,
    shipped_file: str | Path | None = None,
    chunk_size: int = 10_000,
    grace: dt.timedelta | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Recompute the chain, check the checkpoints and compare the seals with the shipped copy
    (`shipped_file`, default the file LYFTA_AUDIT_SHIP_URL appends to; "" for none). Reads only;
    changes nothing. On PostgreSQL a long chain is verified in stretches by parallel processes
    (`workers`, default one per core)."""
    keys = verification_keys()
    grace = grace if grace is not None else seal_grace()
    report = VerifyReport()
    findings = report.findings
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    backfilled = tuple(
        (cp.from_seq, cp.seal_seq)
        for cp in checkpoints
        if cp.kind == AuditCheckpoint.Kind.BACKFILL
        and cp.from_seq is not None
        and (key := keys.get(cp.key_id)) is not None
        and bytes(cp.mac)
        == checkpoint_mac(
            key,
            kind=cp.kind,
            seal_seq=cp.seal_seq,
            entry_hash=bytes(cp.entry_hash),
            created_at=cp.created_at,
            from_seq=cp.from_seq,
        )
    )
    file_path = (
        checkpoint_file if checkpoint_file is not None else settings.LYFTA_AUDIT_CHECKPOINT_FILE
    )
    file_lines = read_checkpoint_file(file_path) if file_path else []
    wanted = {cp.seal_seq for cp in checkpoints} | {int(line["seal_seq"]) for line in file_lines}

    pruned = _pruned(checkpoints, keys)
    bounds = AuditSeal.objects.aggregate(first=Min("seq"), last=Max("seq"))
    first, last = bounds["first"], bounds["last"]
    expected_prev: bytes | None = GENESIS
    hashes_at: dict[int, bytes] = {}
    if first is not None and first > 1:
        boundary = vouched(pruned, 1, first - 1)
        if boundary is None:
            findings.append(
                Finding(
                    "missing",
                    f"seals 1–{first - 1} are missing and no retention boundary "
                    "checkpoint covers them: events were deleted",
                    seq=1,
                )
            )
            expected_prev = None
        else:
            expected_prev = boundary
            hashes_at[first - 1] = boundary
    if first is not None:
        parts = _run_ranges(
            first,
            last,
            keys,
            wanted,
            chunk_size,
            workers,
            grace.total_seconds(),
            backfilled,
            pruned,
        )
        expected_seq = first
        for part in parts:
            if part.events == 0:
                continue
            if part.first_seq != expected_seq:
                # Seals between two stretches: removed by retention cleanup, or a finding.
                expected_prev = vouched(pruned, expected_seq, part.first_seq - 1)
                if expected_prev is None:
                    findings.append(_gap(expected_seq, part.first_seq))
            if expected_prev is not None and part.first_prev != expected_prev:
                findings.append(_break(part.first_seq, None))
            findings.extend(part.findings)
            hashes_at.update(part.hashes_at)
            _explain_swaps(findings, part.mismatched)
            expected_prev, expected_seq = part.last_entry, part.last_seq + 1
            report.events += part.events
            report.first_seq = report.first_seq or part.first_seq
            report.last_seq, report.head_hash = part.last_seq, part.last_entry
    _check_checkpoints(report, checkpoints, file_lines, hashes_at, keys)
    shipped_path = (
        shipped_file
        if shipped_file is not None
        else shipped_copy_path(settings.LYFTA_AUDIT_SHIP_URL)
    )
    if shipped_path and Path(shipped_path).exists():
        report.shipped_file = str(shipped_path)
        _check_shipped(report, read_shipped(shipped_path), pruned)
    _check_unsealed(report, grace)
    findings.sort(key=lambda f: f.seq if f.seq is not None else 1 << 62)
    return report


def _run_ranges(
    first: int,
    last: int,
    keys: dict[str, bytes],
    wanted: set[int],
    chunk_size: int,
    workers: int | None,
    grace_seconds: float,
    backfilled: tuple[tuple[int, int], ...],
    pruned: Pruned,
) -> list[RangeResult]:
    if workers is None:
        parallel_ok = connection.vendor == "postgresql" and last - first >= PARALLEL_FROM
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if parallel_ok else 1
    if workers <= 1:
        return [
            _verify_range(first, None, keys, wanted, chunk_size, grace_seconds, backfilled, pruned)
        ]
    from lyfta.audit import parallel

    context = multiprocessing.get_context("spawn")
    database = {
        k: v
        for k, v in connection.settings_dict.items()
        if k in {"NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS"}
    }
    jobs = [
        (lo, hi, keys, wanted, chunk_size, grace_seconds, backfilled, pruned)
        for lo, hi in _ranges(first, last, workers)
    ]
    with context.Pool(workers, initializer=parallel.init_child, initargs=(database,)) as pool:
        return pool.map(parallel.verify_range, jobs)


def _pruned(checkpoints: list[AuditCheckpoint], keys: dict[str, bytes]) -> Pruned:
    """The stretches of seals that retention cleanup removed, from its boundary checkpoints with a
    valid MAC: one without a first seal covers the chain from its start (cleanup row by row, the
    oldest first); one with it (`from_seq`) the seals from there (whole months detached, which
    need not be the oldest seals: an imported old log is sealed after younger events)."""
    pruned = []
    for cp in checkpoints:
        if cp.kind != AuditCheckpoint.Kind.PRUNE_BOUNDARY:
            continue
        entry = bytes(cp.entry_hash)
        key = keys.get(cp.key_id)
        if key is not None and bytes(cp.mac) == checkpoint_mac(
            key,
            kind=cp.kind,
            seal_seq=cp.seal_seq,
            entry_hash=entry,
            created_at=cp.created_at,
            from_seq=cp.from_seq,
        ):
            pruned.append((cp.from_seq or 1, cp.seal_seq, entry))
    return tuple(sorted(pruned))


def _explain_swaps(
    findings: list[Finding], mismatched: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Two changed events whose contents match each other's seals were swapped, not edited: the
    two "changed" findings become one "swapped" finding."""
    sample = mismatched[:200]
    swapped: set[int] = set()
    for i, (seal_a, row_a) in enumerate(sample):
        for seal_b, row_b in sample[i + 1 :]:
            if not _same_but_id(seal_a, row_b, seal_b, row_a):
                continue
            swapped |= {seal_a["seq"], seal_b["seq"]}
            findings.append(
                Finding(
                    "reordered",
                    f"events {seal_a['event_id']} and {seal_b['event_id']} (seals "
                    f"{seal_a['seq']} and {seal_b['seq']}) were swapped",
                    seal_a["seq"],
                    seal_a["event_id"],
                )
            )
    findings[:] = [f for f in findings if not (f.kind == "changed" and f.seq in swapped)]


def _same_but_id(
    seal_a: dict[str, Any], row_b: dict[str, Any], seal_b: dict[str, Any], row_a: dict[str, Any]
) -> bool:
    """Whether the rows at two seals were exchanged: whole rows (the seals point at each other's
    events) or their contents with the ids left in place."""

    def fits(seal: dict[str, Any], row: dict[str, Any]) -> bool:
        return chain_hash(bytes(seal["prev_hash"]), row, seal["version"]) == bytes(
            seal["entry_hash"]
        )

    if fits(seal_a, row_b) and fits(seal_b, row_a):
        return True
    return fits(seal_a, {**row_b, "id": row_a["id"]}) and fits(seal_b, {**row_a, "id": row_b["id"]})


def _check_checkpoints(
    report: VerifyReport,
    checkpoints: list[AuditCheckpoint],
    file_lines: Any,
    hashes_at: dict[int, bytes],
    keys: dict[str, bytes],
) -> None:
    entries: list[tuple[str, str, int, bytes, dt.datetime, str, bytes, int | None]] = [
        (
            "database",
            cp.kind,
            cp.seal_seq,
            bytes(cp.entry_hash),
            cp.created_at,
            cp.key_id,
            bytes(cp.mac),
            cp.from_seq,
        )
        for cp in checkpoints
    ]
    for line in file_lines:
        entries.append(
            (
                "file",
                line["kind"],
                int(line["seal_seq"]),
                bytes.fromhex(line["entry_hash"]),
                dt.datetime.fromisoformat(line["created_at"]),
                line["key_id"],
                bytes.fromhex(line["mac"]),
                line.get("from_seq"),
            )
        )
    for where, kind, seq, entry, created_at, cp_kid, mac, from_seq in entries:
        key = keys.get(cp_kid)
        if key is None or mac != checkpoint_mac(
            key,
            kind=kind,
            seal_seq=seq,
            entry_hash=entry,
            created_at=created_at,
            from_seq=from_seq,
        ):
            report.findings.append(
                Finding(
                    "checkpoint",
                    f"a checkpoint in the {where} for seal {seq} has a wrong MAC: "
                    "it was forged or altered",
                    seq,
                )
            )
            continue
        report.covered_seq = max(report.covered_seq, seq)
        if seq > report.last_seq and seq not in hashes_at:
            report.findings.append(
                Finding(
                    "truncated",
                    f"a checkpoint in the {where} names seal {seq}, but the chain "
                    f"ends at seal {report.last_seq}: the events after it were deleted",
                    report.last_seq + 1,
                )
            )
        elif seq in hashes_at and hashes_at[seq] != entry:
            report.findings.append(
                Finding(
                    "checkpoint",
                    f"the chain at seal {seq} differs from the checkpoint in the "
                    f"{where}: it was rewritten",
                    seq,
                )
            )
        elif where == "database":
            report.checkpoints += 1
        else:
            report.file_checkpoints += 1


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Sorted, distinct `seqs` as runs of consecutive numbers (first, last)."""
    runs: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def _span(first: int, last: int) -> str:
    return f"seal {first}" if first == last else f"seals {first}–{last}"


def _check_shipped(report: VerifyReport, shipped: Iterator[ShippedSeal], pruned: Pruned) -> None:
    """Every seal in the shipped copy must be in the database with the same entry hash and event
    (R69): a seal that is not was deleted (after the chain's end: the tail was cut off) or replaced
    (the tail was cut off and the chain sealed again from there). Seals that retention cleanup
    deleted (in a stretch its boundary checkpoints name) are expected to be gone."""
    starts = [lo for lo, _, _ in pruned]

    def was_pruned(seq: int) -> bool:
        at = bisect.bisect_right(starts, seq)
        return any(lo <= seq <= hi for lo, hi, _ in pruned[:at])

    absent: list[int] = []
    different: list[int] = []
    while batch := list(islice(shipped, 5000)):
        seqs = {row.seq for row in batch}
        low, high = min(seqs), max(seqs)
        query = AuditSeal.objects.order_by()
        if high - low < 3 * len(seqs) + 100:
            query = query.filter(seq__gte=low, seq__lte=high)
        else:
            query = query.filter(seq__in=seqs)
        stored = {
            seq: (bytes(entry).hex(), event_id)
            for seq, entry, event_id in query.values_list("seq", "entry_hash", "event_id")
        }
        for row in batch:
            report.shipped += 1
            found = stored.get(row.seq)
            if found is None:
                if not was_pruned(row.seq):
                    absent.append(row.seq)
            elif found != (row.entry_hash, row.event_id):
                different.append(row.seq)
    for first, last in _runs(absent):
        count = last - first + 1
        if first > report.last_seq:
            message = (
                f"{_span(first, last)} ({count} sealed events) are in the shipped copy but "
                f"not in the database, whose chain ends at seal {report.last_seq}: the newest "
                "events were deleted"
            )
            report.findings.append(Finding("truncated", message, first))
        else:
            message = (
                f"{_span(first, last)} ({count} sealed events) are in the shipped copy but "
                "missing from the database: the events sealed there were deleted"
            )
            report.findings.append(Finding("missing", message, first))
    for first, last in _runs(different):
        message = (
            f"{_span(first, last)} in the database differ from the shipped copy: the events "
            "shipped there were deleted or replaced and the chain sealed again over them"
        )
        report.findings.append(Finding("shipped", message, first))


def _check_unsealed(report: VerifyReport, grace: dt.timedelta) -> None:
    """An event not sealed within the grace period was not written by the running system (the
    regular sealer would have sealed it): it was inserted into the log later."""
    cutoff = timezone.now() - grace
    # A seal is its event's by id and time: a row that repeats a sealed id under another time
    # (the partitioned table's key allows it) is as unsealed as any other row slipped in.
    sealed = AuditSeal.objects.filter(event_id=OuterRef("id"), occurred_at=OuterRef("occurred_at"))
    unsealed = AuditEvent.objects.filter(~Exists(sealed))
    stale = unsealed.filter(occurred_at__lt=cutoff).order_by("id").values_list("id", flat=True)[:20]
    for event_id in stale:
        report.findings.append(
            Finding(
                "inserted",
                f"event {event_id} was never sealed although it claims to be older "
                "than the sealing grace period: it was inserted into the log later",
                None,
                event_id,
            )
        )
    report.pending = unsealed.filter(occurred_at__gte=cutoff).count()
