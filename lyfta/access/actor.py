"""Who is acting: a signed-in user in one assignment, or a named system actor (a management
command or scheduled job). Every service takes an `Actor`; every audit event snapshots one (the
recorder takes it as `lyfta.audit.actor.AuditActor`, a shape this class fits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lyfta.access.roles import Purpose

if TYPE_CHECKING:
    from lyfta.accounts.models import Assignment, User
    from lyfta.organisations.models import CareProvider, Unit


@dataclass(frozen=True)
class Actor:
    """The acting party. `assignment` is None for a signed-in user who has not yet chosen one, and
    for system actors (then `user` is None too and `system_name` says which job acts)."""

    user: User | None
    assignment: Assignment | None = None
    system_name: str = ""

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(user=None, assignment=None, system_name=name)

    @property
    def is_system(self) -> bool:
        return self.user is None

    @property
    def role(self) -> str:
        return self.assignment.role if self.assignment else ""

    @property
    def unit(self) -> Unit | None:
        return self.assignment.unit if self.assignment else None

    @property
    def provider(self) -> CareProvider | None:
        return self.assignment.unit.provider if self.assignment else None

    @property
    def purpose(self) -> str:
        if self.assignment:
            return self.assignment.purpose
        return Purpose.SYSTEM if self.is_system else ""

    @property
    def username(self) -> str:
        return self.user.username if self.user else f"system:{self.system_name}"

    @property
    def display_name(self) -> str:
        return self.user.display_name if self.user else f"System ({self.system_name})"
