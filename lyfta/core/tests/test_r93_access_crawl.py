"""The oracle crawl (R93, issue 12 build point 2): every GET route of the access table that can
show patient data, for every persona of the scenario, with object ids from every unit and
provider; each answer (HTML, CSV, JSON, PDF text where pdftotext exists) is searched for every
patient's identity (personnummer in its display forms, surname) and for every loan, loss, order
and pick-up row, and each one found must be one the persona has a legal route to. The legal
routes are worked out from the scenario's facts by the rules in `crawl_scenario`, never by the
code under test.

The crawl also asserts what must be shown (a prescriber sees his own unit's patient and every
loan he may see on the holdings page, the centre sees who its orders are for, a reviewer sees
his provider's log), so that it cannot pass by showing nothing.

Issue 12's findings have their own test functions below: the item card (finding 1), the holdings
page's lost-devices list (finding 2) and the order page's contact line for a protected patient
(found by this crawl). All three failed on the code before the access layer (commit 99e43c2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, signed_in
from lyfta.core.tests import crawl_scenario as cs
from lyfta.core.tests.crawl_scenario import CaseFact, Facts, Scenario, Who
from lyfta.core.tests.test_access_table import ROUTES, url_names
from lyfta.logreview import review
from lyfta.logreview.review import SearchParams
from lyfta.patients.models import DocumentedNeed

PDFTOTEXT = shutil.which("pdftotext")
PENDING = "lyfta_pending_identifier"  # the number a user typed, kept for the outside-scope pages

# What a page is about, which decides whose identity it may show.
WORKORDER, WORKLIST = "workorder", "worklist"
START = "start"  # the start page's work queues: the unit's patients in care may be named
PATIENT, ITEM, ORDER, SEARCH, PENDING_NUMBER, CENTRE, RECALL, REVIEW, PLAIN = (
    "patient",
    "item",
    "order",
    "search",
    "pending",
    "centre",
    "recall",
    "review",
    "plain",
)
ORDERLIST = "orderlist"  # a list of orders, each naming its patient as the order's page does
# The emergency form for a number the user typed: it names the patient for her to confirm the
# right person, never a protected one she is not named for (issue 16, R54, R55).
EMERGENCY_NUMBER = "emergency_number"


@dataclass(frozen=True)
class Target:
    kwargs: dict[str, Any]
    kind: str
    about: Any = None  # the patient pk, item number or order the page is about
    query: dict[str, str] = field(default_factory=dict)
    pending: str = ""  # a number the user typed, kept in the session for the outside pages
    typed: int | None = None  # the patient whose number the user typed: it may be echoed


Targets = Callable[[Scenario], list[Target]]


def _period() -> dict[str, str]:
    today = timezone.localdate()
    return {
        "period_from": (today - dt.timedelta(days=400)).isoformat(),
        "period_until": (today + dt.timedelta(days=1)).isoformat(),
    }


def _one(kind: str, query: Callable[[Scenario], dict[str, str]] | None = None) -> Targets:
    return lambda s: [Target({}, kind, query=query(s) if query else {})]


def _patients(extra: Callable[[Scenario, int], list[dict[str, Any]]] | None = None) -> Targets:
    def targets(s: Scenario) -> list[Target]:
        found = []
        for p in s.facts.patients.values():
            for kwargs in extra(s, p.pk) if extra else [{}]:
                found.append(Target({"patient_id": p.pk, **kwargs}, PATIENT, p.pk))
        return found

    return targets


def _loans_of(s: Scenario, patient_id: int) -> list[dict[str, Any]]:
    return [{"loan_id": loan.pk} for loan in s.facts.loans if loan.patient == patient_id]


def _orders(s: Scenario) -> list[Target]:
    return [Target({"order_id": o.pk}, ORDER, o) for o in s.facts.orders]


def _workorders(s: Scenario) -> list[Target]:
    return [Target({"pk": w.pk}, WORKORDER, w) for w in s.facts.workorders]


def _queues(s: Scenario) -> list[Target]:
    return [Target({}, WORKLIST), Target({}, WORKLIST, query={"vy": "teamets"})]


def _items(s: Scenario) -> list[Target]:
    return [Target({"individual_number": n}, ITEM, n) for n in s.items]


def _campaign_targets(s: Scenario, devices: bool) -> list[Target]:
    """A safety campaign over the scenario's lifts (issue 15 point 4), made once by a quality
    officer who is not a persona of the crawl: its holders may be named to a persona only on
    a legal route of its own, as on the recall list."""
    from conftest import make_persona
    from lyfta.access.roles import Role
    from lyfta.catalogue.models import Article
    from lyfta.quality.models import Campaign, CampaignDevice
    from lyfta.quality.services import campaigns

    campaign = Campaign.objects.filter(notice_reference="FSN-CRAWL").first()
    if campaign is None:
        officer = make_persona(s.county.centre, Role.QUALITY, "crawl-kvalitet")
        campaign = campaigns.campaign_create(
            actor=officer.actor,
            notice=campaigns.NoticeInput(
                title="Crawl",
                notice_reference="FSN-CRAWL",
                notice_date=timezone.localdate(),
                description="Kontrollera.",
                action="check",
                articles=[Article.objects.get(article_number=s.article_number)],
                blocks_stock=False,
            ),
        )
    if not devices:
        return [Target({"number": campaign.number}, RECALL)]
    rows = CampaignDevice.unscoped.filter(campaign=campaign).values_list("pk", flat=True)
    return [Target({"number": campaign.number, "device": pk}, RECALL) for pk in rows]


def _pickup_lines(s: Scenario) -> list[Target]:
    """Each pick-up line's condition checklist (issue 16 point 4): about a device, no patient."""
    from lyfta.orders.models import PickupLine

    lines = PickupLine.unscoped.filter(pickup_id__in=[c.pk for c in s.facts.pickups])
    return [Target({"line_id": pk}, CENTRE) for pk in lines.values_list("pk", flat=True)]


def _letters(s: Scenario) -> list[Target]:
    return [
        Target({"patient_id": p.pk}, PATIENT, p.pk, query={"skal": "behov"})
        for p in s.facts.patients.values()
    ]


def _searches(s: Scenario) -> list[Target]:
    # Every patient's number typed exactly, and a name fragment all the surnames share.
    found = [
        Target({}, SEARCH, query={"q": p.identifier}, typed=p.pk) for p in s.facts.patients.values()
    ]
    return [*found, Target({}, SEARCH, query={"q": "strom"})]


def _pending(s: Scenario) -> list[Target]:
    return [
        Target({}, PENDING_NUMBER, p.pk, pending=p.identifier, typed=p.pk)
        for p in s.facts.patients.values()
    ]


def _review(kwargs: Callable[[Scenario], list[dict[str, Any]]], period: bool = False) -> Targets:
    return lambda s: [Target(k, REVIEW, query=_period() if period else {}) for k in kwargs(s)]


def _locations(s: Scenario, code: str) -> list[dict[str, Any]]:
    from lyfta.inventory.models import StockLocation

    return [{"location_id": StockLocation.objects.get(code=code).pk}]


def _deviations(s: Scenario) -> list[Target]:
    """A deviation on each open loan, reported by the loan's unit, its device taken out of use
    (the quality desk): a page about that patient."""
    from lyfta.accounts.models import User
    from lyfta.inventory.models import Item
    from lyfta.quality.models import Deviation

    found = []
    reporter = User.objects.order_by("pk").first()
    for loan in (x for x in s.facts.loans if x.open):
        item = Item.objects.get(individual_number=loan.item)
        deviation, _created = Deviation.unscoped.get_or_create(
            number=f"AVV-CRAWL-{loan.pk}",
            defaults={
                "kind": "product_fault",
                "source": "holdings",
                "occurred_on": timezone.localdate(),
                "description": "Fel i crawl",
                "item": item,
                "article": item.article,
                "patient_id": loan.patient,
                "unit_id": loan.unit,
                "reported_by": reporter,
                "reported_at": timezone.now(),
                "quarantined_at": timezone.now(),
            },
        )
        found.append(Target({"pk": deviation.pk}, PATIENT, loan.patient))
    return found


def _pickups(s: Scenario) -> list[Target]:
    """A deviation's form from a pick-up: names the pick-up, never its patient."""
    return [Target({"pickup_id": c.pk}, PLAIN) for c in s.facts.pickups]


def _billing_runs(s: Scenario) -> list[dict[str, int]]:
    """Last month's run computed from the crawl's loans and locked, this month's a preview: the
    county's providers made customers, so that every loan is billed with its patient on the line
    (the pages show devices, units and amounts, never who holds them: R34)."""
    from lyfta.billing.models import BillingLine, BillingRun, Customer
    from lyfta.billing.services.run import approve_run, compute_run, month_start, start_run

    existing = list(BillingRun.objects.order_by("month").values_list("pk", flat=True))
    if existing:
        return [{"pk": pk} for pk in existing]
    for number, provider in enumerate(
        {u.provider for u in (s.county.unit_a, s.county.unit_b, s.unit_b2, s.county.centre)}
    ):
        Customer.objects.get_or_create(
            provider=provider,
            defaults={
                "customer_number": f"KRAWL{number}",
                "invoice_street": "Fakturavägen 1",
                "invoice_postal_code": "65100",
                "invoice_city": "Testby",
            },
        )
    billie = s.people["billie"].actor
    this_month = month_start(timezone.localdate())
    last_month = month_start(this_month - dt.timedelta(days=1))
    runs = []
    for month in (last_month, this_month):
        run = start_run(actor=billie, month=month)
        compute_run(run.pk)
        runs.append(run.pk)
    approve_run(actor=billie, run=BillingRun.objects.get(pk=runs[0]))
    assert BillingLine.unscoped.filter(run_id=runs[0], patient__isnull=False).exists()
    return [{"pk": pk} for pk in runs]


def _billing_lines(s: Scenario) -> list[Target]:
    from lyfta.billing.models import BillingLine

    runs = [kwargs["pk"] for kwargs in _billing_runs(s)]
    lines = BillingLine.unscoped.filter(run_id__in=runs).order_by("pk")[:4]
    return [Target({"pk": line.pk}, PLAIN) for line in lines]


# Every GET route that can show patient data, and the objects it is fetched with.
CRAWLED: dict[str, Targets] = {
    "start": _one(START),
    "messages:inbox": _one(PLAIN),
    "patients:search": _searches,
    "patients:mine": lambda s: [
        Target({}, SEARCH),
        Target({}, SEARCH, query={"q": "strom"}),
        Target({}, SEARCH, query={"sida": "2"}),
    ],
    "patients:outside": _pending,
    "patients:emergency": lambda s: [
        Target({}, EMERGENCY_NUMBER, p.pk, pending=p.identifier, typed=p.pk)
        for p in s.facts.patients.values()
    ],
    "patients:register": _one(PLAIN),
    "patients:detail": _patients(),
    "patients:correct": _patients(),
    "patients:protection": _patients(),
    "patients:emergency_queue": _one(REVIEW),
    "orders:holdings": _patients(),
    "orders:order_new": _patients(),
    "orders:pickup_new": _patients(),
    "orders:return_letter": _letters,
    "orders:withdraw": _patients(),
    "orders:loss_new": _patients(_loans_of),
    "orders:orders": _one(ORDERLIST),
    "orders:order": _orders,
    "orders:loan_agreement": _orders,
    "logistics:picklist": _one(
        CENTRE, lambda s: {"dag": (timezone.localdate() + dt.timedelta(days=30)).isoformat()}
    ),
    "logistics:order": _orders,
    "logistics:delivery": _orders,
    "logistics:pickups": _one(
        CENTRE, lambda s: {"dag": (timezone.localdate() + dt.timedelta(days=30)).isoformat()}
    ),
    "logistics:returns": _one(CENTRE),
    "logistics:pickup_condition": _pickup_lines,
    "logistics:return_condition": _pickup_lines,
    "logistics:reconditioning": _one(CENTRE),
    "stock:overview": _one(CENTRE),
    "stock:stores": _one(CENTRE),
    "stock:store": lambda s: [
        Target({"store_id": k["location_id"]}, CENTRE) for k in _locations(s, "CR-BUF")
    ],
    "stock:stocktake": lambda s: [Target(k, CENTRE) for k in _locations(s, "CR-HMC")],
    "stock:item": _items,
    "stock:recall": _one(RECALL, lambda s: {"artikel": s.article_number}),
    "quality:campaigns": _one(RECALL),
    "quality:campaign": lambda s: _campaign_targets(s, devices=False),
    "quality:campaign_report": lambda s: _campaign_targets(s, devices=False),
    "quality:campaign_device": lambda s: _campaign_targets(s, devices=True),
    "workorders:queue": _queues,
    "workorders:unit_list": _one(WORKLIST),
    "workorders:detail": _workorders,
    "workorders:letter": _workorders,
    "workorders:report_fault": _patients(_loans_of),
    "workorders:new_for_item": _items,
    "stock:recall_csv": _one(RECALL, lambda s: {"artikel": s.article_number}),
    "workorders:due": _one(CENTRE, lambda s: {"forsenade": "on"}),
    "quality:deviations": _one(PLAIN),
    "quality:deviation": _deviations,
    "quality:deviation_label": _deviations,
    "quality:report_loan": _patients(_loans_of),
    "quality:report_item": _items,
    "quality:report_workorder": _workorders,
    "quality:report_order": _orders,
    "quality:report_pickup": _pickups,
    "workorders:dayplan": _one(CENTRE),
    "audit:cross_provider": _one(REVIEW, lambda s: _period()),
    "review:overview": _one(REVIEW),
    "review:search": _one(REVIEW, lambda s: _period()),
    "review:fhir": _one(REVIEW, lambda s: _period()),
    "review:entry": _review(lambda s: [{"event_id": e} for e in s.events]),
    "review:targeted": _review(lambda s: [{"name": n} for n in sorted(review.TARGETED)], True),
    "review:sample_new": _one(REVIEW),
    "review:check": _review(lambda s: [{"check_id": c} for c in s.checks]),
    "review:extract_new": _one(REVIEW),
    "review:extract": _review(lambda s: [{"request_id": r} for r in s.extracts]),
    "review:extract_file": _review(
        lambda s: [{"request_id": r, "fmt": fmt} for r in s.extracts for fmt in ("csv", "pdf")]
    ),
    # Failure statistics: counts built from deviations and work orders, never a patient.
    "quality:stats": _one(PLAIN, lambda s: {"gruppera": "unit"}),
    "quality:stats_csv": _one(PLAIN, lambda s: {"gruppera": "lot"}),
    "quality:stats_xlsx": _one(PLAIN, lambda s: {"gruppera": "article"}),
    # "Vem betalar?" for every loan and this month: the economy role sees the device, the unit
    # and the housing form, never who the patient is (R34); nobody else opens the page.
    "billing:housing": _patients(),
    "billing:who_pays": lambda s: [
        Target({}, PLAIN, query={"lan": str(x.pk), "manad": timezone.localdate().strftime("%Y-%m")})
        for x in s.facts.loans
    ],
    # The economy desk's billing runs: lines carry the patient, the pages never show who (R34);
    # a search by a patient's number finds the lines without naming her.
    "billing:runs": _one(PLAIN),
    # Statistics: counts from the summary tables, never a patient (issue 17 point 2). The
    # scenario's figures are built first, so that the pages have numbers to show.
    "reports:index": lambda s: _statistics(s, [({}, {})]),
    "reports:figure": lambda s: _statistics(
        s, [({"slug": slug}, {"grupp": "unit"}) for slug in _figure_slugs()]
    ),
    # The drill-down names the unit's own patients in care only, as the start page's queues do.
    "reports:drill": lambda s: [Target({"article_id": pk}, START) for pk in _articles_on_loan()],
    "reports:export": lambda s: _statistics(
        s, [({"slug": "utlanade", "fmt": fmt}, {"grupp": "unit"}) for fmt in ("csv", "pdf")]
    ),
    "reports:chart": lambda s: _statistics(
        s, [({"slug": slug}, {"grupp": "unit"}) for slug in ("utlanade", "socialstyrelsen")]
    ),
    "billing:run": lambda s: [Target(kwargs, PLAIN) for kwargs in _billing_runs(s)],
    "billing:run_progress": lambda s: [Target(kwargs, PLAIN) for kwargs in _billing_runs(s)],
    "billing:line_correct": _billing_lines,
    # A search by a patient's number is a POST (never in a URL) and is tested in
    # lyfta/billing/tests/test_run_pages.py; by GET the page finds lines by device.
    "billing:lines": lambda s: [
        Target({}, PLAIN, query={"individ": number}) for number in s.items[:4] if _billing_runs(s)
    ],
    "billing:unbilled": _one(PLAIN),
    # The invoice basis out: a locked run billing every loan of the scenario, each line linked
    # to its patient; no format may name anyone (the economy role has no patient fields).
    "billing:invoices": _one(PLAIN),
    "billing:invoice_export": lambda s: _invoice_targets(s),
}


def _invoice_targets(s: Scenario) -> list[Target]:
    """One locked run with a line per loan of the scenario (made once per scenario), and each
    customer's basis in every format."""
    cache = vars(s)
    if "_invoice_targets" not in cache:
        from lyfta.billing.models import Customer
        from lyfta.billing.tests import factories_out as fo
        from lyfta.inventory.models import Item
        from lyfta.organisations.models import CareProvider, Unit
        from lyfta.patients.models import Patient

        # The providers may be customers already (the runs' targets make them so).
        customers = {
            p.pk: Customer.objects.filter(provider=p).first() or fo.customer(p, f"K-{p.pk}")
            for p in CareProvider.objects.filter(pk__in={x.provider for x in s.facts.loans})
        }
        specs = [
            fo.Spec(
                customers[x.provider],
                None,
                "75.00",
                item=Item.objects.get(individual_number=x.item),
                unit=Unit.objects.get(pk=x.unit),
                patient=Patient.objects.get(pk=x.patient),
            )
            for x in s.facts.loans
        ]
        made = fo.run(s.people["billie"].user, specs)
        cache["_invoice_targets"] = [
            Target({"run_id": made.run.pk, "customer_id": c.pk, "fmt": fmt}, PLAIN)
            for c in customers.values()
            for fmt in ("pdf", "xlsx", "csv", "ubl")
        ]
    targets: list[Target] = cache["_invoice_targets"]
    return targets


# GET routes left out of the crawl, each with the reason it cannot show patient data.
def _articles_on_loan() -> list[int]:
    from lyfta.orders.models import Loan

    return sorted(set(Loan.unscoped.values_list("article_id", flat=True)))


def _figure_slugs() -> list[str]:
    from lyfta.reports.figures import FIGURES

    return list(FIGURES)


def _statistics(s: Scenario, pages: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Target]:
    from lyfta.access.actor import Actor
    from lyfta.reports.models import Refresh
    from lyfta.reports.services.refresh import statistics_refresh

    if not Refresh.objects.exists():
        statistics_refresh(actor=Actor.system("crawl"))
    return [Target(kwargs, PLAIN, query=query) for kwargs, query in pages]


EXCLUDED: dict[str, str] = {
    "reports:subscribe": "answers GET with 405 (ordering a report is a POST)",
    "reports:unsubscribe": "answers GET with 405 (ending a report order is a POST)",
    # The API (issue 18) takes a client's token, never a session: every persona of this crawl
    # gets 401 there. Its own crawl, with a machine client in each of the scenario's units and
    # the same legal-route oracle, is lyfta/api/tests/test_r93_api_access.py.
    **dict.fromkeys(
        (
            "api:articles",
            "api:article",
            "api:article_availability",
            "api:iso_classes",
            "api:suppliers",
            "api:holdings",
            "api:orders",
            "api:order",
            "api:pickups",
            "api:pickup",
            "api:messages",
            "api:workorders",
            "api:workorder",
            "api:deviations",
            "api:deviation",
            "api:billing_runs",
            "api:billing_run",
        ),
        "token-only API: crawled per machine client in lyfta/api/tests/test_r93_api_access.py",
    ),
    "api:register_events": "a POST of population-register events "
    "(lyfta/api/tests/test_register_events_api.py)",
    # FHIR R5 (issue 18 point 2) takes the API's tokens too: crawled per machine client in
    # lyfta/api/tests/test_r93_api_access.py (test_r93_fhir_answers_only_on_a_legal_route).
    **dict.fromkeys(
        (
            "fhir:deviceassociation_search",
            "fhir:deviceassociation_post_search",
            "fhir:device_search",
            "fhir:device_post_search",
            "fhir:device",
            "fhir:devicedefinition_search",
            "fhir:devicedefinition_post_search",
            "fhir:devicedefinition",
            "fhir:devicerequest_search",
            "fhir:devicerequest_post_search",
            "fhir:devicedispense_search",
            "fhir:devicedispense_post_search",
            "fhir:patient_get_search",
            "fhir:patient_search",
            "fhir:patient",
            "fhir:auditevent_search",
            "fhir:auditevent",
        ),
        "token-only FHIR: crawled per machine client in lyfta/api/tests/test_r93_api_access.py",
    ),
    "fhir:metadata": "the FHIR capability statement: no data",
    "fhir:not_found": "an OperationOutcome 404 for any other path under /fhir/",
    "api:openapi-json": "the API's OpenAPI document: no data",
    "api:docs": "the API's documentation page, drawn from its document: no data",
    "api:api-root": "the API's index: two links",
    "api_not_found": "a problem-details 404 for any other path under /api/",
    "accounts:admin_api_clients": "the API's machine clients, no patients",
    "accounts:admin_api_client_create": "the API's machine clients, no patients",
    "accounts:admin_api_client": "the API's machine clients, no patients",
    "accounts:admin_api_client_revoke": "answers GET with 405 (a revocation is a POST)",
    "healthz": "a health check: no data",
    "metrics": "operational series by URL name and the database's backlogs: no data "
    "(lyfta/metrics/tests asserts no patient id or personnummer in a label)",
    "admin:index": "the admin site keeps organisations only, no patient-linked model",
    "set_language": "POST only in the access table",
    "accounts:login": "the sign-in page",
    "accounts:oidc_start": "OpenID Connect sign-in: off (404) without an issuer; a redirect",
    "accounts:oidc_callback": "OpenID Connect sign-in: off (404) without an issuer; a redirect",
    "accounts:logout": "answers GET with 405",
    "billing:run_approve": "answers GET with 405 (a billing run's approval is a POST)",
    "billing:run_recompute": "answers GET with 405 (a billing run's recompute is a POST)",
    "billing:run_discard": "answers GET with 405 (a billing run's discard is a POST)",
    "accounts:agreement": "the user agreement's text",
    "accounts:agreement_pdf": "the user agreement's text",
    "accounts:mfa_enrol": "the user's own second factor",
    "accounts:mfa_verify": "the user's own second factor",
    "accounts:choose_assignment": "the user's own assignments",
    "accounts:reauthenticate": "a password prompt",
    "accounts:password_change": "the user's own password",
    "accounts:password_set": "a one-time code page",
    "accounts:sessions": "the user's own sessions",
    "accounts:admin_users": "staff accounts, no patients",
    "accounts:admin_privilege_requests": "requests for privileged roles, no patients",
    "accounts:admin_user_create": "staff accounts, no patients",
    "accounts:admin_user": "staff accounts, no patients",
    "accounts:admin_user_edit": "staff accounts, no patients",
    "accounts:admin_user_agreement_pdf": "a staff member's signed agreement",
    "accounts:admin_assignment_extend": "staff assignments",
    "accounts:admin_recertification": "staff assignments",
    "accounts:admin_recertification_unit": "staff assignments",
    "organisations:providers": "providers and units",
    "organisations:provider": "providers and units",
    "organisations:provider_history": "the change history of a provider",
    "organisations:unit": "providers and units",
    "organisations:unit_history": "the change history of a unit",
    "orders:articles": "the assortment search",
    "review:schedule": "a unit's review interval",
    "stock:receive": "a goods-receipt form",
    "quality:campaign_new": "a field safety notice's form and its preview, counts only",
    "quality:campaign_find": "redirects to a campaign's device page, which is crawled",
    "stock:stocktakes": "the list of stock-takes per location",
    "stock:item_find": "redirects to the item card, which is crawled",
    "logistics:condition_photo": "an image of a returned device, for the centre only; each view "
    "is recorded (lyfta/orders/tests/test_condition.py)",
    "catalogue:articles": "the assortment",
    "catalogue:article": "the assortment",
    "catalogue:article_create": "the assortment",
    "catalogue:article_edit": "the assortment",
    "catalogue:article_history": "the assortment",
    "catalogue:article_import": "the assortment",
    "catalogue:import_template": "the assortment",
    "catalogue:suppliers": "the assortment",
    "catalogue:supplier": "the assortment",
    "catalogue:supplier_create": "the assortment",
    "catalogue:supplier_edit": "the assortment",
    "catalogue:groups": "the assortment",
    "catalogue:group": "the assortment",
    "catalogue:group_create": "the assortment",
    "catalogue:group_edit": "the assortment",
    "catalogue:iso_classes": "the assortment",
    "catalogue:iso_class": "the assortment",
    "catalogue:iso_class_create": "the assortment",
    "catalogue:iso_class_edit": "the assortment",
    "workorders:plans": "inspection plans of articles and ISO classes, no patients",
    **dict.fromkeys(
        (
            "quality:report_pdf",
            "quality:report_json",
            "quality:complaints",
            "quality:complaint_new",
            "quality:complaint",
            "quality:complaint_from_deviation",
        ),
        "the quality role's only (no persona of the crawl holds it); a report out names the "
        "patient by age band and sex only, a complaint a device only; tested in "
        "lyfta/quality/tests/test_deviations_access.py",
    ),
    **dict.fromkeys(
        (
            "billing:customers",
            "billing:customer",
            "billing:customer_edit",
            "billing:cost_centre_edit",
            "billing:price_lists",
            "billing:price_list",
            "billing:price_list_edit",
            "billing:payer_rules",
            "billing:payer_rule_new",
            "billing:payer_rule_edit",
        ),
        "the economy desk's reference data: customers, cost centres, prices and payer rules, "
        "no patient-linked rows",
    ),
    "workorders:plan_new": "an inspection plan's form, no patients",
    "workorders:plan_edit": "an inspection plan's form, no patients",
    "workorders:inspect": "the protocol of one work order: shown only to the technicians, on "
    "the case; tested in lyfta/workorders/tests/test_inspection_pages.py",
    "workorders:attachment": (
        "a stored photo or PDF, served after the work order's own access check (the work-order "
        "page, crawled); tested in lyfta/workorders/tests/test_pages.py"
    ),
}

# Reviewers last: their pages then hold the events the other personas' pages recorded.
PERSONAS = [name for name, *_ in cs.PERSONA_SPECS if name not in ("lena", "rita")] + [
    "lena",
    "rita",
]


# --- Reading an answer ----------------------------------------------------------------------


@dataclass
class Page:
    persona: str
    route: str
    url: str
    status: int
    text: str
    target: Target
    shown: set[int]


@dataclass(frozen=True)
class Violation:
    persona: str
    route: str
    url: str
    kind: str
    detail: str
    patient: int | None = None

    def __str__(self) -> str:
        return f"{self.persona} {self.url} [{self.route}] {self.kind}: {self.detail}"


@dataclass
class Crawl:
    pages: list[Page] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    pdf_unread: int = 0

    def page(self, persona: str, route: str, **kwargs: Any) -> Page:
        url = reverse(route, kwargs=kwargs)
        return next(p for p in self.pages if p.persona == persona and p.url.split("?")[0] == url)


def _text(body: bytes, content_type: str) -> str | None:
    """The answer as searchable text; None for a PDF when pdftotext is missing."""
    if "pdf" in content_type:
        if PDFTOTEXT is None:
            return None
        done = subprocess.run(  # noqa: S603 - a fixed local tool on our own test output
            [PDFTOTEXT, "-q", "-", "-"], input=body, capture_output=True, check=True
        )
        return done.stdout.decode("utf-8", errors="replace")
    if "spreadsheetml" in content_type:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        cells = [
            c for sheet in book.worksheets for r in sheet.iter_rows(values_only=True) for c in r
        ]
        return " ".join("" if c is None else str(c) for c in cells)
    text = body.decode("utf-8-sig", errors="replace")
    if "json" in content_type:
        return json.dumps(json.loads(text), ensure_ascii=False)
    return html.unescape(text)


def _found(token: str, text: str) -> bool:
    if token.isdigit() or token[-1].isdigit():
        return re.search(rf"(?<![0-9]){re.escape(token)}(?![0-9])", text) is not None
    return token in text


def _shown(f: Facts, text: str, target: Target) -> set[int]:
    shown = set()
    for p in f.patients.values():
        # The number the user typed may be echoed back to him; not the name.
        tokens = (p.last_name,) if p.pk == target.typed else p.tokens
        if any(_found(token, text) for token in tokens):
            shown.add(p.pk)
    return shown


def allowed_identities(f: Facts, who: Who, target: Target) -> set[int]:
    """Whose identity the page may show to `who`, from the facts alone."""
    patients = [p.pk for p in f.patients.values()]
    kind, about = target.kind, target.about
    if kind in (PATIENT, PENDING_NUMBER):
        return {about} if cs.route(f, who, about) else set()
    if kind == EMERGENCY_NUMBER:
        patient = f.patient(about)
        named = not patient.protected or who.user_id in patient.named
        ok = cs.route(f, who, about) or (who.role in cs.PATIENT_ROLES and named)
        return {about} if ok else set()
    if kind == ITEM:
        loans = {x.patient for x in f.loans if x.item == about and cs.loan_visible(f, who, x)}
        work = {
            w.patient
            for w in f.workorders
            if f.workorder_items[w.number] == about
            and (
                (who.role == "technician" and cs.workorder_visible(f, who, w))
                or cs.owner_visible(f, who, w.patient, w.unit)
            )
        }
        return loans | work
    if kind == WORKORDER:
        return {about.patient} if cs.workorder_visible(f, who, about) else set()
    if kind == WORKLIST:
        return {w.patient for w in f.workorders if cs.workorder_visible(f, who, w)}
    if kind == ORDER:
        case: CaseFact = about
        ok = cs.case_route(f, who, case.patient) or cs.owner_visible(
            f, who, case.patient, case.unit
        )
        return {case.patient} if ok else set()
    if kind == SEARCH:
        return {p for p in patients if cs.in_search_scope(f, who, p)}
    if kind == ORDERLIST:
        return {
            c.patient
            for c in f.orders
            if cs.case_row_visible(f, who, c)
            and (cs.case_route(f, who, c.patient) or cs.owner_visible(f, who, c.patient, c.unit))
        }
    if kind == CENTRE:
        return {p for p in patients if cs.case_route(f, who, p)}
    if kind == RECALL:
        return {x.patient for x in f.loans if x.open and cs.loan_visible(f, who, x)}
    if kind == REVIEW:
        return {p for p in patients if cs.reviewable(f, who, p)}
    if kind == START:
        return {p for p in patients if cs.route(f, who, p) == "relationship"}
    return set()


def judge(f: Facts, who: Who, route: str, url: str, target: Target, page: Page) -> list[Violation]:
    """Every identity and row on the page that `who` has no legal route to."""
    found: list[Violation] = []

    def bad(kind: str, detail: str, patient: int | None = None) -> None:
        found.append(Violation(who.name, route, url, kind, detail, patient))

    text = page.text
    allowed = allowed_identities(f, who, target)
    for pk in sorted(page.shown - allowed):
        bad("identity", f"{f.patient(pk).first_name} {f.patient(pk).last_name}", pk)
    # The quality officer's deviation page is about its one device, the patient pseudonymised
    # (identities are judged above): the device is the case, not a row of the patient's holdings.
    deviation_case = who.role == "quality" and route.startswith("quality:deviation")
    if target.kind == PATIENT and not deviation_case:
        patient = target.about
        mine = {x.item for x in f.loans if x.patient == patient}
        for loan in f.loans:
            if not _found(loan.item, text):
                continue
            if loan.patient == patient and not cs.loan_visible(f, who, loan):
                kind = "loss" if loan.lost else "loan"
                detail = f"item {loan.item} lent by {f.unit_name[loan.unit]}"
                bad(kind, detail, patient)
            elif loan.patient != patient and loan.item not in mine:
                bad("foreign_row", f"item {loan.item} of another patient")
    # A care role sees the card of a device only through a loan he may see; the stock roles
    # see any device's history.
    seen = any(x.item == target.about and cs.loan_visible(f, who, x) for x in f.loans)
    if target.kind == ITEM and page.status == 200 and who.role not in cs.STOCK_ROLES and not seen:
        bad("card_gate", f"item {target.about}: none of its loans is one {who.name} may see")
    if target.kind != REVIEW:
        # The log reviewers read the log itself, whose entries name orders and pick-ups.
        for case in f.orders:
            if _found(case.number, text) and not cs.case_row_visible(f, who, case):
                bad("order", f"{case.number} of {f.unit_name[case.unit]}")
        for case in f.pickups:
            if _found(case.number, text) and not cs.case_row_visible(f, who, case):
                bad("pickup", f"{case.number} of {f.unit_name[case.unit]}")
        for case in f.workorders:
            if _found(case.number, text) and not cs.workorder_row_visible(f, who, case):
                bad("workorder", f"{case.number} of {f.unit_name[case.unit]}")
    return found


def _document_need(s: Scenario, client: Client) -> None:
    """Cecilia documents a need for the need patient in the session she crawls with (R32)."""
    persona = s.people["cecilia"]
    key = client.session.session_key or ""
    patient = s.facts.patients["need"]
    DocumentedNeed.objects.create(
        user=persona.user,
        assignment=persona.assignment,
        patient_id=patient.pk,
        reason_code=DocumentedNeed.Reason.COLLEAGUE,
        reason_text="Ersätter kollega",
        session_ref=hashlib.sha256(key.encode()).hexdigest(),
        created_at=timezone.now(),
    )
    s.facts.needs.add((persona.user.pk, patient.pk))


def crawl(s: Scenario, routes: Iterable[str], personas: Iterable[str] = PERSONAS) -> Crawl:
    result = Crawl()
    routes = list(routes)
    for persona in personas:
        client = signed_in(Client(), s.people[persona])
        if persona == "cecilia":
            _document_need(s, client)
        who = s.who[persona]
        for route in routes:
            for target in CRAWLED[route](s):
                if target.pending:
                    session = client.session
                    session[PENDING] = target.pending
                    session.save()
                url = reverse(route, kwargs=target.kwargs)
                response = client.get(url, target.query)
                # The content, also of a streamed answer (a CSV export).
                body = response.getvalue()
                if target.pending:
                    session = client.session
                    session.pop(PENDING, None)
                    session.save()
                text = _text(body, response.get("Content-Type", ""))
                if text is None:
                    result.pdf_unread += 1
                    continue
                full = url + (
                    "?" + "&".join(f"{k}={v}" for k, v in target.query.items())
                    if target.query
                    else ""
                )
                page = Page(persona, route, full, response.status_code, text, target, set())
                page.shown = _shown(s.facts, text, target)
                result.pages.append(page)
                result.violations.extend(judge(s.facts, who, route, full, target, page))
    return result


def _report(violations: list[Violation]) -> str:
    lines = [str(v) for v in violations[:60]]
    more = f"\n… and {len(violations) - 60} more" if len(violations) > 60 else ""
    return f"{len(violations)} rows shown without a legal route:\n" + "\n".join(lines) + more


@pytest.fixture
def scenario(county: County) -> Scenario:
    s = cs.build(county)
    # A saved check of each reviewer, for the check page (R77).
    today = timezone.localdate()
    params = SearchParams(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    s.checks = [
        review.check_save(actor=s.people[name].actor, params=params).pk for name in ("lena", "rita")
    ]
    return s


# --- The tests --------------------------------------------------------------------------------

ITEM_CARD = "stock:item"
HOLDINGS = "orders:holdings"
ORDER_PAGE = "orders:order"


def _protected_on_order_page(f: Facts, v: Violation) -> bool:
    return (
        v.route == ORDER_PAGE
        and v.kind == "identity"
        and v.patient is not None
        and f.patient(v.patient).protected
    )


def test_r93_every_get_route_is_crawled_or_excluded_with_a_reason() -> None:
    names = set(url_names())
    with_get = {n for n, routes in ROUTES.items() if any(r.method == "get" for r in routes)}
    assert not set(CRAWLED) & set(EXCLUDED)
    assert set(CRAWLED) <= names, set(CRAWLED) - names
    assert set(EXCLUDED) <= names, set(EXCLUDED) - names
    unclassified = sorted(with_get - set(CRAWLED) - set(EXCLUDED))
    assert not unclassified, f"GET routes neither crawled nor excluded: {unclassified}"


@pytest.mark.django_db
def test_r93_crawl_shows_only_patients_and_rows_on_a_legal_route(scenario: Scenario) -> None:
    s, f = scenario, scenario.facts
    result = crawl(s, CRAWLED)
    unknown = result.violations
    assert not unknown, _report(unknown)

    # Positives: the crawl reached every route, and each route answered someone with 200.
    ok_routes = {p.route for p in result.pages if p.status == 200}
    assert set(CRAWLED) - ok_routes == set(), set(CRAWLED) - ok_routes
    # The patient pages open exactly on a legal route, and then show who the patient is.
    for page in result.pages:
        if page.route not in ("patients:detail", HOLDINGS):
            continue
        who, patient = s.who[page.persona], page.target.about
        expected = 200 if cs.route(f, who, patient) else 404
        assert page.status == expected, (page.persona, page.url, page.status)
        if expected == 200:
            assert patient in page.shown, (page.persona, page.url)
    # The holdings list every loan the user may see, from every provider (DOMAIN.md §5, R39).
    for page in result.pages:
        if page.route == HOLDINGS and page.status == 200:
            who = s.who[page.persona]
            for loan in f.loans:
                if loan.patient == page.target.about and cs.loan_visible(f, who, loan):
                    assert _found(loan.item, page.text), (page.persona, page.url, loan)
    pk = {key: p.pk for key, p in f.patients.items()}
    region_loan_of_lift = next(
        x for x in f.loans if x.patient == pk["lift"] and x.provider == s.county.region.pk
    )
    # The lift in force opens the region's blocked loan to unit A, not to unit A2.
    lift_a = result.page("alice", HOLDINGS, patient_id=pk["lift"])
    lift_a2 = result.page("alma", HOLDINGS, patient_id=pk["lift"])
    assert _found(region_loan_of_lift.item, lift_a.text)
    assert lift_a2.status == 200
    assert not _found(region_loan_of_lift.item, lift_a2.text)
    # The emergency opens the patient (and the region's data) to alice; the need to cecilia.
    assert result.page("alice", HOLDINGS, patient_id=pk["emergency"]).status == 200
    assert result.page("cecilia", "patients:detail", patient_id=pk["need"]).status == 200
    # The protected patient: his named staff only.
    assert result.page("alice", "patients:detail", patient_id=pk["protected"]).status == 200
    assert result.page("charlie", "patients:detail", patient_id=pk["protected"]).status == 404
    # Search lists the unit's own patients.
    searched = [p for p in result.pages if p.persona == "charlie" and p.url.endswith("q=strom")]
    assert searched[0].shown == {pk["lift"], pk["block"], pk["emergency"]}
    # The centre sees who its pick-ups are for; the reviewers see their provider's log.
    pickups = next(
        p for p in result.pages if p.persona == "logan" and p.route == "logistics:pickups"
    )
    assert pickups.shown == {pk["lift"], pk["block"]}
    lena = next(p for p in result.pages if p.persona == "lena" and p.route == "review:search")
    assert pk["block"] in lena.shown
    rita = next(p for p in result.pages if p.persona == "rita" and p.route == "review:search")
    assert pk["emergency"] in rita.shown
    # The item card names the user's own patient on his own unit's loan.
    own_item = next(
        x for x in f.loans if x.patient == pk["block"] and x.unit == s.county.unit_a.pk and x.open
    )
    card = result.page("alice", ITEM_CARD, individual_number=own_item.item)
    assert pk["block"] in card.shown
    # No role without patient access saw anyone, anywhere.
    for page in result.pages:
        if s.who[page.persona].role not in cs.PATIENT_ROLES | {"log_reviewer"}:
            assert not page.shown, (page.persona, page.url)
    assert sum(1 for p in result.pages if p.shown) > 100
    if result.pdf_unread:
        # Without poppler-utils the PDFs (the patient's log extract) are fetched, not searched.
        warnings.warn(
            f"pdftotext is missing: {result.pdf_unread} PDF answers were not searched",
            UserWarning,
            stacklevel=1,
        )


@pytest.mark.django_db
def test_r93_item_card_names_only_loans_on_a_legal_route(scenario: Scenario) -> None:
    result = crawl(scenario, [ITEM_CARD])
    assert not result.violations, _report(result.violations)


@pytest.mark.django_db
def test_r93_holdings_lost_devices_only_on_a_legal_route(scenario: Scenario) -> None:
    result = crawl(scenario, [HOLDINGS])
    losses = [v for v in result.violations if v.kind == "loss"]
    assert not losses, _report(losses)


@pytest.mark.django_db
def test_r93_order_page_hides_a_protected_patient_from_the_centre(scenario: Scenario) -> None:
    result = crawl(scenario, [ORDER_PAGE], sorted(cs.CASE_PERSONAS))
    protected = [v for v in result.violations if _protected_on_order_page(scenario.facts, v)]
    assert not protected, _report(protected)


@pytest.mark.django_db
def test_r93_work_order_pages_name_patients_only_on_a_legal_route(scenario: Scenario) -> None:
    """The technicians' desk: the technician's queue names the patients of her work orders but
    not the protected one (R55); the unit that asked sees its own work order, its named staff
    the protected patient; another provider's prescriber gets the 404."""
    routes = ["workorders:queue", "workorders:unit_list", "workorders:detail", ITEM_CARD]
    result = crawl(scenario, routes, ["alice", "charlie", "tekla", "logan", "billie"])
    assert not result.violations, _report(result.violations)
    f, pk = scenario.facts, {key: p.pk for key, p in scenario.facts.patients.items()}
    queue = result.page("tekla", "workorders:queue")
    assert queue.status == 200 and queue.shown == {pk["lift"]}
    team = next(p for p in result.pages if p.persona == "tekla" and p.url.endswith("teamets"))
    assert team.shown == {pk["lift"], pk["emergency"]}
    lift, protected, region = f.workorders
    assert result.page("alice", "workorders:detail", pk=protected.pk).shown == {pk["protected"]}
    assert result.page("tekla", "workorders:detail", pk=protected.pk).shown == set()
    assert result.page("tekla", "workorders:detail", pk=region.pk).shown == {pk["emergency"]}
    assert result.page("charlie", "workorders:detail", pk=lift.pk).status == 404
    assert result.page("alice", "workorders:unit_list").shown == {pk["lift"], pk["protected"]}
    card = result.page("tekla", ITEM_CARD, individual_number=f.workorder_items[lift.number])
    assert lift.number in card.text and pk["lift"] in card.shown
