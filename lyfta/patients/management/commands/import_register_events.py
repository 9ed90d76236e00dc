from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from lyfta.access.actor import Actor
from lyfta.access.commands import SystemCommand
from lyfta.patients.register_events import SYSTEM_NAME, Outcome, register_events_apply


class Command(SystemCommand):
    help = (
        "Apply population-register events (death, move, protected identity set or lifted) from "
        "a JSON file, or from standard input with '-', in the form of docs/operations.md "
        "('Folkbokföringshändelser'). Each event is applied once, in a transaction of its own, "
        "and audited; a malformed one is reported and the rest applied. Exits with status 1 "
        "when any event was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a JSON file of events, or - for standard input")

    def actor(self, name: str) -> Actor:
        # Whatever the command is called, the events are the population register's.
        return Actor.system(SYSTEM_NAME)

    def run(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {name}: {error}") from error
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"not JSON: {error}; no event was applied") from error
        events = document.get("events") if isinstance(document, dict) else document
        if not isinstance(events, list):
            raise CommandError(
                'expected a list of events, or an object {"events": [...]}; no event was applied'
            )
        result = register_events_apply(actor=self.actor(SYSTEM_NAME), events=events)
        for event in result.rejected:
            self.stderr.write(
                f"event {event.index} ({event.event_id or 'no id'}): rejected, {event.error}: "
                f"{event.message}"
            )
        counts = result.counts
        self.stdout.write(
            ", ".join(
                f"{counts.get(outcome, 0)} {outcome}"
                for outcome in (
                    Outcome.APPLIED,
                    Outcome.UNCHANGED,
                    Outcome.SUPERSEDED,
                    Outcome.REPEATED,
                    Outcome.UNMATCHED,
                    Outcome.REJECTED,
                )
            )
        )
        if result.rejected:
            raise CommandError(f"{len(result.rejected)} of {len(events)} events rejected")
