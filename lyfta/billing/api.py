"""Billing runs in the API (issue 18): the month's runs and one run's totals per customer and cost
centre, for a client in the economy role (the region's financial system). No patient data: a
run is amounts per customer, as on the economy pages (R34)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.params.functions import Path, Query

from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting
from lyfta.api.paging import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, cursor_after, next_cursor, page_size
from lyfta.api.schema import MAX_ID
from lyfta.billing.models import BillingRun
from lyfta.billing.selectors import runs as selectors

router = Router(tags=["Debitering"])


def _kronor(amount: Decimal) -> Decimal:
    """Money to the öre, as the run's total is (a sum over lines comes back from the database
    with the column's full scale: "2247.21000000000", found by the attack)."""
    return amount.quantize(Decimal("0.01"))


# A run's totals exist once it is computed.
COMPUTED = (BillingRun.Status.PREVIEW, BillingRun.Status.LOCKED)


class RunSummary(Schema):
    id: int
    month: dt.date
    status: str
    line_count: int
    total: Decimal
    computed_at: dt.datetime | None
    approved_at: dt.datetime | None


class CentreTotalOut(Schema):
    code: str
    name: str
    lines: int
    amount: Decimal


class CustomerTotalOut(Schema):
    customer_id: int
    customer_number: str
    name: str
    lines: int
    amount: Decimal
    cost_centres: list[CentreTotalOut]


class RunOut(RunSummary):
    """A run and, once computed (preview or locked), its totals per customer and cost centre."""

    customers: list[CustomerTotalOut]


class RunPage(Schema):
    items: list[RunSummary]
    next_cursor: str | None


def _summary(run: BillingRun) -> RunSummary:
    return RunSummary(
        id=run.pk,
        month=run.month,
        status=run.status,
        line_count=run.line_count,
        total=run.total,
        computed_at=run.computed_at,
        approved_at=run.approved_at,
    )


@router.get(
    "/billing/runs", response=RunPage, url_name="billing_runs", summary="Debiteringskörningar"
)
def runs(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> RunPage:
    """Every month's runs, oldest first; follow `next_cursor` for newer ones."""
    actor = acting(request, ApiScope.BILLING_READ)
    page = selectors.runs_after(actor, cursor_after(cursor), page_size(limit))
    return RunPage(items=[_summary(run) for run in page.rows], next_cursor=next_cursor(page.last))


@router.get(
    "/billing/runs/{run_id}",
    response=RunOut,
    url_name="billing_run",
    summary="En debiteringskörning",
)
def run(request: HttpRequest, run_id: int = Path(..., ge=1, le=MAX_ID)) -> RunOut:
    actor = acting(request, ApiScope.BILLING_READ)
    require(actor, Cap.BILLING_VIEW)
    found = selectors.run_of(actor, run_id)
    if found is None:
        raise Http404
    totals = selectors.run_totals(actor, found) if found.status in COMPUTED else []
    return RunOut(
        **_summary(found).model_dump(),
        customers=[
            CustomerTotalOut(
                customer_id=total.customer_id,
                customer_number=total.number,
                name=total.name,
                lines=total.lines,
                amount=_kronor(total.amount),
                cost_centres=[
                    CentreTotalOut(
                        code=centre.code,
                        name=centre.name,
                        lines=centre.lines,
                        amount=_kronor(centre.amount),
                    )
                    for centre in total.centres
                ],
            )
            for total in totals
        ],
    )
