"""Row locks for items, stock levels and number series, always taken in one order (counters,
then stock levels, then items, each by primary key) so that two transactions never wait on each
other in a cycle. On SQLite the transaction itself is the lock (IMMEDIATE: one writer at a time);
on PostgreSQL `SELECT … FOR UPDATE` serialises the writers of the same rows."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from lyfta.inventory.models import Counter, Item, StockLevel


def items_locked(ids: Iterable[int]) -> dict[int, Item]:
    """The items with these ids, locked, in id order."""
    found = Item.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk")
    return {item.pk: item for item in found}


def levels_locked(query: QuerySet[StockLevel]) -> list[StockLevel]:
    return list(query.select_for_update().order_by("pk"))


def counter_next(name: str, count: int = 1) -> int:
    """Advance the named series by `count` and return its first new value."""
    Counter.objects.get_or_create(name=name)
    counter = Counter.objects.select_for_update().get(name=name)
    first = counter.value + 1
    counter.value += count
    counter.save(update_fields=["value"])
    return first
