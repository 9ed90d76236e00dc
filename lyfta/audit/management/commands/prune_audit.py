from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from lyfta.access.commands import SystemCommand
from lyfta.audit.retention import audit_prune


class Command(SystemCommand):
    help = (
        "Retention cleanup (gallring): delete sealed audit events that occurred before --before. "
        "Refuses any date younger than the retention period (at least five years)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--before", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD"
        )

    def run(self, *args: Any, **options: Any) -> None:
        try:
            result = audit_prune(actor=self.actor("prune_audit"), before=options["before"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            f"deleted {result.deleted} audit events; boundary checkpoint at seal "
            f"{result.boundary_seq}"
        )
