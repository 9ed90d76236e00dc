from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from lyfta.accounts.seed import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = (
        "Serve Lyfta with gunicorn beside the scheduler and the background worker; prints the "
        "demo logins. Ctrl-C stops all three together."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        bind = f"{options['host']}:{options['port']}"
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "lyfta.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(options["workers"]),
                "--threads",
                "4",
                "--access-logfile",
                "-",
                # The path only: a query string can hold a personnummer (a reviewer's search).
                "--access-logformat",
                '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss',
                "--graceful-timeout",
                "10",
            ],
            "scheduler": [python, "manage.py", "run_scheduler"],
            "worker": [python, "manage.py", "db_worker"],
        }
        env = {name: os.environ.copy() for name in commands}
        env["web"]["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir())
        children = {
            # Fixed argument lists built above: no shell, no outside input.
            name: subprocess.Popen(cmd, env=env[name])  # noqa: S603
            for name, cmd in commands.items()
        }
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.print_logins(f"http://{bind}/")
        failed = ""
        while not stopping and not failed:
            for name, child in children.items():
                if child.poll() is not None:
                    failed = name
            time.sleep(0.3)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if failed:
            self.stderr.write(f"{failed} stopped unexpectedly; the others were stopped too")
            sys.exit(1)

    @staticmethod
    def metrics_dir() -> Path:
        """Where gunicorn's workers write their request series for /metrics to add up (decision
        0020): PROMETHEUS_MULTIPROC_DIR, or var/metrics; emptied of the last run's files."""
        folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.VAR_DIR / "metrics")
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return folder

    def print_logins(self, url: str) -> None:
        width = max(len(u.username) for u in DEMO_USERS)
        lines = [
            "",
            f"Lyfta is serving the demo county at {url}",
            f"Demo logins (password for all: {DEMO_PASSWORD}):",
        ]
        for user in DEMO_USERS:
            person = f"{user.first_name} {user.last_name}, {user.title}"
            lines.append(f"  {user.username:<{width}}  {user.role:<18} {person}")
        lines += [
            "Administrators and log reviewers set up a TOTP app (authenticator) at first login.",
            "Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
