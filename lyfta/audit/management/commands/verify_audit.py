from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lyfta.audit.verify import audit_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain and check every seal's MAC and every checkpoint. Exit 0 "
        "with a one-line summary when intact; otherwise exit 1 naming the first changed, missing, "
        "inserted or reordered event."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--checkpoint-file",
            default=None,
            help="checkpoints kept outside the database (default LYFTA_AUDIT_CHECKPOINT_FILE)",
        )
        parser.add_argument("--all", action="store_true", help="list every finding")

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify(checkpoint_file=options["checkpoint_file"])
        if report.ok:
            self.stdout.write(report.summary())
            return
        self.stderr.write(report.summary())
        for finding in report.findings[: None if options["all"] else 10]:
            self.stderr.write(f"  - [{finding.kind}] {finding.message}")
        raise CommandError("the audit trail failed verification", returncode=1)
