from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand

from lyfta.access.actor import Actor
from lyfta.access.commands import run_once
from lyfta.audit.context import audit_context
from lyfta.audit.services import audit_settings_recorded
from lyfta.core.scheduler import Job, jobs, run_forever


class Command(BaseCommand):
    help = "Run the scheduled jobs (audit sealing and later jobs) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            for job in jobs():
                run_once(job)
            return
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        with audit_context(source_system="lyfta-scheduler", actor=Actor.system("run_scheduler")):
            audit_settings_recorded(actor=Actor.system("run_scheduler"))
        self.stdout.write("scheduler running: " + ", ".join(j.name for j in jobs()))
        run_forever(lambda: stopping, run_once)
        # A last seal and checkpoint, so that nothing written before shutdown waits for the next
        # start, and the sealed tail is covered while the scheduler is down.
        run_once(Job("seal_audit_on_shutdown", 0, "lyfta.audit.jobs:seal_on_shutdown"))
        self.stdout.write("scheduler stopped")
