"""RFC 6962 / RFC 9162 Merkle trees over the audit chain (R68), so that an external auditor can be
given inclusion proofs ("this seal is in the tree whose root you hold") and consistency proofs
("the tree you saw earlier is a prefix of today's").

The leaves are the seals' `entry_hash` values in `seq` order; each leaf's data is the 32-byte
entry hash. Leaves are hashed as SHA-256(0x00 || data) and interior nodes as
SHA-256(0x01 || left || right), as in RFC 6962 §2.1, so any RFC 6962 / 9162 verifier (Certificate
Transparency tooling, transparency-dev/merkle) accepts the proofs.

Everything above the selectors at the end is pure: no database, no Django."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size >= 2): RFC 6962 splits there, not at the
    midpoint, which is what makes its trees append-only and its proofs interoperable."""
    return 1 << ((size - 1).bit_length() - 1)


def _subtree_root(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    # Index ranges rather than slices, so no level copies the list of leaves.
    if end - start == 1:
        return leaf_hash(leaves[start])
    middle = start + _split(end - start)
    return node_hash(_subtree_root(leaves, start, middle), _subtree_root(leaves, middle, end))


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash (MTH, RFC 6962 §2.1) of `leaves`, the leaves' data in order. The empty
    tree's root is SHA-256 of the empty string."""
    if not leaves:
        return EMPTY_ROOT
    return _subtree_root(leaves, 0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path (RFC 6962 §2.1.1 PATH) of leaf `index` in the tree of `leaves`: the sibling
    subtree roots from the leaf up to the root. Raises ValueError for an index outside the tree."""
    size = len(leaves)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append(_subtree_root(leaves, middle, end))
            end = middle
        else:
            path.append(_subtree_root(leaves, start, middle))
            start = middle
    # The walk went from the root down; PATH lists the siblings from the leaf up.
    path.reverse()
    return path


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes
) -> bool:
    """Whether `proof` shows that a leaf whose data is `leaf` (here: an entry hash, not yet
    leaf-hashed) sits at `index` in the tree of `tree_size` leaves with root `root`. The algorithm
    of RFC 9162 §2.1.3.2."""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    result = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == root


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof (RFC 6962 §2.1.2 PROOF/SUBPROOF) that the tree of the first
    `old_size` leaves is a prefix of the tree of all `leaves`. Empty when `old_size` is 0 or the
    whole tree; raises ValueError when it is negative or larger than the tree."""
    size = len(leaves)
    if not 0 <= old_size <= size:
        raise ValueError(f"old tree size {old_size} is outside 0–{size}")
    if old_size in (0, size):
        return []
    proof: list[bytes] = []
    # SUBPROOF(m, D[start:end], complete), unrolled; `m` counts from `start`.
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        middle = start + _split(end - start)
        if m <= middle - start:
            proof.append(_subtree_root(leaves, middle, end))
            end = middle
        else:
            proof.append(_subtree_root(leaves, start, middle))
            m -= middle - start
            start = middle
            complete = False
    # When the old tree is itself a complete subtree on the left edge, the verifier already holds
    # its root (the old root); otherwise the subtree reached is part of the proof.
    if not complete:
        proof.append(_subtree_root(leaves, start, end))
    proof.reverse()
    return proof


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    """Whether `proof` shows that the tree of `old_size` leaves with root `old_root` is a prefix
    of the tree of `new_size` leaves with root `new_root`. The algorithm of RFC 9162 §2.1.4.2;
    equal sizes need an empty proof and equal roots, and the empty tree is a prefix of any tree."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_result = second_result = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_result = node_hash(node, first_result)
            second_result = node_hash(node, second_result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            second_result = node_hash(second_result, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first_result == old_root and second_result == new_root


# --- Selectors over the audit chain ---------------------------------------------------------------
#
# These read every seal's entry hash and rebuild the tree: O(n) in the number of seals, which is
# fine for proofs issued on demand to an auditor. Nothing stores tree nodes, so there is nothing
# more to keep consistent with the chain.
#
# The tree covers the seals still in the table. After retention cleanup (R73) the pruned seals are
# gone (the oldest; on PostgreSQL those of whole months, which need not be the oldest), the leaves
# after them move up, and roots issued before the cleanup are not prefixes of the new tree;
# consistency proofs hold between tree heads taken after the same cleanup.


def audit_seal_leaves(upto_seq: int | None = None) -> list[tuple[int, bytes]]:
    """(seq, entry_hash) of every seal, up to and including `upto_seq` when given, in seq order:
    the leaves of the audit tree with the seal number each one stands for."""
    from lyfta.audit.models import AuditSeal

    seals = AuditSeal.objects.order_by("seq")
    if upto_seq is not None:
        seals = seals.filter(seq__lte=upto_seq)
    # BinaryField gives memoryview on PostgreSQL and bytes on SQLite.
    return [
        (seq, bytes(entry_hash))
        for seq, entry_hash in seals.values_list("seq", "entry_hash").iterator(chunk_size=10_000)
    ]


def audit_leaves(upto_seq: int | None = None) -> list[bytes]:
    """The leaves of the audit tree: each seal's entry hash, in seq order, up to and including
    `upto_seq` when given."""
    return [entry_hash for _, entry_hash in audit_seal_leaves(upto_seq)]


def audit_tree_head(upto_seq: int | None = None) -> tuple[int, bytes]:
    """(tree size, root) of the audit tree, up to and including seal `upto_seq` when given."""
    leaves = audit_leaves(upto_seq)
    return len(leaves), root(leaves)
