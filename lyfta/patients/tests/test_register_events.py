"""Population-register events (issue 18 point 4): a death proposes the pick-up of every device and
tells the lending units, a move changes the address and (with billing's housing) the payer, a
protection set or lifted takes effect at once; every event is audited, applied once, an unknown
person is kept as unmatched and a malformed event is rejected alone."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.actor import Actor
from lyfta.access.patients import Denial, PatientGrant, grant_for
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import BillingRun, Housing, PatientHousing
from lyfta.messages.models import Message
from lyfta.orders import services as orders
from lyfta.orders.models import Loan, Order, OrderLine, PickupLine, PickupOrder
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant, shop  # noqa: F401 - shop is a fixture
from lyfta.organisations.models import CareProvider
from lyfta.organisations.tests.factories import ProviderFactory
from lyfta.patients.models import (
    CareRelationship,
    Patient,
    PatientCorrection,
    ProtectedStaff,
    RegisterEvent,
)
from lyfta.patients.register_events import Outcome, register_events_apply

pytestmark = pytest.mark.django_db

FEED = Actor.system("population-register")
# A valid personnummer that is nobody's in these tests (Skatteverket's test number).
STRANGER = "19121212-1212"


def _apply(*events: dict[str, Any] | object) -> list[str]:
    return [e.outcome for e in register_events_apply(actor=FEED, events=list(events)).events]


def _lend(persona: Persona, logan: Persona, patient: Patient, *lines: LineInput) -> list[Loan]:
    order = orders.order_place(
        actor=persona.actor,
        grant=grant(persona, patient),
        lines=list(lines),
        delivery=DeliveryInput(),
    )
    for line in OrderLine.unscoped.filter(order=order):
        orders.line_pick(actor=logan.actor, line=line)
    return orders.order_deliver(actor=logan.actor, order=order)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def _finds(client: Client, persona: Persona, name: str) -> bool:
    html = signed_in(client, persona).get(reverse("patients:search"), {"q": name})
    return "Aina Apel" in html.content.decode()


# --- Death --------------------------------------------------------------------------------------


@pytest.fixture
def estate(
    shop: Shop,  # noqa: F811 - the fixture
    county: County,
    alice: Persona,
    bob: Persona,
    charlie: Persona,
    logan: Persona,
) -> dict[str, Any]:
    """Aina holds a lift and a bed from unit A (and a sold cushion, which stays hers), a bed from
    charlie's unit B, and has an order of unit A still open."""
    CareRelationship.objects.create(
        unit=county.unit_b, patient=shop.patient, origin="order", valid_from=timezone.localdate()
    )
    lift, bed, cushion = _lend(
        alice,
        logan,
        shop.patient,
        LineInput(shop.lift),
        LineInput(shop.bed),
        LineInput(shop.cushion),
    )
    (bed_b,) = _lend(charlie, logan, shop.patient, LineInput(shop.bed))
    open_order = orders.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.lift)],
        delivery=DeliveryInput(),
    )
    return {"a": [lift, bed], "cushion": cushion, "b": [bed_b], "open_order": open_order}


def test_a_death_proposes_the_pickups_and_messages_the_lending_units(
    client: Client,
    shop: Shop,  # noqa: F811 - the fixture
    county: County,
    estate: dict[str, Any],
    alice: Persona,
    bob: Persona,
    charlie: Persona,
    logan: Persona,
) -> None:
    died = timezone.localdate() - dt.timedelta(days=2)
    event = {"id": "NAV-1", "kind": "death", "identifier": "19400101-9803", "date": str(died)}
    assert _apply(event) == [Outcome.APPLIED]

    shop.patient.refresh_from_db()
    assert shop.patient.deceased_date == died
    # Each lending unit is proposed its own devices, the sold cushion is not, and its open order
    # is named for it to cancel.
    proposed = {e.owner_unit_id: e.detail for e in _events(Action.PICKUP_PROPOSED)}
    assert set(proposed) == {county.unit_a.pk, county.unit_b.pk}
    assert proposed[county.unit_a.pk]["loans"] == sorted(loan.pk for loan in estate["a"])
    assert proposed[county.unit_a.pk]["open_orders"] == [estate["open_order"].number]
    assert proposed[county.unit_b.pk]["loans"] == [estate["b"][0].pk]
    assert proposed[county.unit_b.pk]["open_orders"] == []
    # Everyone at the lending units who registers pick-ups is told; the centre is not.
    told = Message.objects.filter(subject="Avliden patient: hämtning av hjälpmedel föreslås")
    assert sorted(m.recipient.username for m in told) == ["alice", "bob", "charlie"]
    to_alice = told.get(recipient=alice.user)
    assert to_alice.link == reverse("orders:holdings", args=[shop.patient.pk])
    assert "Hämtning av 2 hjälpmedel" in to_alice.body
    assert estate["open_order"].number in to_alice.body
    assert "Hämtning av 1 hjälpmedel" in told.get(recipient=charlie.user).body
    for message in told:
        assert "Aina" not in message.body + message.subject
        assert "9803" not in message.body + message.subject
    # Proposed, not done: no pick-up order, rent goes on, the open order stays open.
    assert not PickupOrder.unscoped.exists()
    assert not Loan.unscoped.filter(rent_stop_on__isnull=False).exists()
    assert Order.unscoped.get(pk=estate["open_order"].pk).status == Order.Status.REGISTERED
    # The event's own audit record: the system actor, the change, the units told.
    (applied,) = _events(Action.REGISTER_EVENT_APPLIED)
    assert applied.actor_username == "system:population-register"
    assert applied.patient_id == shop.patient.pk
    assert applied.changes == {"deceased_date": [None, died.isoformat()]}
    assert applied.detail["proposed_to_units"] == sorted([county.unit_a.pk, county.unit_b.pk])
    assert PatientCorrection.objects.get(patient=shop.patient).field == "deceased_date"
    # The unit sees the proposal on the holdings page and confirms it with one form.
    as_alice = signed_in(client, alice)
    html = as_alice.get(to_alice.link).content.decode()
    assert "Bekräfta hämtning av alla" in html and "alla 2 hjälpmedel" in html
    done = as_alice.post(
        reverse("orders:pickup_new", args=[shop.patient.pk]),
        {"loans": [loan.pk for loan in estate["a"]]},
    )
    assert done.status_code == 302
    assert PickupLine.unscoped.count() == 2


def test_a_protected_patients_death_is_told_to_named_staff_and_managers_only(
    shop: Shop,  # noqa: F811 - the fixture
    county: County,
    estate: dict[str, Any],
    alice: Persona,
    bob: Persona,
) -> None:
    maja = make_persona(county.unit_a, Role.UNIT_MANAGER, "maja")
    Patient.objects.filter(pk=shop.patient.pk).update(
        protection=Patient.Protection.PROTECTED_REGISTRATION
    )
    ProtectedStaff.objects.create(patient=shop.patient, user=alice.user, named_by=maja.user)
    died = str(timezone.localdate())
    _apply({"id": "NAV-2", "kind": "death", "identifier": "194001019803", "date": died})
    told = Message.objects.filter(
        subject="Avliden patient: hämtning av hjälpmedel föreslås",
        recipient__assignments__unit=county.unit_a,
    ).values_list("recipient__username", flat=True)
    assert sorted(told) == ["alice", "maja"], "bob is not named: he is not told"


def test_a_corrected_date_of_death_is_recorded_without_a_second_proposal(
    shop: Shop,  # noqa: F811 - the fixture
    estate: dict[str, Any],
) -> None:
    today = timezone.localdate()
    first = today - dt.timedelta(days=3)
    assert _apply(
        {"id": "D-1", "kind": "death", "identifier": "194001019803", "date": str(first)},
        {"id": "D-1b", "kind": "death", "identifier": "194001019803", "date": str(first)},
        {"id": "D-2", "kind": "death", "identifier": "194001019803", "date": str(today)},
    ) == [Outcome.APPLIED, Outcome.UNCHANGED, Outcome.APPLIED]
    shop.patient.refresh_from_db()
    assert shop.patient.deceased_date == today
    assert len(_events(Action.PICKUP_PROPOSED)) == 2, "one per unit, once"
    assert _events(Action.REGISTER_EVENT_APPLIED)[-1].detail["corrected"] is True


def test_a_death_in_the_future_or_before_birth_is_rejected(
    shop: Shop,  # noqa: F811 - the fixture
) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    result = register_events_apply(
        actor=FEED,
        events=[
            {"id": "F-1", "kind": "death", "identifier": "194001019803", "date": str(tomorrow)},
            {"id": "F-2", "kind": "death", "identifier": "194001019803", "date": "1939-12-31"},
        ],
    )
    assert [e.error for e in result.events] == ["bad_date", "bad_date"]
    shop.patient.refresh_from_db()
    assert shop.patient.deceased_date is None


# --- Move ---------------------------------------------------------------------------------------


@pytest.fixture
def towns(county: County) -> tuple[CareProvider, CareProvider]:
    """The patient's home municipality (Karlstad's code) and the one she moves to."""
    CareProvider.objects.filter(pk=county.municipality.pk).update(municipality_code="1780")
    county.municipality.refresh_from_db()
    return county.municipality, ProviderFactory(name="Hammarö kommun", municipality_code="1761")


def test_a_move_changes_the_address_and_the_home_municipality_that_decides_the_payer(
    shop: Shop,  # noqa: F811 - the fixture
    towns: tuple[CareProvider, CareProvider],
    billie: Persona,
) -> None:
    home, new_home = towns
    Patient.objects.filter(pk=shop.patient.pk).update(home_municipality=home)
    moved_on = timezone.localdate() - dt.timedelta(days=40)
    PatientHousing.unscoped.create(
        patient=shop.patient,
        housing=Housing.SPECIAL,
        municipality=home,
        valid_from=moved_on - dt.timedelta(days=400),
    )
    # The month of the move is billed and locked already.
    BillingRun.objects.create(
        month=moved_on.replace(day=1),
        status=BillingRun.Status.LOCKED,
        created_by=billie.user,
        approved_by=billie.user,
        approved_at=timezone.now(),
    )
    move = {
        "id": "M-1",
        "kind": "move",
        "identifier": "194001019803",
        "date": str(moved_on),
        "street": "Hammarövägen 12",
        "postal_code": "663 41",
        "city": "Hammarö",
        "municipality_code": "1761",
    }
    assert _apply(move) == [Outcome.APPLIED]

    patient = Patient.objects.get(pk=shop.patient.pk)
    assert (patient.street, patient.postal_code, patient.city) == (
        "Hammarövägen 12",
        "663 41",
        "Hammarö",
    )
    assert patient.home_municipality == new_home
    # Billing derives the payer per day from the housing rows: the same form of housing goes on
    # in the new municipality from the day of the move; the old row is kept.
    rows = list(
        PatientHousing.unscoped.filter(patient=patient)
        .order_by("valid_from")
        .values_list("housing", "municipality_id", "valid_from")
    )
    assert rows[-1] == (Housing.SPECIAL, new_home.pk, moved_on)
    assert len(rows) == 2
    (housing_event,) = _events(Action.HOUSING_REGISTERED)
    assert housing_event.changes["municipality"] == [home.pk, new_home.pk]
    (applied,) = _events(Action.REGISTER_EVENT_APPLIED)
    assert applied.changes["street"] == ["Storgatan 1", "Hammarövägen 12"]
    assert applied.changes["home_municipality"] == [home.pk, new_home.pk]
    assert applied.detail["locked_months"] == [moved_on.replace(day=1).isoformat()]
    # The economy desk is told that a locked month's payer may have changed.
    (notice,) = Message.objects.filter(recipient=billie.user)
    assert moved_on.strftime("%Y-%m") in notice.body
    assert {c.field for c in PatientCorrection.objects.filter(patient=patient)} == {
        "street",
        "postal_code",
        "city",
        "home_municipality",
    }


def test_an_older_move_after_a_newer_one_is_superseded_and_a_protected_address_stays_out_of_the_log(
    shop: Shop,  # noqa: F811 - the fixture
) -> None:
    Patient.objects.filter(pk=shop.patient.pk).update(
        protection=Patient.Protection.PROTECTED_REGISTRATION
    )
    today = timezone.localdate()

    def move(event_id: str, day: dt.date, street: str) -> dict[str, str]:
        return {
            "id": event_id,
            "kind": "move",
            "identifier": "194001019803",
            "date": str(day),
            "street": street,
            "postal_code": "65226",
            "city": "Karlstad",
        }

    assert _apply(
        move("M-new", today - dt.timedelta(days=1), "Hemliga gatan 1"),
        move("M-old", today - dt.timedelta(days=9), "Gamla gatan 2"),
    ) == [Outcome.APPLIED, Outcome.SUPERSEDED]
    shop.patient.refresh_from_db()
    assert shop.patient.street == "Hemliga gatan 1"
    logged = json.dumps([(e.changes, e.detail) for e in AuditEvent.objects.all()])
    assert "Hemliga" not in logged and "Gamla" not in logged and "65226" not in logged
    assert _events(Action.REGISTER_EVENT_APPLIED)[0].changes["street"] == ["***", "***"]
    assert RegisterEvent.objects.get(event_id="M-old").status == "superseded"


def test_a_move_to_an_unknown_municipality_code_is_rejected_whole(
    shop: Shop,  # noqa: F811 - the fixture
    towns: tuple[CareProvider, CareProvider],
) -> None:
    (result,) = register_events_apply(
        actor=FEED,
        events=[
            {
                "id": "M-2",
                "kind": "move",
                "identifier": "194001019803",
                "date": str(timezone.localdate()),
                "street": "Nygatan 1",
                "postal_code": "65225",
                "city": "Karlstad",
                "municipality_code": "9999",
            }
        ],
    ).events
    assert (result.outcome, result.error) == (Outcome.REJECTED, "unknown_municipality")
    assert "9999" in result.message
    shop.patient.refresh_from_db()
    assert shop.patient.street == "Storgatan 1"
    assert not RegisterEvent.objects.exists()


# --- Protected identity -------------------------------------------------------------------------


def test_protection_set_takes_effect_at_once_and_names_the_unit_manager(
    client: Client,
    shop: Shop,  # noqa: F811 - the fixture
    county: County,
    alice: Persona,
    charlie: Persona,
) -> None:
    CareRelationship.objects.create(
        unit=county.unit_b, patient=shop.patient, origin="order", valid_from=timezone.localdate()
    )
    maja = make_persona(county.unit_a, Role.UNIT_MANAGER, "maja")
    assert _finds(client, alice, "Apel") and _finds(Client(), charlie, "Apel")
    day = str(timezone.localdate())
    protect = {
        "id": "P-1",
        "kind": "protection_set",
        "identifier": "194001019803",
        "date": day,
        "protection": "skyddad_folkbokforing",
        "code": "01020",
        "forwarding_address": "Box 1001, 651 01 Karlstad",
    }
    assert _apply(protect) == [Outcome.APPLIED]

    patient = Patient.objects.get(pk=shop.patient.pk)
    assert patient.protection == Patient.Protection.PROTECTED_REGISTRATION
    assert patient.protection_source == "navet-01020"
    assert patient.approved_delivery_address == "Box 1001, 651 01 Karlstad"
    # Nobody but named staff finds or opens her any more: not her prescriber, not another unit.
    assert not _finds(Client(), alice, "Apel")
    assert not _finds(Client(), charlie, "Apel")
    assert grant_for(alice.actor, patient, "s") == Denial("protected_identity")
    # Unit A's manager is named, so that someone cares for her and names the rest (R54), and is
    # told; unit B has no manager, which the audit record says.
    assert isinstance(grant_for(maja.actor, patient, "s"), PatientGrant)
    assert _finds(Client(), maja, "Apel")
    (notice,) = Message.objects.filter(recipient=maja.user)
    assert notice.link == reverse("patients:protection", args=[patient.pk])
    (named,) = _events(Action.PROTECTED_STAFF_NAMED)
    assert named.changes == {"user": [None, maja.user.pk]}
    (applied,) = _events(Action.REGISTER_EVENT_APPLIED)
    assert applied.changes == {
        "protection": ["", "skyddad_folkbokforing"],
        "protection_source": ["", "navet-01020"],
    }
    assert applied.detail["named"] == [maja.user.pk]
    assert applied.detail["units_without_manager"] == [county.unit_b.pk]
    assert "Box 1001" not in json.dumps([(e.changes, e.detail) for e in AuditEvent.objects.all()])

    # Lifted (a later event): everyone with a relationship finds her again at once.
    lift = {"id": "P-2", "kind": "protection_lifted", "identifier": "194001019803", "date": day}
    assert _apply(lift) == [Outcome.APPLIED]
    patient.refresh_from_db()
    assert (patient.protection, patient.approved_delivery_address) == ("", "")
    assert _finds(Client(), alice, "Apel") and _finds(Client(), charlie, "Apel")


def test_an_older_lift_does_not_undo_a_newer_protection(
    shop: Shop,  # noqa: F811 - the fixture
) -> None:
    today = timezone.localdate()
    assert _apply(
        {
            "id": "P-3",
            "kind": "protection_set",
            "identifier": "194001019803",
            "date": str(today),
            "protection": "sekretessmarkering",
        },
        {
            "id": "P-4",
            "kind": "protection_lifted",
            "identifier": "194001019803",
            "date": str(today - dt.timedelta(days=5)),
        },
    ) == [Outcome.APPLIED, Outcome.SUPERSEDED]
    shop.patient.refresh_from_db()
    assert shop.patient.protection == Patient.Protection.CONFIDENTIALITY
    assert shop.patient.protection_source == "folkbokforing"


def test_the_register_does_not_lift_a_protection_set_by_hand_but_tells_the_manager(
    shop: Shop,  # noqa: F811 - the fixture
    county: County,
) -> None:
    maja = make_persona(county.unit_a, Role.UNIT_MANAGER, "maja")
    Patient.objects.filter(pk=shop.patient.pk).update(
        protection=Patient.Protection.PROTECTED_REGISTRATION, protection_source="manual"
    )
    ProtectedStaff.objects.create(patient=shop.patient, user=maja.user, named_by=maja.user)
    lift = {
        "id": "P-5",
        "kind": "protection_lifted",
        "identifier": "194001019803",
        "date": str(timezone.localdate()),
    }
    assert _apply(lift) == [Outcome.UNCHANGED]
    shop.patient.refresh_from_db()
    assert shop.patient.is_protected
    assert Message.objects.get(recipient=maja.user).subject.startswith("Skyddade personuppgifter")
    assert _events(Action.REGISTER_EVENT_APPLIED)[0].detail["manual_protection_kept"] == [
        maja.user.pk
    ]


# --- Idempotency, unmatched, malformed ----------------------------------------------------------


def test_the_same_event_twice_changes_nothing_the_second_time(
    shop: Shop,  # noqa: F811 - the fixture
    estate: dict[str, Any],
) -> None:
    event = {
        "id": "NAV-9",
        "kind": "death",
        "identifier": "194001019803",
        "date": str(timezone.localdate()),
    }
    assert _apply(event, event) == [Outcome.APPLIED, Outcome.REPEATED]
    messages, proposals = Message.objects.count(), len(_events(Action.PICKUP_PROPOSED))
    # A day later the feed is sent again, with a different date even: the id decides.
    again = {**event, "date": str(timezone.localdate() - dt.timedelta(days=1))}
    assert _apply(again) == [Outcome.REPEATED]
    assert Message.objects.count() == messages
    assert len(_events(Action.PICKUP_PROPOSED)) == proposals
    shop.patient.refresh_from_db()
    assert shop.patient.deceased_date == timezone.localdate()
    assert RegisterEvent.objects.count() == 1
    repeated = _events(Action.REGISTER_EVENT_REPEATED)
    assert len(repeated) == 2
    assert repeated[0].detail == {"event": "NAV-9", "kind": "death", "first_outcome": "applied"}


def test_an_event_about_an_unknown_person_is_kept_as_unmatched_and_applied_once_known(
    shop: Shop,  # noqa: F811 - the fixture
) -> None:
    event = {"id": "U-1", "kind": "death", "identifier": STRANGER, "date": "2024-05-01"}
    assert _apply(event) == [Outcome.UNMATCHED]
    kept = RegisterEvent.objects.get(event_id="U-1")
    assert (kept.status, kept.patient_id) == ("unmatched", None)
    (unmatched,) = _events(Action.REGISTER_EVENT_UNMATCHED)
    assert unmatched.patient_id is None
    assert "1212" not in json.dumps(unmatched.detail), "no personnummer in the log"
    # The person becomes a patient; the feed sends the event again; now it is applied, once.
    stranger = Patient.objects.create(
        identifier="191212121212", id_kind="personnummer", first_name="Tolv", last_name="Tolvan"
    )
    assert _apply(event, event) == [Outcome.APPLIED, Outcome.REPEATED]
    stranger.refresh_from_db()
    assert stranger.deceased_date == dt.date(2024, 5, 1)
    kept.refresh_from_db()
    assert (kept.status, kept.patient_id, kept.attempts) == ("applied", stranger.pk, 2)


def test_malformed_events_are_rejected_one_by_one_and_the_rest_applied(
    shop: Shop,  # noqa: F811 - the fixture
) -> None:
    today = str(timezone.localdate())
    good = {"id": "OK-1", "kind": "death", "identifier": "194001019803", "date": today}
    bad: list[object] = [
        42,
        {"kind": "death", "identifier": "194001019803", "date": today},
        {"id": "X 1", "kind": "death", "identifier": "194001019803", "date": today},
        {"id": "X-2", "kind": "birth", "identifier": "194001019803", "date": today},
        {"id": "X-3", "kind": "death", "identifier": "194001019804", "date": today},
        {"id": "X-4", "kind": "death", "identifier": "194001019803", "date": "2025-02-30"},
        {"id": "X-5", "kind": "death", "identifier": "194001019803", "date": "1 maj 2025"},
        {"id": "X-6", "kind": "move", "identifier": "195503039819", "date": today, "city": "K"},
        {
            "id": "X-7",
            "kind": "move",
            "identifier": "195503039819",
            "date": today,
            "street": "Nygatan 1",
            "postal_code": "6522",
            "city": "Karlstad",
        },
        {
            "id": "X-8",
            "kind": "protection_set",
            "identifier": "195503039819",
            "date": today,
            "protection": "hemlig",
        },
        {"id": "X-9", "kind": "death", "identifier": 194001019803, "date": today},
    ]
    result = register_events_apply(actor=FEED, events=[*bad[:5], good, *bad[5:]])
    outcomes = [(e.index, e.outcome, e.error) for e in result.events]
    assert outcomes == [
        (0, "rejected", "not_an_object"),
        (1, "rejected", "bad_id"),
        (2, "rejected", "bad_id"),
        (3, "rejected", "unknown_kind"),
        (4, "rejected", "bad_identifier"),
        (5, "applied", ""),
        (6, "rejected", "bad_date"),
        (7, "rejected", "bad_date"),
        (8, "rejected", "missing_street"),
        (9, "rejected", "bad_postal_code"),
        (10, "rejected", "bad_protection"),
        (11, "rejected", "bad_identifier"),
    ]
    assert all(e.message for e in result.rejected), "each says what is wrong, in Swedish"
    assert "Kontrollsiffran" in result.events[4].message
    # Nothing of a rejected event is written: only the good one is kept, and Sten is unchanged.
    assert list(RegisterEvent.objects.values_list("event_id", flat=True)) == ["OK-1"]
    sten = Patient.objects.get(identifier="195503039819")
    assert (sten.street, sten.protection) == ("Sjövägen 2", "")
    rejected = _events(Action.REGISTER_EVENT_REJECTED)
    assert [e.detail["error"] for e in rejected] == [e.error for e in result.rejected]
    assert rejected[3].detail == {"index": 3, "event": "X-2", "kind": "", "error": "unknown_kind"}


def test_only_a_system_actor_applies_register_events(alice: Persona) -> None:
    with pytest.raises(PermissionDenied):
        register_events_apply(actor=alice.actor, events=[])


# --- The command --------------------------------------------------------------------------------


def test_the_command_applies_a_file_and_then_standard_input_end_to_end(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shop: Shop,  # noqa: F811 - the fixture
    estate: dict[str, Any],
    alice: Persona,
) -> None:
    today = str(timezone.localdate())
    feed = {
        "events": [
            {"id": "C-1", "kind": "death", "identifier": "19400101-9803", "date": today},
            {"id": "C-2", "kind": "death", "identifier": STRANGER, "date": today},
            {"id": "C-3", "kind": "death", "identifier": "19400101-9803"},
        ]
    }
    path = tmp_path / "events.json"
    path.write_text(json.dumps(feed), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 of 3 events rejected"):
        call_command("import_register_events", str(path), stdout=out, stderr=err)
    assert "1 applied, 0 unchanged, 0 superseded, 0 repeated, 1 unmatched, 1 rejected" in (
        out.getvalue()
    )
    assert "event 2 (C-3): rejected, bad_date" in err.getvalue()
    shop.patient.refresh_from_db()
    assert shop.patient.deceased_date == timezone.localdate()
    proposals = Message.objects.filter(recipient=alice.user, subject__startswith="Avliden")
    assert proposals.count() == 1
    (applied,) = _events(Action.REGISTER_EVENT_APPLIED)
    assert (applied.actor_username, applied.source_system) == (
        "system:population-register",
        "lyfta-cli",
    )
    # The same feed again, as a plain list on standard input: nothing new happens.
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(feed["events"][:2])))
    out = io.StringIO()
    call_command("import_register_events", "-", stdout=out)
    assert "0 applied, 0 unchanged, 0 superseded, 1 repeated, 1 unmatched, 0 rejected" in (
        out.getvalue()
    )
    assert proposals.count() == 1


def test_the_command_refuses_a_file_that_is_not_json_and_applies_nothing(
    tmp_path: Path,
    shop: Shop,  # noqa: F811 - the fixture
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"events": [{"id": "B-1", "kind": "death"', encoding="utf-8")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("import_register_events", str(path))
    path.write_text('{"händelser": []}', encoding="utf-8")
    with pytest.raises(CommandError, match="expected a list of events"):
        call_command("import_register_events", str(path))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_register_events", str(tmp_path / "missing.json"))
    assert not RegisterEvent.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="register.").exists()


def test_an_event_that_fails_half_way_leaves_nothing_behind(
    shop: Shop,  # noqa: F811 - the fixture
    estate: dict[str, Any],
) -> None:
    """The database refuses the event's last write (its audit record): the date of death, the
    messages, the proposals and the kept event id are rolled back with it."""

    def refuse_the_record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "audit_auditevent" in sql and Action.REGISTER_EVENT_APPLIED in (params or ()):
            raise DatabaseError("refused by the test")
        return execute(sql, params, many, context)

    messages = Message.objects.count()
    event = {"id": "H-1", "kind": "death", "identifier": "194001019803", "date": "2025-01-02"}
    with connection.execute_wrapper(refuse_the_record), pytest.raises(DatabaseError):
        register_events_apply(actor=FEED, events=[event])
    shop.patient.refresh_from_db()
    assert shop.patient.deceased_date is None
    assert Message.objects.count() == messages
    assert not AuditEvent.objects.filter(action=Action.PICKUP_PROPOSED).exists()
    assert not RegisterEvent.objects.exists()
    assert not PatientCorrection.objects.exists()
    # Sent again once the database takes it, the event is applied whole.
    assert _apply(event) == [Outcome.APPLIED]
    assert len(_events(Action.PICKUP_PROPOSED)) == 2
