from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from lyfta.access.commands import SystemCommand
from lyfta.audit.sealing import audit_seal


class Command(SystemCommand):
    help = "Seal the audit events that are not yet in the hash chain (run every few seconds)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--full", action="store_true", help="scan the whole table")
        parser.add_argument(
            "--checkpoint", action="store_true", help="write a checkpoint even if not yet due"
        )

    def run(self, *args: Any, **options: Any) -> None:
        result = audit_seal(
            full=options["full"], checkpoint=True if options["checkpoint"] else None
        )
        self.stdout.write(
            f"sealed {result.sealed} events; head seal {result.head_seq} "
            f"{result.head_hash.hex()[:16]}"
            + (f"; checkpoint {result.checkpoint.pk}" if result.checkpoint else "")
        )
