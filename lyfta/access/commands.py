"""How commands and scheduled jobs act: each as a named system actor (STYLE.md #3, #12), its audit
events from the source `lyfta-cli` or `lyfta-scheduler`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from lyfta.access.actor import Actor
from lyfta.audit.context import audit_context
from lyfta.core.scheduler import Job, resolve


class SystemCommand(BaseCommand):
    """A command whose audit events carry `system:<command name>` as the actor and `lyfta-cli` as
    the source system. Subclasses implement `run`."""

    def handle(self, *args: Any, **options: Any) -> str | None:
        name = self.__module__.rsplit(".", 1)[-1]
        with audit_context(source_system="lyfta-cli", actor=self.actor(name), request=None):
            return self.run(*args, **options)

    def actor(self, name: str) -> Actor:
        return Actor.system(name)

    def run(self, *args: Any, **options: Any) -> str | None:
        raise NotImplementedError


def run_once(job: Job) -> None:
    """One run of a scheduled job (`manage.py run_scheduler`), as the system actor of its name."""
    with audit_context(source_system="lyfta-scheduler", actor=Actor.system(job.name), request=None):
        resolve(job.target)(actor=Actor.system(job.name))
