from __future__ import annotations

import json
from argparse import ArgumentParser
from bisect import bisect_left
from typing import Any

from django.core.management.base import CommandError

from lyfta.access.commands import SystemCommand
from lyfta.audit import merkle
from lyfta.audit.actions import Action
from lyfta.audit.services import record


class Command(SystemCommand):
    help = (
        "Print, as JSON, an RFC 6962 inclusion proof for the seal --seq N, or a consistency proof "
        "between tree sizes --consistency OLD and --tree-size (default: all seals), over the "
        "Merkle tree whose leaves are the seals' entry hashes in seq order (R68)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--seq", type=int, help="the seal to prove inclusion of")
        which.add_argument(
            "--consistency", type=int, metavar="OLD", help="the earlier tree size to prove from"
        )
        parser.add_argument(
            "--tree-size", type=int, default=None, help="the tree size to prove against"
        )

    def run(self, *args: Any, **options: Any) -> None:
        # One read of the seals, so that the root and the proof describe the same tree.
        seals = merkle.audit_seal_leaves()
        if not seals:
            raise CommandError("there are no sealed audit events yet: the tree is empty")
        size = options["tree_size"]
        if size is None:
            size = len(seals)
        elif not 1 <= size <= len(seals):
            raise CommandError(f"--tree-size must be between 1 and {len(seals)} (the seals now)")
        leaves = [entry_hash for _, entry_hash in seals[:size]]
        if options["seq"] is not None:
            result = self._inclusion(seals, leaves, options["seq"])
        else:
            result = self._consistency(leaves, options["consistency"])
        # Issuing a proof discloses hashes only, but it is still a read of the audit trail (R70).
        record(
            action=Action.AUDIT_PROOF_ISSUED,
            detail={k: v for k, v in result.items() if k in {"tree_size", "seq", "old_tree_size"}},
        )
        self.stdout.write(json.dumps(result, indent=2))

    def _inclusion(
        self, seals: list[tuple[int, bytes]], leaves: list[bytes], seq: int
    ) -> dict[str, Any]:
        size = len(leaves)
        first_seq, last_seq = seals[0][0], seals[size - 1][0]
        seqs = [s for s, _ in seals[:size]]
        index = bisect_left(seqs, seq)
        if index == size or seqs[index] != seq:
            raise CommandError(
                f"seal {seq} is not in the tree of size {size}, which holds seals "
                f"{first_seq}–{last_seq}"
            )
        return {
            "tree_size": size,
            "root": merkle.root(leaves).hex(),
            "seq": seq,
            "first_seq": first_seq,
            "leaf_index": index,
            "entry_hash": leaves[index].hex(),
            "inclusion_path": [node.hex() for node in merkle.inclusion_proof(leaves, index)],
        }

    def _consistency(self, leaves: list[bytes], old_size: int) -> dict[str, Any]:
        size = len(leaves)
        if not 1 <= old_size <= size:
            raise CommandError(f"--consistency must be between 1 and the tree size {size}")
        return {
            "old_tree_size": old_size,
            "old_root": merkle.root(leaves[:old_size]).hex(),
            "tree_size": size,
            "root": merkle.root(leaves).hex(),
            "consistency_path": [node.hex() for node in merkle.consistency_proof(leaves, old_size)],
        }
