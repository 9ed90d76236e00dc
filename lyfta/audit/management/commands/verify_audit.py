from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lyfta.audit.verify import audit_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain, check every seal's MAC and every checkpoint, and compare "
        "the database's seals with the shipped copy. Exit 0 with a one-line summary when intact "
        "(it says how many sealed events the newest checkpoint does not cover); otherwise exit 1 "
        "naming the first changed, missing, inserted or reordered event, or the tail that was cut "
        "off."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--checkpoint-file",
            default=None,
            help="checkpoints kept outside the database (default LYFTA_AUDIT_CHECKPOINT_FILE)",
        )
        parser.add_argument(
            "--shipped-file",
            default=None,
            help=(
                "the sealed events shipped to the log store, one JSON object a line (default the "
                "file of a file:// LYFTA_AUDIT_SHIP_URL; an empty value compares with none)"
            ),
        )
        parser.add_argument("--all", action="store_true", help="list every finding")

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify(
            checkpoint_file=options["checkpoint_file"], shipped_file=options["shipped_file"]
        )
        if report.ok:
            self.stdout.write(report.summary())
            return
        self.stderr.write(report.summary())
        for finding in report.findings[: None if options["all"] else 10]:
            self.stderr.write(f"  - [{finding.kind}] {finding.message}")
        self.stderr.write(f"  {report.coverage()}")
        raise CommandError("the audit trail failed verification", returncode=1)
