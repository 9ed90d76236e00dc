"""Corrections of a locked run's lines (issue 14 point 4): never an edit. A credit line (the
original's negative) and, where the amount should differ, a debit line with the right amount, both
in the next open run (a preview) of a later month, each pointing at the original line, with the
reason in words; audited."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.billing.models import BillingLine, BillingRun
from lyfta.billing.services.prices import money
from lyfta.billing.services.run import RunRefused, refresh_totals

COPIED = (
    "customer_id",
    "cost_centre_id",
    "unit_id",
    "patient_id",
    "loan_id",
    "item_id",
    "article_id",
    "order_id",
    "work_order_id",
    "rule_id",
    "period_from",
    "period_until",
)


@dataclass(frozen=True)
class Correction:
    run: BillingRun
    credit: BillingLine
    debit: BillingLine | None


def correction_run_for(line: BillingLine) -> BillingRun | None:
    """The next open run after the line's month: the earliest preview of a later month."""
    return (
        BillingRun.objects.filter(month__gt=line.run.month, status=BillingRun.Status.PREVIEW)
        .order_by("month", "pk")
        .first()
    )


def correct_line(
    *, actor: Actor, line_id: int, reason: str, new_amount: Decimal | None
) -> Correction:
    """Credit the locked line `line_id` and, if `new_amount` is given, debit that amount instead."""
    require(actor, Cap.BILLING_MANAGE)
    reason = " ".join(reason.split())
    if not reason:
        raise RunRefused(_("Ange skälet till rättelsen."))
    with transaction.atomic():
        line = BillingLine.unscoped.select_related("run").get(pk=line_id)
        if not line.run.locked:
            raise RunRefused(
                _(
                    "Bara rader i en godkänd och låst körning rättas; "
                    "en förhandsgranskning räknas om."
                )
            )
        if line.kind in (BillingLine.Kind.CREDIT,):
            raise RunRefused(_("En kreditrad rättas inte; rätta den ursprungliga raden."))
        if BillingLine.unscoped.filter(corrects_id=line.pk, kind=BillingLine.Kind.CREDIT).exists():
            raise RunRefused(_("Raden är redan krediterad."))
        target = correction_run_for(line)
        if target is None:
            raise RunRefused(
                _(
                    "Det finns ingen öppen körning för en senare månad. Starta nästa månads "
                    "körning först; rättelsen läggs där."
                )
            )
        target = BillingRun.objects.select_for_update().get(pk=target.pk)
        if target.status != BillingRun.Status.PREVIEW:
            raise RunRefused(_("Nästa månads körning är inte längre öppen."))
        common = {name: getattr(line, name) for name in COPIED}
        month = line.run.month.strftime("%Y-%m")
        credit = BillingLine.unscoped.create(
            run=target,
            kind=BillingLine.Kind.CREDIT,
            corrects=line,
            quantity=line.quantity,
            unit_price=-line.unit_price,
            amount=-line.amount,
            text=(
                _("Kredit av rad %(id)s (%(month)s): %(text)s")
                % {"id": line.pk, "month": month, "text": line.text}
            )[:200],
            explanation=(_("Rättelse: %(reason)s") % {"reason": reason})[:300],
            **common,
        )
        debit = None
        if new_amount is not None and money(new_amount) != 0:
            amount = money(new_amount)
            debit = BillingLine.unscoped.create(
                run=target,
                kind=BillingLine.Kind.DEBIT,
                corrects=line,
                quantity=Decimal(1),
                unit_price=amount,
                amount=amount,
                text=(
                    _("Debet i stället för rad %(id)s (%(month)s): %(text)s")
                    % {"id": line.pk, "month": month, "text": line.text}
                )[:200],
                explanation=(_("Rättelse: %(reason)s") % {"reason": reason})[:300],
                **common,
            )
        refresh_totals(target.pk)
        record(
            action=Action.BILLING_CORRECTED,
            actor=actor,
            target=line,
            detail={
                "run": line.run_id,
                "into_run": target.pk,
                "credit": credit.pk,
                "debit": debit.pk if debit else None,
                "amount": line.amount,
                "new_amount": debit.amount if debit else None,
                "reason": reason[:200],
            },
        )
    return Correction(target, credit, debit)
