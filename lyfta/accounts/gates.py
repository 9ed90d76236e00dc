"""The session gates' answers, kept in the session for as long as nothing they depend on changes
(issue 19 point 5, decision 0018).

Each signed-in request needs to know whether the user accepted the current agreement (R10), has a
confirmed second factor and must have one (R12), whether the device the session was verified with
is still a confirmed device of the user, and which assignment the session works in, still in force,
with its unit and provider (R31, R37). Asked of the database, that is three or four queries on
every request. Here each answer is asked once, by the same query as before, and kept in the
session under a key that every change it depends on alters:

- the user's `access_version`, which comes with the user row that Django's authentication
  middleware loads on every request anyway. Database triggers raise it on every change to the
  user, their assignments, agreement acceptances and TOTP devices, and their assignments' units
  and providers, however the change is written (lyfta/accounts/triggers.py);
- today's date: the windows of accounts and assignments are whole days, so an answer can go stale
  without a change only at midnight; the kept assignment's own window is checked on every request
  as well;
- the current agreement text's digest (a new text asks everyone again, R10) and LYFTA_REQUIRE_MFA;
- the columns of the kept rows, so that a row kept before a deploy that added one is not used.

An answer that depends on a value in the session (the chosen assignment's id, the verified device's
id) is kept with that value and used only while the session still holds it. The key is read before
any answer is asked, so an answer is never older than the version it is kept under: a change that
lands while a request runs leaves the key behind it, and the next request asks again.

The account's own validity window and the forced password change are not kept: they are columns of
the user row, read fresh on every request."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import hashlib
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, router
from django.http import HttpRequest
from django.utils import timezone

from lyfta.access.roles import MFA_ALWAYS
from lyfta.accounts.agreement import agreement_digest
from lyfta.accounts.models import Assignment, User
from lyfta.accounts.services import has_accepted_agreement
from lyfta.organisations.models import CareProvider, Unit

SESSION_KEY = "lyfta_gates"
_REQUEST_ATTRIBUTE = "_lyfta_gates"


def mfa_required(user: User) -> bool:
    """A second factor for everyone when LYFTA_REQUIRE_MFA, and always for holders of the
    administrative roles (R12)."""
    if settings.LYFTA_REQUIRE_MFA:
        return True
    return Assignment.objects.active().filter(user=user, role__in=MFA_ALWAYS).exists()


def has_confirmed_device(user: User) -> bool:
    from django_otp import devices_for_user

    return any(True for _ in devices_for_user(user, confirmed=True))


# --- Rows kept in the session --------------------------------------------------------------------


_KEPT_MODELS: tuple[type[models.Model], ...] = (Assignment, Unit, CareProvider)


@functools.cache
def _rows_format() -> str:
    """A short digest of the kept models' columns."""
    names = ",".join(f.attname for model in _KEPT_MODELS for f in model._meta.concrete_fields)
    return hashlib.sha256(names.encode()).hexdigest()[:12]


def _plain(value: object) -> object:
    if isinstance(value, (dt.date, dt.time)):  # datetime too
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def freeze(obj: models.Model) -> list[object]:
    """A row's columns as JSON values, in the model's column order."""
    return [_plain(f.value_from_object(obj)) for f in type(obj)._meta.concrete_fields]


M = TypeVar("M", bound=models.Model)


def thaw(model: type[M], values: list[Any]) -> M:
    """The row `freeze` kept, as the ORM would have loaded it."""
    fields = model._meta.concrete_fields
    thawed = [f.to_python(v) for f, v in zip(fields, values, strict=True)]
    return model.from_db(router.db_for_read(model), [f.attname for f in fields], thawed)


def freeze_assignment(assignment: Assignment) -> list[list[object]]:
    """The assignment with its unit and its unit's provider (as `select_related` loads them)."""
    return [freeze(assignment), freeze(assignment.unit), freeze(assignment.unit.provider)]


def thaw_assignment(kept: list[list[Any]]) -> Assignment:
    assignment = thaw(Assignment, kept[0])
    unit = thaw(Unit, kept[1])
    Unit.provider.field.set_cached_value(unit, thaw(CareProvider, kept[2]))
    Assignment.unit.field.set_cached_value(assignment, unit)
    return assignment


# --- The answers ---------------------------------------------------------------------------------


class Gates:
    """This request's answers: kept ones while the key holds, else asked and kept."""

    def __init__(self, request: HttpRequest, user: User) -> None:
        self.request = request
        self.user = user
        self.today = timezone.localdate()
        self.key = [
            user.pk,
            user.access_version,
            self.today.isoformat(),
            agreement_digest(),
            bool(settings.LYFTA_REQUIRE_MFA),
            _rows_format(),
        ]
        kept = request.session.get(SESSION_KEY)
        valid = isinstance(kept, dict) and kept.get("key") == self.key
        self.answers: dict[str, Any] = dict(kept["answers"]) if valid else {}  # type: ignore[index]

    def _keep(self, name: str, value: object) -> None:
        self.answers[name] = value
        self.request.session[SESSION_KEY] = {"key": self.key, "answers": self.answers}

    def _answer(self, name: str, ask: Callable[[], bool]) -> bool:
        if name not in self.answers:
            self._keep(name, ask())
        return bool(self.answers[name])

    def agreement_accepted(self) -> bool:
        return self._answer("agreement", lambda: has_accepted_agreement(self.user))

    def has_confirmed_device(self) -> bool:
        return self._answer("enrolled", lambda: has_confirmed_device(self.user))

    def mfa_required(self) -> bool:
        return self._answer("mfa_required", lambda: mfa_required(self.user))

    def device_confirmed(self, persistent_id: str) -> bool:
        """Whether the device the session was verified with was, when last asked under this key,
        a confirmed device of this user."""
        return bool(persistent_id) and self.answers.get("device") == persistent_id

    def keep_device(self, persistent_id: str | None) -> None:
        if persistent_id:
            self._keep("device", persistent_id)
        elif "device" in self.answers:
            self._keep("device", None)

    def assignment(self, chosen: int) -> Assignment | None:
        """The chosen assignment if it is still in force (R37), with its unit and provider."""
        kept = self.answers.get("assignment")
        if isinstance(kept, list) and kept[0] == chosen:
            if kept[1] is None:
                return None
            assignment = thaw_assignment(kept[1])
            if assignment.active_on(self.today):
                return assignment
        found = (
            Assignment.objects.active_on(self.today)
            .filter(pk=chosen, user=self.user)
            .select_related("unit__provider")
            .first()
        )
        self._keep("assignment", [chosen, freeze_assignment(found) if found else None])
        return found


def gates_of(request: HttpRequest, user: User) -> Gates:
    """The request's `Gates`, made once: the key is read before any answer is asked."""
    gates = getattr(request, _REQUEST_ATTRIBUTE, None)
    if gates is None or gates.user.pk != user.pk:
        gates = Gates(request, user)
        setattr(request, _REQUEST_ATTRIBUTE, gates)
    return gates
