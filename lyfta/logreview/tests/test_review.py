"""Log review: searches, targeted and sample checks, verdicts, schedules and patient log extracts
(R70, R75–R82; the emergency queue of R52 on the start page)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import SCREENSHOTS, County, Persona, make_persona, signed_in
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import (
    AuditEvent,
    LegalBasis,
    LogExtractRequest,
    ReviewCheck,
    ReviewItem,
    ReviewSchedule,
    Verdict,
)
from lyfta.audit.services import record
from lyfta.logreview import review
from lyfta.organisations.models import Unit
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db
TZ = timezone.get_current_timezone


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), TZ())


@contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    """Record as if it were `moment` (record() stamps events with timezone.now())."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def read(
    persona: Persona,
    patient: Patient,
    when: dt.datetime | None = None,
    *,
    action: str = Action.PATIENT_READ,
    basis: str = LegalBasis.RELATIONSHIP,
    owner: int | None = None,
) -> AuditEvent:
    with clock(when or timezone.now()):
        return record(
            action=action,
            actor=persona.actor,
            patient_id=patient.pk,
            legal_basis=basis,
            owner_provider_id=owner,
        )


def events_of(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def patient(county: County) -> Patient:
    p = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    CareRelationship.objects.create(
        unit=county.unit_a, patient=p, origin="order", valid_from=timezone.localdate()
    )
    return p


@pytest.fixture
def other(county: County) -> Patient:
    return Patient.objects.create(
        identifier="195503039819", id_kind="personnummer", first_name="Sten", last_name="Främling"
    )


# A Tuesday that is a working day in Sweden, and the period around it.
TUESDAY = dt.date(2026, 3, 10)
PERIOD = {"period_from": "2026-03-01", "period_until": "2026-03-31"}


# --- R70: reading the log is limited to reviewers and is itself logged ----------------------


def test_r70_only_log_reviewers_read_the_log(
    client: Client, alice: Persona, patient: Patient
) -> None:
    signed_in(client, alice)
    for name in ("review:overview", "review:search", "review:sample_new", "review:extract_new"):
        assert client.get(reverse(name)).status_code == 403
    with pytest.raises(PermissionDenied):
        review.review_search(
            actor=alice.actor, params=review.SearchParams(TUESDAY, TUESDAY, patient=patient)
        )
    denied = events_of(Action.ACCESS_DENIED)
    assert len(denied) >= 5
    assert all(e.actor_id == alice.user.pk for e in denied)


def test_r70_each_search_and_each_opened_entry_is_audited(
    client: Client, lena: Persona, alice: Persona, patient: Patient
) -> None:
    event = read(alice, patient, at(TUESDAY))
    signed_in(client, lena)
    response = client.get(reverse("review:search"), {**PERIOD, "patient": "19400101-9803"})
    assert response.status_code == 200
    searched = events_of(Action.AUDIT_SEARCHED)[-1]
    assert searched.actor_id == lena.user.pk
    assert searched.patient_id == patient.pk
    assert searched.detail["patient"] == patient.pk
    assert searched.detail["shown"] == 1
    # The search's parameters are recorded, never its results (R60).
    assert "Apel" not in str(searched.detail)

    response = client.get(reverse("review:entry", args=[event.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Apel, Aina (19400101-9803)" in page
    # The snapshot's purpose and role in words, never the stored codes.
    assert "Vård och behandling" in page
    assert "Förskrivare" in page
    viewed = events_of(Action.AUDIT_ENTRY_VIEWED)[-1]
    assert (viewed.actor_id, viewed.resource_id, viewed.patient_id) == (
        lena.user.pk,
        str(event.pk),
        patient.pk,
    )


def test_r70_a_reviewer_sees_only_events_of_their_own_provider(
    county: County,
    lena: Persona,
    alice: Persona,
    charlie: Persona,
    patient: Patient,
    other: Patient,
) -> None:
    mine = read(alice, patient, at(TUESDAY))
    theirs = read(charlie, other, at(TUESDAY))
    # Charlie (region) reading the municipality's data concerns the municipality too (R43).
    into_ours = read(
        charlie,
        patient,
        at(TUESDAY),
        action=Action.PATIENT_CROSS_PROVIDER_READ,
        owner=county.municipality.pk,
    )
    shown = review.review_search(actor=lena.actor, params=review.SearchParams(TUESDAY, TUESDAY))
    ids = {e.pk for e in shown}
    assert mine.pk in ids
    assert into_ours.pk in ids
    assert theirs.pk not in ids
    with pytest.raises(Http404):
        review.review_entry(actor=lena.actor, event_id=theirs.pk)


# --- R77: all accesses by one user or to one patient over any period -------------------------


def test_r77_search_by_patient_or_user_over_any_period(
    client: Client, lena: Persona, alice: Persona, bob: Persona, patient: Patient, other: Patient
) -> None:
    long_ago = read(alice, patient, at(dt.date(2021, 6, 1)))
    recent = read(bob, patient, at(TUESDAY))
    elsewhere = read(alice, other, at(TUESDAY))
    params = review.SearchParams(dt.date(2020, 1, 1), dt.date(2026, 12, 31), patient=patient)
    assert [e.pk for e in review.review_search(actor=lena.actor, params=params)] == [
        recent.pk,
        long_ago.pk,
    ]
    params = review.SearchParams(dt.date(2020, 1, 1), dt.date(2026, 12, 31), user=alice.user)
    assert [e.pk for e in review.review_search(actor=lena.actor, params=params)] == [
        elsewhere.pk,
        long_ago.pk,
    ]
    # Through the page, by username: the table names each access.
    signed_in(client, lena)
    response = client.get(
        reverse("review:search"),
        {"period_from": "2020-01-01", "period_until": "2026-12-31", "user": "alice"},
    )
    page = response.content.decode()
    assert "2021-06-01 10:00" in page
    assert "Främling, Sten" in page
    # The accesses-per-day chart, with SVG lengths a browser reads (no Swedish decimal comma).
    bars = re.findall(r'<rect x="([^"]*)" y="([^"]*)" width="([^"]*)" height="([^"]*)"', page)
    assert bars
    assert all(re.fullmatch(r"\d+(\.\d+)?", value) for bar in bars for value in bar)


def test_r77_bad_search_input_gets_a_swedish_message(client: Client, lena: Persona) -> None:
    signed_in(client, lena)
    cases = [
        ({"period_from": "2026-03-31", "period_until": "2026-03-01"}, "före dess början"),
        ({**PERIOD, "patient": "19121212-1212"}, "ingen patient"),
        ({**PERIOD, "patient": "inte ett nummer"}, ""),
        ({**PERIOD, "user": "finns-inte"}, "ingen användare"),
        ({"period_from": "igår", "period_until": "2026-03-01"}, ""),
        ({"period_from": "2000-01-01", "period_until": "2026-03-01"}, "tio år"),
    ]
    for query, message in cases:
        response = client.get(reverse("review:search"), query)
        assert response.status_code == 400, query
        assert message in response.content.decode(), query
    assert client.get(reverse("review:fhir"), {"period_from": "x"}).status_code == 400


def test_r77_a_search_can_be_kept_as_a_check_on_suspicion(
    client: Client, lena: Persona, alice: Persona, patient: Patient
) -> None:
    read(alice, patient, at(TUESDAY))
    read(alice, patient, at(TUESDAY, 11))
    signed_in(client, lena)
    response = client.post(
        reverse("review:check_save"), {**PERIOD, "kind": "search", "user": "alice"}
    )
    saved = ReviewCheck.objects.get()
    assert response["Location"] == reverse("review:check", args=[saved.pk])
    assert saved.kind == ReviewCheck.Kind.SUSPICION
    assert saved.reviewer == lena.user
    assert saved.criteria["user"] == alice.user.pk
    assert saved.items.count() == 2
    assert events_of(Action.REVIEW_STARTED)[-1].resource_id == str(saved.pk)
    # Nothing found: nothing saved, and a message says why.
    response = client.post(
        reverse("review:check_save"),
        {"period_from": "2025-01-01", "period_until": "2025-01-31", "kind": "search"},
        follow=True,
    )
    assert "inga logghändelser" in response.content.decode()
    assert ReviewCheck.objects.count() == 1


# --- R76: targeted checks as saved queries ---------------------------------------------------


def test_r76_each_targeted_check_finds_what_it_names_and_not_plain_access(
    county: County,
    lena: Persona,
    alice: Persona,
    bob: Persona,
    charlie: Persona,
    patient: Patient,
    other: Patient,
) -> None:
    day = TUESDAY
    plain = read(bob, patient, at(day))
    found = {
        "need": read(alice, other, at(day), basis=LegalBasis.NEED),
        "emergency": read(alice, other, at(day, 11), basis=LegalBasis.EMERGENCY),
        "cross_provider": read(
            charlie,
            patient,
            at(day),
            action=Action.PATIENT_CROSS_PROVIDER_READ,
            owner=county.municipality.pk,
        ),
        "off_hours": read(bob, patient, at(dt.date(2026, 3, 14), 13)),  # a Saturday
    }
    protected = Patient.objects.create(
        identifier="196001019807",
        id_kind="personnummer",
        first_name="Skyddad",
        last_name="Person",
        protection="protected",
    )
    found["protected"] = read(alice, protected, at(day, 12))
    alice.user.personnummer = "198112189876"
    alice.user.save(update_fields=["personnummer"])
    herself = Patient.objects.create(
        identifier="198112189876", id_kind="personnummer", first_name="Alice", last_name="Ask"
    )
    found["own_record"] = read(alice, herself, at(day, 13))
    relative = Patient.objects.create(
        identifier="195001019809", id_kind="personnummer", first_name="Bo", last_name="BOK"
    )
    found["same_surname"] = read(bob, relative, at(day, 14))
    burst = [read(alice, other, at(dt.date(2026, 3, 12), 9, minute)) for minute in range(12)]
    found["volume"] = burst[0]

    for name, event in found.items():
        hits = {
            e.pk
            for e in review.targeted_check(
                actor=lena.actor,
                name=name,
                period_from=dt.date(2026, 3, 1),
                period_until=dt.date(2026, 3, 31),
            )
        }
        assert event.pk in hits, name
        assert plain.pk not in hits, name
    assert set(review.TARGETED) == set(found)
    # Each run is recorded as a search of the log with the check's name (R70).
    assert {e.detail.get("targeted") for e in events_of(Action.AUDIT_SEARCHED)} >= set(found)


def test_r76_unusual_volume_is_measured_against_the_users_own_history(
    lena: Persona, alice: Persona, other: Patient
) -> None:
    # Alice usually opens about 15 patients a day; 16 on one day is not unusual for her.
    for offset in range(1, 11):
        for minute in range(15):
            read(alice, other, at(TUESDAY - dt.timedelta(days=offset), 9, minute))
    for minute in range(16):
        read(alice, other, at(TUESDAY, 9, minute))
    hits = review.targeted_check(
        actor=lena.actor, name="volume", period_from=TUESDAY, period_until=TUESDAY
    )
    assert hits == []
    # Three times her usual day is.
    for minute in range(50):
        read(alice, other, at(TUESDAY + dt.timedelta(days=1), 9, minute))
    hits = review.targeted_check(
        actor=lena.actor,
        name="volume",
        period_from=TUESDAY + dt.timedelta(days=1),
        period_until=TUESDAY + dt.timedelta(days=1),
    )
    assert len(hits) == 50


def test_r76_off_hours_knows_swedish_holidays_and_evenings() -> None:
    assert review.off_hours(at(dt.date(2026, 12, 24), 10))  # julafton
    assert review.off_hours(at(dt.date(2026, 4, 3), 10))  # långfredagen
    assert review.off_hours(at(TUESDAY, 19))
    assert review.off_hours(at(TUESDAY, 6, 59))
    assert not review.off_hours(at(TUESDAY, 7))
    assert not review.off_hours(at(TUESDAY, 17, 59))


def test_r76_the_off_hours_check_in_the_database_follows_the_same_rule(
    lena: Persona, alice: Persona, other: Patient
) -> None:
    """The check is decided by the database (it used to look at the first 20,000 events of a
    period only); hour by hour over working days, weekends, holidays, an eve and both clock
    changes, it flags exactly what `off_hours` does."""
    days = [
        TUESDAY,
        dt.date(2026, 3, 14),  # a Saturday
        dt.date(2026, 3, 29),  # summer time begins at 02:00
        dt.date(2026, 4, 3),  # långfredagen
        dt.date(2026, 6, 19),  # midsommarafton
        dt.date(2026, 10, 26),  # the Monday after winter time began
        dt.date(2026, 12, 24),  # julafton
    ]
    events = [
        read(alice, other, dt.datetime.combine(day, dt.time(0, 30), dt.UTC) + dt.timedelta(hours=h))
        for day in days
        for h in range(24)
    ]
    expected = {e.pk for e in events if review.off_hours(e.occurred_at)}
    assert 0 < len(expected) < len(events)
    found = {
        e.pk
        for e in review.targeted_check(
            actor=lena.actor,
            name="off_hours",
            period_from=dt.date(2026, 3, 1),
            period_until=dt.date(2026, 12, 31),
        )
    }
    assert found == expected


def test_r76_targeted_pages_run_and_unknown_checks_are_404(
    client: Client, lena: Persona, alice: Persona, other: Patient
) -> None:
    read(alice, other, at(TUESDAY), basis=LegalBasis.NEED)
    signed_in(client, lena)
    for name in review.TARGETED:
        response = client.get(reverse("review:targeted", args=[name]), PERIOD)
        assert response.status_code == 200, name
    page = client.get(reverse("review:targeted", args=["need"]), PERIOD).content.decode()
    assert "Främling, Sten" in page
    assert client.get(reverse("review:targeted", args=["inget"])).status_code == 404
    response = client.post(reverse("review:check_save"), {**PERIOD, "kind": "need"})
    saved = ReviewCheck.objects.get()
    assert saved.kind == ReviewCheck.Kind.TARGETED
    assert saved.criteria["targeted"] == "need"
    assert [i.reason for i in saved.items.all()] == ["need"]
    assert client.post(reverse("review:check_save"), {**PERIOD, "kind": "x"}).status_code == 404


# --- R75: sample checks mix criteria with randomness ----------------------------------------


@pytest.fixture
def busy_unit(county: County, alice: Persona, bob: Persona, other: Patient) -> Unit:
    """A month of ordinary accesses in unit A by three users, and a few that meet criteria."""
    carl = make_persona(county.unit_a, Role.PRESCRIBER, "carl")
    for day in range(2, 28):
        for persona in (alice, bob):
            read(persona, other, at(dt.date(2026, 3, day), 10, day))
    read(carl, other, at(dt.date(2026, 3, 20)))
    read(alice, other, at(dt.date(2026, 3, 5)), basis=LegalBasis.NEED)
    read(bob, other, at(dt.date(2026, 3, 6)), basis=LegalBasis.EMERGENCY)
    return county.unit_a


def test_r75_a_sample_mixes_criteria_users_and_chance(
    lena: Persona, busy_unit: Unit, alice: Persona
) -> None:
    check = review.sample_draw(
        actor=lena.actor,
        unit=busy_unit,
        period_from=dt.date(2026, 3, 1),
        period_until=dt.date(2026, 3, 31),
        size=20,
    )
    items = list(check.items.all())
    assert len(items) == 20
    reasons = {item.reason for item in items}
    assert {"need", "emergency", "user", "random"} <= reasons
    events = AuditEvent.objects.in_bulk([i.event_id for i in items])
    # Every user who accessed patients in the unit and period is in the sample, carl's one
    # access included.
    assert {e.actor_username for e in events.values()} == {"alice", "bob", "carl"}
    assert all(e.actor_unit_id == busy_unit.pk for e in events.values())
    assert check.criteria["size"] == 20
    assert check.criteria["drawn"] == 20
    assert check.reviewer == lena.user


def test_r75_users_cannot_predict_a_sample(lena: Persona, busy_unit: Unit) -> None:
    # The randomness comes from the operating system, not from a seedable generator.
    assert isinstance(review._random, secrets.SystemRandom)
    drawn = [
        frozenset(
            review.sample_draw(
                actor=lena.actor,
                unit=busy_unit,
                period_from=dt.date(2026, 3, 1),
                period_until=dt.date(2026, 3, 31),
                size=10,
            )
            .items.filter(reason="random")
            .values_list("event_id", flat=True)
        )
        for _ in range(4)
    ]
    # Four draws of the random part over ~50 events: not all the same.
    assert len(set(drawn)) > 1


def test_r75_sample_input_is_checked(client: Client, lena: Persona, county: County) -> None:
    with pytest.raises(ValidationError):
        review.sample_draw(
            actor=lena.actor, unit=county.unit_a, period_from=TUESDAY, period_until=TUESDAY, size=2
        )
    signed_in(client, lena)
    response = client.post(
        reverse("review:sample_new"),
        {"unit": county.unit_b.pk, "size": 10, **PERIOD},  # the region's unit: not hers
    )
    assert response.status_code == 400
    response = client.post(
        reverse("review:sample_new"), {"unit": county.unit_a.pk, "size": 1000, **PERIOD}
    )
    assert response.status_code == 400
    assert ReviewCheck.objects.count() == 0


# --- R78: every check is recorded with verdicts and follow-up -------------------------------


def test_r78_verdicts_follow_up_and_the_closed_check_are_stored_and_audited(
    client: Client, lena: Persona, busy_unit: Unit
) -> None:
    signed_in(client, lena)
    response = client.post(
        reverse("review:sample_new"), {"unit": busy_unit.pk, "size": 5, **PERIOD}
    )
    check = ReviewCheck.objects.get()
    assert response["Location"] == reverse("review:check", args=[check.pk])
    url = reverse("review:check", args=[check.pk])
    items = list(check.items.order_by("id"))
    # "Not justified" needs a follow-up: refused without one, nothing stored.
    client.post(url, {"item": items[0].pk, "verdict": Verdict.UNJUSTIFIED})
    items[0].refresh_from_db()
    assert items[0].verdict == ""
    # Closing with entries left is refused.
    response = client.post(url, {"close": "1", "conclusion": "Klart"}, follow=True)
    assert "behöver en bedömning" in response.content.decode()
    client.post(
        url,
        {"item": items[0].pk, "verdict": Verdict.UNJUSTIFIED, "follow_up": "Samtal med chef"},
    )
    client.post(url, {"item": items[1].pk, "verdict": Verdict.UNCLEAR, "follow_up": "Fråga"})
    for item in items[2:]:
        client.post(url, {"item": item.pk, "verdict": Verdict.JUSTIFIED})
    # A verdict on another check's entry, or a made-up verdict, changes nothing.
    assert client.post(url, {"item": 999999, "verdict": "justified"}).status_code == 404
    client.post(url, {"item": items[2].pk, "verdict": "kanske"})
    response = client.post(url, {"close": "1", "conclusion": "En åtkomst utreds."})
    check.refresh_from_db()
    assert check.closed_at is not None
    assert check.conclusion == "En åtkomst utreds."
    stored = {i.pk: (i.verdict, i.follow_up, i.decided_by_id) for i in check.items.all()}
    assert stored[items[0].pk] == (Verdict.UNJUSTIFIED, "Samtal med chef", lena.user.pk)
    assert stored[items[1].pk] == (Verdict.UNCLEAR, "Fråga", lena.user.pk)
    assert stored[items[2].pk][0] == Verdict.JUSTIFIED
    verdicts = events_of(Action.REVIEW_VERDICT)
    assert len(verdicts) == 5
    closed = events_of(Action.REVIEW_CLOSED)[-1]
    assert closed.detail == {"items": 5, "unjustified": 1}
    # A closed check is kept as it is.
    with pytest.raises(ValidationError):
        review.review_verdict(actor=lena.actor, item=items[3], verdict=Verdict.UNCLEAR)
    page = client.get(url).content.decode()
    assert "Samtal med chef" in page
    assert "En åtkomst utreds." in page


# --- R79: a schedule per unit with overdue warnings ------------------------------------------


def test_r79_overdue_units_warn_on_the_reviewers_start_page(
    client: Client, county: County, lena: Persona, busy_unit: Unit
) -> None:
    Unit.objects.filter(pk=county.unit_a.pk).update(
        created_at=timezone.now() - dt.timedelta(days=200)
    )
    signed_in(client, lena)
    page = client.get(reverse("start")).content.decode()
    assert 'id="review-overdue"' in page
    assert county.unit_a.name in page
    assert county.unit_a2.name not in page.split('id="review-overdue"')[1].split("</div>")[0]
    # A closed sample check of the unit clears it.
    check = review.sample_draw(
        actor=lena.actor,
        unit=county.unit_a,
        period_from=dt.date(2026, 3, 1),
        period_until=dt.date(2026, 3, 31),
        size=5,
    )
    for item in check.items.all():
        review.review_verdict(actor=lena.actor, item=item, verdict=Verdict.JUSTIFIED)
    review.review_close(actor=lena.actor, check=check, conclusion="Inga avvikelser.")
    assert 'id="review-overdue"' not in client.get(reverse("start")).content.decode()
    # The overview's schedule shows when it was done and when the next is due.
    row = next(r for r in review.schedules(actor=lena.actor) if r.unit == county.unit_a)
    assert row.last_closed == timezone.localdate()
    assert row.due == timezone.localdate() + dt.timedelta(days=90)


def test_r79_the_interval_is_configurable_per_unit(
    client: Client, county: County, lena: Persona, alice: Persona
) -> None:
    signed_in(client, lena)
    url = reverse("review:schedule", args=[county.unit_a.pk])
    assert client.post(url, {"interval_days": 3}).status_code == 400
    assert client.post(url, {"interval_days": "en månad"}).status_code == 400
    assert client.post(url, {"interval_days": 30}).status_code == 302
    schedule = ReviewSchedule.objects.get(unit=county.unit_a)
    assert schedule.interval_days == 30
    assert schedule.updated_by == lena.user
    assert events_of(Action.REVIEW_SCHEDULE_SET)[-1].changes == {"interval_days": [None, 30]}
    Unit.objects.filter(pk=county.unit_a.pk).update(
        created_at=timezone.now() - dt.timedelta(days=40)
    )
    rows = {r.unit.pk: r for r in review.schedules(actor=lena.actor)}
    assert rows[county.unit_a.pk].overdue
    assert not rows[county.unit_a2.pk].overdue  # the default 90 days
    with pytest.raises(PermissionDenied):
        review.schedule_set(actor=alice.actor, unit=county.unit_a, interval_days=30)


def test_r52_waiting_emergency_accesses_show_on_the_reviewers_start_page(
    client: Client, lena: Persona, alice: Persona, patient: Patient
) -> None:
    from lyfta.patients.models import EmergencyAccess

    now = timezone.now()
    EmergencyAccess.objects.create(
        user=alice.user,
        assignment=alice.assignment,
        patient=patient,
        reason_code="acute_care",
        reason_text="Akut",
        patient_cannot_consent=True,
        started_at=now,
        expires_at=now + dt.timedelta(hours=2),
    )
    signed_in(client, lena)
    page = client.get(reverse("start")).content.decode()
    assert 'id="emergencies-waiting"' in page
    assert "1 nödåtkomst väntar på bedömning" in page


# --- R80–R82: patient log extracts -----------------------------------------------------------


@pytest.fixture
def accessed(
    county: County, alice: Persona, charlie: Persona, patient: Patient, other: Patient
) -> list[AuditEvent]:
    """Five accesses to the municipality's data on the patient, by two providers, and noise
    that is not in its extract: another patient, a day after the period, a refusal, and the
    region's reading of its own data (the region's answer, not the municipality's)."""
    accesses = [
        read(alice, patient, at(dt.date(2026, 2, 3), 8, 15)),
        read(alice, patient, at(dt.date(2026, 2, 4), 14, 40), basis=LegalBasis.NEED),
        read(
            charlie,
            patient,
            at(dt.date(2026, 2, 10), 9, 5),
            action=Action.PATIENT_CROSS_PROVIDER_READ,
            owner=county.municipality.pk,
        ),
        read(alice, patient, at(dt.date(2026, 2, 11), 16, 30), action=Action.PATIENT_LISTED),
        read(
            charlie,
            patient,
            at(dt.date(2026, 2, 27), 21, 50),
            action=Action.PATIENT_CROSS_PROVIDER_READ,
            owner=county.municipality.pk,
        ),
    ]
    read(alice, other, at(dt.date(2026, 2, 5)))  # another patient
    read(charlie, patient, at(dt.date(2026, 2, 6)), owner=county.region.pk)  # the region's own
    read(alice, patient, at(dt.date(2026, 3, 2)))  # after the period
    with clock(at(dt.date(2026, 2, 12))):
        record(
            action=Action.PATIENT_ACCESS_DENIED,
            actor=charlie.actor,
            patient_id=patient.pk,
            outcome="denied",
        )
    return accesses


def extract_for(lena: Persona, patient: Patient, **kwargs: object) -> LogExtractRequest:
    fields: dict[str, object] = {
        "kind": LogExtractRequest.Kind.PATIENT_REQUEST,
        "requested_at": dt.date(2026, 3, 5),
        "requester": "Patienten själv",
        "period_from": dt.date(2026, 2, 1),
        "period_until": dt.date(2026, 2, 28),
        **kwargs,
    }
    return review.extract_register(actor=lena.actor, patient=patient, **fields)  # type: ignore[arg-type]


def test_r80_the_extract_lists_every_access_in_plain_swedish(
    county: County, lena: Persona, patient: Patient, accessed: list[AuditEvent]
) -> None:
    rows = review.extract_rows(extract_for(lena, patient))
    assert [r.when for r in rows] == [timezone.localtime(e.occurred_at) for e in accessed]
    assert [r.unit for r in rows] == [
        county.unit_a.name,
        county.unit_a.name,
        county.unit_b.name,
        county.unit_a.name,
        county.unit_b.name,
    ]
    assert [r.provider for r in rows] == [
        county.municipality.name,
        county.municipality.name,
        county.region.name,
        county.municipality.name,
        county.region.name,
    ]
    assert rows[0].kind == "Läste dina uppgifter"
    assert rows[2].kind == "Läste uppgifter som en annan vårdgivare har registrerat"
    assert rows[3].kind == "Du syntes i en sökträfflista"
    assert all(r.staff == "" for r in rows)  # the default: unit and time only (R81)


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")
def test_r80_the_pdf_renders_and_lists_every_access_of_its_fixture(
    client: Client,
    county: County,
    lena: Persona,
    patient: Patient,
    accessed: list[AuditEvent],
    tmp_path: Path,
) -> None:
    extract = extract_for(lena, patient)
    signed_in(client, lena)
    response = client.get(reverse("review:extract_file", args=[extract.pk, "pdf"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "loggutdrag.pdf"
    pdf.write_bytes(response.content)
    pdftoppm, pdftotext = shutil.which("pdftoppm"), shutil.which("pdftotext")
    assert pdftoppm and pdftotext
    subprocess.run(  # noqa: S603 (fixed arguments, no input)
        [pdftoppm, "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    assert all(p.stat().st_size > 1000 for p in pages)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pages[0], SCREENSHOTS / "audit-extract-pdf-page1.png")  # kept for a human eye
    text = subprocess.run(  # noqa: S603 (fixed arguments, no input)
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Aina Apel" in text
    assert "19400101-9803" in text
    for event in accessed:
        local = timezone.localtime(event.occurred_at)
        assert f"{local:%Y-%m-%d}" in text, local
        assert f"{local:%H:%M}" in text, local
    assert text.count(county.unit_b.name) >= 2
    assert "2026-02-12" not in text  # the refused attempt was no access
    assert "2026-02-05" not in text  # another patient's
    assert "2026-02-06" not in text  # the region's reading of its own data
    assert "Alice" not in text  # no staff names by default


def test_r80_the_csv_has_one_row_per_access(
    client: Client, lena: Persona, patient: Patient, accessed: list[AuditEvent]
) -> None:
    extract = extract_for(lena, patient)
    signed_in(client, lena)
    response = client.get(reverse("review:extract_file", args=[extract.pk, "csv"]))
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")  # so that Excel reads å, ä and ö
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert len(table) == 1 + len(accessed)
    assert table[1][0] == "2026-02-03"
    assert table[1][1] == "08:15"


def test_r81_staff_names_only_for_an_official_request_after_secrecy_review(
    county: County, lena: Persona, patient: Patient, accessed: list[AuditEvent]
) -> None:
    official = LogExtractRequest.Kind.OFFICIAL_DOCUMENT

    def staff(**kwargs: object) -> set[str]:
        return {r.staff for r in review.extract_rows(extract_for(lena, patient, **kwargs))}

    assert staff() == {""}
    assert staff(kind=official) == {""}  # no secrecy review yet
    # The patient's own request never turns names on, even if a box was ticked.
    assert staff(secrecy_reviewed=True) == {""}
    assert staff(kind=official, secrecy_reviewed=True) == {""}  # the provider shows no names
    county.municipality.extract_staff_names = True
    county.municipality.save(update_fields=["extract_staff_names"])
    assert staff(kind=official, secrecy_reviewed=True) == {"Alice Ask", "Charlie Cedersköld"}


def test_r82_the_deadline_is_a_month_and_every_step_is_logged(
    client: Client, lena: Persona, patient: Patient, accessed: list[AuditEvent]
) -> None:
    end_of_january = extract_for(lena, patient, requested_at=dt.date(2026, 1, 31))
    assert end_of_january.due_at == dt.date(2026, 2, 28)
    extract = extract_for(lena, patient)
    assert extract.due_at == dt.date(2026, 4, 5)
    requested = events_of(Action.EXTRACT_REQUESTED)[-1]
    assert requested.patient_id == patient.pk
    assert requested.detail["due_at"] == "2026-04-05"
    signed_in(client, lena)
    # Delivering before producing is refused.
    url = reverse("review:extract_delivered", args=[extract.pk])
    response = client.post(url, {"delivered_at": "2026-03-20"}, follow=True)
    assert "Ta fram utdraget" in response.content.decode()
    client.get(reverse("review:extract_file", args=[extract.pk, "csv"]))
    produced = events_of(Action.EXTRACT_PRODUCED)[-1]
    assert produced.actor_id == lena.user.pk
    assert produced.detail == {"format": "csv", "rows": 5, "names": False}
    for bad in ("i morgon", "2026-03-01", "2999-01-01"):
        response = client.post(url, {"delivered_at": bad}, follow=True)
        assert response.status_code == 200
    extract.refresh_from_db()
    assert extract.delivered_at is None
    client.post(url, {"delivered_at": "2026-03-20"})
    extract.refresh_from_db()
    assert extract.delivered_at == dt.date(2026, 3, 20)
    assert extract.produced_by == lena.user
    delivered = events_of(Action.EXTRACT_DELIVERED)[-1]
    assert delivered.detail == {"delivered_at": "2026-03-20", "late": False}


def test_r82_overdue_requests_are_flagged_on_the_overview(
    client: Client, lena: Persona, patient: Patient
) -> None:
    with clock(at(dt.date(2026, 1, 10))):
        extract_for(lena, patient, requested_at=dt.date(2026, 1, 10))
    signed_in(client, lena)
    page = client.get(reverse("review:overview")).content.decode()
    assert "2026-02-10" in page
    assert "försenat" in page


def test_r82_bad_extract_requests_get_swedish_messages(
    client: Client, lena: Persona, patient: Patient
) -> None:
    signed_in(client, lena)
    base = {
        "patient": "19400101-9803",
        "kind": "patient",
        "requested_at": "2026-03-05",
        "period_from": "2026-01-01",
        "period_until": "2026-02-28",
    }
    for change, message in (
        ({"patient": "19121212-1212"}, ""),
        ({"kind": "annan"}, ""),
        ({"requested_at": "2199-01-01"}, "framtiden"),
        ({"requested_at": "2999-01-01"}, "Ange ett datum mellan"),
        ({"period_until": "2025-01-01"}, "före dess början"),
    ):
        response = client.post(reverse("review:extract_new"), {**base, **change})
        assert response.status_code == 400, change
        assert message in response.content.decode()
    assert LogExtractRequest.objects.count() == 0
    response = client.post(reverse("review:extract_new"), base)
    assert response.status_code == 302
    assert LogExtractRequest.objects.get().requester == "Patienten"


def test_review_items_of_a_deleted_check_are_kept_with_it(lena: Persona, county: County) -> None:
    # ReviewItem protects its check: a check with entries cannot be deleted by accident (R78).
    from django.db.models import ProtectedError

    check = ReviewCheck.objects.create(
        provider=county.municipality,
        unit=county.unit_a,
        kind=ReviewCheck.Kind.SAMPLE,
        period_from=TUESDAY,
        period_until=TUESDAY,
        reviewer=lena.user,
        created_at=timezone.now(),
    )
    ReviewItem.objects.create(review=check, event_id=1, reason="random")
    with pytest.raises(ProtectedError):
        check.delete()
