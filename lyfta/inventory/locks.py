"""Row locks for items, stock levels and number series, always taken in one order (counters,
then stock levels, then items, each by primary key) so that two transactions never wait on each
other in a cycle. On SQLite the transaction itself is the lock (IMMEDIATE: one writer at a time);
on PostgreSQL `SELECT … FOR UPDATE` serialises the writers of the same rows."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from lyfta.inventory.models import Counter, Item, StockLevel


def items_locked(ids: Iterable[int]) -> dict[int, Item]:
    """The items with these ids, locked, in id order."""
    found = Item.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk")
    return {item.pk: item for item in found}


def levels_locked(query: QuerySet[StockLevel]) -> list[StockLevel]:
    return list(query.select_for_update().order_by("pk"))


def counter_next(name: str, count: int = 1) -> int:
    """Advance the named series by `count` and return its first new value: one conditional
    `UPDATE … RETURNING`, which holds the row's lock until the transaction ends (on SQLite the
    IMMEDIATE transaction is the lock); a series not yet drawn from is created first."""
    table = connection.ops.quote_name(Counter._meta.db_table)
    sql = f"UPDATE {table} SET value = value + %s WHERE name = %s RETURNING value"  # noqa: S608 - the model's table
    with connection.cursor() as cursor:
        for _attempt in range(2):
            cursor.execute(sql, [count, name])
            row = cursor.fetchone()
            if row is not None:
                return int(row[0]) - count + 1
            Counter.objects.get_or_create(name=name)
    raise RuntimeError(f"number series {name} could not be advanced")  # pragma: no cover
