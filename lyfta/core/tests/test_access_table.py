"""The access table (STYLE.md #5, issue "Patients" item 9, R35): every route of the URL conf has
an entry stating, for every persona, the answer it must get — including direct ids of other
units' and other providers' objects, which get the same 404 as missing ones. A route without an
entry fails the test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.roles import Role
from lyfta.accounts.models import UserSession
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LogExtractRequest, ReviewCheck
from lyfta.audit.services import record
from lyfta.catalogue.tests.factories import (
    ArticleFactory,
    IsoClassFactory,
    SubstitutionGroupFactory,
    SupplierFactory,
)
from lyfta.messages.models import Message
from lyfta.orders.models import Order
from lyfta.patients.models import Block, CareRelationship, Consent, EmergencyAccess, Patient

PERSONAS = [
    "anonymous",
    "alice",
    "bob",
    "charlie",
    "tekla",
    "lena",
    "logan",
    "billie",
    "ulla",
    "sigge",
]
OK, FOUND, DENIED, MISSING, BAD, GONE = 200, 302, 403, 404, 400, 405
LOGIN = "login"  # a redirect to the sign-in page


@dataclass
class World:
    county: County
    people: dict[str, Persona]
    patient_a: Patient  # related to unit A (alice, bob)
    patient_b: Patient  # related only to unit B of the region (charlie)
    relationship_a: CareRelationship
    consent_a: Consent
    block_a: Block
    emergency_alice: EmergencyAccess
    session_alice: UserSession
    message_lena: Message
    event_municipal: AuditEvent  # alice read patient A: the municipality's reviewer's concern
    event_region: AuditEvent  # charlie read patient B: only the region's
    check_municipal: ReviewCheck
    check_region: ReviewCheck
    extract_municipal: LogExtractRequest
    extract_region: LogExtractRequest
    order_a: Order  # alice's unit's order for patient A


@pytest.fixture
def world(
    county: County,
    alice: Persona,
    bob: Persona,
    charlie: Persona,
    tekla: Persona,
    lena: Persona,
    logan: Persona,
    billie: Persona,
    ulla: Persona,
    sigge: Persona,
) -> World:
    people = {
        p.user.username: p for p in (alice, bob, charlie, tekla, lena, logan, billie, ulla, sigge)
    }
    today = timezone.localdate()
    patient_a = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    patient_b = Patient.objects.create(
        identifier="194502029814", id_kind="personnummer", first_name="Bertil", last_name="Björk"
    )
    rel_a = CareRelationship.objects.create(
        unit=county.unit_a, patient=patient_a, origin="order", valid_from=today
    )
    CareRelationship.objects.create(
        unit=county.unit_b, patient=patient_b, origin="order", valid_from=today
    )
    consent = Consent.objects.create(
        patient=patient_a,
        grantee_unit=county.unit_a,
        valid_from=today,
        valid_until=today + dt.timedelta(days=30),
        registered_by=alice.user,
    )
    block = Block.objects.create(
        patient=patient_a,
        scope="internal",
        owner_provider=county.municipality,
        owner_unit=county.unit_a,
        requested_at=today,
        requested_by="Patienten",
        registered_by=alice.user,
    )
    now = timezone.now()
    emergency = EmergencyAccess.objects.create(
        user=alice.user,
        assignment=alice.assignment,
        patient=patient_b,
        reason_code="acute_care",
        reason_text="Akut fall i test",
        patient_cannot_consent=True,
        started_at=now,
        expires_at=now + dt.timedelta(hours=2),
        ended_at=now,
        end_recorded=True,
    )
    session = UserSession.objects.create(
        user=alice.user, session_key="x" * 32, created_at=now, last_seen_at=now
    )
    message = Message.objects.create(
        recipient=lena.user, kind="notice", subject="Test", created_at=now, link="/"
    )
    event_municipal = record(action=Action.PATIENT_READ, actor=alice.actor, patient_id=patient_a.pk)
    event_region = record(action=Action.PATIENT_READ, actor=charlie.actor, patient_id=patient_b.pk)
    checks = [
        ReviewCheck.objects.create(
            provider=unit.provider,
            unit=unit,
            kind=ReviewCheck.Kind.SAMPLE,
            period_from=today,
            period_until=today,
            reviewer=alice.user,
            created_at=now,
        )
        for unit in (county.unit_a, county.unit_b)
    ]
    extracts = [
        LogExtractRequest.objects.create(
            provider=provider,
            patient=patient,
            kind=LogExtractRequest.Kind.PATIENT_REQUEST,
            requested_at=today,
            due_at=today + dt.timedelta(days=30),
            requester="Patienten",
            period_from=today,
            period_until=today,
            received_by=alice.user,
        )
        for provider, patient in ((county.municipality, patient_a), (county.region, patient_b))
    ]
    return World(
        county,
        people,
        patient_a,
        patient_b,
        rel_a,
        consent,
        block,
        emergency,
        session,
        message,
        event_municipal,
        event_region,
        checks[0],
        checks[1],
        extracts[0],
        extracts[1],
        Order.unscoped.create(
            number="KO-TEST-1",
            patient=patient_a,
            unit=county.unit_a,
            payer=county.unit_a,
            orderer=alice.user,
            delivery=Order.Delivery.PATIENT,
            status=Order.Status.REGISTERED,
            registered_at=now,
            expected_on=today,
        ),
    )


@dataclass
class Route:
    method: str = "get"
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    expect: dict[str, int | str] = field(default_factory=dict)
    default: int | str = MISSING
    data: dict[str, Any] = field(default_factory=dict)


def everyone(code: int | str, **exceptions: int | str) -> dict[str, int | str]:
    table: dict[str, int | str] = {p: code for p in PERSONAS if p != "anonymous"}
    table["anonymous"] = LOGIN
    table.update(exceptions)
    return table


CARE = ("alice", "bob", "charlie", "tekla", "logan")  # roles with patient access
NO_PATIENTS = ("lena", "billie", "ulla", "sigge")
PA = lambda w: {"patient_id": w.patient_a.pk}  # noqa: E731
PB = lambda w: {"patient_id": w.patient_b.pk}  # noqa: E731
REVIEWER_ONLY = everyone(DENIED, lena=OK)
RX = ("alice", "bob", "charlie")  # prescribers: they order devices
PERIOD = {"period_from": "2021-01-01", "period_until": "2030-12-31"}

# The assortment: seen by everyone who orders or handles devices; kept by the catalogue manager,
# whom no persona here is (their pages are tested in lyfta/catalogue/tests).
CATALOGUE_VIEW = everyone(
    DENIED, **dict.fromkeys(("alice", "bob", "charlie", "tekla", "logan", "billie"), OK)
)
CATALOGUE_MISSING = everyone(
    DENIED, **dict.fromkeys(("alice", "bob", "charlie", "tekla", "logan", "billie"), MISSING)
)


# The centre's device pages (logistics:*, stock:*) need stock; it is made on first use, so that
# the World stays as small as the other routes need.
CENTRE_STOCK = everyone(DENIED, logan=OK, tekla=OK)
LOGAN = everyone(DENIED, logan=OK)


def _devices(w: World) -> dict[str, int]:
    """A central warehouse, unit A's buffer store and reconditioning; an item reserved on a line
    of order A, one in reconditioning and one (T0003) lent to patient A; a pick-up to collect."""
    from lyfta.inventory.models import Item, StockLocation
    from lyfta.orders.models import Loan, OrderLine, PickupOrder

    if not StockLocation.objects.filter(code="T-HMC").exists():
        centre, unit_a = w.county.centre, w.county.unit_a
        today = timezone.localdate()
        central = StockLocation.objects.create(
            code="T-HMC", name="Centrallager", kind="central", unit=centre
        )
        recon = StockLocation.objects.create(
            code="T-REK", name="Rekond", kind="reconditioning", unit=centre
        )
        StockLocation.objects.create(code="T-BUF", name="Förråd A", kind="buffer", unit=unit_a)
        article = ArticleFactory(article_number="T-LYFT")

        def item(number: str, **fields: Any) -> Item:
            return Item.objects.create(
                individual_number=number,
                article=article,
                acquired_on=today,
                acquisition_value=1000,
                **fields,
            )

        OrderLine.unscoped.create(
            order=w.order_a,
            article=article,
            quantity=1,
            status="reserved",
            item=item("T0001", status="reserved", location=central),
            source=central,
        )
        item("T0002", status="reconditioning", location=recon)
        Loan.unscoped.create(
            patient=w.patient_a,
            article=article,
            item=item("T0003", status="on_loan", holder=w.patient_a),
            unit=unit_a,
            payer=unit_a,
            billing_type="rent",
            started_on=today,
        )
        PickupOrder.unscoped.create(
            number="HO-TEST-1",
            patient=w.patient_a,
            unit=unit_a,
            registered_by=w.people["alice"].user,
            registered_at=timezone.now(),
            rent_stop_on=today,
            collect_by=today,
            status="registered",
        )
    return {
        "central": StockLocation.objects.get(code="T-HMC").pk,
        "buffer": StockLocation.objects.get(code="T-BUF").pk,
        "line": OrderLine.unscoped.get(item__individual_number="T0001").pk,
        "recon_item": Item.objects.get(individual_number="T0002").pk,
        "pickup": PickupOrder.unscoped.get(number="HO-TEST-1").pk,
    }


def _pickup_line(w: World) -> dict[str, int]:
    """A line of the pick-up HO-TEST-1: patient A's lent lift T0003, waiting to be collected."""
    from lyfta.orders.models import Loan, PickupLine

    pickup = _devices(w)["pickup"]
    line, _created = PickupLine.unscoped.get_or_create(
        pickup_id=pickup,
        defaults={"loan": Loan.unscoped.get(item__individual_number="T0003"), "status": "waiting"},
    )
    return {"line_id": line.pk}


def _patient_a_with_stock(w: World) -> dict[str, int]:
    _devices(w)
    return {"patient_id": w.patient_a.pk}


def _recon_number(w: World) -> str:
    _devices(w)
    return "T0002"


def _reservation(w: World) -> dict[str, int]:
    """The item in reconditioning (T0002) held for patient A of unit A until next week."""
    from lyfta.inventory.models import Item, Reservation

    _devices(w)
    held, _created = Reservation.unscoped.get_or_create(
        item=Item.objects.get(individual_number="T0002"),
        defaults={
            "patient": w.patient_a,
            "unit": w.county.unit_a,
            "until": timezone.localdate() + dt.timedelta(days=7),
            "created_by": w.people["logan"].user,
            "created_at": timezone.now(),
        },
    )
    return {"reservation_id": held.pk}


def _on_order_a(w: World) -> dict[str, int]:
    return {"order_id": w.order_a.pk, "line_id": _devices(w)["line"]}


def _lent_item(w: World) -> dict[str, str]:
    _devices(w)
    return {"individual_number": "T0003"}


def _with_stock(w: World) -> dict[str, Any]:
    _devices(w)
    return {}


def _work_order(w: World) -> dict[str, int]:
    """Unit A's fault report on patient A's lent lift T0003 (the technicians' desk)."""
    from lyfta.inventory.models import Item
    from lyfta.workorders.models import WorkOrder

    _devices(w)
    today = timezone.localdate()
    order, _created = WorkOrder.unscoped.get_or_create(
        number="AO-TEST-1",
        defaults={
            "kind": "repair",
            "status": "registered",
            "origin": "prescriber",
            "place": "home",
            "item": Item.objects.get(individual_number="T0003"),
            "article": Item.objects.get(individual_number="T0003").article,
            "patient": w.patient_a,
            "unit": w.county.unit_a,
            "requested_by": w.people["alice"].user,
            "description": "Lyften går inte upp",
            "registered_at": timezone.now(),
            "start_due": today,
            "done_due": today + dt.timedelta(days=10),
        },
    )
    return {"pk": order.pk}


def _lift_loan(w: World) -> dict[str, int]:
    from lyfta.orders.models import Loan

    _devices(w)
    loan = Loan.unscoped.get(item__individual_number="T0003")
    return {"patient_id": w.patient_a.pk, "loan_id": loan.pk}


def _privilege_request(w: World, about: str, by: str) -> dict[str, int]:
    """A waiting request (R91) to reset the second factor of `about`, made by `by`."""
    from lyfta.accounts.models import PrivilegeRequest

    now = timezone.now()
    request, _created = PrivilegeRequest.objects.get_or_create(
        kind=PrivilegeRequest.Kind.MFA_RESET,
        subject=w.people[about].user,
        requested_by=w.people[by].user,
        defaults={"requested_at": now, "expires_at": now + dt.timedelta(days=7)},
    )
    return {"request_id": request.pk}


# The technicians' desk: who asks for technical work (WORKORDERS_REQUEST), and what each of them
# gets for unit A's work order: its unit and the technician see it, others the same 404.
WO_ASK = ("alice", "bob", "charlie", "tekla", "logan")
WO_ASK_MISSING = dict.fromkeys(WO_ASK, MISSING)
WO_SEEN = everyone(DENIED, **{**WO_ASK_MISSING, "alice": OK, "bob": OK, "tekla": OK})
# A step on unit A's work order: those who do not see it get the 404; those who see it get the
# page back (the empty form's message) when their role carries the step, a 403 when it does not.
WO_STEP = everyone(DENIED, **{**WO_ASK_MISSING, "alice": FOUND, "bob": FOUND, "tekla": FOUND})
WO_TECH_STEP = everyone(
    DENIED, **{**WO_ASK_MISSING, "alice": DENIED, "bob": DENIED, "tekla": FOUND}
)
WO_APPROVE_STEP = everyone(
    DENIED, **{**WO_ASK_MISSING, "alice": FOUND, "bob": FOUND, "tekla": DENIED}
)


def _deviation(w: World) -> dict[str, int]:
    """Unit A's deviation on patient A's lent lift T0003, the lift taken out of use, with its
    reports out and a supplier complaint (the quality desk)."""
    from lyfta.inventory.models import Item
    from lyfta.quality.models import Complaint, Deviation, IncidentReport

    _devices(w)
    now, today = timezone.now(), timezone.localdate()
    lift = Item.objects.get(individual_number="T0003")
    deviation, created = Deviation.unscoped.get_or_create(
        number="AVV-TEST-1",
        defaults={
            "kind": "adverse_event",
            "severity": "serious",
            "source": "holdings",
            "occurred_on": today,
            "description": "Lyften tippade",
            "item": lift,
            "article": lift.article,
            "patient": w.patient_a,
            "unit": w.county.unit_a,
            "reported_by": w.people["alice"].user,
            "reported_at": now,
            "quarantined_at": now,
            "is_incident": True,
        },
    )
    if created:
        for recipient in ("manufacturer", "mpa"):
            IncidentReport.unscoped.create(deviation=deviation, recipient=recipient, due_on=today)
        Complaint.unscoped.create(
            number="REK-TEST-1",
            deviation=deviation,
            supplier=lift.article.supplier,
            article=lift.article,
            item=lift,
            billing_type="rent",
            description="Spärren lossnade",
            created_by=w.people["alice"].user,
            created_at=now,
        )
    return {"pk": deviation.pk}


def _complaint(w: World) -> dict[str, int]:
    from lyfta.quality.models import Complaint

    _deviation(w)
    return {"pk": Complaint.unscoped.get(number="REK-TEST-1").pk}


def _report(recipient: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {**_deviation(w), "recipient": recipient}


def _pickup(w: World) -> dict[str, int]:
    return {"pickup_id": _devices(w)["pickup"]}


# The quality desk: every role that handles devices for patients reports deviations (no persona
# here is the quality role: its pages are tested in lyfta/quality/tests). A unit sees its own
# deviations; another unit's, and the centre's staff, get the same 404 as a missing one.
DEV_REPORT = ("alice", "bob", "charlie", "tekla", "logan")
DEV_MISSING = dict.fromkeys(DEV_REPORT, MISSING)
DEV_SEEN = everyone(DENIED, **{**DEV_MISSING, "alice": OK, "bob": OK})
DEV_STEP = everyone(DENIED, **DEV_MISSING)  # the unit sees it, but steps are the quality role's
DEV_STEP.update(alice=DENIED, bob=DENIED)
QUALITY_ONLY = everyone(DENIED)


# ulla (the municipality's user administrator) asks to reset lena's (its log reviewer's) second
# factor: only another approver, the system administrator, decides it; ulla may withdraw it.
ULLAS_REQUEST = lambda w: _privilege_request(w, "lena", "ulla")  # noqa: E731
# A request about the region's charlie: outside ulla's scope (404); sigge's own (403).
SIGGES_REQUEST = lambda w: _privilege_request(w, "charlie", "sigge")  # noqa: E731


# The inspection pages of the technicians' desk: for the technician (tekla) only.
TEKLA = everyone(DENIED, tekla=OK)
# Safety campaigns (issue 15 point 4): carried out by the quality officer, logistics and the
# technicians; created and closed by the quality officer only (no persona of this table).
CAMPAIGN_WORK = everyone(DENIED, logan=OK, tekla=OK)


def _campaign(w: World) -> dict[str, str]:
    from lyfta.quality.models import Campaign

    Campaign.objects.get_or_create(
        number="KAM-9001",
        defaults={
            "title": "Testkampanj",
            "notice_reference": "FSN-T",
            "notice_date": timezone.localdate(),
            "description": "Kontrollera.",
            "action": Campaign.Action.CHECK,
            "created_by": w.people["logan"].user,
            "created_at": timezone.now(),
        },
    )
    return {"number": "KAM-9001"}


def _plan(w: World) -> dict[str, int]:
    from lyfta.workorders.models import InspectionPlan

    _devices(w)
    plan, _created = InspectionPlan.objects.get_or_create(
        name="T-Lyftar årlig",
        defaults={
            "article": _article("T-LYFT"),
            "interval_months": 12,
            "checklist": ["Lyftbandet", "Nödsänkning"],
        },
    )
    return {"pk": plan.pk}


def _invoice(fmt: str, *, locked: bool = True) -> Callable[[World], dict[str, Any]]:
    """A billing run of the municipality's one line: locked (invoiced) or a preview. Each call
    bills a month of its own (one locked run per month), for tests that build every route."""

    def make(w: World) -> dict[str, Any]:
        from lyfta.billing.models import BillingRun, Customer
        from lyfta.billing.tests import factories_out as fo

        customer = Customer.objects.filter(provider=w.county.municipality).first()
        if customer is None:
            customer = fo.customer(w.county.municipality, "K-1")
        n = BillingRun.objects.count()
        made = fo.run(
            w.people["billie"].user,
            [fo.Spec(customer, None, "75.00")],
            month=dt.date(2020 + n // 12, n % 12 + 1, 1),
            locked=locked,
        )
        return {"run_id": made.run.pk, "customer_id": customer.pk, "fmt": fmt}

    return make


def _article(number: str) -> Any:
    from lyfta.catalogue.models import Article

    return Article.objects.get(article_number=number)


def _inspection_order(w: World) -> dict[str, int]:
    """An inspection work order of the lift lent to patient A (unit A)."""
    from lyfta.access.actor import Actor
    from lyfta.inventory.models import Item
    from lyfta.workorders import services as workorders
    from lyfta.workorders.models import InspectionPlan, WorkOrder

    plan = InspectionPlan.objects.get(pk=_plan(w)["pk"])
    found = WorkOrder.unscoped.filter(plan=plan).first()
    if found is None:
        found = workorders.work_order_create(
            actor=Actor.system("test"),
            kind=WorkOrder.Kind.INSPECTION,
            description="Årlig besiktning",
            place=WorkOrder.Place.HOME,
            unit=w.county.unit_a,
            item=Item.objects.get(individual_number="T0003"),
            patient=w.patient_a,
            origin=WorkOrder.Origin.INSPECTION_PLAN,
            plan=plan,
        )
    return {"pk": found.pk}


# The economy desk's reference data (issue 14): the economy role sees and keeps it; every other
# role gets 403 before any object is looked up.
BILLING_ONLY = everyone(DENIED, billie=OK)
STATISTICS = everyone(DENIED, logan=OK, billie=OK)
BILLING_BAD = everyone(DENIED, billie=BAD)
BILLING_MISSING = everyone(DENIED, billie=MISSING)


def _billing(w: World) -> dict[str, Any]:
    """The municipality as a customer with a default cost centre, a price list and a rule."""
    from lyfta.billing.models import CostCentre, Customer, PayerRule, PriceList

    customer, _created = Customer.objects.get_or_create(
        provider=w.county.municipality,
        defaults={
            "customer_number": "T-5000",
            "invoice_street": "Box 1",
            "invoice_postal_code": "652 25",
            "invoice_city": "Karlstad",
        },
    )
    centre, _created = CostCentre.objects.get_or_create(
        customer=customer,
        code="1000",
        defaults={"name": "Gemensamt", "default": True, "valid_from": dt.date(2024, 1, 1)},
    )
    price_list, _created = PriceList.objects.get_or_create(
        valid_from=dt.date(2024, 1, 1), defaults={"name": "Test", "hourly_rate": 600}
    )
    rule, _created = PayerRule.objects.get_or_create(
        region=w.county.region,
        priority=10,
        defaults={"payer": "region", "valid_from": dt.date(2024, 1, 1)},
    )
    return {
        "customer_id": customer.pk,
        "centre_id": centre.pk,
        "list_id": price_list.pk,
        "rule_id": rule.pk,
    }


def _pick(*names: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {k: v for k, v in _billing(w).items() if k in names}


# --- The economy desk's billing runs (issue 14 points 4 and 6) -------------------------------


def _billing_run(w: World, status: str = "preview") -> dict[str, int]:
    """A run of January 2025 (a preview by default) with one rent line for patient A's unit."""
    from decimal import Decimal

    from lyfta.billing.models import BillingLine, BillingRun, Customer

    customer, _created = Customer.objects.get_or_create(
        provider=w.county.municipality,
        defaults={
            "customer_number": "K-ACCESS",
            "invoice_street": "Kommunvägen 1",
            "invoice_postal_code": "65200",
            "invoice_city": "Testköping",
        },
    )
    billie = w.people["billie"].user
    if status == "locked":
        # One locked run a month: a page walk that asks again gets the same one.
        locked = BillingRun.objects.filter(status="locked").first()
        if locked is not None:
            return {"pk": locked.pk}
    run = BillingRun.objects.create(
        month=dt.date(2025, 1, 1), status=BillingRun.Status.PREVIEW, created_by=billie
    )
    BillingLine.unscoped.create(
        run=run,
        kind=BillingLine.Kind.RENT,
        customer=customer,
        unit=w.county.unit_a,
        patient=w.patient_a,
        period_from=dt.date(2025, 1, 1),
        period_until=dt.date(2025, 1, 31),
        unit_price=Decimal("310.00"),
        amount=Decimal("310.00"),
        text="T000001 Hyra 2025-01-01–2025-01-31 (31 av 31 dagar)",
        explanation="betalare: förskrivande enhet (ingen regel gäller)",
    )
    if status == "locked":
        BillingRun.objects.filter(pk=run.pk).update(
            status=status, approved_by=billie, approved_at=timezone.now()
        )
    return {"pk": run.pk}


def _billing_line(w: World) -> dict[str, int]:
    """A line of a locked run (what a correction starts from)."""
    from lyfta.billing.models import BillingLine

    run = _billing_run(w, "locked")["pk"]
    line = BillingLine.unscoped.filter(run_id=run).values_list("pk", flat=True).first()
    return {"pk": line or 0}


BILLING_POST = everyone(DENIED, billie=FOUND)


def _api_client(w: World) -> dict[str, int]:
    """A machine client of the API (issue 18) at unit A, requested by the system administrator
    and approved by unit A's provider's user administrator (R91: its role reaches patients)."""
    from lyfta.accounts.api_clients import api_client_request
    from lyfta.accounts.models import ApiClient
    from lyfta.accounts.services import privilege_request_approve

    client = ApiClient.objects.filter(name="Access table client").first()
    if client is None:
        request = api_client_request(
            actor=w.people["sigge"].actor,
            name="Access table client",
            unit=w.county.unit_a,
            role=Role.PRESCRIBER,
            scopes=["catalogue:read"],
            expires_on=timezone.localdate() + dt.timedelta(days=30),
            decision_reference="Test",
        )
        approved = privilege_request_approve(actor=w.people["ulla"].actor, request=request)
        client = approved.request.api_client
    assert client is not None
    return {"client_id": client.pk}


# The API (issue 18) takes a client's bearer token, never a session: every persona, signed in or
# not, gets 401 (lyfta/api/tests prove what clients with tokens get). Its OpenAPI document and
# index hold no data and are public; any other path under /api/ is a problem-details 404.
TOKEN_ONLY: dict[str, int | str] = dict.fromkeys(PERSONAS, 401)
API_PUBLIC: dict[str, int | str] = dict.fromkeys(PERSONAS, OK)
API_MISSING: dict[str, int | str] = dict.fromkeys(PERSONAS, MISSING)


def API_ID(name: str) -> Callable[[World], dict[str, Any]]:  # noqa: N802 - reads as the lambdas
    return lambda w: {name: 1}


def PA_FHIR(w: World) -> dict[str, Any]:  # noqa: N802 - reads as PA
    return {"resource_id": str(w.patient_a.pk)}


API_ROUTES: dict[str, list[Route]] = {
    "api:openapi-json": [Route(expect=API_PUBLIC)],
    "api:api-root": [Route(expect=API_PUBLIC)],
    "api:docs": [Route(expect=API_PUBLIC)],
    "api_not_found": [
        Route(expect=API_MISSING),
        Route(method="post", expect=API_MISSING),
    ],
    "api:articles": [Route(expect=TOKEN_ONLY)],
    "api:article": [Route(kwargs=API_ID("article_id"), expect=TOKEN_ONLY)],
    "api:article_availability": [Route(kwargs=API_ID("article_id"), expect=TOKEN_ONLY)],
    "api:iso_classes": [Route(expect=TOKEN_ONLY)],
    "api:suppliers": [Route(expect=TOKEN_ONLY)],
    "api:patient_lookup": [
        Route(method="post", data={"identifier": "194001019803"}, expect=TOKEN_ONLY)
    ],
    "api:register_events": [Route(method="post", expect=TOKEN_ONLY)],
    "api:holdings": [Route(kwargs=PA, expect=TOKEN_ONLY)],
    "api:orders": [Route(expect=TOKEN_ONLY)],
    "api:order_create": [Route(method="post", expect=TOKEN_ONLY)],
    "api:order": [Route(kwargs=lambda w: {"order_id": w.order_a.pk}, expect=TOKEN_ONLY)],
    "api:order_cancel": [
        Route(method="post", kwargs=lambda w: {"order_id": w.order_a.pk}, expect=TOKEN_ONLY)
    ],
    "api:pickups": [Route(expect=TOKEN_ONLY)],
    "api:pickup_create": [Route(method="post", expect=TOKEN_ONLY)],
    "api:pickup": [Route(kwargs=API_ID("pickup_id"), expect=TOKEN_ONLY)],
    "api:messages": [Route(expect=TOKEN_ONLY)],
    "api:message_read": [
        Route(method="post", kwargs=lambda w: {"message_id": w.message_lena.pk}, expect=TOKEN_ONLY)
    ],
    "api:workorders": [Route(expect=TOKEN_ONLY)],
    "api:workorder_create": [Route(method="post", expect=TOKEN_ONLY)],
    "api:workorder": [Route(kwargs=API_ID("workorder_id"), expect=TOKEN_ONLY)],
    "api:deviations": [Route(expect=TOKEN_ONLY)],
    "api:deviation_create": [Route(method="post", expect=TOKEN_ONLY)],
    "api:deviation": [Route(kwargs=API_ID("deviation_id"), expect=TOKEN_ONLY)],
    "api:billing_runs": [Route(expect=TOKEN_ONLY)],
    "api:billing_run": [Route(kwargs=API_ID("run_id"), expect=TOKEN_ONLY)],
    # FHIR R5 (issue 18 point 2): the API's tokens, so 401 to every persona; the capability
    # statement is public (no data); any other path under /fhir/ an OperationOutcome 404
    # (lyfta/fhir/tests prove what clients with tokens get).
    "fhir:metadata": [Route(expect=API_PUBLIC)],
    "fhir:deviceassociation_search": [Route(expect=TOKEN_ONLY)],
    "fhir:deviceassociation_post_search": [Route(method="post", expect=TOKEN_ONLY)],
    "fhir:device_search": [Route(expect=TOKEN_ONLY)],
    "fhir:device_post_search": [Route(method="post", expect=TOKEN_ONLY)],
    "fhir:device": [Route(kwargs=lambda w: {"resource_id": "1"}, expect=TOKEN_ONLY)],
    "fhir:devicedefinition_search": [Route(expect=TOKEN_ONLY)],
    "fhir:devicedefinition_post_search": [Route(method="post", expect=TOKEN_ONLY)],
    "fhir:devicedefinition": [Route(kwargs=lambda w: {"resource_id": "1"}, expect=TOKEN_ONLY)],
    "fhir:devicerequest_search": [Route(expect=TOKEN_ONLY)],
    "fhir:devicerequest_post_search": [Route(method="post", expect=TOKEN_ONLY)],
    "fhir:devicedispense_search": [Route(expect=TOKEN_ONLY)],
    "fhir:devicedispense_post_search": [Route(method="post", expect=TOKEN_ONLY)],
    "fhir:patient_get_search": [Route(expect=TOKEN_ONLY)],
    "fhir:patient_search": [Route(method="post", expect=TOKEN_ONLY)],
    "fhir:patient": [Route(kwargs=PA_FHIR, expect=TOKEN_ONLY)],
    "fhir:auditevent_search": [Route(expect=TOKEN_ONLY)],
    "fhir:auditevent": [Route(kwargs=lambda w: {"resource_id": "1"}, expect=TOKEN_ONLY)],
    "fhir:not_found": [
        Route(expect=API_MISSING),
        Route(method="post", expect=API_MISSING),
    ],
    # The system administrator's pages for the API's clients.
    "accounts:admin_api_clients": [Route(expect=everyone(DENIED, sigge=OK))],
    "accounts:admin_api_client_create": [
        Route(expect=everyone(DENIED, sigge=OK)),
        Route(method="post", data={"name": "Utan enhet"}, expect=everyone(DENIED, sigge=BAD)),
    ],
    "accounts:admin_api_client": [
        Route(kwargs=_api_client, expect=everyone(DENIED, sigge=OK)),
        Route(kwargs=lambda w: {"client_id": 999999}, expect=everyone(DENIED, sigge=MISSING)),
    ],
    "accounts:admin_api_client_revoke": [
        Route(method="post", kwargs=_api_client, expect=everyone(DENIED, sigge=FOUND)),
        Route(kwargs=_api_client, expect=everyone(GONE)),
    ],
}


ROUTES: dict[str, list[Route]] = {
    "start": [Route(expect=everyone(OK))],
    "healthz": [Route(expect=dict.fromkeys(PERSONAS, OK))],
    # Operational metrics: from the test client's loopback address, with or without a session
    # (refused elsewhere: lyfta/metrics/tests).
    "metrics": [Route(expect=dict.fromkeys(PERSONAS, OK))],
    "set_language": [
        Route(
            method="post",
            data={"language": "en", "next": "/"},
            expect=dict.fromkeys(PERSONAS, FOUND),
        )
    ],
    # The admin sends the anonymous to its login, which sends them on to Lyfta's.
    "admin:index": [Route(expect=everyone(DENIED, sigge=OK, anonymous=FOUND))],
    "accounts:login": [Route(expect={**everyone(FOUND), "anonymous": OK})],
    "accounts:logout": [Route(expect=everyone(GONE)), Route(method="post", expect=everyone(FOUND))],
    # OpenID Connect sign-in (decision 0017) is off unless an issuer is configured: not found.
    "accounts:oidc_start": [Route(expect=dict.fromkeys(PERSONAS, MISSING))],
    "accounts:oidc_callback": [Route(expect=dict.fromkeys(PERSONAS, MISSING))],
    "accounts:keepalive": [Route(method="post", expect=everyone(204))],
    "accounts:agreement": [Route(expect=everyone(OK))],
    "accounts:agreement_pdf": [Route(expect=everyone(OK))],
    # Voluntary enrolment right after signing in; those who have a device are done.
    "accounts:mfa_enrol": [Route(expect=everyone(OK, lena=FOUND, ulla=FOUND, sigge=FOUND))],
    "accounts:mfa_verify": [Route(expect=everyone(FOUND))],
    "accounts:choose_assignment": [Route(expect=everyone(OK))],
    "accounts:reauthenticate": [Route(expect=everyone(OK))],
    "accounts:password_change": [Route(expect=everyone(OK))],
    "accounts:password_set": [
        Route(kwargs=lambda w: {"code": "finns-inte"}, expect=dict.fromkeys(PERSONAS, MISSING))
    ],
    "accounts:sessions": [Route(expect=everyone(OK))],
    # Someone else's session id: the same 404 as a missing one, for everyone but its owner.
    "accounts:session_end": [
        Route(
            method="post",
            kwargs=lambda w: {"session_id": w.session_alice.pk},
            expect=everyone(MISSING, alice=FOUND),
        )
    ],
    "accounts:admin_users": [Route(expect=everyone(DENIED, ulla=OK))],
    "accounts:admin_user_create": [Route(expect=everyone(DENIED, ulla=OK))],
    "accounts:admin_user": [
        Route(
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=OK),
        ),
        # charlie works for the region: outside ulla's (municipal) scope.
        Route(
            kwargs=lambda w: {"user_id": w.people["charlie"].user.pk},
            expect=everyone(DENIED, ulla=MISSING),
        ),
    ],
    "accounts:admin_user_edit": [
        Route(
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=OK),
        )
    ],
    "accounts:admin_assignment_add": [
        Route(
            method="post",
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=BAD),
        )
    ],
    "accounts:admin_user_agreement_pdf": [
        Route(
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=OK),
        )
    ],
    "accounts:admin_user_action": [
        Route(
            method="post",
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk, "action": "sessions"},
            expect=everyone(DENIED, ulla=FOUND),
        )
    ],
    "accounts:admin_assignment_extend": [
        Route(
            kwargs=lambda w: {"assignment_id": w.people["alice"].assignment.pk},
            expect=everyone(MISSING, ulla=OK),
        ),
        Route(
            kwargs=lambda w: {"assignment_id": w.people["charlie"].assignment.pk},
            expect=everyone(MISSING),
        ),
    ],
    "accounts:admin_assignment_end": [
        Route(
            method="post",
            kwargs=lambda w: {"assignment_id": w.people["charlie"].assignment.pk},
            expect=everyone(MISSING),
        )
    ],
    "accounts:admin_privilege_requests": [Route(expect=everyone(DENIED, ulla=OK, sigge=OK))],
    "accounts:admin_privilege_approve": [
        Route(method="post", kwargs=ULLAS_REQUEST, expect=everyone(DENIED, sigge=FOUND)),
        Route(method="post", kwargs=SIGGES_REQUEST, expect=everyone(DENIED, ulla=MISSING)),
    ],
    "accounts:admin_privilege_reject": [
        Route(method="post", kwargs=ULLAS_REQUEST, expect=everyone(DENIED, sigge=FOUND)),
        Route(method="post", kwargs=SIGGES_REQUEST, expect=everyone(DENIED, ulla=MISSING)),
    ],
    "accounts:admin_privilege_cancel": [
        Route(method="post", kwargs=ULLAS_REQUEST, expect=everyone(DENIED, ulla=FOUND)),
        Route(
            method="post", kwargs=SIGGES_REQUEST, expect=everyone(DENIED, ulla=MISSING, sigge=FOUND)
        ),
    ],
    "accounts:admin_recertification": [Route(expect=everyone(DENIED, ulla=OK))],
    "accounts:admin_recertification_unit": [
        Route(kwargs=lambda w: {"unit_id": w.county.unit_a.pk}, expect=everyone(DENIED, ulla=OK)),
        Route(
            kwargs=lambda w: {"unit_id": w.county.unit_b.pk}, expect=everyone(DENIED, ulla=MISSING)
        ),
    ],
    "organisations:providers": [Route(expect=everyone(OK))],
    "organisations:provider": [
        Route(kwargs=lambda w: {"provider_id": w.county.region.pk}, expect=everyone(OK))
    ],
    "organisations:provider_history": [
        Route(
            kwargs=lambda w: {"provider_id": w.county.region.pk},
            expect=everyone(DENIED, lena=OK, sigge=OK),
        )
    ],
    "organisations:unit": [
        Route(kwargs=lambda w: {"unit_id": w.county.unit_b.pk}, expect=everyone(OK))
    ],
    "organisations:unit_history": [
        Route(
            kwargs=lambda w: {"unit_id": w.county.unit_b.pk},
            expect=everyone(DENIED, lena=OK, sigge=OK),
        )
    ],
    "patients:search": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, OK)))],
    "patients:mine": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, OK)))],
    # Without a pending number there is nothing to show.
    "patients:outside": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, MISSING)))],
    # Emergency access is for the roles that give care at once, prescribers and unit managers
    # (decision 0021): the technician and the logistician are refused like the rest.
    "patients:emergency": [
        Route(expect=everyone(DENIED, **dict.fromkeys(("alice", "bob", "charlie"), MISSING)))
    ],
    "patients:emergency_end": [
        Route(
            method="post",
            kwargs=lambda w: {"emergency_id": w.emergency_alice.pk},
            expect=everyone(MISSING, alice=FOUND),
        )
    ],
    "patients:emergency_queue": [Route(expect=everyone(DENIED, lena=OK))],
    "patients:register": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, OK)))],
    "patients:detail": [
        Route(kwargs=PA, expect=everyone(MISSING, alice=OK, bob=OK)),
        # The region patient: only charlie's unit has a relationship; for alice it is another
        # provider's object.
        Route(kwargs=PB, expect=everyone(MISSING, charlie=OK)),
        Route(kwargs=lambda w: {"patient_id": 999999}, expect=everyone(MISSING)),
    ],
    "patients:correct": [
        Route(kwargs=PA, expect=everyone(MISSING, alice=OK, bob=OK)),
        Route(kwargs=PB, expect=everyone(MISSING, charlie=OK)),
    ],
    "patients:relationship_add": [
        Route(method="post", kwargs=PA, expect=everyone(MISSING, alice=FOUND, bob=FOUND)),
        Route(method="post", kwargs=PB, expect=everyone(MISSING, charlie=FOUND)),
    ],
    "patients:relationship_end": [
        Route(
            method="post",
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "relationship_id": w.relationship_a.pk},
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    "patients:consent_add": [
        Route(method="post", kwargs=PB, expect=everyone(MISSING, charlie=FOUND))
    ],
    "patients:consent_close": [
        Route(
            method="post",
            kwargs=lambda w: {
                "patient_id": w.patient_a.pk,
                "consent_id": w.consent_a.pk,
                "how": "end",
            },
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    "patients:block_add": [
        Route(method="post", kwargs=PB, expect=everyone(MISSING, charlie=FOUND))
    ],
    "patients:block_reveal": [
        Route(method="post", kwargs=PA, expect=everyone(MISSING, alice=FOUND, bob=FOUND))
    ],
    "patients:block_lift": [
        Route(
            method="post",
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "block_id": w.block_a.pk},
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    "patients:block_close": [
        Route(
            method="post",
            kwargs=lambda w: {
                "patient_id": w.patient_a.pk,
                "block_id": w.block_a.pk,
                "how": "lift",
            },
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    # Only unit managers name staff of protected patients; no persona here is one.
    "patients:protection": [Route(kwargs=PA, expect=everyone(DENIED))],
    "messages:inbox": [Route(expect=everyone(OK))],
    "messages:open": [
        Route(
            method="post",
            kwargs=lambda w: {"message_id": w.message_lena.pk},
            expect=everyone(FOUND),
        )
    ],
    "audit:cross_provider": [Route(expect=everyone(DENIED, lena=OK))],
    # Devices for patients: the prescriber's pages (orders:*). Patient routes follow the
    # patient's grant; the unit's orders are its own; the centre (logan) sees every order.
    "orders:holdings": [Route(kwargs=PA, expect=everyone(MISSING, alice=OK, bob=OK))],
    "orders:order_new": [
        Route(kwargs=PA, expect=everyone(DENIED, alice=OK, bob=OK, charlie=MISSING))
    ],
    "orders:articles": [Route(kwargs=PA, expect=everyone(DENIED, **dict.fromkeys(RX, OK)))],
    "orders:cart_add": [
        Route(
            method="post",
            kwargs=PA,
            expect=everyone(DENIED, alice=FOUND, bob=FOUND, charlie=MISSING),
        )
    ],
    "orders:cart_remove": [
        Route(
            method="post",
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "index": 0},
            expect=everyone(DENIED, **dict.fromkeys(RX, FOUND)),
        )
    ],
    # Saving the cart as a template reads the patient's grant first (a read-only one refuses
    # it, R50): charlie, with no route to patient A, gets what any other id would give.
    "orders:template_save": [
        Route(
            method="post",
            kwargs=PA,
            expect=everyone(DENIED, alice=FOUND, bob=FOUND, charlie=MISSING),
        )
    ],
    "orders:template_use": [
        Route(
            method="post",
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "template_id": 999999},
            expect=everyone(DENIED, **dict.fromkeys(RX, MISSING)),
        )
    ],
    "orders:pickup_new": [
        Route(kwargs=PA, expect=everyone(DENIED, alice=OK, bob=OK, charlie=MISSING))
    ],
    # A letter asking for devices back (issue 16 point 6): patient A's lift T0003 is lent.
    "orders:return_letter": [
        Route(
            kwargs=_patient_a_with_stock,
            data={"skal": "behov"},
            expect=everyone(DENIED, alice=OK, bob=OK, charlie=MISSING, logan=MISSING),
        ),
        Route(
            kwargs=PA,
            data={"skal": "garbage"},
            expect=everyone(DENIED, alice=FOUND, bob=FOUND, charlie=MISSING, logan=MISSING),
        ),
    ],
    "orders:loss_new": [
        Route(
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "loan_id": 999999},
            expect=everyone(DENIED, **dict.fromkeys(RX, MISSING)),
        )
    ],
    "orders:withdraw": [
        Route(kwargs=PA, expect=everyone(DENIED, alice=OK, bob=OK, charlie=MISSING))
    ],
    "orders:orders": [Route(expect=everyone(DENIED, logan=OK, **dict.fromkeys(RX, OK)))],
    "orders:order": [
        Route(
            kwargs=lambda w: {"order_id": w.order_a.pk},
            expect=everyone(DENIED, alice=OK, bob=OK, charlie=MISSING, logan=OK),
        ),
        Route(
            kwargs=lambda w: {"order_id": 999999},
            expect=everyone(DENIED, logan=MISSING, **dict.fromkeys(RX, MISSING)),
        ),
    ],
    "orders:loan_agreement": [
        Route(
            kwargs=lambda w: {"order_id": w.order_a.pk},
            expect=everyone(DENIED, alice=OK, bob=OK, charlie=MISSING, logan=OK),
        ),
        Route(
            kwargs=lambda w: {"order_id": 999999},
            expect=everyone(DENIED, logan=MISSING, **dict.fromkeys(RX, MISSING)),
        ),
    ],
    "orders:order_cancel": [
        Route(
            method="post",
            kwargs=lambda w: {"order_id": w.order_a.pk},
            expect=everyone(DENIED, alice=FOUND, bob=FOUND, charlie=MISSING, logan=FOUND),
        )
    ],
    "orders:line_cancel": [
        Route(
            method="post",
            kwargs=lambda w: {"order_id": w.order_a.pk, "line_id": 999999},
            expect=everyone(DENIED, alice=MISSING, bob=MISSING, charlie=MISSING, logan=MISSING),
        )
    ],
    "orders:pickup_cancel": [
        Route(method="post", kwargs=lambda w: {"pickup_id": 999999}, expect=everyone(MISSING))
    ],
    "orders:loss_found": [
        Route(method="post", kwargs=lambda w: {"report_id": 999999}, expect=everyone(MISSING))
    ],
    # Log review: lena reviews for the municipality; the region's objects are 404 for her.
    "review:overview": [Route(expect=REVIEWER_ONLY)],
    "review:search": [Route(expect=REVIEWER_ONLY), Route(data=PERIOD, expect=REVIEWER_ONLY)],
    "review:fhir": [
        Route(data=PERIOD, expect=REVIEWER_ONLY),
        Route(expect=everyone(DENIED, lena=BAD)),
    ],
    "review:entry": [
        Route(kwargs=lambda w: {"event_id": w.event_municipal.pk}, expect=REVIEWER_ONLY),
        Route(
            kwargs=lambda w: {"event_id": w.event_region.pk},
            expect=everyone(DENIED, lena=MISSING),
        ),
    ],
    "review:targeted": [
        Route(kwargs=lambda w: {"name": "need"}, data=PERIOD, expect=REVIEWER_ONLY),
        Route(kwargs=lambda w: {"name": "finns-inte"}, expect=everyone(DENIED, lena=MISSING)),
    ],
    "review:check_save": [
        Route(method="post", data={**PERIOD, "kind": "search"}, expect=everyone(DENIED, lena=FOUND))
    ],
    "review:sample_new": [Route(expect=REVIEWER_ONLY)],
    "review:check": [
        Route(kwargs=lambda w: {"check_id": w.check_municipal.pk}, expect=REVIEWER_ONLY),
        Route(
            kwargs=lambda w: {"check_id": w.check_region.pk}, expect=everyone(DENIED, lena=MISSING)
        ),
    ],
    "review:schedule": [
        Route(kwargs=lambda w: {"unit_id": w.county.unit_a.pk}, expect=REVIEWER_ONLY),
        Route(
            kwargs=lambda w: {"unit_id": w.county.unit_b.pk}, expect=everyone(DENIED, lena=MISSING)
        ),
    ],
    "review:extract_new": [Route(expect=REVIEWER_ONLY)],
    "review:extract": [
        Route(kwargs=lambda w: {"request_id": w.extract_municipal.pk}, expect=REVIEWER_ONLY),
        Route(
            kwargs=lambda w: {"request_id": w.extract_region.pk},
            expect=everyone(DENIED, lena=MISSING),
        ),
    ],
    "review:extract_file": [
        Route(
            kwargs=lambda w: {"request_id": w.extract_municipal.pk, "fmt": "csv"},
            expect=REVIEWER_ONLY,
        ),
        Route(
            kwargs=lambda w: {"request_id": w.extract_municipal.pk, "fmt": "exe"},
            expect=everyone(DENIED, lena=MISSING),
        ),
        Route(
            kwargs=lambda w: {"request_id": w.extract_region.pk, "fmt": "csv"},
            expect=everyone(DENIED, lena=MISSING),
        ),
    ],
    "review:extract_delivered": [
        Route(
            method="post",
            kwargs=lambda w: {"request_id": w.extract_region.pk},
            expect=everyone(DENIED, lena=MISSING),
        )
    ],
    # Failure statistics: the quality role's and the catalogue managers', whom no persona here
    # is (their answers are tested in lyfta/quality/tests/test_stats_*.py).
    "quality:stats": [
        Route(expect=everyone(DENIED)),
        Route(data={"gruppera": "patient", "fran": "x"}, expect=everyone(DENIED)),
    ],
    "quality:stats_csv": [Route(expect=everyone(DENIED))],
    "quality:stats_xlsx": [Route(expect=everyone(DENIED))],
    # Statistics (issue 17): the centre's desks and economy see every provider's figures; no
    # persona here is a unit manager (their provider-only view: lyfta/reports/tests).
    "reports:index": [Route(expect=STATISTICS)],
    "reports:figure": [
        Route(kwargs=lambda w: {"slug": "utlanade"}, expect=STATISTICS),
        Route(
            kwargs=lambda w: {"slug": "socialstyrelsen"}, data={"slag": "new"}, expect=STATISTICS
        ),
        Route(
            kwargs=lambda w: {"slug": "utlanade"},
            data={"fran": "x", "grupp": "patient"},
            expect=everyone(DENIED, logan=BAD, billie=BAD),
        ),
        Route(
            kwargs=lambda w: {"slug": "finns-inte"},
            expect=everyone(DENIED, logan=MISSING, billie=MISSING),
        ),
    ],
    "reports:export": [
        Route(kwargs=lambda w: {"slug": "leveranser", "fmt": "csv"}, expect=STATISTICS),
        Route(
            kwargs=lambda w: {"slug": "utlanade", "fmt": "exe"},
            expect=everyone(DENIED, logan=MISSING, billie=MISSING),
        ),
    ],
    "reports:chart": [
        Route(kwargs=lambda w: {"slug": "utlanade"}, expect=STATISTICS),
        Route(
            kwargs=lambda w: {"slug": "utlanade"},
            data={"fran": "x"},
            expect=everyone(DENIED, logan=BAD, billie=BAD),
        ),
        Route(
            kwargs=lambda w: {"slug": "finns-inte"},
            expect=everyone(DENIED, logan=MISSING, billie=MISSING),
        ),
    ],
    "reports:drill": [
        Route(kwargs=lambda w: {"article_id": ArticleFactory().pk}, expect=STATISTICS),
        Route(
            kwargs=lambda w: {"article_id": 999999},
            expect=everyone(DENIED, logan=MISSING, billie=MISSING),
        ),
    ],
    "reports:subscribe": [
        Route(
            method="post",
            kwargs=lambda w: {"slug": "utlanade"},
            data={"frequency": "monthly", "grupp": "unit"},
            expect=everyone(DENIED, logan=FOUND, billie=FOUND),
        ),
    ],
    "reports:unsubscribe": [
        Route(
            method="post",
            kwargs=lambda w: {"pk": 999999},
            expect=everyone(DENIED, logan=MISSING, billie=MISSING),
        ),
    ],
    # The invoice basis out (issue 14 point 5): the economy role's, from a locked run only.
    "billing:invoices": [Route(expect=everyone(DENIED, billie=OK))],
    "billing:invoice_export": [
        Route(kwargs=_invoice("pdf"), expect=everyone(DENIED, billie=OK)),
        Route(kwargs=_invoice("csv", locked=False), expect=everyone(DENIED, billie=MISSING)),
        Route(
            kwargs=lambda w: {"run_id": 999999, "customer_id": 999999, "fmt": "ubl"},
            expect=everyone(DENIED, billie=MISSING),
        ),
    ],
    "catalogue:articles": [
        Route(expect=CATALOGUE_VIEW),
        Route(data={"q": "rollator", "iso": "12 06"}, expect=CATALOGUE_VIEW),
    ],
    "catalogue:article": [
        Route(kwargs=lambda w: {"article_id": ArticleFactory().pk}, expect=CATALOGUE_VIEW),
        Route(kwargs=lambda w: {"article_id": 999999}, expect=CATALOGUE_MISSING),
    ],
    "catalogue:article_create": [
        Route(expect=everyone(DENIED)),
        Route(method="post", expect=everyone(DENIED)),
    ],
    "catalogue:article_edit": [
        Route(kwargs=lambda w: {"article_id": ArticleFactory().pk}, expect=everyone(DENIED)),
        Route(
            method="post",
            kwargs=lambda w: {"article_id": ArticleFactory().pk},
            expect=everyone(DENIED),
        ),
    ],
    "catalogue:article_assortment": [
        Route(
            method="post",
            kwargs=lambda w: {"article_id": ArticleFactory().pk},
            data={"in_assortment": "0"},
            expect=everyone(DENIED),
        )
    ],
    "catalogue:article_history": [
        Route(kwargs=lambda w: {"article_id": ArticleFactory().pk}, expect=everyone(DENIED))
    ],
    "catalogue:article_import": [
        Route(expect=everyone(DENIED)),
        Route(method="post", expect=everyone(DENIED)),
    ],
    "catalogue:import_template": [Route(expect=everyone(DENIED))],
    "catalogue:suppliers": [Route(expect=CATALOGUE_VIEW)],
    "catalogue:supplier": [
        Route(kwargs=lambda w: {"supplier_id": SupplierFactory().pk}, expect=CATALOGUE_VIEW),
        Route(kwargs=lambda w: {"supplier_id": 999999}, expect=CATALOGUE_MISSING),
    ],
    "catalogue:supplier_create": [Route(expect=everyone(DENIED))],
    "catalogue:supplier_edit": [
        Route(kwargs=lambda w: {"supplier_id": SupplierFactory().pk}, expect=everyone(DENIED))
    ],
    "catalogue:groups": [Route(expect=CATALOGUE_VIEW)],
    "catalogue:group": [
        Route(kwargs=lambda w: {"group_id": SubstitutionGroupFactory().pk}, expect=CATALOGUE_VIEW),
        Route(kwargs=lambda w: {"group_id": 999999}, expect=CATALOGUE_MISSING),
    ],
    "catalogue:group_create": [Route(expect=everyone(DENIED))],
    "catalogue:group_edit": [
        Route(kwargs=lambda w: {"group_id": SubstitutionGroupFactory().pk}, expect=everyone(DENIED))
    ],
    "catalogue:iso_classes": [Route(expect=CATALOGUE_VIEW)],
    "catalogue:iso_class": [
        Route(kwargs=lambda w: {"iso_id": IsoClassFactory().pk}, expect=CATALOGUE_VIEW),
        Route(kwargs=lambda w: {"iso_id": 999999}, expect=CATALOGUE_MISSING),
    ],
    "catalogue:iso_class_create": [Route(expect=everyone(DENIED))],
    "catalogue:iso_class_edit": [
        Route(kwargs=lambda w: {"iso_id": IsoClassFactory().pk}, expect=everyone(DENIED))
    ],
    # The centre's logistics pages: orders to pick and deliver, pick-ups, returns, reconditioning.
    "logistics:picklist": [
        Route(expect=LOGAN),
        Route(data={"dag": "garbage"}, expect=everyone(DENIED, logan=BAD)),
    ],
    "logistics:order": [
        Route(kwargs=lambda w: {"order_id": w.order_a.pk}, expect=LOGAN),
        Route(kwargs=lambda w: {"order_id": 999999}, expect=everyone(DENIED, logan=MISSING)),
    ],
    "logistics:delivery": [
        Route(kwargs=lambda w: {"order_id": w.order_a.pk}, expect=LOGAN),
        Route(kwargs=lambda w: {"order_id": 999999}, expect=everyone(DENIED, logan=MISSING)),
    ],
    "logistics:line_pick": [
        Route(method="post", kwargs=_on_order_a, expect=everyone(DENIED, logan=FOUND)),
        Route(
            method="post",
            kwargs=lambda w: {"order_id": w.order_a.pk, "line_id": 999999},
            expect=everyone(DENIED, logan=MISSING),
        ),
    ],
    "logistics:line_cancel": [
        Route(
            method="post",
            kwargs=_on_order_a,
            data={"reason": "Fel artikel"},
            expect=everyone(DENIED, logan=FOUND),
        )
    ],
    "logistics:deliver": [
        Route(
            method="post",
            kwargs=lambda w: {"order_id": w.order_a.pk},
            expect=everyone(DENIED, logan=BAD),
        )
    ],
    "logistics:delivery_failed": [
        Route(
            method="post",
            kwargs=lambda w: {"order_id": w.order_a.pk},
            expect=everyone(DENIED, logan=BAD),
        )
    ],
    "logistics:pickups": [Route(expect=LOGAN)],
    "logistics:pickup_collect": [
        Route(
            method="post",
            kwargs=lambda w: {"pickup_id": _devices(w)["pickup"]},
            expect=everyone(DENIED, logan=FOUND),
        ),
        Route(
            method="post",
            kwargs=lambda w: {"pickup_id": 999999},
            expect=everyone(DENIED, logan=MISSING),
        ),
    ],
    "logistics:returns": [Route(expect=LOGAN)],
    "logistics:return_receive": [
        Route(
            method="post",
            kwargs=lambda w: {"line_id": 999999},
            expect=everyone(DENIED, logan=MISSING),
        )
    ],
    # The condition of a returned device (issue 16 point 4): the drivers at collection, the
    # warehouse at receipt (logan is both); its photos only for them too (rows.may_see_conditions:
    # not customer service, the catalogue manager or the technician).
    "logistics:pickup_condition": [
        Route(kwargs=_pickup_line, expect=LOGAN),
        Route(method="post", kwargs=_pickup_line, expect=everyone(DENIED, logan=BAD)),
        Route(kwargs=lambda w: {"line_id": 999999}, expect=everyone(DENIED, logan=MISSING)),
    ],
    "logistics:return_condition": [
        Route(kwargs=_pickup_line, expect=LOGAN),
        Route(method="post", kwargs=_pickup_line, expect=everyone(DENIED, logan=BAD)),
        Route(kwargs=lambda w: {"line_id": 999999}, expect=everyone(DENIED, logan=MISSING)),
    ],
    "logistics:condition_photo": [
        Route(
            kwargs=lambda w: {"photo_id": 999999},
            expect=everyone(DENIED, logan=MISSING),
        )
    ],
    "logistics:reconditioning": [Route(expect=CENTRE_STOCK)],
    "logistics:recondition_done": [
        Route(
            method="post",
            kwargs=lambda w: {"item_id": _devices(w)["recon_item"]},
            data={"to": "T-HMC"},
            expect=everyone(DENIED, logan=BAD),
        ),
        Route(
            method="post",
            kwargs=lambda w: {"item_id": 999999},
            expect=everyone(DENIED, logan=MISSING),
        ),
    ],
    "logistics:scrap": [
        Route(
            method="post",
            kwargs=lambda w: {"item_id": _devices(w)["recon_item"]},
            data={"reason": "Sprucken ram"},
            expect=everyone(DENIED, logan=FOUND),
        )
    ],
    # Stock: seen by the centre's stock roles (logan, tekla), kept by logistics (logan).
    "stock:overview": [Route(expect=CENTRE_STOCK)],
    "stock:receive": [
        Route(expect=LOGAN),
        Route(method="post", expect=everyone(DENIED, logan=BAD)),
    ],
    "stock:stocktakes": [Route(expect=CENTRE_STOCK)],
    "stock:stocktake": [
        Route(kwargs=lambda w: {"location_id": _devices(w)["central"]}, expect=LOGAN),
        Route(kwargs=lambda w: {"location_id": 999999}, expect=everyone(DENIED, logan=MISSING)),
    ],
    "stock:stores": [Route(expect=CENTRE_STOCK)],
    "stock:store": [
        Route(kwargs=lambda w: {"store_id": _devices(w)["buffer"]}, expect=CENTRE_STOCK),
        # The central warehouse is no buffer store.
        Route(
            kwargs=lambda w: {"store_id": _devices(w)["central"]},
            expect=everyone(DENIED, logan=MISSING, tekla=MISSING),
        ),
    ],
    "stock:store_level": [
        Route(
            method="post",
            kwargs=lambda w: {"store_id": _devices(w)["buffer"]},
            expect=everyone(DENIED, logan=BAD),
        )
    ],
    "stock:store_refill": [
        Route(
            method="post",
            kwargs=lambda w: {"store_id": _devices(w)["buffer"]},
            expect=everyone(DENIED, logan=BAD),
        )
    ],
    "stock:item_find": [
        Route(data={"nummer": "x y"}, expect=everyone(DENIED, logan=BAD, tekla=BAD))
    ],
    # The item card: the centre's stock roles, and care roles whose patients have had the item.
    "stock:item": [
        Route(
            kwargs=_lent_item,
            expect=everyone(DENIED, logan=OK, tekla=OK, alice=OK, bob=OK, charlie=MISSING),
        ),
        Route(
            kwargs=lambda w: {"individual_number": "0000000"},
            expect=everyone(DENIED, **dict.fromkeys(CARE, MISSING)),
        ),
    ],
    # Reservations (issue 16 point 5): made and cancelled by the centre's logistics only.
    "stock:item_reserve": [
        Route(
            method="post",
            kwargs=lambda w: {"individual_number": _recon_number(w)},
            data={"until": "garbage"},
            expect=everyone(DENIED, logan=BAD),
        ),
        Route(
            method="post",
            kwargs=lambda w: {"individual_number": "0000000"},
            expect=everyone(DENIED, logan=MISSING),
        ),
    ],
    "stock:reservation_cancel": [
        Route(method="post", kwargs=_reservation, expect=everyone(DENIED, logan=FOUND)),
        Route(
            method="post",
            kwargs=lambda w: {"reservation_id": 999999},
            expect=everyone(DENIED, logan=MISSING),
        ),
    ],
    "stock:recall": [
        Route(expect=LOGAN),
        Route(data={"artikel": "T-LYFT"}, kwargs=_with_stock, expect=LOGAN),
    ],
    "stock:recall_csv": [
        Route(data={"artikel": "T-LYFT"}, kwargs=_with_stock, expect=LOGAN),
        Route(expect=everyone(DENIED, logan=BAD)),
    ],
    "quality:campaigns": [
        Route(expect=CAMPAIGN_WORK),
        Route(data={"avslutade": "on"}, expect=CAMPAIGN_WORK),
    ],
    "quality:campaign_new": [
        Route(expect=everyone(DENIED)),
        Route(method="post", expect=everyone(DENIED)),
    ],
    "quality:campaign": [
        Route(kwargs=_campaign, expect=CAMPAIGN_WORK),
        Route(
            kwargs=_campaign,
            data={"status": "garbage"},
            expect=everyone(DENIED, logan=BAD, tekla=BAD),
        ),
        Route(
            kwargs=lambda w: {"number": "KAM-0000"},
            expect=everyone(DENIED, logan=MISSING, tekla=MISSING),
        ),
    ],
    "quality:campaign_find": [
        Route(
            kwargs=_campaign,
            data={"nummer": "x"},
            expect=everyone(DENIED, logan=FOUND, tekla=FOUND),
        ),
    ],
    "quality:campaign_device": [
        Route(
            kwargs=lambda w: {**_campaign(w), "device": 999999},
            expect=everyone(DENIED, logan=MISSING, tekla=MISSING),
        ),
        Route(
            method="post",
            kwargs=lambda w: {**_campaign(w), "device": 999999},
            expect=everyone(DENIED, logan=MISSING, tekla=MISSING),
        ),
    ],
    "quality:campaign_close": [
        Route(method="post", kwargs=_campaign, expect=everyone(DENIED)),
    ],
    "quality:campaign_report": [Route(kwargs=_campaign, expect=CAMPAIGN_WORK)],
    # The technicians' desk, inspections: plans, the due list, the day plan, the protocol.
    "workorders:plans": [Route(expect=TEKLA)],
    "workorders:plan_new": [
        Route(expect=TEKLA),
        Route(method="post", expect=everyone(DENIED, tekla=BAD)),
    ],
    "workorders:plan_edit": [
        Route(kwargs=_plan, expect=TEKLA),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, tekla=MISSING)),
        Route(method="post", kwargs=_plan, expect=everyone(DENIED, tekla=BAD)),
    ],
    "workorders:due": [
        Route(expect=TEKLA),
        Route(kwargs=_with_stock, data={"omrade": "652"}, expect=TEKLA),
        Route(data={"manad": "2026-13"}, expect=everyone(DENIED, tekla=BAD)),
    ],
    "workorders:dayplan": [
        Route(expect=TEKLA),
        Route(data={"dag": "garbage"}, expect=everyone(DENIED, tekla=BAD)),
    ],
    "workorders:inspect": [
        Route(kwargs=_inspection_order, expect=TEKLA),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, tekla=MISSING)),
        Route(method="post", kwargs=_inspection_order, expect=everyone(DENIED, tekla=BAD)),
    ],
    # The technicians' desk: the technician's queue, a unit's work orders, one work order and its
    # steps (the unit that asked sees its own; another provider's is the same 404 as a missing
    # one), the fault report from the holdings and a new work order from the item card.
    "workorders:queue": [
        Route(expect=everyone(DENIED, tekla=OK)),
        Route(data={"omrade": "x"}, expect=everyone(DENIED, tekla=BAD)),
    ],
    "workorders:unit_list": [Route(expect=everyone(DENIED, **dict.fromkeys(WO_ASK, OK)))],
    "workorders:report_fault": [
        Route(
            kwargs=_lift_loan, expect=everyone(DENIED, **{**WO_ASK_MISSING, "alice": OK, "bob": OK})
        ),
        Route(
            method="post",
            kwargs=_lift_loan,
            expect=everyone(DENIED, **{**WO_ASK_MISSING, "alice": BAD, "bob": BAD}),
        ),
        Route(
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "loan_id": 999999},
            expect=everyone(DENIED, **WO_ASK_MISSING),
        ),
    ],
    "workorders:new_for_item": [
        Route(kwargs=_lent_item, expect=everyone(DENIED, tekla=OK, logan=OK)),
        Route(
            method="post",
            kwargs=_lent_item,
            expect=everyone(DENIED, tekla=BAD, logan=BAD),
        ),
        Route(
            kwargs=lambda w: {"individual_number": "0000000"},
            expect=everyone(DENIED, tekla=MISSING, logan=MISSING),
        ),
    ],
    "workorders:detail": [
        Route(kwargs=_work_order, expect=WO_SEEN),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, **WO_ASK_MISSING)),
    ],
    # The letter announces an inspection; a repair has none (the same 404 as a missing one).
    "workorders:letter": [
        Route(kwargs=_inspection_order, expect=WO_SEEN),
        Route(
            kwargs=_work_order,
            expect=everyone(
                DENIED, **{**WO_ASK_MISSING, "alice": MISSING, "bob": MISSING, "tekla": MISSING}
            ),
        ),
    ],
    "workorders:attachment": [
        Route(
            kwargs=lambda w: {**_work_order(w), "attachment_id": 999999},
            expect=everyone(DENIED, **WO_ASK_MISSING),
        )
    ],
    **{
        f"workorders:{step}": [Route(method="post", kwargs=_work_order, expect=WO_TECH_STEP)]
        for step in (
            "plan",
            "start",
            "wait_for_parts",
            "report",
            "use_part",
            "done",
            "reopen",
            "close",
            "estimate",
        )
    },
    "workorders:approve": [Route(method="post", kwargs=_work_order, expect=WO_APPROVE_STEP)],
    **{
        f"workorders:{step}": [Route(method="post", kwargs=_work_order, expect=WO_STEP)]
        for step in ("cancel", "attach")
    },
    # The quality desk: reporting a deviation from the thing it happened with (the thing is
    # looked up through its own access: another unit's is the same 404 as a missing one).
    "quality:deviations": [
        Route(expect=everyone(DENIED, **dict.fromkeys(DEV_REPORT, OK))),
        Route(data={"status": "x"}, expect=everyone(DENIED, **dict.fromkeys(DEV_REPORT, BAD))),
    ],
    "quality:deviation": [
        Route(kwargs=_deviation, expect=DEV_SEEN),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, **DEV_MISSING)),
    ],
    "quality:deviation_label": [
        Route(kwargs=_deviation, expect=DEV_SEEN),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, **DEV_MISSING)),
    ],
    **{
        f"quality:deviation_{step}": [Route(method="post", kwargs=_deviation, expect=DEV_STEP)]
        for step in ("investigate", "decide", "close", "quarantine", "incident", "identity")
    },
    **{
        f"quality:{name}": [
            Route(method=method, kwargs=_report(recipient), expect=QUALITY_ONLY)
            for recipient in ("manufacturer", "mpa")
        ]
        for name, method in (("report_pdf", "get"), ("report_json", "get"), ("report_sent", "post"))
    },
    "quality:complaint_from_deviation": [
        Route(kwargs=_deviation, expect=QUALITY_ONLY),
        Route(method="post", kwargs=_deviation, expect=QUALITY_ONLY),
    ],
    "billing:customers": [Route(expect=BILLING_ONLY)],
    "billing:customer": [
        Route(kwargs=_pick("customer_id"), expect=BILLING_ONLY),
        Route(kwargs=lambda w: {"customer_id": 999999}, expect=BILLING_MISSING),
    ],
    "billing:customer_edit": [
        Route(kwargs=_pick("customer_id"), expect=BILLING_ONLY),
        Route(method="post", kwargs=_pick("customer_id"), expect=BILLING_BAD),
    ],
    "billing:cost_centre_new": [
        Route(method="post", kwargs=_pick("customer_id"), expect=BILLING_BAD),
    ],
    "billing:cost_centre_edit": [
        Route(kwargs=_pick("customer_id", "centre_id"), expect=BILLING_ONLY),
        Route(method="post", kwargs=_pick("customer_id", "centre_id"), expect=BILLING_BAD),
        Route(kwargs=lambda w: {"customer_id": 999999, "centre_id": 1}, expect=BILLING_MISSING),
    ],
    "billing:unit_cost_centre": [
        Route(method="post", kwargs=_pick("customer_id"), expect=BILLING_BAD),
    ],
    "billing:price_lists": [
        Route(expect=BILLING_ONLY),
        Route(method="post", expect=BILLING_BAD),
    ],
    "billing:price_list": [
        Route(kwargs=_pick("list_id"), expect=BILLING_ONLY),
        Route(kwargs=lambda w: {"list_id": 999999}, expect=BILLING_MISSING),
    ],
    "billing:price_list_edit": [
        Route(kwargs=_pick("list_id"), expect=BILLING_ONLY),
        Route(method="post", kwargs=_pick("list_id"), expect=BILLING_BAD),
    ],
    "billing:payer_rules": [Route(expect=BILLING_ONLY)],
    "billing:payer_rule_new": [
        Route(expect=BILLING_ONLY),
        Route(method="post", expect=BILLING_BAD),
    ],
    "billing:payer_rule_edit": [
        Route(kwargs=_pick("rule_id"), expect=BILLING_ONLY),
        Route(method="post", kwargs=_pick("rule_id"), expect=BILLING_BAD),
        Route(kwargs=lambda w: {"rule_id": 999999}, expect=BILLING_MISSING),
    ],
    "billing:payer_rule_end": [
        Route(method="post", kwargs=_pick("rule_id"), expect=everyone(DENIED, billie=FOUND)),
    ],
    "billing:who_pays": [
        Route(expect=BILLING_ONLY),
        Route(kwargs=_with_stock, data={"individ": "T0003"}, expect=BILLING_ONLY),
        Route(data={"lan": "999999"}, expect=BILLING_MISSING),
        Route(data={"manad": "2026-13"}, expect=BILLING_BAD),
    ],
    "billing:housing": [
        Route(kwargs=PA, expect=everyone(MISSING, alice=OK, bob=OK)),
        Route(method="post", kwargs=PA, expect=everyone(MISSING, alice=BAD, bob=BAD)),
        Route(kwargs=PB, expect=everyone(MISSING, charlie=OK)),
        Route(kwargs=lambda w: {"patient_id": 999999}, expect=everyone(MISSING)),
    ],
    "quality:complaints": [Route(expect=QUALITY_ONLY)],
    # The economy desk's billing runs: the economy role's only (billie); no page names a patient.
    "billing:runs": [
        Route(expect=BILLING_ONLY),
        Route(method="post", data={"month": "2025-01"}, expect=BILLING_POST),
        Route(method="post", data={"month": "januari"}, expect=everyone(DENIED, billie=BAD)),
    ],
    "billing:run": [
        Route(kwargs=_billing_run, expect=BILLING_ONLY),
        Route(kwargs=lambda w: _billing_run(w, "locked"), expect=BILLING_ONLY),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, billie=MISSING)),
    ],
    "billing:run_progress": [
        Route(kwargs=_billing_run, expect=BILLING_ONLY),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, billie=MISSING)),
    ],
    **{
        f"billing:run_{step}": [
            Route(method="post", kwargs=_billing_run, expect=BILLING_POST),
            Route(method="get", kwargs=_billing_run, expect=everyone(GONE)),
            Route(
                method="post",
                kwargs=lambda w: {"pk": 999999},
                expect=everyone(DENIED, billie=MISSING),
            ),
        ]
        for step in ("approve", "recompute", "discard")
    },
    "billing:lines": [
        Route(expect=BILLING_ONLY),
        # A number in the URL is dropped by a redirect before anything is read (R34).
        Route(data={"personnummer": "194001019803"}, expect=BILLING_POST),
        Route(method="post", data={"personnummer": "194001019803"}, expect=BILLING_ONLY),
        Route(
            method="post", data={"personnummer": "19400101"}, expect=everyone(DENIED, billie=BAD)
        ),
        Route(method="post", data={"individ": "1"}, expect=BILLING_ONLY),
    ],
    "billing:line_correct": [
        Route(kwargs=_billing_line, expect=BILLING_ONLY),
        Route(method="post", kwargs=_billing_line, expect=everyone(DENIED, billie=BAD)),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, billie=MISSING)),
    ],
    "billing:unbilled": [Route(expect=BILLING_ONLY)],
    "quality:complaint_new": [
        Route(expect=QUALITY_ONLY),
        Route(method="post", expect=QUALITY_ONLY),
    ],
    "quality:complaint": [
        Route(kwargs=_complaint, expect=QUALITY_ONLY),
        Route(method="post", kwargs=_complaint, expect=QUALITY_ONLY),
    ],
    "quality:report_loan": [
        Route(kwargs=_lift_loan, expect=DEV_SEEN),
        Route(
            method="post",
            kwargs=_lift_loan,
            expect=everyone(DENIED, **{**DEV_MISSING, "alice": BAD, "bob": BAD}),
        ),
        Route(
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "loan_id": 999999},
            expect=everyone(DENIED, **DEV_MISSING),
        ),
    ],
    "quality:report_item": [
        Route(
            kwargs=_lent_item,
            expect=everyone(DENIED, **{**DEV_MISSING, "alice": OK, "bob": OK})
            | {"tekla": OK, "logan": OK},
        ),
        Route(
            kwargs=lambda w: {"individual_number": "0000000"},
            expect=everyone(DENIED, **DEV_MISSING),
        ),
    ],
    "quality:report_workorder": [
        Route(
            kwargs=_work_order,
            expect=everyone(DENIED, **{**DEV_MISSING, "alice": OK, "bob": OK, "tekla": OK}),
        ),
        Route(kwargs=lambda w: {"pk": 999999}, expect=everyone(DENIED, **DEV_MISSING)),
    ],
    "quality:report_order": [
        Route(
            kwargs=lambda w: {"order_id": w.order_a.pk},
            expect=everyone(DENIED, **{**DEV_MISSING, "alice": OK, "bob": OK, "logan": OK}),
        ),
        Route(
            method="post",
            kwargs=lambda w: {"order_id": w.order_a.pk},
            expect=everyone(DENIED, **{**DEV_MISSING, "alice": BAD, "bob": BAD, "logan": BAD}),
        ),
        Route(kwargs=lambda w: {"order_id": 999999}, expect=everyone(DENIED, **DEV_MISSING)),
    ],
    "quality:report_pickup": [
        Route(
            kwargs=_pickup,
            expect=everyone(DENIED, **{**DEV_MISSING, "alice": OK, "bob": OK, "logan": OK}),
        ),
        Route(kwargs=lambda w: {"pickup_id": 999999}, expect=everyone(DENIED, **DEV_MISSING)),
    ],
}


ROUTES.update(API_ROUTES)


def url_names() -> list[str]:
    names: list[str] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    names.append("admin:index")  # the admin is one entry: its index is the gate
                    continue
                ns = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                walk(pattern.url_patterns, ns)
            elif pattern.name:
                names.append(prefix + pattern.name)

    walk(get_resolver().url_patterns, "")
    return sorted(set(names))


def test_r35_every_route_has_an_entry_in_the_access_table() -> None:
    missing = [name for name in url_names() if name not in ROUTES]
    assert not missing, f"routes without an access-table entry: {missing}"
    stale = [name for name in ROUTES if name not in url_names()]
    assert not stale, f"entries for routes that no longer exist: {stale}"


CASES = [
    (name, i, persona)
    for name, routes in ROUTES.items()
    for i in range(len(routes))
    for persona in PERSONAS
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "index", "persona"), CASES, ids=[f"{n}[{i}]-{p}" for n, i, p in CASES]
)
def test_r35_each_persona_gets_the_answer_the_table_states(
    client: Client, world: World, name: str, index: int, persona: str
) -> None:
    route = ROUTES[name][index]
    if persona != "anonymous":
        signed_in(client, world.people[persona])
    url = reverse(name, kwargs=route.kwargs(world))
    response = getattr(client, route.method)(url, route.data)
    expected = route.expect.get(persona, route.default)
    if expected == LOGIN:
        assert response.status_code == FOUND, (name, persona, response.status_code)
        assert response["Location"].startswith(reverse("accounts:login")), response["Location"]
    else:
        assert response.status_code == expected, (
            name,
            persona,
            response.status_code,
            response.get("Location"),
        )


def test_make_persona_roles_cover_the_table() -> None:
    assert {
        Role.PRESCRIBER,
        Role.TECHNICIAN,
        Role.LOG_REVIEWER,
        Role.LOGISTICS,
        Role.BILLING,
        Role.USER_ADMIN,
        Role.SYSTEM_ADMIN,
    } <= set(Role.values)
    assert callable(make_persona)
