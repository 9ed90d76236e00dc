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
        "Refuses any date younger than the retention period (at least five years). On PostgreSQL "
        "whole months go: the partitions of every month that ends by --before are detached and "
        "dropped (run it as the owner of the audit tables)."
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
        if result.by_month:
            stretches = ", ".join(f"{first}–{last}" for first, last in result.ranges)
            self.stdout.write(
                f"detached and dropped {len(result.months)} months "
                f"({', '.join(result.months) or 'none'}): deleted {result.deleted} audit events; "
                f"boundary checkpoints for seals {stretches or 'none'}"
            )
            if result.kept:
                self.stdout.write(f"kept from {result.kept}")
            return
        self.stdout.write(
            f"deleted {result.deleted} audit events; boundary checkpoint at seal "
            f"{result.boundary_seq}"
        )
