"""Menus and start pages without dead ends (issue 16, points 1 and 9): the main menu, the section
submenus and the start page's work queues show only pages the persona may open (`PAGES`,
declared once), every link they show answers 200 for every persona of the access table, the
declaration agrees with what each view enforces, and the system administrator's menu reaches the
administration pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import signed_in
from lyfta.core.tests.test_access_table import (
    World,
    _devices,
    _privilege_request,
    _work_order,
    world,  # noqa: F401 - the access table's world, as a fixture here too
)
from lyfta.home.navigation import NAVIGATION, PAGES, SUBMENUS, may_open

pytestmark = pytest.mark.django_db

PEOPLE = ["alice", "bob", "charlie", "tekla", "lena", "logan", "billie", "ulla", "sigge"]


@pytest.fixture
def busy(world: World) -> World:  # noqa: F811
    """The access table's world with work waiting in every queue."""
    from lyfta.accounts.models import Assignment
    from lyfta.messages.models import Message
    from lyfta.orders.models import Loan, Order, PickupLine, PickupOrder, Prescription
    from lyfta.patients.models import EmergencyAccess
    from lyfta.workorders.models import WorkOrder

    devices = _devices(world)
    today, now = timezone.localdate(), timezone.now()
    unit_a, alice = world.county.unit_a, world.people["alice"]
    Order.unscoped.create(
        number="KO-TEST-2",
        patient=world.patient_a,
        unit=unit_a,
        payer=unit_a,
        orderer=alice.user,
        delivery=Order.Delivery.PATIENT,
        status=Order.Status.PICKING,
        registered_at=now,
        expected_on=today - dt.timedelta(days=1),
        failed_delivery=True,
    )
    Prescription.unscoped.create(
        patient=world.patient_a,
        unit=unit_a,
        prescriber=alice.user,
        follow_up_on=today + dt.timedelta(days=3),
        created_at=now,
    )
    Loan.unscoped.filter(item__individual_number="T0003").update(
        expected_end=today + dt.timedelta(days=5)
    )
    PickupLine.unscoped.create(
        pickup=PickupOrder.unscoped.get(pk=devices["pickup"]),
        loan=Loan.unscoped.get(item__individual_number="T0003"),
        status=PickupLine.Status.COLLECTED,
    )
    EmergencyAccess.objects.create(
        user=alice.user,
        assignment=alice.assignment,
        patient=world.patient_a,
        reason_code="acute_care",
        reason_text="Akut fall i test",
        patient_cannot_consent=True,
        started_at=now,
        expires_at=now + dt.timedelta(hours=2),
    )
    WorkOrder.unscoped.filter(pk=_work_order(world)["pk"]).update(
        assignee=world.people["tekla"].user, done_due=today
    )
    _privilege_request(world, "bob", "sigge")  # ulla decides it
    _privilege_request(world, "lena", "ulla")  # sigge decides it
    Assignment.objects.filter(pk=world.people["bob"].assignment.pk).update(
        valid_until=today + dt.timedelta(days=10)
    )
    for person in world.people.values():
        Message.objects.create(
            recipient=person.user,
            kind="notice",
            subject=f"Till {person.user.username}",
            created_at=now,
            link="/",
        )
    return world


NAV = re.compile(r"<nav\b.*?</nav>", re.S)
QUEUES = re.compile(r'<div class="queues">.*?</div>\s*(?=<section class="card"|{)', re.S)
HREF = re.compile(r'href="([^"]+)"')


def _links(html: str, *, everywhere: bool = False) -> set[str]:
    """The menu links of a page (every <nav>) or, with `everywhere`, every link in <main>."""
    if everywhere:
        main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
        parts = [main]
    else:
        parts = NAV.findall(html)
    found = set()
    for part in parts:
        for href in HREF.findall(part):
            href = href.replace("&amp;", "&").split("#", 1)[0]
            if href.startswith("/") and not href.startswith("/i18n/"):
                found.add(href)
    return found


@pytest.mark.parametrize("persona", PEOPLE)
def test_r35_every_link_of_the_menus_and_the_start_page_opens(
    client: Client, busy: World, persona: str
) -> None:
    signed_in(client, busy.people[persona])
    start = client.get(reverse("start"))
    assert start.status_code == 200
    html = start.content.decode()
    menu = _links(html)
    queue_links = _links(html, everywhere=True)
    # The submenus of every section the menu leads to.
    submenu_links: set[str] = set()
    for url in sorted(menu):
        page = client.get(url)
        assert page.status_code == 200, (persona, url, page.status_code)
        submenu_links |= _links(page.content.decode())
    for url in sorted((queue_links | submenu_links) - menu):
        if "/admin/" in url:
            continue
        answer = client.get(url)
        assert answer.status_code == 200, (persona, url, answer.status_code)


@pytest.mark.parametrize("persona", PEOPLE)
def test_r35_the_declaration_agrees_with_what_each_page_enforces(
    client: Client, busy: World, persona: str
) -> None:
    """Each page in PAGES answers 200 to a persona `may_open` admits and 403 to one it does not:
    the menus' one declaration is the views' own rule, not a second one that could drift."""
    person = busy.people[persona]
    signed_in(client, person)
    wrong = {}
    for name in PAGES:
        answer = client.get(reverse(name)).status_code
        expected = 200 if may_open(person.actor, name) else 403
        if answer != expected:
            wrong[name] = (answer, expected)
    assert not wrong, (persona, wrong)


def test_r35_every_menu_entry_is_declared_once() -> None:
    entries = [*NAVIGATION, *(e for entries in SUBMENUS.values() for e in entries)]
    assert {e.url_name for e in entries} <= set(PAGES)
    assert len({e.url_name for e in NAVIGATION}) == len(NAVIGATION)


def test_the_system_administrator_reaches_the_administration_pages(
    client: Client,
    busy: World,
) -> None:
    page = signed_in(client, busy.people["sigge"]).get(reverse("start")).content.decode()
    assert reverse("admin:index") in _links(page)
    assert client.get(reverse("admin:index")).status_code == 200
    # Nobody else is led there.
    for persona in ("alice", "ulla", "lena"):
        client.logout()
        page = signed_in(client, busy.people[persona]).get(reverse("start")).content.decode()
        assert f'href="{reverse("admin:index")}"' not in page


def test_no_submenu_leads_the_technician_to_receiving_or_recalls(
    client: Client, busy: World
) -> None:
    """Before: the stock submenu showed Inleverans and Återkallelse to every role that sees
    stock, and the technician got a 403 there."""
    page = signed_in(client, busy.people["tekla"]).get(reverse("stock:overview"))
    links = _links(page.content.decode())
    assert reverse("stock:overview") in links
    assert reverse("stock:receive") not in links
    assert reverse("stock:recall") not in links
    client.logout()
    page = signed_in(client, busy.people["logan"]).get(reverse("stock:overview"))
    assert {reverse("stock:receive"), reverse("stock:recall")} <= _links(page.content.decode())


def _queue(html: str, key: str) -> str:
    return html.split(f'id="{key}"', 1)[1].split("</section>", 1)[0]


def test_each_role_starts_on_its_work(client: Client, busy: World) -> None:
    def start(persona: str) -> str:
        client.logout()
        return signed_in(client, busy.people[persona]).get("/").content.decode()

    alice = start("alice")
    orders = _queue(alice, "unit-orders")
    assert "KO-TEST-1" in orders and "Aina Apel" in orders  # with the patient's name
    assert reverse("orders:order", args=[busy.order_a.pk]) in orders
    assert "KO-TEST-2" in _queue(alice, "failed-deliveries")
    assert "Aina Apel" in _queue(alice, "follow-ups")
    assert "Aina Apel" in _queue(alice, "loans-ending")
    assert reverse("patients:detail", args=[busy.patient_a.pk]) in _queue(alice, "own-emergencies")
    assert "Till alice" in _queue(alice, "unread")
    # Another provider's prescriber sees none of unit A's work.
    charlie = start("charlie")
    assert "KO-TEST" not in charlie and "Aina" not in charlie
    logan = start("logan")
    assert "KO-TEST-1" in _queue(logan, "picks")
    assert "KO-TEST-2" in _queue(logan, "failed-deliveries")
    assert "HO-TEST-1" in _queue(logan, "returns")
    assert "T0002" in _queue(logan, "reconditioning")
    assert "Aina" not in logan  # the centre's queues name no patient
    tekla = start("tekla")
    assert "AO-TEST-1" in _queue(tekla, "work-orders")
    lena = start("lena")
    assert "2 nödåtkomster väntar på bedömning" in _queue(lena, "emergencies-waiting")
    assert "ingen körning startad" in _queue(start("billie"), "month-run")
    ulla = start("ulla")
    assert "Bob Bok" in _queue(ulla, "privilege-requests")
    assert "Bob Bok" in _queue(ulla, "assignments-ending")
    assert "Lena Logg" in _queue(start("sigge"), "privilege-requests")


def test_the_menu_counts_unread_messages_and_due_work(client: Client, busy: World) -> None:
    from lyfta.messages.models import Message

    def menu(persona: str) -> str:
        client.logout()
        html = signed_in(client, busy.people[persona]).get("/").content.decode()
        return str(NAV.findall(html)[0])

    alice = menu("alice")
    unread = r'Meddelanden <span class="count">1<span class="visually-hidden"> olästa'
    assert re.search(unread, alice)
    assert re.search(r'Beställningar <span class="count">1<', alice)  # the failed delivery
    # Of the centre's open orders only KO-TEST-1 has a line to pick.
    assert re.search(r'Logistik <span class="count">1<', menu("logan"))
    assert re.search(r'Teknik <span class="count">1<', menu("tekla"))
    assert re.search(r'Nödåtkomster att granska <span class="count">2<', menu("lena"))
    assert re.search(r'Begäranden om behörighet <span class="count">1<', menu("ulla"))
    Message.objects.update(read_at=timezone.now())
    assert "Meddelanden <span" not in menu("bob")


# --- Fast: bounded queries, however much work waits -------------------------------------------


def _more_work(w: World, n: int) -> None:
    from lyfta.messages.models import Message
    from lyfta.orders.models import Order, Prescription

    now, today = timezone.now(), timezone.localdate()
    unit_a, alice = w.county.unit_a, w.people["alice"]
    for i in range(n):
        Order.unscoped.create(
            number=f"KO-MORE-{i}",
            patient=w.patient_a,
            unit=unit_a,
            payer=unit_a,
            orderer=alice.user,
            delivery=Order.Delivery.PATIENT,
            status=Order.Status.REGISTERED,
            registered_at=now,
            expected_on=today,
            failed_delivery=i % 2 == 0,
        )
        Prescription.unscoped.create(
            patient=w.patient_a,
            unit=unit_a,
            prescriber=alice.user,
            follow_up_on=today,
            created_at=now,
        )
        for person in w.people.values():
            Message.objects.create(
                recipient=person.user, kind="notice", subject="Mer", created_at=now, link="/"
            )


START_QUERIES = 30  # the shell (session, actor, menu counts) and every queue of the busiest role


@pytest.mark.parametrize("persona", PEOPLE)
def test_each_roles_start_page_takes_a_bounded_number_of_queries(
    client: Client, busy: World, persona: str, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_in(client, busy.people[persona])
    client.get("/")  # the session's first request settles its own bookkeeping
    with CaptureQueriesContext(connection) as few:
        assert client.get("/").status_code == 200
    _more_work(busy, 12)
    with (
        django_assert_max_num_queries(START_QUERIES),
        CaptureQueriesContext(connection) as many,
    ):
        assert client.get("/").status_code == 200
    # No query per row: twelve more of everything cost no more queries.
    assert len(many) <= len(few), (persona, len(few), len(many))


def test_the_start_page_names_only_patients_the_unit_has_in_care(
    client: Client, busy: World
) -> None:
    """The unit's order for a patient it has no care relationship with is listed, unnamed."""
    from lyfta.audit.models import AuditEvent
    from lyfta.orders.models import Order

    unit_a, alice = busy.county.unit_a, busy.people["alice"]
    Order.unscoped.create(
        number="KO-TEST-3",
        patient=busy.patient_b,
        unit=unit_a,
        payer=unit_a,
        orderer=alice.user,
        delivery=Order.Delivery.PATIENT,
        status=Order.Status.REGISTERED,
        registered_at=timezone.now(),
        expected_on=timezone.localdate(),
    )
    html = signed_in(client, alice).get("/").content.decode()
    orders = _queue(html, "unit-orders")
    assert "KO-TEST-3" in orders and "Bertil" not in html
    assert "Aina Apel" in orders
    listed = AuditEvent.objects.filter(action="patient.listed", actor_id=alice.user.pk)
    assert set(listed.values_list("patient_id", flat=True)) == {busy.patient_a.pk}
