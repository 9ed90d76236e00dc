"""The guard on patient-linked rows (R93): a default manager whose querysets refuse to be
evaluated unless `lyfta.access.rows` built them. Kept free of model imports, so that every app's
models can use it; see `lyfta.access.rows` for the builders and the rule."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)

# Set while a routed queryset fetches what it prefetches: those rows hang off rows the layer chose.
_PREFETCHING: contextvars.ContextVar[bool] = contextvars.ContextVar("lyfta_prefetch", default=False)


class UnscopedRead(RuntimeError):
    """A patient-linked queryset was evaluated without being built by the access layer."""


class PatientLinkedQuerySet(models.QuerySet[M], Generic[M]):
    """A queryset that evaluates only with a legal route set by `lyfta.access.rows` (R93)."""

    _route: str = ""

    def _clone(self) -> PatientLinkedQuerySet[M]:
        clone: PatientLinkedQuerySet[M] = super()._clone()  # type: ignore[misc]
        clone._route = self._route
        return clone

    def _guard(self) -> None:
        if not self._route and not _PREFETCHING.get():
            raise UnscopedRead(
                f"{self.model._meta.label} rows are linked to patients: read them through "
                "lyfta.access.rows (or, in code that writes, the model's `unscoped` manager)."
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._guard()
        super()._fetch_all()

    def _prefetch_related_objects(self) -> None:
        token = _PREFETCHING.set(True)
        try:
            super()._prefetch_related_objects()  # type: ignore[misc]
        finally:
            _PREFETCHING.reset(token)

    def iterator(self, chunk_size: int | None = None) -> Iterator[M]:
        self._guard()
        return super().iterator(chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._guard()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._guard()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._guard()
        return super().aggregate(*args, **kwargs)


class PatientLinkedManager(models.Manager[M], Generic[M]):
    """The default manager of a patient-linked model: querysets it hands out have no route."""

    def get_queryset(self) -> PatientLinkedQuerySet[M]:
        queryset: PatientLinkedQuerySet[M] = PatientLinkedQuerySet(self.model, using=self._db)
        # A reverse relation of a patient-linked row (an order's lines, a pick-up's lines, a
        # loan's pick-up lines) belongs to the same patient as the row, which was itself read on
        # a route: it keeps it. From any other row (an item's loans, a patient's loans) it has none.
        parent = getattr(self, "instance", None)
        if parent is not None and isinstance(type(parent)._default_manager, PatientLinkedManager):
            queryset._route = "parent"
        return queryset
