"""The inspection pages of the technicians' desk (issue 13 points 4, 5, 8): plans with their
protocols, the due list by area and month, the day plan by address and the inspection
protocol of a work order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.inventory.models import Item
from lyfta.orders.tests import conftest as orders_conftest
from lyfta.orders.tests.conftest import Shop
from lyfta.workorders import jobs, services
from lyfta.workorders.models import Inspection, InspectionPlan, ItemInspection, WorkOrder
from lyfta.workorders.tests.inspection_world import LIFT_POINTS, Desk, make_desk

pytestmark = pytest.mark.django_db
shop = orders_conftest.shop  # the orders tests' fixture


@pytest.fixture
def desk(shop: Shop, alice: Persona, logan: Persona, tekla: Persona) -> Desk:
    return make_desk(shop, alice, logan, tekla)


def _text(response: Any) -> str:
    return str(response.content.decode())


def _listed(actor: Persona) -> list[int]:
    return sorted(
        pk
        for pk in AuditEvent.objects.filter(
            action=Action.PATIENT_LISTED, actor_username=actor.user.username
        ).values_list("patient_id", flat=True)
        if pk is not None
    )


# --- Plans ------------------------------------------------------------------------------------


PLAN = {
    "name": "Taklyftar årlig",
    "article_number": "100001",
    "iso_code": "",
    "interval_months": "12",
    "checklist": "Lyftbandet\n\nNödsänkning\n",
    "active": "on",
}


def test_a_technician_creates_a_plan_that_schedules_the_items_it_covers(
    client: Client, shop: Shop, tekla: Persona
) -> None:
    signed_in(client, tekla)
    response = client.post(reverse("workorders:plan_new"), PLAN)
    assert response.status_code == 302, _text(response)
    plan = InspectionPlan.objects.get(name="Taklyftar årlig")
    assert plan.article == shop.lift and plan.checklist == ["Lyftbandet", "Nödsänkning"]
    assert ItemInspection.objects.filter(plan=plan).count() == 2  # the shop's two lifts
    assert AuditEvent.objects.filter(action=Action.INSPECTION_PLAN_SAVED).count() == 1
    listing = _text(client.get(reverse("workorders:plans")))
    assert "Taklyftar årlig" in listing
    # Edit: a half-yearly plan now, inactive.
    edit = reverse("workorders:plan_edit", args=[plan.pk])
    assert "Nödsänkning" in _text(client.get(edit))
    response = client.post(edit, {**PLAN, "interval_months": "6", "active": ""})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.interval_months == 6 and not plan.active


def test_the_plan_list_counts_covered_and_overdue_items(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    desk.due_on(desk.loan_saffle, timezone.localdate() - dt.timedelta(days=3))
    signed_in(client, tekla)
    page = _text(client.get(reverse("workorders:plans")))
    row = page.split("Personlyftar – årlig besiktning", 1)[1].split("</tr>", 1)[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    assert cells[2].strip() == "2"  # covers both lifts
    assert ">1<" in cells[3]  # one overdue


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval_months": "0"}, "Intervallet ska vara 1–120 månader."),
        ({"interval_months": "121"}, "Intervallet ska vara 1–120 månader."),
        ({"interval_months": "tolv"}, "Intervallet ska vara 1–120 månader."),
        ({"checklist": ""}, "Protokollet behöver minst en kontrollpunkt."),
        ({"checklist": " \n \n"}, "Protokollet behöver minst en kontrollpunkt."),
        ({"article_number": "999999"}, "Det finns ingen artikel med det numret."),
        ({"article_number": "", "iso_code": "99 99"}, "Det finns ingen ISO-klass med den koden."),
        ({"article_number": ""}, "En plan gäller en artikel eller en ISO-klass."),
        ({"name": ""}, "Ange planens namn."),
    ],
)
def test_bad_plan_input_gets_a_swedish_message(
    client: Client, shop: Shop, tekla: Persona, change: dict[str, str], message: str
) -> None:
    signed_in(client, tekla)
    response = client.post(reverse("workorders:plan_new"), {**PLAN, **change})
    assert response.status_code == 400
    assert message in _text(response)
    assert not InspectionPlan.objects.exists()


def test_only_technicians_manage_plans(client: Client, shop: Shop, alice: Persona) -> None:
    signed_in(client, alice)
    assert client.get(reverse("workorders:plans")).status_code == 403
    assert client.post(reverse("workorders:plan_new"), PLAN).status_code == 403
    assert not InspectionPlan.objects.exists()


# --- The due list -----------------------------------------------------------------------------


def test_r57_due_list_filters_by_area_and_records_each_patient_named(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    signed_in(client, tekla)
    page = _text(client.get(reverse("workorders:due"), {"omrade": "652"}))
    assert "Aina Apel" in page and "Storgatan 1" in page
    assert "Sten Sjö" not in page
    assert _listed(tekla) == [desk.shop.patient.pk]
    page = _text(client.get(reverse("workorders:due"), {"omrade": "661"}))
    assert "Sten Sjö" in page and "Aina Apel" not in page
    assert _listed(tekla) == sorted([desk.shop.patient.pk, desk.shop.other.pk])
    page = _text(client.get(reverse("workorders:due")))
    assert "Sten Sjö" in page and "Aina Apel" in page


def test_due_list_filters_by_month_and_shows_overdue_when_asked(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    today = timezone.localdate()
    first = today.replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    desk.due_on(desk.loan_karlstad, next_month + dt.timedelta(days=3))
    desk.due_on(desk.loan_saffle, first - dt.timedelta(days=2))  # overdue, last month
    signed_in(client, tekla)
    page = _text(client.get(reverse("workorders:due"), {"manad": next_month.strftime("%Y-%m")}))
    assert "Aina Apel" in page and "Sten Sjö" not in page
    page = _text(client.get(reverse("workorders:due"), {"manad": today.strftime("%Y-%m")}))
    assert "Aina Apel" not in page and "Sten Sjö" not in page
    page = _text(
        client.get(reverse("workorders:due"), {"manad": today.strftime("%Y-%m"), "forsenade": "on"})
    )
    assert "Sten Sjö" in page and "Försenad" in page
    response = client.get(reverse("workorders:due"), {"manad": "2026-13"})
    assert response.status_code == 400
    assert "Ange månaden som åååå-mm" in _text(response)


def test_r55_due_list_never_shows_a_protected_patients_address(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    patient = desk.shop.patient
    patient.protection = "skyddad_folkbokforing"
    patient.save()
    signed_in(client, tekla)
    page = _text(client.get(reverse("workorders:due"), {"forsenade": "on"}))
    assert "Skyddad adress" in page
    assert "Storgatan" not in page and "Apel" not in page
    assert "Sten Sjö" in page  # the other patient, not protected, is listed in full


def test_r55_area_filter_does_not_reveal_a_protected_patients_postal_area(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    """Found by the attack pass: filtering by area matched the protected patient's real postal
    code, so trying areas one by one told where he lives. His schedules show only unfiltered."""
    patient = desk.shop.patient
    patient.protection = "skyddad_folkbokforing"
    patient.save()
    item = desk.loan_karlstad.item
    assert item is not None
    signed_in(client, tekla)
    for area in ("652", "651", "653"):
        page = _text(client.get(reverse("workorders:due"), {"omrade": area, "forsenade": "on"}))
        assert item.individual_number not in page, area
    unfiltered = _text(client.get(reverse("workorders:due"), {"forsenade": "on"}))
    assert item.individual_number in unfiltered


def test_due_list_links_the_open_inspection_work_order(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    jobs.inspections_due(actor=tekla.actor)
    order = WorkOrder.unscoped.get(item=desk.loan_karlstad.item)
    signed_in(client, tekla)
    page = _text(client.get(reverse("workorders:due"), {"omrade": "652"}))
    assert f'href="/teknik/arbetsorder/{order.pk}/"' in page and order.number in page


def test_due_list_items_in_stock_are_in_the_workshop_area(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    beds = services.plan_save(
        actor=tekla.actor,
        plan=None,
        name="Vårdsängar",
        article=desk.shop.bed,
        iso_class=None,
        interval_months=12,
        checklist=["Höj- och sänkfunktion"],
    )
    in_stock = Item.objects.filter(article=desk.shop.bed, status="in_stock").first()
    assert in_stock is not None
    ItemInspection.objects.filter(item=in_stock, plan=beds).update(next_due=timezone.localdate())
    signed_in(client, tekla)
    page = _text(client.get(reverse("workorders:due"), {"omrade": ""}))
    assert in_stock.individual_number in page and "Verkstaden/lager" in page


def test_only_technicians_see_the_due_list(client: Client, desk: Desk, alice: Persona) -> None:
    signed_in(client, alice)
    assert client.get(reverse("workorders:due")).status_code == 403
    assert _listed(alice) == []


# --- The day plan -----------------------------------------------------------------------------


def _repair(desk: Desk, tekla: Persona, loan: object, text: str) -> WorkOrder:
    order = services.work_order_create(
        actor=tekla.actor,
        kind=WorkOrder.Kind.REPAIR,
        description=text,
        place=WorkOrder.Place.HOME,
        unit=loan.unit,  # type: ignore[attr-defined]
        item=loan.item,  # type: ignore[attr-defined]
        patient=loan.patient,  # type: ignore[attr-defined]
        origin=WorkOrder.Origin.TECHNICIAN,
    )
    return services.work_order_plan(
        actor=tekla.actor,
        order=order,
        assignee=tekla.user,
        team=None,
        planned_on=timezone.localdate(),
    )


def test_r57_day_plan_groups_work_orders_at_one_address_into_one_visit(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    first = _repair(desk, tekla, desk.loan_karlstad, "Lyften piper.")
    second = _repair(desk, tekla, desk.loan_karlstad, "Laddaren blinkar.")
    third = _repair(desk, tekla, desk.loan_saffle, "Bromsen tar dåligt.")
    signed_in(client, tekla)
    page = _text(client.get(reverse("workorders:dayplan")))
    assert page.count('class="card visit"') == 2
    karlstad = page.index("Storgatan 1")
    saffle = page.index("Sjövägen 2")
    assert karlstad < saffle  # postal-code order: 652 before 661
    visit = page[karlstad:saffle]
    assert first.number in visit and second.number in visit and third.number not in visit
    assert _listed(tekla) == sorted([desk.shop.patient.pk, desk.shop.other.pk])
    # Another day: nothing.
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page = _text(client.get(reverse("workorders:dayplan"), {"dag": tomorrow.isoformat()}))
    assert "Inga planerade besök" in page


# --- The inspection protocol ------------------------------------------------------------------


def _inspection_order(desk: Desk, tekla: Persona) -> WorkOrder:
    jobs.inspections_due(actor=tekla.actor)
    return WorkOrder.unscoped.get(item=desk.loan_karlstad.item, kind="inspection")


def _protocol(failing: str = "") -> dict[str, str]:
    data = {"condition": "Gott skick", "performed_on": timezone.localdate().isoformat()}
    for index, point in enumerate(LIFT_POINTS):
        data[f"point_{index}"] = "fail" if point == failing else "pass"
        data[f"note_{index}"] = "Slitet" if point == failing else ""
    return data


def test_a_failed_point_takes_the_item_out_of_use_and_opens_a_repair(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    order = _inspection_order(desk, tekla)
    signed_in(client, tekla)
    url = reverse("workorders:inspect", args=[order.pk])
    page = _text(client.get(url))
    for point in LIFT_POINTS:
        assert point in page
    assert AuditEvent.objects.filter(
        action=Action.WORKORDER_VIEWED, patient_id=desk.shop.patient.pk
    ).exists()
    response = client.post(url, _protocol(failing="Nödsänkning"), follow=False)
    assert response.status_code == 302
    assert response["Location"] == f"/teknik/arbetsorder/{order.pk}/"
    inspection = Inspection.unscoped.get(work_order=order)
    assert inspection.result == Inspection.Result.FAILED
    item = desk.loan_karlstad.item
    assert item is not None
    item.refresh_from_db()
    assert item.out_of_use_since == timezone.localdate()
    repair = WorkOrder.unscoped.get(item=item, kind=WorkOrder.Kind.REPAIR)
    told = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert any("underkänd" in m and repair.number in m and "ur bruk" in m for m in told), told
    # A second time: already recorded.
    assert "redan registrerad" in _text(client.get(url))


def test_a_passed_inspection_sets_the_next_due_date(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    order = _inspection_order(desk, tekla)
    signed_in(client, tekla)
    response = client.post(reverse("workorders:inspect", args=[order.pk]), _protocol())
    assert response.status_code == 302
    schedule = desk.schedule(desk.loan_karlstad)
    assert schedule.last_done == timezone.localdate()
    assert schedule.next_due == services.add_months(timezone.localdate(), 12)


def test_a_protocol_missing_a_point_gets_a_swedish_message(
    client: Client, desk: Desk, tekla: Persona
) -> None:
    order = _inspection_order(desk, tekla)
    signed_in(client, tekla)
    data = _protocol()
    del data["point_1"]
    response = client.post(reverse("workorders:inspect", args=[order.pk]), data)
    assert response.status_code == 400
    assert "Ange godkänd, underkänd eller ej tillämplig." in _text(response)
    data = {**_protocol(), "performed_on": "2199-01-01"}
    response = client.post(reverse("workorders:inspect", args=[order.pk]), data)
    assert response.status_code == 400
    assert "framtiden" in _text(response)
    assert not Inspection.unscoped.exists()


def test_r38_unknown_or_refused_work_order_gets_the_same_404_recorded(
    client: Client, desk: Desk, tekla: Persona, alice: Persona
) -> None:
    order = _inspection_order(desk, tekla)
    signed_in(client, tekla)
    assert client.get(reverse("workorders:inspect", args=[999999])).status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, resource_id="999999").exists()
    signed_in(client, alice)
    assert client.get(reverse("workorders:inspect", args=[order.pk])).status_code == 403


def test_the_technician_finds_the_inspection_pages_in_the_navigation(
    tekla: Persona, alice: Persona
) -> None:
    from lyfta.home.navigation import navigation_for

    inspection_pages = {"workorders:due", "workorders:dayplan", "workorders:plans"}
    assert inspection_pages <= {name for _label, name in navigation_for(tekla.actor)}
    assert not inspection_pages & {name for _label, name in navigation_for(alice.actor)}
