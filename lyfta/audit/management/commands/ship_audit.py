from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from lyfta.access.commands import SystemCommand
from lyfta.audit.shipping import ship_audit


class Command(SystemCommand):
    help = (
        "Ship the sealed audit events not yet shipped to the outside log store "
        "(LYFTA_AUDIT_SHIP_URL, or --destination): file:///path.jsonl, syslog+tcp://host:port or "
        "syslog+tls://host:port. Run every few seconds, after seal_audit."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--destination", default=None, help="ship here instead of LYFTA_AUDIT_SHIP_URL"
        )
        parser.add_argument("--batch", type=int, default=1000, help="events per write")

    def run(self, *args: Any, **options: Any) -> None:
        destination: str | None = options["destination"]
        url = (
            destination
            if destination is not None
            else getattr(settings, "LYFTA_AUDIT_SHIP_URL", "")
        )
        if not url:
            self.stdout.write("audit shipping is off (LYFTA_AUDIT_SHIP_URL is empty)")
            return
        try:
            shipped = ship_audit(destination=url, batch=options["batch"])
        except ValueError as error:  # ShipConfigError, or a batch below 1
            raise CommandError(str(error)) from error
        except OSError as error:
            # The scheduler retries at the next run; the events stay queued behind the cursor.
            raise CommandError(
                f"shipping audit events to {url} failed: {error}; they will be sent again"
            ) from error
        self.stdout.write(f"shipped {shipped} audit events to {url}")
