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


def suppress(
    values: dict[Cell, int], relations: Iterable[Relation], fixed: frozenset[Cell] = frozenset()
) -> set[Cell]:
    """The cells to hide among `values` (persons per cell; a cell not in it counts nobody) under
    `relations`. `fixed` cells are shown elsewhere whatever this decides (the provider's own
    table): they are never hidden, and count as known."""
    hidden = {cell for cell, v in values.items() if 0 < v < SMALLEST_SHOWN and cell not in fixed}
    relations = list(relations)
    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            if sum(1 for m in (total, *parts) if m in hidden) != 1:
                continue
            shown = [p for p in parts if p not in hidden and p not in fixed]
            # The smallest non-zero part; else a zero one (a hidden zero hides nobody, but the
            # one that is not zero is no longer the only unknown); else the total.
            candidates = sorted((values.get(p, 0) == 0, values.get(p, 0), str(p), p) for p in shown)
            if candidates:
                hidden.add(candidates[0][3])
            elif total not in hidden and total not in fixed:
                hidden.add(total)
            else:
                continue
            changed = True
    return hidden


def derivable(values: dict[Cell, int], relations: Iterable[Relation], hidden: set[Cell]) -> bool:
    """Whether some hidden non-zero cell is the only unknown of a relation (a check for tests)."""
    for total, parts in relations:
        unknown = [m for m in (total, *parts) if m in hidden]
        if len(unknown) == 1 and values.get(unknown[0], 0) > 0:
            return True
    return False
