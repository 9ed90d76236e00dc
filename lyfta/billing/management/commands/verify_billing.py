"""`manage.py verify_billing RUN_ID`: recompute a billing run's month from the recorded facts with
the price lists and payer rules in force and report any difference (issue 14 point 4). Exit status
0 when the run recomputes identically, 1 when it differs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from lyfta.access.commands import SystemCommand
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.billing.models import BillingRun
from lyfta.billing.services.run import Draft, verify_run


def _line(draft: Draft) -> str:
    return (
        f"{draft.kind} kund={draft.customer_id} lån={draft.loan_id or '-'} "
        f"{draft.period_from}–{draft.period_until} {draft.amount} kr: {draft.text}"
    )


class Command(SystemCommand):
    help = "Räknar om en debiteringskörning och rapporterar skillnader (status 1 vid skillnad)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", type=int)
        parser.add_argument("--limit", type=int, default=50)

    def run(self, *args: Any, **options: Any) -> str | None:
        try:
            run = BillingRun.objects.get(pk=options["run_id"])
        except BillingRun.DoesNotExist as error:
            raise CommandError(f"Körning {options['run_id']} finns inte.") from error
        if run.status not in (BillingRun.Status.LOCKED, BillingRun.Status.PREVIEW):
            raise CommandError(f"Körning {run.pk} är inte beräknad ({run.status_label}).")
        result = verify_run(run, limit=options["limit"])
        record(
            action=Action.BILLING_RUN_VERIFIED,
            target=run,
            detail={
                "month": run.month.strftime("%Y-%m"),
                "same": result.same,
                "stored": result.stored_digest,
                "recomputed": result.recomputed_digest,
                "recorded": run.digest,
            },
        )
        out = self.stdout
        out.write(f"Körning {run.pk} ({run.month:%Y-%m}, {run.status_label})")
        out.write(f"  sparad kontrollsumma:    {run.digest or '-'}")
        out.write(f"  raderna i databasen:     {result.stored_digest}")
        out.write(f"  omräknad:                {result.recomputed_digest}")
        stored_ok = not run.digest or run.digest == result.stored_digest
        if result.same and stored_ok:
            out.write("Samma: körningen räknas om till exakt samma rader.")
            return None
        if not stored_ok:
            out.write("SKILLNAD: raderna i databasen stämmer inte med den sparade kontrollsumman.")
        for draft in result.missing:
            out.write(f"  bara i körningen: {_line(draft)}")
        for draft in result.extra:
            out.write(f"  bara i omräkningen: {_line(draft)}")
        out.write("SKILLNAD: körningen räknas inte om till samma rader.")
        raise SystemExit(1)
