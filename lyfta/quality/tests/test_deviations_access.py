"""Access to the quality desk's deviations (R93, R38, R57): a deviation is reported only from a
thing the reporter may see, another unit's things answer as unknown ids do; the patient comes
from the thing, never from the form; the quality role sees the patient pseudonymised and his
identity only after a recorded reason; the reporting unit sees its own deviation."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.access import rows
from lyfta.access.guard import UnscopedRead
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.orders.models import Loan
from lyfta.quality.models import Complaint, Deviation, IncidentReport
from lyfta.quality.services import deviations as services
from lyfta.quality.tests.conftest import tipped
from lyfta.workorders.tests.conftest import Desk, repair_for

pytestmark = pytest.mark.django_db

FORM = {
    "kind": "adverse_event",
    "description": "Lyften tippade.",
    "severity": "serious",
    "occurred_on": "2026-01-02",
}


def _form(**extra: str) -> dict[str, str]:
    return {**FORM, "occurred_on": timezone.localdate().isoformat(), **extra}


def test_r93_deviation_rows_are_read_only_through_the_access_layer(
    desk: Desk, alice: Persona, charlie: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    with pytest.raises(UnscopedRead):
        list(Deviation.objects.all())
    with pytest.raises(UnscopedRead):
        IncidentReport.objects.count()
    with pytest.raises(UnscopedRead):
        Complaint.objects.exists()
    assert list(rows.deviations_for(alice.actor)) == [deviation]
    assert list(rows.deviations_for(charlie.actor)) == []
    assert list(rows.deviations_for(sara.actor)) == [deviation]
    assert rows.incident_reports_for(alice.actor).count() == 0
    assert rows.incident_reports_for(sara.actor).count() == 2


def test_r38_another_units_loan_is_refused_as_an_unknown_one(
    client: Client, desk: Desk, charlie: Persona
) -> None:
    signed_in(client, charlie)
    patient = desk.shop.patient.pk
    theirs = client.get(reverse("quality:report_loan", args=[patient, desk.loan.pk]))
    unknown = client.get(reverse("quality:report_loan", args=[patient, 999999]))
    posted = client.post(reverse("quality:report_loan", args=[patient, desk.loan.pk]), _form())
    assert theirs.status_code == unknown.status_code == posted.status_code == 404
    assert theirs.content == unknown.content
    assert not Deviation.unscoped.exists()
    refused = AuditEvent.objects.filter(
        action=Action.PATIENT_ACCESS_DENIED, actor_username="charlie", outcome="denied"
    )
    assert refused.count() == 3


def test_r38_another_units_item_and_work_order_are_refused_as_unknown_ones(
    client: Client, desk: Desk, alice: Persona, charlie: Persona
) -> None:
    order = repair_for(desk, alice)
    signed_in(client, charlie)
    item = client.get(reverse("quality:report_item", args=[desk.lift.individual_number]))
    no_item = client.get(reverse("quality:report_item", args=["0000000"]))
    work = client.get(reverse("quality:report_workorder", args=[order.pk]))
    no_work = client.get(reverse("quality:report_workorder", args=[999999]))
    assert item.status_code == no_item.status_code == 404
    assert work.status_code == no_work.status_code == 404
    assert item.content == no_item.content
    posted = client.post(
        reverse("quality:report_workorder", args=[order.pk]), _form(quarantine="on")
    )
    assert posted.status_code == 404
    assert not Deviation.unscoped.exists()


def test_the_patient_is_taken_from_the_thing_never_from_the_form(
    client: Client, desk: Desk, alice: Persona
) -> None:
    signed_in(client, alice)
    other = desk.shop.other
    response = client.post(
        reverse("quality:report_loan", args=[desk.shop.patient.pk, desk.loan.pk]),
        _form(patient=str(other.pk), patient_id=str(other.pk), item="1"),
    )
    assert response.status_code == 302
    deviation = Deviation.unscoped.get()
    assert deviation.patient == desk.shop.patient
    assert deviation.item == desk.lift
    assert deviation.source == Deviation.Source.HOLDINGS


def test_from_a_work_order_the_technician_reports_on_its_patient(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = repair_for(desk, alice)
    signed_in(client, tekla)
    response = client.post(
        reverse("quality:report_workorder", args=[order.pk]),
        _form(kind="product_fault", severity="none", quarantine="on"),
    )
    assert response.status_code == 302
    deviation = Deviation.unscoped.get()
    assert (deviation.workorder, deviation.patient) == (order, desk.shop.patient)
    assert deviation.unit == tekla.assignment.unit
    assert deviation.quarantined_at is not None


def test_from_an_order_the_line_chosen_names_the_device(
    client: Client, desk: Desk, alice: Persona, logan: Persona
) -> None:
    line = Loan.unscoped.get(pk=desk.loan.pk).order_line
    assert line is not None
    signed_in(client, logan)
    page = client.get(reverse("quality:report_order", args=[line.order_id]))
    assert page.status_code == 200
    response = client.post(
        reverse("quality:report_order", args=[line.order_id]),
        _form(kind="delivery_error", severity="none", line=str(line.pk)),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    deviation = Deviation.unscoped.get()
    assert deviation.order_id == line.order_id
    assert deviation.item == desk.lift
    assert deviation.patient == desk.shop.patient
    bad = client.post(
        reverse("quality:report_order", args=[line.order_id]),
        _form(kind="delivery_error", severity="none", line="999999"),
    )
    assert bad.status_code == 400
    assert Deviation.unscoped.count() == 1


def test_r57_quality_role_sees_a_pseudonym_until_a_reason_is_recorded(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    patient = desk.shop.patient
    signed_in(client, sara)
    url = reverse("quality:deviation", args=[deviation.pk])
    page = client.get(url).content.decode()
    assert "Patient " in page
    assert patient.last_name not in page
    assert patient.identifier[:8] not in page
    assert not AuditEvent.objects.filter(action=Action.PATIENT_READ, actor_username="sara").exists()
    refused = client.post(
        reverse("quality:deviation_identity", args=[deviation.pk]), {"reason": "x"}
    )
    assert refused.status_code == 302
    assert patient.last_name not in client.get(url).content.decode()
    client.post(
        reverse("quality:deviation_identity", args=[deviation.pk]),
        {"reason": "Patienten behöver kontaktas om utredningen."},
    )
    page = client.get(url).content.decode()
    assert patient.last_name in page
    assert patient.display_identifier in page
    opened = AuditEvent.objects.get(action=Action.DEVIATION_IDENTITY_OPENED)
    assert opened.detail["reason"] == "Patienten behöver kontaktas om utredningen."
    read = AuditEvent.objects.filter(action=Action.PATIENT_READ, actor_username="sara")
    assert read.filter(patient_id=patient.pk, legal_basis="case").exists()


def test_quality_lists_and_reports_never_name_the_patient(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    services.complaint_create(
        actor=sara.actor,
        deviation=deviation,
        article=desk.lift.article,
        item=desk.lift,
        description="Spärren lossnade.",
        delivered_on=None,
    )
    patient = desk.shop.patient
    signed_in(client, sara)
    for url in (
        reverse("quality:deviations"),
        reverse("quality:complaints"),
        reverse("quality:report_json", args=[deviation.pk, "mpa"]),
        reverse("start"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert patient.last_name not in text, url
        assert patient.identifier[:8] not in text, url


def test_the_reporting_unit_sees_its_own_deviation_with_identity(
    client: Client, desk: Desk, alice: Persona, bob: Persona, charlie: Persona
) -> None:
    deviation = tipped(desk, alice)
    url = reverse("quality:deviation", args=[deviation.pk])
    signed_in(client, bob)
    page = client.get(url)
    assert page.status_code == 200
    assert desk.shop.patient.last_name in page.content.decode()
    assert AuditEvent.objects.filter(
        action=Action.PATIENT_READ, actor_username="bob", patient_id=desk.shop.patient.pk
    ).exists()
    signed_in(client, charlie)
    assert client.get(url).status_code == 404
    assert client.get(reverse("quality:deviation", args=[999999])).status_code == 404
    listed = client.get(reverse("quality:deviations")).content.decode()
    assert deviation.number not in listed


def test_only_the_quality_role_opens_reports_and_complaints(
    client: Client, desk: Desk, alice: Persona, sara: Persona
) -> None:
    deviation = tipped(desk, alice)
    urls = [
        reverse("quality:report_pdf", args=[deviation.pk, "manufacturer"]),
        reverse("quality:report_json", args=[deviation.pk, "mpa"]),
        reverse("quality:complaints"),
        reverse("quality:complaint_new"),
        reverse("quality:complaint_from_deviation", args=[deviation.pk]),
    ]
    signed_in(client, alice)
    assert [client.get(u).status_code for u in urls] == [403] * len(urls)
    signed_in(client, sara)
    assert [client.get(u).status_code for u in urls] == [200] * len(urls)
    unknown = client.get(reverse("quality:report_pdf", args=[deviation.pk, "someone"]))
    assert unknown.status_code == 404
