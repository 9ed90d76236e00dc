"""The Merkle tree over the audit chain (R68): RFC 6962 hashing, inclusion and consistency proofs
that verify with the RFC 9162 algorithms, and the `audit_proof` command."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lyfta.access.actor import Actor
from lyfta.audit.merkle import (
    audit_leaves,
    audit_tree_head,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from lyfta.audit.models import AuditSeal
from lyfta.audit.sealing import audit_seal
from lyfta.audit.services import record

# The Certificate Transparency reference leaves and the published roots of their trees of sizes
# 0..8 (transparency-dev/merkle, testonly/constants.go). An implementation that disagrees with
# them proves nothing to anyone else's verifier.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# Interior nodes of the size-8 reference tree used in the published proofs below: the hash of
# leaf 1, of leaves 2–3, 4–5 and 6–7, and of leaves 4–7.
LEAF_1 = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
LEAF_4 = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
LEAVES_2_3 = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
LEAVES_4_5 = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
LEAVES_6_7 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
LEAVES_4_7 = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"


def entry_hashes(count: int) -> list[bytes]:
    """Stand-ins for seals' entry hashes: 32 distinct bytes each, like the real leaves."""
    return [hashlib.sha256(b"event %d" % i).digest() for i in range(count)]


def hexes(nodes: list[bytes]) -> list[str]:
    return [node.hex() for node in nodes]


# --- Hashing and roots ---------------------------------------------------------------------------


def test_r68_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root([]) == hashlib.sha256(b"").digest()


def test_r68_leaf_and_node_hashes_are_domain_separated() -> None:
    """Leaves carry the 0x00 prefix and interior nodes 0x01, so no leaf can pose as a node."""
    a, b = b"a" * 32, b"b" * 32
    assert leaf_hash(a) == hashlib.sha256(b"\x00" + a).digest()
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert leaf_hash(a + b) != node_hash(a, b)


def test_r68_small_trees_have_the_roots_derived_by_hand() -> None:
    a, b, c = entry_hashes(3)
    assert root([a]) == leaf_hash(a)
    assert root([a, b]) == node_hash(leaf_hash(a), leaf_hash(b))
    # Three leaves split at the largest power of two below 3: ((a b) c), not (a (b c)).
    assert root([a, b, c]) == node_hash(node_hash(leaf_hash(a), leaf_hash(b)), leaf_hash(c))


@pytest.mark.parametrize("size", range(9))
def test_r68_roots_match_the_certificate_transparency_reference(size: int) -> None:
    assert root(CT_LEAVES[:size]).hex() == CT_ROOTS[size]


def test_r68_proofs_match_the_published_reference_proofs() -> None:
    assert hexes(inclusion_proof(CT_LEAVES, 0)) == [LEAF_1, LEAVES_2_3, LEAVES_4_7]
    assert hexes(inclusion_proof(CT_LEAVES, 5)) == [LEAF_4, LEAVES_6_7, CT_ROOTS[4]]
    assert hexes(consistency_proof(CT_LEAVES, 2)) == [LEAVES_2_3, LEAVES_4_7]
    assert hexes(consistency_proof(CT_LEAVES, 6)) == [LEAVES_4_5, LEAVES_6_7, CT_ROOTS[4]]
    assert consistency_proof(CT_LEAVES, 4) == [bytes.fromhex(LEAVES_4_7)]


# --- Inclusion proofs ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 34))
def test_r68_inclusion_proof_verifies_for_every_leaf(size: int) -> None:
    leaves = entry_hashes(size)
    tree_root = root(leaves)
    for index, leaf in enumerate(leaves):
        proof = inclusion_proof(leaves, index)
        assert verify_inclusion(leaf, index, size, proof, tree_root), (size, index)


@pytest.mark.parametrize("size", range(1, 34))
def test_r68_inclusion_proof_fails_for_changed_leaf_wrong_index_or_wrong_root(size: int) -> None:
    leaves = entry_hashes(size)
    tree_root = root(leaves)
    other_root = root(entry_hashes(size + 1))
    for index, leaf in enumerate(leaves):
        proof = inclusion_proof(leaves, index)
        changed = bytes([leaf[0] ^ 1]) + leaf[1:]
        assert not verify_inclusion(changed, index, size, proof, tree_root)
        assert not verify_inclusion(leaf, index, size, proof, other_root)
        assert not verify_inclusion(leaf, size, size, proof, tree_root)
        assert not verify_inclusion(leaf, -1, size, proof, tree_root)
        if size > 1:
            wrong = (index + 1) % size
            assert not verify_inclusion(leaf, wrong, size, proof, tree_root), (size, index)
            assert not verify_inclusion(leaf, index, size, proof[:-1], tree_root)
            assert not verify_inclusion(leaf, index, size, [*proof, proof[0]], tree_root)


def test_r68_inclusion_proof_refuses_an_index_outside_the_tree() -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(entry_hashes(3), 3)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof([], 0)


# --- Consistency proofs --------------------------------------------------------------------------

PAIRS = [(old, new) for new in range(1, 21) for old in range(1, new + 1)]


def test_r68_consistency_proof_verifies_for_every_pair_of_sizes() -> None:
    leaves = entry_hashes(20)
    for old, new in PAIRS:
        proof = consistency_proof(leaves[:new], old)
        old_root, new_root = root(leaves[:old]), root(leaves[:new])
        assert verify_consistency(old, new, old_root, new_root, proof), (old, new)


def test_r68_consistency_proof_fails_when_the_old_tree_was_altered() -> None:
    leaves = entry_hashes(20)
    for old, new in PAIRS:
        proof = consistency_proof(leaves[:new], old)
        new_root = root(leaves[:new])
        for changed_at in {0, old - 1}:
            altered = list(leaves[:old])
            altered[changed_at] = hashlib.sha256(b"rewritten").digest()
            assert not verify_consistency(old, new, root(altered), new_root, proof), (
                old,
                new,
                changed_at,
            )


def test_r68_consistency_proof_fails_for_a_wrong_root_or_a_tampered_proof() -> None:
    """The proof alone does not pin the new tree's size (a tree of 3 and one of 4 can share a
    proof's shape); the size is vouched for with the root, so only roots and proofs are varied."""
    leaves = entry_hashes(20)
    for old, new in PAIRS:
        if old == new:
            continue
        proof = consistency_proof(leaves[:new], old)
        old_root, new_root = root(leaves[:old]), root(leaves[:new])
        assert not verify_consistency(old, new, old_root, root(leaves[: new - 1]), proof)
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1]), (old, new)
        assert not verify_consistency(new, old, new_root, old_root, proof)


def test_r68_consistency_from_the_empty_tree_needs_no_proof() -> None:
    leaves = entry_hashes(5)
    assert consistency_proof(leaves, 0) == []
    assert verify_consistency(0, 5, root([]), root(leaves), [])
    assert not verify_consistency(0, 5, root(leaves[:1]), root(leaves), [])


def test_r68_consistency_proof_refuses_an_old_size_beyond_the_tree() -> None:
    with pytest.raises(ValueError, match="outside"):
        consistency_proof(entry_hashes(3), 4)
    with pytest.raises(ValueError, match="outside"):
        consistency_proof(entry_hashes(3), -1)


# --- Over the real audit chain -------------------------------------------------------------------


def sealed_events(count: int) -> list[bytes]:
    """Record `count` events, seal them with a checkpoint, and return the seals' entry hashes."""
    actor = Actor.system("test")
    for i in range(count):
        record(
            action="unit.updated",
            actor=actor,
            resource_type="organisations.unit",
            resource_id=i,
            changes={"name": [f"Enhet {i}", f"Enhet {i}b"]},
        )
    result = audit_seal(checkpoint=True)
    assert result.sealed == count
    return [
        bytes(h) for h in AuditSeal.objects.order_by("seq").values_list("entry_hash", flat=True)
    ]


def run_proof(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("audit_proof", *args, stdout=out)
    parsed: dict[str, Any] = json.loads(out.getvalue())
    return parsed


@pytest.mark.django_db
def test_r68_audit_proof_command_proves_a_sealed_event_in_the_tree_head() -> None:
    entries = sealed_events(5)
    size, head = audit_tree_head()
    assert (size, head) == (5, root(entries))
    assert audit_leaves() == entries
    assert audit_tree_head(upto_seq=3) == (3, root(entries[:3]))

    seal = AuditSeal.objects.order_by("seq")[3]
    proof = run_proof("--seq", str(seal.seq))
    assert proof["tree_size"] == 5
    assert proof["root"] == head.hex()
    assert proof["leaf_index"] == 3
    assert proof["entry_hash"] == bytes(seal.entry_hash).hex()
    path = [bytes.fromhex(node) for node in proof["inclusion_path"]]
    assert verify_inclusion(bytes(seal.entry_hash), 3, 5, path, head)

    older = run_proof("--seq", str(seal.seq), "--tree-size", "4")
    path = [bytes.fromhex(node) for node in older["inclusion_path"]]
    assert verify_inclusion(bytes(seal.entry_hash), 3, 4, path, root(entries[:4]))

    consistency = run_proof("--consistency", "2")
    path = [bytes.fromhex(n) for n in consistency["consistency_path"]]
    assert consistency["old_root"] == root(entries[:2]).hex()
    assert verify_consistency(2, 5, root(entries[:2]), head, path)


@pytest.mark.django_db
def test_r68_audit_proof_command_explains_out_of_range_arguments() -> None:
    with pytest.raises(CommandError, match="no sealed audit events"):
        run_proof("--seq", "1")
    sealed_events(3)
    first = AuditSeal.objects.order_by("seq").values_list("seq", flat=True)[0]
    for args, message in [
        (("--seq", str(first + 3)), "not in the tree of size 3"),
        (("--seq", "0"), "not in the tree"),
        (("--seq", str(first + 2), "--tree-size", "2"), "not in the tree of size 2"),
        (("--seq", str(first), "--tree-size", "4"), "between 1 and 3"),
        (("--seq", str(first), "--tree-size", "0"), "between 1 and 3"),
        (("--consistency", "4"), "between 1 and the tree size 3"),
        (("--consistency", "0"), "between 1 and the tree size 3"),
        (("--consistency", "3", "--tree-size", "2"), "between 1 and the tree size 2"),
    ]:
        with pytest.raises(CommandError, match=message):
            run_proof(*args)
