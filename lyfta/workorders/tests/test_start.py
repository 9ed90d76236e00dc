"""The start page shows work (issue 13 point 5): the technician's open and overdue work orders,
and a unit's lent devices whose inspection is overdue — as counts, naming no patient."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.workorders.models import ItemInspection, WorkOrder
from lyfta.workorders.tests.conftest import Desk, repair_for


def test_technician_start_page_counts_open_and_overdue_work(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    first = repair_for(desk, alice)
    repair_for(desk, alice)
    late = timezone.localdate() - dt.timedelta(days=2)
    WorkOrder.unscoped.filter(pk=first.pk).update(team=desk.team, start_due=late, done_due=late)
    WorkOrder.unscoped.exclude(pk=first.pk).update(team=desk.team)
    page = signed_in(client, tekla).get("/").content.decode()
    assert 'id="desk-work"' in page
    assert "2 öppna arbetsordrar" in page
    assert "1 försenad" in page
    assert desk.shop.patient.last_name not in page


def test_unit_start_page_flags_overdue_inspections_of_its_lent_devices(
    client: Client, desk: Desk, alice: Persona, charlie: Persona
) -> None:
    ItemInspection.objects.update_or_create(
        item=desk.lift,
        plan=desk.plan,
        defaults={"next_due": timezone.localdate() - dt.timedelta(days=1)},
    )
    page = signed_in(client, alice).get("/").content.decode()
    assert 'id="desk-overdue-inspections"' in page
    assert "1 utlånat hjälpmedel har försenad besiktning" in page
    assert desk.shop.patient.last_name not in page
    # Another provider's unit lent nothing of it: no flag.
    client.logout()
    assert (
        'id="desk-overdue-inspections"' not in signed_in(client, charlie).get("/").content.decode()
    )


def test_no_flag_while_the_inspection_is_not_yet_due(
    client: Client, desk: Desk, alice: Persona
) -> None:
    ItemInspection.objects.update_or_create(
        item=desk.lift,
        plan=desk.plan,
        defaults={"next_due": timezone.localdate() + dt.timedelta(days=3)},
    )
    page = signed_in(client, alice).get("/").content.decode()
    assert 'id="desk-overdue-inspections"' not in page


def test_unit_list_names_the_lent_devices_overdue_for_inspection_and_records_each(
    client: Client, desk: Desk, alice: Persona, bob: Persona
) -> None:
    from lyfta.audit.actions import Action
    from lyfta.audit.models import AuditEvent

    ItemInspection.objects.update_or_create(
        item=desk.lift,
        plan=desk.plan,
        defaults={"next_due": timezone.localdate() - dt.timedelta(days=5)},
    )
    page = signed_in(client, alice).get("/teknik/enhetens/").content.decode()
    assert 'id="late-inspections"' in page
    assert desk.lift.individual_number in page and desk.shop.patient.last_name in page
    assert AuditEvent.objects.filter(
        action=Action.PATIENT_LISTED,
        patient_id=desk.shop.patient.pk,
        detail__list="unit_late_inspections",
    ).exists()
    # A protected patient's device: for the unit's named staff only (R54).
    desk.shop.patient.protection = "skyddad_folkbokforing"
    desk.shop.patient.save()
    client.logout()
    page = signed_in(client, bob).get("/teknik/enhetens/").content.decode()
    assert desk.lift.individual_number not in page and desk.shop.patient.last_name not in page
    assert 'id="desk-overdue-inspections"' not in signed_in(client, bob).get("/").content.decode()
