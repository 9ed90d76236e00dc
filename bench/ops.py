"""Benchmarks of the key operations on generated scale data (issue "Scale and faults" item 2).

Each operation runs many times; the table gives median and p95, the number of SQL queries one run
issues, and, for reads, the ratio of the application's time to the bare SQL that fetches the same
rows (what the operation cannot avoid). Pages are requested through Django's test client: the
whole middleware stack, the signed-in session and the audit record, without a network hop.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

REPEAT = 60


@dataclass
class Result:
    name: str
    samples: list[float]
    queries: int
    bare: list[float] | None = None
    replay: list[float] | None = None
    # The bare SQL plus the audit record the read must write before it returns (decision 0024).
    recorded: list[float] | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000

    @property
    def ratio(self) -> float | None:
        if not self.bare:
            return None
        return statistics.median(self.samples) / max(statistics.median(self.bare), 1e-6)

    @property
    def recorded_ratio(self) -> float | None:
        if not self.recorded:
            return None
        return statistics.median(self.samples) / max(statistics.median(self.recorded), 1e-6)

    @property
    def replay_ratio(self) -> float | None:
        if not self.replay:
            return None
        return statistics.median(self.samples) / max(statistics.median(self.replay), 1e-6)


def measure(
    name: str,
    run: Callable[[int], Any],
    *,
    repeat: int = REPEAT,
    bare: Callable[[int], Any] | None = None,
    prepare: Callable[[int], Any] | None = None,
    record: Callable[[int], Any] | None = None,
) -> Result:
    """Run `run(i)` `repeat` times (after `prepare(i)`, untimed), and `bare(i)` alike; with
    `record`, also the bare SQL followed by the audit record the read must write."""
    for i in range(3):  # warm caches and connections
        if prepare:
            prepare(10_000 + i)
        run(10_000 + i)
    samples, bare_samples, replay_samples, recorded_samples = [], [], [], []
    queries = 0
    for i in range(repeat):
        if prepare:
            prepare(i)
        if bare is not None:
            # Both sides timed warm: the rows are read once, untimed, before either is timed.
            # Timing the application first and the bare SQL second put the reading of cold rows
            # from disk on the application's side alone (the audit search at national size, a
            # patient's events in 13 monthly partitions: 9.1 ms against 2.5 ms so, 2.7 against
            # 2.4 warm).
            bare(i)
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            run(i)
            samples.append(time.perf_counter() - start)
        queries = len(captured)
        if bare is not None:
            start = time.perf_counter()
            bare(i)
            bare_samples.append(time.perf_counter() - start)
            if record is not None:
                start = time.perf_counter()
                record(i)
                recorded_samples.append(bare_samples[-1] + time.perf_counter() - start)
            replay_samples.append(replayed([q["sql"] for q in captured.captured_queries]))
    return Result(
        name,
        samples,
        queries,
        bare_samples or None,
        replay_samples or None,
        recorded_samples or None,
    )


class _Undo(Exception):
    pass


def replayed(statements: list[str]) -> float:
    """The time the database needs for exactly the statements one run issued (as the driver sent
    them, parameters bound), sent as raw SQL with no ORM, template or middleware around them. In a
    transaction rolled back afterwards, so that replayed writes leave nothing behind."""
    from django.db import transaction

    statements = [
        sql
        for sql in statements
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO", "BEGIN", "COMMIT"))
    ]
    elapsed = 0.0
    try:
        with transaction.atomic():
            raw = connection.cursor().cursor
            start = time.perf_counter()
            for statement in statements:
                raw.execute(statement.encode())
            elapsed = time.perf_counter() - start
            raise _Undo
    except _Undo:
        pass
    return elapsed


def sql(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def bare_record(actor: Any, patient_id: int | None, rows: int) -> list[tuple[Any, ...]]:
    """The audit events a read must write before it returns its rows (R57, R61), as one
    hand-written INSERT of `rows` events with the actor's columns, committed as the
    application's are: the part of a read path's bare SQL that Lyfta may not leave out
    (decision 0024)."""
    if rows <= 0:
        return []
    user, assignment = actor.user, actor.assignment
    unit = assignment.unit if assignment is not None else None
    one = (
        "(now(), 'patient.listed', 'granted', 'care', %s, %s, %s, '', %s, %s, %s, '', %s, %s, "
        "%s, NULL, NULL, 'patients.patient', %s, 'relationship', '', '', '', '', '', "
        "'{}'::jsonb, '{}'::jsonb)"
    )
    params = [
        user.pk, user.username, user.get_full_name(), assignment.role if assignment else "",
        assignment.pk if assignment else None, unit.provider_id if unit else None,
        unit.pk if unit else None, unit.name if unit else "", patient_id, str(patient_id or ""),
    ]  # fmt: skip
    return sql(
        "INSERT INTO audit_auditevent (occurred_at, action, outcome, purpose, actor_id, "  # noqa: S608 - a fixed text and a count
        "actor_username, actor_name, actor_title, actor_role, assignment_id, actor_provider_id, "
        "actor_provider_orgno, actor_unit_id, actor_unit_name, patient_id, owner_provider_id, "
        "owner_unit_id, resource_type, resource_id, legal_basis, legal_basis_ref, source_system, "
        "client_address, session_hash, request_id, changes, detail) VALUES "
        + ", ".join([one] * rows)
        + " RETURNING id",
        params * rows,
    )


class Fixture:
    """People and things the operations work on, picked from the generated data."""

    def __init__(self, rng: random.Random) -> None:
        from django.test import Client

        from lyfta.access.actor import Actor
        from lyfta.access.roles import Role
        from lyfta.accounts.models import Assignment
        from lyfta.orders.models import Loan

        self.rng = rng
        # A busy prescriber: a generated user of a unit with many patients on loan.
        from django.db.models import Count

        busiest = (
            Loan.unscoped.filter(ended_on__isnull=True)
            .values("unit_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("unit_id", flat=True)
            .first()
        )
        assignment = (
            Assignment.objects.filter(
                role=Role.PRESCRIBER, unit_id=busiest, user__username__regex=r"^s[0-9]{6}$"
            )
            .select_related("user", "unit__provider")
            .order_by("pk")
            .first()
        )
        assert assignment is not None, "no generated users: run generate_scale_data"
        self.prescriber = Actor(user=assignment.user, assignment=assignment)
        unit = assignment.unit
        self.unit = unit
        self.patients = list(
            Loan.unscoped.filter(unit=unit, ended_on__isnull=True)
            .values_list("patient_id", flat=True)
            .distinct()[:400]
        )
        from lyfta.patients.models import Patient

        self.identifiers = dict(
            Patient.objects.filter(pk__in=self.patients).values_list("pk", "identifier")
        )
        self.client = Client()
        _sign_in(self.client, assignment)
        self.logistics = _person(Role.LOGISTICS, "bench.logistik", centre=True)
        self.reviewer = _person(Role.LOG_REVIEWER, "bench.granskare", unit=unit)
        self.Actor = Actor


def _person(role: str, username: str, *, centre: bool = False, unit: Any = None) -> Any:
    from django.utils import timezone

    from lyfta.access.actor import Actor
    from lyfta.accounts.models import Assignment, User
    from lyfta.organisations.models import Unit

    if centre:
        unit = Unit.objects.filter(kind="centre").order_by("pk").first()
    today = timezone.localdate()
    user, _ = User.objects.get_or_create(
        username=username,
        defaults={"first_name": "Bench", "last_name": role, "valid_from": today},
    )
    assignment, _ = Assignment.objects.get_or_create(
        user=user,
        unit=unit,
        role=role,
        defaults={
            "purpose": "care",
            "valid_from": today - dt.timedelta(days=1),
            "valid_until": today + dt.timedelta(days=300),
            "decision_reference": "bench",
        },
    )
    return Actor(user=user, assignment=assignment)


def _sign_in(client: Any, assignment: Any) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from lyfta.accounts import sessions
    from lyfta.accounts.middleware import mfa_required
    from lyfta.accounts.services import agreement_accept

    agreement_accept(user=assignment.user)
    client.force_login(assignment.user)
    session = client.session
    now = time.time()
    session[sessions.AUTH_AT] = session[sessions.LAST_ACTIVITY] = session[sessions.REAUTH_AT] = now
    session["assignment_id"] = assignment.pk
    enrolled = TOTPDevice.objects.filter(user=assignment.user, confirmed=True).first()
    if enrolled is not None or mfa_required(assignment.user):
        # A log reviewer's role asks for a second factor, and so does any account that has set
        # one up: verified, as after a sign-in with it.
        device = enrolled or TOTPDevice.objects.create(
            user=assignment.user, name="bench", confirmed=True
        )
        session["otp_device_id"] = device.persistent_id
    session.save()


def item_url(number: str) -> str:
    """The item card's address (its view may move from stock to orders, issue 19 point 4)."""
    from django.urls import NoReverseMatch, reverse

    for name in ("stock:item", "orders:item"):
        try:
            return reverse(name, args=[number])
        except NoReverseMatch:
            continue
    raise NoReverseMatch("the item card")


def run_all(fx: Fixture, repeat: int = REPEAT) -> list[Result]:
    from django.urls import reverse
    from django.utils import timezone

    from lyfta.access.patients import grant_for
    from lyfta.audit.models import LogExtractRequest
    from lyfta.logreview import review
    from lyfta.orders import selectors, services
    from lyfta.orders.models import Loan, Order, PickupLine
    from lyfta.patients.models import Patient
    from lyfta.patients.selectors import grant_or_404, patient_search

    results: list[Result] = []
    patients = fx.patients
    pick = lambda i: patients[i % len(patients)]  # noqa: E731

    # Patient search by personnummer (the prescriber's own patients): the function, and the page
    # through the test client (middleware, session, menu and template included).
    def bare_search(i: int) -> Any:
        return sql(
            "SELECT p.id, p.first_name, p.last_name, p.identifier, p.protection, "
            "p.deceased_date FROM patients_patient p "
            "JOIN patients_carerelationship r ON r.patient_id = p.id "
            "WHERE p.identifier = %s AND r.unit_id = %s AND r.ended_at IS NULL",
            [fx.identifiers[pick(i)], fx.unit.pk],
        )

    results.append(
        measure(
            "patient search by personnummer",
            lambda i: patient_search(actor=fx.prescriber, query=fx.identifiers[pick(i)]),
            bare=bare_search,
            # The search and the one patient found (R57, R61).
            record=lambda i: bare_record(fx.prescriber, pick(i), 2),
            repeat=repeat,
        )
    )

    def search_page(i: int) -> None:
        response = fx.client.get(reverse("patients:search"), {"q": fx.identifiers[pick(i)]})
        assert response.status_code == 200, response.status_code

    results.append(
        measure("patient search page (HTTP)", search_page, bare=bare_search, repeat=repeat)
    )

    # The holdings: every row the page shows (issue 19: the bare SQL of the rows shown was the
    # loans alone; the page also shows the patient, whether a pick-up waits for a loan and
    # whether its item is overdue for inspection, open orders, unfound losses and open work
    # orders: one statement each, as a hand-written read would fetch them).
    from lyfta.workorders.models import WorkOrder

    def bare_holdings(i: int) -> Any:
        patient = pick(i)
        return (
            sql(
                "SELECT first_name, last_name, deceased_date, protection "
                "FROM patients_patient WHERE id = %s",
                [patient],
            ),
            sql(
                "SELECT l.id, l.started_on, l.ended_on, l.end_reason, l.billing_type, "
                "l.quantity, l.expected_end, l.rent_stop_on, l.unit_id, a.article_number, "
                "a.name, c.code, it.individual_number, it.out_of_use_since, u.name, "
                "pr.short_name, ol.order_id, EXISTS(SELECT 1 FROM orders_pickupline pl "
                "WHERE pl.loan_id = l.id AND pl.status = 'waiting'), EXISTS(SELECT 1 FROM "
                "workorders_iteminspection ii WHERE ii.item_id = l.item_id "
                "AND ii.next_due < CURRENT_DATE) FROM orders_loan l "
                "JOIN catalogue_article a ON a.id = l.article_id "
                "JOIN catalogue_isoclass c ON c.id = a.iso_class_id "
                "LEFT JOIN inventory_item it ON it.id = l.item_id "
                "JOIN organisations_unit u ON u.id = l.unit_id "
                "JOIN organisations_careprovider pr ON pr.id = u.provider_id "
                "LEFT JOIN orders_orderline ol ON ol.id = l.order_line_id "
                "WHERE l.patient_id = %s ORDER BY l.started_on DESC, l.id DESC",
                [patient],
            ),
            sql(
                "SELECT id, number, status, expected_on FROM orders_order "
                "WHERE patient_id = %s AND status = ANY(%s) ORDER BY registered_at DESC",
                [patient, list(Order.OPEN)],
            ),
            sql(
                "SELECT r.id, a.name, it.individual_number, r.lost_on FROM orders_lossreport r "
                "JOIN orders_loan l ON l.id = r.loan_id "
                "JOIN inventory_item it ON it.id = r.item_id "
                "JOIN catalogue_article a ON a.id = it.article_id "
                "WHERE l.patient_id = %s AND r.found_at IS NULL",
                [patient],
            ),
            sql(
                "SELECT w.id, w.number, w.kind, w.status, w.done_due, a.name, "
                "it.individual_number FROM workorders_workorder w "
                "LEFT JOIN inventory_item it ON it.id = w.item_id "
                "LEFT JOIN catalogue_article a ON a.id = it.article_id "
                "WHERE w.patient_id = %s AND w.status = ANY(%s) ORDER BY w.done_due, w.id",
                [patient, list(WorkOrder.OPEN)],
            ),
        )

    # The function: the access decision (with the patient), the selector and its audit record.
    def holdings_read(i: int) -> None:
        grant = grant_or_404(actor=fx.prescriber, patient_id=pick(i), session_ref="bench")
        selectors.holdings(actor=fx.prescriber, grant=grant)

    results.append(measure("holdings (function)", holdings_read, bare=bare_holdings, repeat=repeat))

    # The holdings page over HTTP, signed in, with its audit record.
    def holdings(i: int) -> None:
        response = fx.client.get(reverse("orders:holdings", args=[pick(i)]))
        assert response.status_code == 200, response.status_code

    results.append(measure("holdings page (HTTP)", holdings, bare=bare_holdings, repeat=repeat))

    # The item card of an item lent to one of the unit's patients: what the card shows a
    # prescriber (the item, its movements, loans with the patients, work orders and inspection
    # schedule; the bare SQL was the movements and loans alone).
    numbers = list(
        Loan.unscoped.filter(patient_id__in=patients, item__isnull=False).values_list(
            "item__individual_number", flat=True
        )[:200]
    )

    def bare_card(i: int) -> Any:
        number = numbers[i % len(numbers)]
        return (
            sql(
                "SELECT it.*, a.article_number, a.name, s.name FROM inventory_item it "
                "JOIN catalogue_article a ON a.id = it.article_id "
                "LEFT JOIN inventory_stocklocation s ON s.id = it.location_id "
                "WHERE it.individual_number = %s",
                [number],
            ),
            sql(
                "SELECT m.occurred_at, m.kind, m.note, m.reference, f.name, t.name, "
                "us.first_name, us.last_name FROM inventory_stockmovement m "
                "JOIN inventory_item it ON it.id = m.item_id "
                "LEFT JOIN inventory_stocklocation f ON f.id = m.from_location_id "
                "LEFT JOIN inventory_stocklocation t ON t.id = m.to_location_id "
                "LEFT JOIN accounts_user us ON us.id = m.actor_id "
                "WHERE it.individual_number = %s ORDER BY m.occurred_at, m.id",
                [number],
            ),
            sql(
                "SELECT l.started_on, l.ended_on, l.end_reason, u.name, p.first_name, "
                "p.last_name, p.identifier FROM orders_loan l "
                "JOIN inventory_item it ON it.id = l.item_id "
                "JOIN organisations_unit u ON u.id = l.unit_id "
                "JOIN patients_patient p ON p.id = l.patient_id "
                "WHERE it.individual_number = %s ORDER BY l.started_on, l.id",
                [number],
            ),
            sql(
                "SELECT w.number, w.kind, w.status, w.registered_at, w.done_at, w.done_due, "
                "w.actions, w.warranty, p.first_name, p.last_name, p.identifier "
                "FROM workorders_workorder w JOIN inventory_item it ON it.id = w.item_id "
                "LEFT JOIN patients_patient p ON p.id = w.patient_id "
                "WHERE it.individual_number = %s ORDER BY w.registered_at DESC, w.id DESC",
                [number],
            ),
            sql(
                "SELECT pl.name, s.next_due, s.last_done FROM workorders_iteminspection s "
                "JOIN inventory_item it ON it.id = s.item_id "
                "JOIN workorders_inspectionplan pl ON pl.id = s.plan_id "
                "WHERE it.individual_number = %s ORDER BY s.next_due",
                [number],
            ),
        )

    # How many events the card writes for each number measured (a patient listed per loan shown,
    # and the item viewed), counted once beforehand, untimed, for its bare INSERT.
    from lyfta.audit.models import AuditEvent

    written: dict[str, int] = {}
    for i in [*range(repeat), *range(10_000, 10_003)]:
        number = numbers[i % len(numbers)]
        if number not in written:
            before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            selectors.item_card(actor=fx.prescriber, individual_number=number)
            written[number] = AuditEvent.objects.filter(pk__gt=before).count()

    results.append(
        measure(
            "item card",
            lambda i: selectors.item_card(
                actor=fx.prescriber, individual_number=numbers[i % len(numbers)]
            ),
            bare=bare_card,
            record=lambda i: bare_record(fx.prescriber, None, written[numbers[i % len(numbers)]]),
            repeat=repeat,
        )
    )

    def card_page(i: int) -> None:
        response = fx.client.get(item_url(numbers[i % len(numbers)]))
        assert response.status_code == 200, response.status_code

    results.append(measure("item card page (HTTP)", card_page, bare=bare_card, repeat=repeat))

    # Order create over HTTP: the cart holds one in-stock article; the POST places the order.
    from lyfta.catalogue.models import Article

    in_stock = list(
        Article.objects.filter(items__status="in_stock", items__location__kind="central")
        .distinct()
        .values_list("pk", flat=True)[:50]
    )

    def cart(i: int) -> None:
        fx.client.post(
            reverse("orders:cart_add", args=[pick(i)]),
            {"article": in_stock[i % len(in_stock)], "quantity": 1},
        )

    def order_create(i: int) -> None:
        response = fx.client.post(
            reverse("orders:order_new", args=[pick(i)]),
            # The patients already hold devices of these classes: the prescriber says why
            # (without a reason the page asks for one, a 400).
            {"delivery": "patient", "over_limit_reason": "Byte (bench)"},
        )
        assert response.status_code == 302, response.status_code

    results.append(measure("order create (HTTP)", order_create, prepare=cart, repeat=repeat))

    # Delivery confirmation of a picked order.
    orders = list(
        Order.unscoped.filter(status="registered", lines__status="reserved").distinct()[
            : repeat + 3
        ]
    )

    def slot(i: int) -> int:
        # The warm-up runs (10 000 + n) take the slots after the measured ones.
        return i if i < 10_000 else repeat + (i - 10_000)

    def pick_lines(i: int) -> None:
        for line in orders[slot(i)].lines.filter(status="reserved"):
            services.line_pick(actor=fx.logistics, line=line)

    def deliver(i: int) -> None:
        services.order_deliver(actor=fx.logistics, order=orders[slot(i)])

    if len(orders) >= repeat + 3:
        results.append(measure("delivery confirmation", deliver, prepare=pick_lines, repeat=repeat))

    # Pick-up receipt: a pick-up is registered and collected first (untimed).
    open_loans = list(
        Loan.unscoped.filter(patient_id__in=patients, ended_on__isnull=True, item__isnull=False)
        .exclude(billing_type="sale")
        .select_related("patient", "article", "item", "unit")[: repeat + 3]
    )
    lines: dict[int, Any] = {}

    def collect(i: int) -> None:
        loan = open_loans[slot(i)]
        grant = grant_for(fx.prescriber, loan.patient, "bench")
        pickup = services.pickup_register(
            actor=fx.prescriber,
            grant=grant,
            pickup=services.PickupInput(loans=[loan]),  # type: ignore[arg-type]
        )
        services.pickup_collect(actor=fx.logistics, pickup=pickup)
        lines[i] = PickupLine.unscoped.get(pickup=pickup)

    if len(open_loans) >= repeat + 3:
        results.append(
            measure(
                "pick-up receipt",
                lambda i: services.pickup_receive(actor=fx.logistics, line=lines[i]),
                prepare=collect,
                repeat=repeat,
            )
        )

    # The log reviewer's searches.
    today = timezone.localdate()
    whole = review.SearchParams(today - dt.timedelta(days=800), today)

    def search(i: int) -> None:
        params = review.SearchParams(
            whole.period_from, whole.period_until, patient=patient_objs[i % len(patient_objs)]
        )
        review.review_search(actor=fx.reviewer, params=params)

    patient_objs = list(Patient.objects.filter(pk__in=patients[:100]))
    provider = fx.unit.provider_id
    results.append(
        measure(
            "audit search, one patient, whole log",
            search,
            bare=lambda i: sql(
                "SELECT * FROM audit_auditevent WHERE patient_id = %s AND (actor_provider_id = %s "
                "OR owner_provider_id = %s) ORDER BY occurred_at DESC, id DESC LIMIT 500",
                [patient_objs[i % len(patient_objs)].pk, provider, provider],
            ),
            repeat=repeat,
        )
    )
    # The log-search page as the reviewer opens it (issue 19): one patient, the form's default
    # period (the last 30 days) and a year, over HTTP signed in as the provider's log reviewer:
    # the search, its audit record and the accesses-per-day chart of the whole provider.
    from django.test import Client

    reviewer_client = Client()
    _sign_in(reviewer_client, fx.reviewer.assignment)
    for label, days in (("default period", 30), ("a year", 365)):

        def search_page(i: int, days: int = days) -> None:
            response = reviewer_client.get(
                reverse("review:search"),
                {
                    "period_from": (today - dt.timedelta(days=days)).isoformat(),
                    "period_until": today.isoformat(),
                    "patient": patient_objs[i % len(patient_objs)].identifier,
                },
            )
            assert response.status_code == 200, response.status_code
            assert b"<svg" in response.content

        results.append(measure(f"log-search page, {label} (HTTP)", search_page, repeat=repeat))

    month_start = (today - dt.timedelta(days=40)).replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    for name in ("need", "off_hours"):
        results.append(
            measure(
                f"targeted check '{name}', one unit-month",
                lambda i, name=name: review.targeted_check(
                    actor=fx.reviewer,
                    name=name,
                    period_from=month_start,
                    period_until=month_end,
                    unit=fx.unit,
                ),
                repeat=max(5, repeat // 6),
            )
        )

    requests = [
        LogExtractRequest.objects.create(
            provider_id=provider,
            patient=p,
            kind="patient",
            requested_at=today,
            due_at=today + dt.timedelta(days=30),
            requester="bench",
            period_from=today - dt.timedelta(days=365),
            period_until=today,
            received_by=fx.reviewer.user,
        )
        for p in patient_objs[:20]
    ]
    results.append(
        measure(
            "log extract rows, one patient-year",
            lambda i: review.extract_rows(requests[i % len(requests)]),
            bare=lambda i: sql(
                "SELECT * FROM audit_auditevent WHERE patient_id = %s AND occurred_at >= %s "
                "ORDER BY occurred_at, id",
                [requests[i % len(requests)].patient_id, today - dt.timedelta(days=365)],
            ),
            repeat=repeat,
        )
    )
    return results
