"""Reads compiled once (issue 19 point 5).

Django takes far longer to build and compile a query than the database takes to answer it: the
access decision's one SELECT with seven subqueries costs milliseconds of Python for a fraction of
a millisecond in PostgreSQL. A `Prepared` read is written as an ordinary queryset, by a function
of the values that change from call to call. The first call on a database connection builds it
twice with stand-in values (markers), compiles both, and notes where each argument landed among
the statement's parameters; every later call sends the same SQL with the caller's values in those
places and converts the rows as the ORM would. The result is the `values_list` tuples the
queryset gives.

What keeps it exact, checked at the first compile (a breach raises `PreparedError`, so that a
wrong read fails its first test, never a user's page):

- the SQL must be the same for both sets of markers: the function does not branch on its
  arguments; what the SQL depends on besides them (an actor's capability, whether a patient has
  blocks) is the caller's `shape`, part of the cache key;
- each argument is an int, str, date or datetime, and lands among the parameters whole and
  unchanged (not inside a LIKE pattern, not as a bound computed from it); None and booleans
  change the SQL (IS NULL) and are part of the key; a list of ints or strs (an `__in`) is one
  parameter per value, so its length is part of the key too (repeats dropped, as `__in` drops
  them; a list longer than MAX_LIST is read by the ORM as it stands);
- every other parameter is the same in both compiles and is no date or time: a clock read inside
  the function would be frozen at the first call, so the clock is an argument;
- a patient-linked queryset must have been built by the access layer (R93): the guard is asked
  at the compile, as it would be at evaluation.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import ForeignKey, Model, QuerySet
from django.db.models.query import ValuesListIterable

from lyfta.access.guard import PatientLinkedQuerySet

Scalar = int | str | dt.date | dt.datetime | bool | None
Arg = Scalar | list[int] | list[str] | tuple[int, ...] | tuple[str, ...] | set[int] | set[str]
Row = tuple[Any, ...]

# Stand-ins: far from any real value, and inside int32 (Django refuses out-of-range integers).
_INT_MARKER = -2_000_000_000
_STR_MARKER = "\x1elyfta-prepared-{salt}-{index}\x1e"
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# A list argument (an `__in`) has one parameter per value, so its length is part of the key;
# a longer list is read by the ORM as it stands.
MAX_LIST = 64


class PreparedError(RuntimeError):
    """A prepared read that cannot be compiled once: the function breaks a rule above."""


def _marker(value: Scalar, index: int, salt: int) -> Scalar:
    """The stand-in for `value` at flat position `index`: unique, and different per `salt`
    (integers odd in one compile and even in the other, a year apart for dates)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _INT_MARKER + 2 * index + salt
    if isinstance(value, str):
        return _STR_MARKER.format(salt=salt, index=index)
    if isinstance(value, dt.datetime):
        return dt.datetime(1111 + 2 * index + salt, 1, 1, tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.date(1111 + 2 * index + salt, 1, 1)
    raise PreparedError(f"argument {index}: {type(value).__name__} is not preparable")


def _flat(args: Sequence[Arg]) -> tuple[list[Scalar], list[int | None], tuple[object, ...]]:
    """The arguments' values in one list (a list argument's values in its place, without
    repeats, as `__in` takes them), each argument's length (None: a single value), and the
    cache key's part: None and booleans themselves, else the type (and a list's length)."""
    values: list[Scalar] = []
    lengths: list[int | None] = []
    kinds: list[object] = []
    for index, arg in enumerate(args):
        if isinstance(arg, list | tuple | set | frozenset):
            items: list[Any] = list(
                dict.fromkeys(sorted(arg) if isinstance(arg, set | frozenset) else arg)
            )
            if any(item is None or isinstance(item, bool) for item in items):
                raise PreparedError(f"argument {index}: a list of ints or strs only")
            values += items
            lengths.append(len(items))
            kinds.append(("list", len(items), type(items[0]) if items else None))
        else:
            values.append(arg)
            lengths.append(None)
            kinds.append(arg if arg is None or isinstance(arg, bool) else type(arg))
    return values, lengths, tuple(kinds)


def _unflat(values: list[Any], lengths: list[int | None]) -> list[Any]:
    args: list[Any] = []
    at = 0
    for length in lengths:
        if length is None:
            args.append(values[at])
            at += 1
        else:
            args.append(list(values[at : at + length]))
            at += length
    return args


@dataclass(frozen=True)
class _Slot:
    """A parameter of the statement: the caller's value at flat position `index` (adapted by
    `adapt`), or the constant `value` when `index` is None."""

    index: int | None
    adapt: Callable[[Any], Any] | None = None
    value: Any = None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: tuple[_Slot, ...]
    compiler: Any  # the SQLCompiler, for its row converters
    converters: dict[int, Any]
    width: int | None  # rows are cut to this many columns (ordering columns the ORM adds)
    empty: bool = False


class Prepared:
    """A read whose SQL is compiled once per connection and shape; see the module's rules."""

    def __init__(
        self, build: Callable[..., QuerySet[Any, Any]], *, using: str | None = None
    ) -> None:
        self.build = build
        # None: the database the routers choose for the queryset's model at each call, as the
        # ORM would (a log search inside `reading_replica` reads the replica, decision 0022).
        self.using = using
        self._model: type[Model] | None = None
        self._compiled: weakref.WeakKeyDictionary[Any, dict[Hashable, _Compiled]] = (
            weakref.WeakKeyDictionary()
        )

    def rows(self, *args: Arg, shape: Hashable = ()) -> list[Row]:
        values, lengths, kinds = _flat(args)
        if any(length is not None and length > MAX_LIST for length in lengths) or any(
            isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX for value in values
        ):
            # A long list, or an integer no column can hold (a hostile id in a URL): the ORM
            # reads it as it stands, and knows that such an integer matches nothing.
            return [tuple(row) for row in self._queryset(_unflat(values, lengths))]
        key = (shape, kinds)
        alias = self.using
        if alias is None:
            model = self._model
            if model is None:  # learnt at the first compile, made for the primary
                self._compiled_for(connections[DEFAULT_DB_ALIAS], key, values, lengths)
                model = self._model
            assert model is not None  # noqa: S101 - every compile builds the queryset
            alias = router.db_for_read(model)
        connection = connections[alias]
        compiled = self._compiled_for(connection, key, values, lengths)
        if compiled.empty:
            return []
        params = [
            slot.value
            if slot.index is None
            else (slot.adapt(values[slot.index]) if slot.adapt else values[slot.index])
            for slot in compiled.slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        if compiled.width is not None:
            fetched = [row[: compiled.width] for row in fetched]
        if not compiled.converters:
            return [tuple(row) for row in fetched]
        return [
            tuple(row) for row in compiled.compiler.apply_converters(fetched, compiled.converters)
        ]

    def first(self, *args: Arg, shape: Hashable = ()) -> Row | None:
        found = self.rows(*args, shape=shape)
        return found[0] if found else None

    # --- The first call --------------------------------------------------------------------

    def _compiled_for(
        self,
        connection: Any,
        key: tuple[Hashable, tuple[object, ...]],
        values: list[Scalar],
        lengths: list[int | None],
    ) -> _Compiled:
        keyed = (*key, connection.timezone_name)
        compiled = self._compiled.setdefault(connection, {}).get(keyed)
        if compiled is None:
            compiled = self._compile(connection, values, lengths)
            self._compiled[connection][keyed] = compiled
        return compiled

    def _queryset(self, args: list[Any]) -> QuerySet[Any, Any]:
        queryset = self.build(*args)
        self._model = queryset.model
        if not issubclass(queryset._iterable_class, ValuesListIterable):
            raise PreparedError("a prepared read gives values_list tuples")
        if isinstance(queryset, PatientLinkedQuerySet):
            queryset._guard()  # R93: only what the access layer built
        return queryset

    def _compile(
        self, connection: Any, values: list[Scalar], lengths: list[int | None]
    ) -> _Compiled:
        first = [_marker(value, index, 0) for index, value in enumerate(values)]
        second = [_marker(value, index, 1) for index, value in enumerate(values)]
        compiler = self._queryset(_unflat(first, lengths)).query.get_compiler(connection=connection)
        other_compiler = self._queryset(_unflat(second, lengths)).query.get_compiler(
            connection=connection
        )
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            sql, params = "", ()
        try:
            other_sql, other_params = other_compiler.as_sql()
        except EmptyResultSet:
            other_sql, other_params = "", ()
        if sql != other_sql or len(params) != len(other_params):
            raise PreparedError("the SQL depends on an argument's value: give it as `shape`")
        if not sql:  # nothing can match (an empty `__in`, `.none()`): no statement to send
            return _Compiled("", (), None, {}, None, empty=True)
        ops = connection.ops
        slots = []
        found: set[int] = set()
        for param, other in zip(params, other_params, strict=True):
            slot = _slot(param, first, ops)
            other_slot = _slot(other, second, ops)
            if slot.index != other_slot.index or slot.adapt != other_slot.adapt:
                raise PreparedError(f"a parameter is an argument in one compile only: {param!r}")
            if slot.index is None:
                _check_constant(param, other, first + second)
            else:
                found.add(slot.index)
            slots.append(slot)
        missing = [
            index
            for index, value in enumerate(values)
            if value is not None and not isinstance(value, bool) and index not in found
        ]
        if missing:
            raise PreparedError(f"arguments {missing} do not reach the SQL whole")
        fields = [select[0] for select in compiler.select[: compiler.col_count]]
        return _Compiled(
            sql,
            tuple(slots),
            compiler,
            compiler.get_converters(fields),
            compiler.col_count if compiler.has_extra_select else None,
        )


def _slot(param: Any, markers: list[Scalar], ops: Any) -> _Slot:
    for index, marker in enumerate(markers):
        if marker is None or isinstance(marker, bool):
            continue
        if type(param) is type(marker) and param == marker:
            return _Slot(index)
        if isinstance(marker, int) and isinstance(param, int) and param == marker:
            # An integer typed by the backend (psycopg's Int8 for a BigIntegerField): alike.
            return _Slot(index, type(param))
        if isinstance(marker, dt.datetime):
            if param == ops.adapt_datetimefield_value(marker):
                return _Slot(index, ops.adapt_datetimefield_value)
        elif isinstance(marker, dt.date) and param == ops.adapt_datefield_value(marker):
            return _Slot(index, ops.adapt_datefield_value)
    return _Slot(None, None, param)


def _check_constant(param: Any, other: Any, markers: list[Scalar]) -> None:
    if isinstance(param, str) and any(isinstance(m, str) and m in param for m in markers):
        raise PreparedError(f"an argument is changed on its way into the SQL: {param!r}")
    if param != other:
        raise PreparedError(f"a parameter changes by itself (a clock?): {param!r}, {other!r}")
    if isinstance(param, dt.date | dt.time):
        raise PreparedError(f"a date or time in the SQL is no argument (a clock?): {param!r}")
    if isinstance(param, str) and _DATE_LIKE.match(param):
        raise PreparedError(f"a date in the SQL is no argument (a clock?): {param!r}")


# --- Model objects from a prepared read ---------------------------------------------------------
#
# A page that shows model objects (the item card's templates walk `item.article.name`) can still
# have them read by a prepared query: `columns` names the model's columns and those of the
# objects `select_related` would join (parents before children), `instances` builds the objects
# from the tuples as `select_related` does, each related object cached on its parent.


def _related(model: type[Model], path: str) -> tuple[type[Model], ForeignKey[Any, Any], str]:
    """The model at the end of `path`, the foreign key reaching it, and its parent's path."""
    parent_path, _sep, name = path.rpartition("__")
    parent = model
    for part in parent_path.split("__") if parent_path else []:
        parent = parent._meta.get_field(part).related_model  # type: ignore[assignment]
    field = parent._meta.get_field(name)
    if not isinstance(field, ForeignKey) or field.one_to_one:
        raise PreparedError(f"{path}: only foreign keys are followed")
    return field.related_model, field, parent_path  # type: ignore[return-value]


def columns(model: type[Model], *related: str) -> tuple[str, ...]:
    """The values_list names of `model`'s columns and of each related object's on `related`."""
    names = [f.attname for f in model._meta.concrete_fields]
    for path in related:
        target = _related(model, path)[0]
        names += [f"{path}__{f.attname}" for f in target._meta.concrete_fields]
    return tuple(names)


@functools.cache
def _plan(
    model: type[Model], related: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    own = tuple(f.attname for f in model._meta.concrete_fields)
    plan = []
    start = len(own)
    for path in related:
        target, field, parent_path = _related(model, path)
        names = tuple(f.attname for f in target._meta.concrete_fields)
        pk_at = names.index(target._meta.pk.attname)
        plan.append((path, parent_path, target, field, names, start, pk_at))
        start += len(names)
    return own, tuple(plan)


def instances(
    rows: list[Row], model: type[Model], *related: str, using: str = DEFAULT_DB_ALIAS
) -> list[Any]:
    """`model` objects (with the related objects cached) from rows of `columns(model, *related)`:
    what `select_related(*related)` gives, without the ORM's per-query compile."""
    own, plan = _plan(model, related)
    result = []
    for row in rows:
        obj = model.from_db(using, own, row[: len(own)])
        made: dict[str, Any] = {"": obj}
        for path, parent_path, target, field, names, at, pk_at in plan:
            values = row[at : at + len(names)]
            relative = None if values[pk_at] is None else target.from_db(using, names, values)
            parent = made[parent_path]
            if parent is not None:
                field.set_cached_value(parent, relative)
            made[path] = relative
        result.append(obj)
    return result
