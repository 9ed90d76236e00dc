"""Building a campaign (issue 15 point 4): exactly the affected devices wherever they are,
computed again in plain Python over the test data; blocking and unblocking picking; messages to
the holding units; work orders for repairs; statuses and closing; lot tracing of a sold,
untracked article."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import Persona, make_persona
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, LotBlock, StockLevel
from lyfta.messages.models import Message
from lyfta.orders import selectors as order_selectors
from lyfta.orders.models import Loan
from lyfta.orders.tests.conftest import shop  # noqa: F401 - a fixture, found by its name
from lyfta.patients.models import Patient, ProtectedStaff
from lyfta.quality.models import Campaign, CampaignDevice
from lyfta.quality.services import campaigns as services
from lyfta.quality.tests.campaign_fixtures import (  # noqa: F401 - fixtures, found by name
    Field,
    deliver,
    field_fixture,
    notice,
    sara_fixture,
)
from lyfta.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def _expected_items(field: Field, low: str, high: str, lots: set[str]) -> set[int]:
    """The slings a notice concerns, by reading each one in plain Python (no builder code)."""

    def number(serial: str) -> int:
        return int(serial.split("-")[1])

    found = set()
    for item in Item.objects.filter(article=field.sling):
        if item.status in (Item.Status.SCRAPPED, Item.Status.LOST):
            continue
        in_range = bool(low) and number(low) <= number(item.serial_number) <= number(high)
        if in_range or item.batch in lots:
            found.add(item.pk)
    return found


def _rows(campaign: Campaign) -> list[CampaignDevice]:
    return list(CampaignDevice.unscoped.filter(campaign=campaign))


def test_the_builder_finds_exactly_the_slings_of_a_serial_range_wherever_they_are(
    field: Field, sara: Persona
) -> None:
    campaign = services.campaign_create(
        actor=sara.actor, notice=notice([field.sling], serial_ranges=[("SN-9", "SN-11")])
    )
    rows = _rows(campaign)
    assert {r.item_id for r in rows} == _expected_items(field, "SN-9", "SN-11", set())
    # "SN-9" before "SN-10" before "SN-11": compared as text, SN-10 and SN-11 fall outside.
    assert {field.slings[s].pk for s in ("SN-9", "SN-10", "SN-11")} == {r.item_id for r in rows}
    by_item = {r.item_id: r for r in rows}
    nine = by_item[field.slings["SN-9"].pk]
    assert nine.loan is not None and nine.loan.patient_id == field.shop.region_patient.pk
    assert nine.holding_unit_id == field.county.unit_b.pk and nine.location_id is None
    ten = by_item[field.slings["SN-10"].pk]
    assert ten.loan is not None and ten.holding_unit_id == field.county.unit_a.pk
    eleven = by_item[field.slings["SN-11"].pk]
    assert eleven.loan is None and eleven.location_id == field.shop.buffer_a.pk
    assert eleven.holding_unit_id == field.shop.buffer_a.unit_id


def test_a_lot_and_a_range_together_list_their_union(field: Field, sara: Persona) -> None:
    campaign = services.campaign_create(
        actor=sara.actor,
        notice=notice([field.sling], lots=["B1"], serial_ranges=[("SN-12", "SN-12")]),
    )
    assert {r.item_id for r in _rows(campaign)} == _expected_items(field, "SN-12", "SN-12", {"B1"})


def test_lot_tracing_of_a_sold_untracked_article_finds_exactly_the_holders_of_the_lot(
    field: Field, sara: Persona
) -> None:
    # The ledger took the oldest lot first: Aina got 3 of L1, Sten 1 of L1 and 2 of L2.
    lots = sorted((loan.patient_id, loan.lot, loan.quantity) for loan in field.sheet_loans)
    here = field.shop
    assert lots == sorted(
        [
            (here.patient.pk, "L1", 3),
            (here.other.pk, "L1", 1),
            (here.other.pk, "L2", 2),
            (here.region_patient.pk, "L2", 1),
        ]
    )
    campaign = services.campaign_create(actor=sara.actor, notice=notice([field.sheet], lots=["L1"]))
    rows = _rows(campaign)
    holders = {(r.loan.patient_id, r.quantity) for r in rows if r.loan is not None}
    expected = {(loan.patient_id, loan.quantity) for loan in field.sheet_loans if loan.lot == "L1"}
    assert holders == expected == {(here.patient.pk, 3), (here.other.pk, 1)}
    # Nothing of L1 is left in stock; L2's last sheet is not part of the campaign.
    assert [r for r in rows if r.loan is None] == []
    l2 = services.campaign_create(actor=sara.actor, notice=notice([field.sheet], lots=["L2"]))
    places = {(r.location_id, r.quantity) for r in _rows(l2) if r.loan is None}
    assert places == {(here.central.pk, 1)}
    assert {r.loan.patient_id for r in _rows(l2) if r.loan} == {
        here.other.pk,
        here.region_patient.pk,
    }


def test_a_returned_quantity_goes_back_to_stock_in_its_lot(
    field: Field, logan: Persona, alice: Persona
) -> None:
    here = field.shop
    assert stock.lot_balances(field.sheet, here.central) == [("L2", 1)]
    # Receive L3, and take 2: the oldest lot (L2) first, then L3.
    stock.goods_receive(
        actor=logan.actor, location=here.central, article=field.sheet, quantity=5, lot="L3"
    )
    loans = deliver(alice, logan, here.patient, field.sheet, 2)
    assert sorted((loan.lot, loan.quantity) for loan in loans) == [("L2", 1), ("L3", 1)]


def test_blocked_stock_is_not_picked_until_checked(
    field: Field, sara: Persona, logan: Persona, alice: Persona, tekla: Persona
) -> None:
    here = field.shop
    campaign = services.campaign_create(
        actor=sara.actor, notice=notice([field.sling], serial_ranges=[("SN-1", "SN-12")])
    )
    in_stock = Item.objects.filter(article=field.sling, status=Item.Status.IN_STOCK)
    assert in_stock.exists()
    assert all(i.out_of_use_reason == f"Säkerhetskampanj {campaign.number}" for i in in_stock)
    assert stock.available(field.sling, here.central) == 0
    # The one on reconditioning is blocked too, those on loan are not touched.
    assert Item.objects.get(pk=field.slings["SN-12"].pk).out_of_use_since is not None
    assert Item.objects.get(pk=field.slings["SN-9"].pk).out_of_use_since is None
    # Checking one puts it back: it can be picked again.
    one = CampaignDevice.unscoped.get(campaign=campaign, item=field.slings["SN-1"])
    services.campaign_device_set(actor=tekla.actor, device=one, status="checked", note="Söm hel")
    assert stock.available(field.sling, here.central) == 1
    # Set back to be checked: blocked again. Not found: stays blocked.
    services.campaign_device_set(actor=logan.actor, device=one, status="to_check")
    assert stock.available(field.sling, here.central) == 0
    services.campaign_device_set(actor=logan.actor, device=one, status="not_found")
    assert stock.available(field.sling, here.central) == 0


def test_an_item_out_of_use_for_another_reason_stays_so(field: Field, sara: Persona) -> None:
    item = field.slings["SN-1"]
    Item.objects.filter(pk=item.pk).update(out_of_use_since="2026-01-01", out_of_use_reason="Fel")
    campaign = services.campaign_create(
        actor=sara.actor, notice=notice([field.sling], serial_ranges=[("SN-1", "SN-1")])
    )
    row = CampaignDevice.unscoped.get(campaign=campaign, item=item)
    services.campaign_device_set(actor=sara.actor, device=row, status="checked")
    assert Item.objects.get(pk=item.pk).out_of_use_reason == "Fel"


def test_a_blocked_lot_is_not_reserved_nor_delivered_until_checked(
    field: Field, sara: Persona, alice: Persona, logan: Persona
) -> None:
    here = field.shop
    campaign = services.campaign_create(actor=sara.actor, notice=notice([field.sheet], lots=["L2"]))
    assert LotBlock.objects.filter(lot="L2", ended_at__isnull=True).count() == 1
    assert stock.available(field.sheet, here.central) == 0
    with pytest.raises(stock.OutOfStock):
        stock.reserve_quantity(field.sheet, here.central, 1)
    # A new lot can be picked meanwhile, and the blocked one never goes out.
    stock.goods_receive(
        actor=logan.actor, location=here.central, article=field.sheet, quantity=2, lot="L9"
    )
    (loan,) = deliver(alice, logan, here.patient, field.sheet, 2)
    assert loan.lot == "L9"
    row = CampaignDevice.unscoped.get(campaign=campaign, loan__isnull=True)
    services.campaign_device_set(actor=logan.actor, device=row, status="checked")
    assert not LotBlock.objects.filter(lot="L2", ended_at__isnull=True).exists()
    assert stock.available(field.sheet, here.central) == 1
    assert StockLevel.objects.get(article=field.sheet, location=here.central).quantity == 1


def test_the_holding_units_get_a_message_naming_devices_not_patients(
    field: Field, sara: Persona, alice: Persona, charlie: Persona
) -> None:
    campaign = services.campaign_create(
        actor=sara.actor, notice=notice([field.sling], serial_ranges=[("SN-1", "SN-12")])
    )
    told = Message.objects.filter(subject__startswith="Säkerhetskampanj")
    to_alice = told.get(recipient=alice.user)
    to_charlie = told.get(recipient=charlie.user)
    assert campaign.number in to_alice.subject
    assert field.slings["SN-2"].individual_number in to_alice.body
    assert field.slings["SN-9"].individual_number not in to_alice.body
    assert field.slings["SN-9"].individual_number in to_charlie.body
    for message in (to_alice, to_charlie):
        for patient in (field.shop.patient, field.shop.region_patient):
            assert patient.last_name not in message.body
            assert patient.identifier not in message.body


def test_r54_r55_campaign_message_never_lists_a_protected_patients_device_to_unit_staff(
    field: Field, sara: Persona, alice: Persona, charlie: Persona
) -> None:
    """Found by an attack over HTTP (attack run 3, finding 5): the campaign's letters to the
    holding unit listed a protected patient's devices by individual number to the prescribers
    and the unit managers, none of them named for her, who may not otherwise see her (R54, and
    R55: never in bulk lists). The recall still reaches her devices, the centre's rows and work
    orders stay; the unit staff read a count of them; her named staff read the devices, in a
    letter of their own when no other letter told them."""
    aina = field.shop.patient  # slings SN-2 and SN-10 and 3 sheets of lot L1, through alice
    Patient.objects.filter(pk=aina.pk).update(protection=Patient.Protection.PROTECTED_REGISTRATION)
    maja = make_persona(field.county.unit_a, Role.UNIT_MANAGER, "maja")
    hers = [field.slings[s].individual_number for s in field.on_loan_a]

    def letters(campaign: Campaign) -> dict[str, str]:
        told = Message.objects.filter(subject__contains=campaign.number)
        return {m.recipient.username: m.body for m in told.select_related("recipient")}

    first = services.campaign_create(actor=sara.actor, notice=notice([field.sling, field.sheet]))
    on_loan = {r.item_id for r in _rows(first) if r.loan_id is not None and r.item_id}
    assert {field.slings[s].pk for s in field.on_loan_a} <= on_loan  # the recall reaches them
    sent = letters(first)
    for name in ("alice", "maja"):
        for number in hers:
            assert number not in sent[name]
        assert "batch L1, 3 st" not in sent[name]  # her sheets
        assert "5 hjälpmedel hos patient med skyddad identitet" in sent[name]
        assert "listas bara för den personal som är namngiven för patienten" in sent[name]
        assert "batch L2, 2 st" in sent[name]  # Sten's, not protected: listed as before
    assert field.slings["SN-9"].individual_number in sent["charlie"]
    assert "skyddad identitet" not in sent["charlie"]

    ProtectedStaff.objects.create(patient=aina, user=alice.user, named_by=maja.user)
    sent = letters(services.campaign_create(actor=sara.actor, notice=notice([field.sling])))
    assert all(number in sent["alice"] for number in hers)  # her named staff
    assert "skyddad identitet" not in sent["alice"]
    assert not any(number in sent["maja"] for number in hers)  # the manager is not named
    assert "2 hjälpmedel hos patient med skyddad identitet" in sent["maja"]

    # Named for her, neither her prescriber nor a manager: told her devices, and only hers.
    ProtectedStaff.objects.filter(patient=aina).delete()
    nora = make_persona(field.county.unit_a, Role.ORDERER, "nora")
    ProtectedStaff.objects.create(patient=aina, user=nora.user, named_by=maja.user)
    sent = letters(services.campaign_create(actor=sara.actor, notice=notice([field.sling])))
    assert all(number in sent["nora"] for number in hers)
    assert field.slings["SN-9"].individual_number not in sent["nora"]
    assert not any(number in sent[name] for name in ("alice", "maja") for number in hers)


def test_a_repair_campaign_makes_a_work_order_per_device_on_loan(
    field: Field, sara: Persona
) -> None:
    campaign = services.campaign_create(
        actor=sara.actor,
        notice=notice([field.sling], serial_ranges=[("SN-1", "SN-12")], action="repair"),
    )
    on_loan = [r for r in _rows(campaign) if r.loan_id is not None]
    assert len(on_loan) == 3
    assert all(r.workorder_id is not None for r in on_loan)
    orders = WorkOrder.unscoped.filter(pk__in=[r.workorder_id for r in on_loan])
    assert {o.item_id for o in orders} == {r.item_id for r in on_loan}
    assert all(campaign.number in o.description for o in orders)
    assert all(r.workorder_id is None for r in _rows(campaign) if r.loan_id is None)


def test_a_check_campaign_makes_no_work_orders(field: Field, sara: Persona) -> None:
    services.campaign_create(
        actor=sara.actor, notice=notice([field.sling], serial_ranges=[("SN-1", "SN-12")])
    )
    assert not WorkOrder.unscoped.exists()


def test_progress_and_closing(field: Field, sara: Persona, tekla: Persona) -> None:
    campaign = services.campaign_create(
        actor=sara.actor, notice=notice([field.sling], serial_ranges=[("SN-9", "SN-11")])
    )
    assert services.campaign_progress(campaign).percent == 0
    with pytest.raises(ValidationError, match="inte kontrollerade"):
        services.campaign_close(actor=sara.actor, campaign=campaign, report="")
    for row in _rows(campaign):
        services.campaign_device_set(actor=tekla.actor, device=row, status="checked")
    assert services.campaign_progress(campaign).percent == 100
    with pytest.raises(PermissionDenied):
        services.campaign_close(actor=tekla.actor, campaign=campaign, report="")
    closed = services.campaign_close(actor=sara.actor, campaign=campaign, report="Alla hela.")
    assert closed.status == Campaign.Status.CLOSED
    with pytest.raises(ValidationError, match="avslutad"):
        services.campaign_device_set(actor=tekla.actor, device=_rows(campaign)[0], status="fixed")
    actions = set(
        AuditEvent.objects.filter(resource_id=str(campaign.pk)).values_list("action", flat=True)
    )
    assert {Action.CAMPAIGN_CREATED, Action.CAMPAIGN_CLOSED} <= actions
    assert AuditEvent.objects.filter(action=Action.CAMPAIGN_DEVICE_SET).count() == 3


def test_who_may_create_and_set_statuses(
    field: Field, sara: Persona, alice: Persona, tekla: Persona
) -> None:
    with pytest.raises(PermissionDenied):
        services.campaign_create(actor=tekla.actor, notice=notice([field.sling]))
    campaign = services.campaign_create(actor=sara.actor, notice=notice([field.sling]))
    row = _rows(campaign)[0]
    with pytest.raises(PermissionDenied):
        services.campaign_device_set(actor=alice.actor, device=row, status="checked")


def test_bad_notices_are_refused_in_swedish(field: Field, sara: Persona) -> None:
    with pytest.raises(ValidationError, match="minst en artikel"):
        services.campaign_create(actor=sara.actor, notice=notice([]))
    with pytest.raises(ValidationError, match="göras med varje produkt"):
        services.campaign_create(actor=sara.actor, notice=notice([field.sling], action="x"))
    with pytest.raises(ValidationError, match="batch"):
        services.campaign_create(
            actor=sara.actor, notice=notice([field.sheet], serial_ranges=[("A", "B")])
        )
    assert not Campaign.objects.exists()


def test_the_recall_list_and_the_campaign_agree(field: Field, sara: Persona) -> None:
    listed = order_selectors.recall_list(
        actor=sara.actor, article=field.sling, serial_from="SN-2", serial_to="SN-10"
    )
    campaign = services.campaign_create(
        actor=sara.actor, notice=notice([field.sling], serial_ranges=[("SN-2", "SN-10")])
    )
    assert {r.item.pk for r in listed} == {r.item_id for r in _rows(campaign)}


def test_a_loan_lot_is_kept_on_the_loan(field: Field) -> None:
    assert set(Loan.unscoped.filter(article=field.sheet).values_list("lot", flat=True)) == {
        "L1",
        "L2",
    }
