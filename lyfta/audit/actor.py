"""What the recorder needs to know of whoever acts: enough to snapshot them into an event.

`lyfta.access.actor.Actor` fits this shape without naming it. The recorder imports nothing from
access, accounts or organisations, so that they may all record through it without a cycle."""

from __future__ import annotations

from typing import Any, Protocol


class Provider(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def organisation_number(self) -> str: ...


class Unit(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def name(self) -> str: ...
    @property
    def provider(self) -> Provider: ...


class Assignment(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def role(self) -> str: ...
    @property
    def unit(self) -> Unit: ...


class User(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def title(self) -> str: ...


class AuditActor(Protocol):
    """A signed-in user in an assignment, or a named system actor (`user` None)."""

    @property
    def user(self) -> User | None: ...
    @property
    def assignment(self) -> Assignment | None: ...
    @property
    def purpose(self) -> str: ...
    @property
    def username(self) -> str: ...
