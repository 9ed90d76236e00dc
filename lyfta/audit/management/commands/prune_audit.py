from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lyfta.access.commands import SystemCommand
from lyfta.audit.retention import KeptMonth, PruneResult, audit_prune


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
        self.stdout.write(report(result))
        if result.kept is not None:
            self.stdout.write(kept_message(result.kept))


def report(result: PruneResult) -> str:
    """What the run removed, in the operator's language (Swedish unless asked otherwise)."""
    if not result.by_month:
        return _(
            "%(deleted)d logghändelser gallrade; gränskontrollpunkt vid försegling %(seq)d."
        ) % {"deleted": result.deleted, "seq": result.boundary_seq}
    if not result.months:
        return _("Ingen månad gallrades.")
    stretches = ", ".join(f"{first}–{last}" for first, last in result.ranges)
    return ngettext(
        "%(count)d månad lossad och borttagen (%(months)s): %(deleted)d logghändelser gallrade; "
        "gränskontrollpunkter för förseglingarna %(stretches)s.",
        "%(count)d månader lossade och borttagna (%(months)s): %(deleted)d logghändelser "
        "gallrade; gränskontrollpunkter för förseglingarna %(stretches)s.",
        len(result.months),
    ) % {
        "count": len(result.months),
        "months": ", ".join(result.months),
        "deleted": result.deleted,
        "stretches": stretches,
    }


def kept_message(kept: KeptMonth) -> str:
    """Why the month before the boundary stayed, with the months after it."""
    if kept.reason == "not_shipped":
        return _(
            "Månaden %(month)s och månaderna efter den behölls: logglagret har inte tagit emot "
            "alla dess förseglingar än (kör ship_audit)."
        ) % {"month": kept.month}
    return _(
        "Månaden %(month)s och månaderna efter den behölls: %(events)d logghändelser, "
        "%(seals)d förseglingar, %(unsealed)d logghändelser utan sin försegling (kör "
        "verify_audit)."
    ) % {
        "month": kept.month,
        "events": kept.events,
        "seals": kept.seals,
        "unsealed": kept.unsealed,
    }
