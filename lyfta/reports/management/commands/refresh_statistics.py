"""`manage.py refresh_statistics [--month YYYY-MM ...] [--all]`: rebuild the statistics' summary
tables now (the scheduler does it every night): by default the month under way and the one
before, and every month never built; `--month` names months, `--all` every month since the
first loan (at most three years back)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.management.base import CommandError, CommandParser

from lyfta.access.commands import SystemCommand
from lyfta.reports.services.refresh import months_to_build, statistics_refresh


class Command(SystemCommand):
    help = "Rebuild the statistics' summary tables (the nightly refresh) now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", action="append", default=[], help="YYYY-MM, repeatable")
        parser.add_argument("--all", action="store_true", help="every month since the first loan")

    def run(self, *args: Any, **options: Any) -> None:
        months: list[dt.date] = []
        for text in options["month"]:
            found = re.fullmatch(r"(\d{4})-(\d{2})", text)
            if not found or not 1 <= int(found[2]) <= 12:
                raise CommandError(f"not a month (YYYY-MM): {text!r}")
            months.append(dt.date(int(found[1]), int(found[2]), 1))
        if options["all"]:
            from django.utils import timezone

            months = _every_month(timezone.localdate())
        made = statistics_refresh(actor=self.actor("refresh_statistics"), months=months or None)
        self.stdout.write(
            f"statistics rebuilt {made.first_month:%Y-%m}..{made.last_month:%Y-%m} "
            f"in {made.seconds:.1f} s"
        )


def _every_month(today: dt.date) -> list[dt.date]:
    from lyfta.orders.models import Loan

    first = Loan.unscoped.order_by("started_on").values_list("started_on", flat=True).first()
    wanted = months_to_build(today)
    if first is None:
        return wanted
    month = max(first.replace(day=1), dt.date(today.year - 3, today.month, 1))
    while month <= today:
        wanted.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return sorted(set(wanted))
