"""Small-cell suppression for the person tables (issue 17 point 2): below the provider level, a
cell counting 1–4 persons is hidden, and so is every further cell needed so that no hidden cell
can be worked out from a total. The tables' exact relations are given as equations
(total = sum of parts: the age bands of a sex add up to the sex, the sexes to the row; a
person has one sex and one age band). A relation with exactly one hidden member would give it
away, so another member is hidden too: the smallest non-zero shown part, or else the total.
Zeros are shown: they count nobody. Repeated until no relation has exactly one hidden member."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

SMALLEST_SHOWN = 5

Cell = Hashable
Relation = tuple[Cell, tuple[Cell, ...]]


def suppress(values: dict[Cell, int], relations: Iterable[Relation]) -> set[Cell]:
    """The cells to hide among `values` (persons per cell) under `relations`."""
    hidden = {cell for cell, value in values.items() if 0 < value < SMALLEST_SHOWN}
    relations = [r for r in relations if r[0] in values]
    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            members = [total, *(p for p in parts if p in values)]
            if sum(1 for m in members if m in hidden) != 1:
                continue
            candidates = sorted(
                (values[p], str(p), p) for p in parts if p in values and p not in hidden
                and values[p] > 0
            )  # fmt: skip
            if candidates:
                hidden.add(candidates[0][2])
            elif total not in hidden:
                hidden.add(total)
            else:
                continue
            changed = True
    return hidden


def derivable(values: dict[Cell, int], relations: Iterable[Relation], hidden: set[Cell]) -> bool:
    """Whether some hidden non-zero cell is the only unknown of a relation (a check for tests)."""
    for total, parts in relations:
        members = [total, *(p for p in parts if p in values)]
        unknown = [m for m in members if m in hidden]
        if len(unknown) == 1 and values.get(unknown[0], 0) > 0:
            return True
    return False
