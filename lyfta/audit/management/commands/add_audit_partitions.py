from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lyfta.access.commands import SystemCommand
from lyfta.audit import partitions


class Command(SystemCommand):
    help = (
        "PostgreSQL: create the monthly partitions of the audit events and seals that are missing, "
        "from the previous month to --ahead months after this one (what the scheduler does daily), "
        "and from --from on when events of older months are to be imported. Idempotent; nothing "
        "on SQLite."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--ahead", type=int, default=partitions.MONTHS_AHEAD)
        parser.add_argument(
            "--from",
            dest="first",
            type=dt.date.fromisoformat,
            default=None,
            help="YYYY-MM-DD: also every month from this one on",
        )

    def run(self, *args: Any, **options: Any) -> None:
        if not partitions.is_partitioned():
            raise CommandError(_("Loggtabellerna är inte uppdelade per månad här (SQLite)."))
        created = partitions.add_partitions_ahead(options["ahead"])
        if options["first"] is not None:
            created += partitions.add_partitions(options["first"], timezone.localdate())
        labels = [month.label for month in partitions.months()]
        self.stdout.write(
            ngettext(
                "%(created)d tabell skapad; månaderna %(first)s–%(last)s finns (%(count)d).",
                "%(created)d tabeller skapade; månaderna %(first)s–%(last)s finns (%(count)d).",
                created,
            )
            % {
                "created": created,
                "first": labels[0] if labels else "–",
                "last": labels[-1] if labels else "–",
                "count": len(labels),
            }
        )
