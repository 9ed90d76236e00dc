"""No self-review (R92): a log reviewer who also holds a care assignment never judges his own
events or his own emergency accesses; his checks leave them out and name who takes them. And the
reviewer's forms answer odd input with a Swedish message, never a server error (R52, R78)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.accounts.tests.factories import TEST_PASSWORD, AssignmentFactory
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LegalBasis, ReviewCheck, ReviewItem, Verdict
from lyfta.audit.services import record
from lyfta.logreview import review
from lyfta.messages.models import Message
from lyfta.patients import services
from lyfta.patients.models import CareRelationship, EmergencyAccess, Patient

pytestmark = pytest.mark.django_db

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
PERIOD = {"period_from": "2026-03-01", "period_until": "2026-03-31"}


@contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def read(
    persona: Persona, patient: Patient, day: int, *, basis: str = LegalBasis.RELATIONSHIP
) -> AuditEvent:
    moment = dt.datetime.combine(
        dt.date(2026, 3, day), dt.time(10), timezone.get_current_timezone()
    )
    with clock(moment):
        return record(
            action=Action.PATIENT_READ,
            actor=persona.actor,
            patient_id=patient.pk,
            legal_basis=basis,
        )


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
def lena_care(county: County, lena: Persona) -> Persona:
    """Lena, the municipality's log reviewer, in the care assignment she also holds in unit A."""
    return Persona(
        user=lena.user,
        assignment=AssignmentFactory(user=lena.user, unit=county.unit_a, role=Role.PRESCRIBER),
    )


@pytest.fixture
def mats(county: County) -> Persona:
    """The municipality's other log reviewer."""
    return make_persona(
        county.unit_a2, Role.LOG_REVIEWER, "mats", first_name="Mats", last_name="Malm"
    )


@pytest.fixture
def accesses(alice: Persona, lena_care: Persona, patient: Patient) -> list[AuditEvent]:
    """Unit A's accesses in March: some by alice, some by lena in her care assignment, a few
    of each with a documented need (what the targeted check "need" selects)."""
    events = [read(alice, patient, day) for day in (2, 3, 4)]
    events += [read(lena_care, patient, day) for day in (5, 6, 7)]
    events.append(read(alice, patient, 9, basis=LegalBasis.NEED))
    events.append(read(lena_care, patient, 10, basis=LegalBasis.NEED))
    return events


def own_ids(persona: Persona) -> set[int]:
    return set(AuditEvent.objects.filter(actor_id=persona.user.pk).values_list("pk", flat=True))


# --- Sample, targeted and saved checks leave his own events out and name who takes them -------


def test_r92_a_sample_check_leaves_out_the_reviewers_own_events_and_names_another_reviewer(
    client: Client,
    county: County,
    lena: Persona,
    mats: Persona,
    alice: Persona,
    accesses: list[AuditEvent],
) -> None:
    # 200 is more than the unit's accesses: without the rule every one of them would be drawn.
    check = review.sample_draw(
        actor=lena.actor, unit=county.unit_a, period_from=MARCH[0], period_until=MARCH[1], size=200
    )
    drawn = set(check.items.values_list("event_id", flat=True))
    assert drawn
    assert not drawn & own_ids(lena)
    assert drawn == own_ids(alice)
    assert check.criteria["own_left_out"] == 4
    assert check.criteria["own_to"] == [mats.user.pk]
    assert check.criteria["own_to_role"] == Role.LOG_REVIEWER
    started = AuditEvent.objects.filter(action=Action.REVIEW_STARTED).get()
    assert started.detail["own_left_out"] == 4
    # Mats is told, with a link to lena's accesses in the unit and period.
    notice = Message.objects.get(recipient=mats.user)
    assert "Lena Logg" in notice.subject
    assert "user=lena" in notice.link and f"unit={county.unit_a.pk}" in notice.link
    assert not Message.objects.filter(recipient=lena.user).exists()
    # The check's page says who takes them.
    signed_in(client, lena)
    page = client.get(reverse("review:check", args=[check.pk])).content.decode()
    assert 'id="review-handover"' in page
    assert "4 logghändelser av Lena Logg ingår inte" in page
    assert "Granskas i stället av Mats Malm." in page


def test_r92_without_another_reviewer_the_check_names_the_system_administrators_or_nobody(
    county: County, lena: Persona, accesses: list[AuditEvent]
) -> None:
    check = review.sample_draw(
        actor=lena.actor, unit=county.unit_a, period_from=MARCH[0], period_until=MARCH[1], size=50
    )
    assert not set(check.items.values_list("event_id", flat=True)) & own_ids(lena)
    handover = review.check_handover(check)
    assert handover is not None
    assert handover.to == [] and handover.role == ""
    assert "ingen annan loggranskare hos vårdgivaren och ingen systemadministratör" in (
        handover.text
    )
    sigge = make_persona(county.centre, Role.SYSTEM_ADMIN, "sigge", first_name="Sigge")
    check = review.sample_draw(
        actor=lena.actor, unit=county.unit_a, period_from=MARCH[0], period_until=MARCH[1], size=50
    )
    handover = review.check_handover(check)
    assert handover is not None
    assert (handover.to, handover.role) == ([sigge.user], Role.SYSTEM_ADMIN)
    assert "systemadministratören (Sigge" in handover.text
    notice = Message.objects.get(recipient=sigge.user)
    assert "Ingen annan loggranskare" in notice.subject


def test_r92_targeted_checks_and_saved_checks_leave_out_the_reviewers_own_events(
    client: Client,
    lena: Persona,
    mats: Persona,
    alice: Persona,
    accesses: list[AuditEvent],
) -> None:
    own = own_ids(lena)
    events, handover = review.targeted_review(
        actor=lena.actor, name="need", period_from=MARCH[0], period_until=MARCH[1]
    )
    assert [e.actor_id for e in events] == [alice.user.pk]
    assert handover is not None and handover.count == 1 and handover.to == [mats.user]
    assert (
        not {
            e.pk
            for e in review.targeted_check(
                actor=lena.actor, name="need", period_from=MARCH[0], period_until=MARCH[1]
            )
        }
        & own
    )
    signed_in(client, lena)
    page = client.get(reverse("review:targeted", args=["need"]), PERIOD).content.decode()
    assert "1 logghändelse av Lena Logg ingår inte" in page
    assert "Granskas i stället av Mats Malm." in page
    # Kept as a check: the same rule, whatever the criteria select.
    saved = review.check_save(actor=lena.actor, params=review.SearchParams(*MARCH), targeted="need")
    assert not set(saved.items.values_list("event_id", flat=True)) & own
    assert saved.criteria["own_left_out"] == 1
    # A search on suspicion of her own accesses holds nothing for her to judge: it says why.
    with pytest.raises(ValidationError) as refused:
        review.check_save(actor=lena.actor, params=review.SearchParams(*MARCH, user=lena.user))
    assert "Granskas i stället av Mats Malm." in refused.value.messages[0]
    # Mats, who is not their author, keeps them as a check.
    theirs = review.check_save(actor=mats.actor, params=review.SearchParams(*MARCH, user=lena.user))
    assert set(theirs.items.values_list("event_id", flat=True)) == own


def test_r92_the_verdict_on_his_own_event_is_refused_and_recorded_even_posted_directly(
    client: Client,
    county: County,
    lena: Persona,
    mats: Persona,
    accesses: list[AuditEvent],
) -> None:
    # A check that holds lena's events: mats's sample, or one of lena's from before the rule.
    check = review.sample_draw(
        actor=mats.actor, unit=county.unit_a, period_from=MARCH[0], period_until=MARCH[1], size=50
    )
    mine = check.items.get(event_id=accesses[3].pk)
    theirs = check.items.get(event_id=accesses[0].pk)
    signed_in(client, lena)
    url = reverse("review:check", args=[check.pk])
    page = client.get(url).content.decode()
    assert "Din egen händelse: en annan loggranskare bedömer den." in page
    assert f'name="item" value="{mine.pk}"' not in page
    assert f'name="item" value="{theirs.pk}"' in page
    # Posted anyway: refused with a Swedish message, recorded, nothing stored.
    response = client.post(url, {"item": mine.pk, "verdict": Verdict.JUSTIFIED}, follow=True)
    assert "Du kan inte bedöma din egen logghändelse" in response.content.decode()
    mine.refresh_from_db()
    assert (mine.verdict, mine.decided_by) == ("", None)
    denied = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).order_by("-id").first()
    assert denied is not None
    assert denied.actor_id == lena.user.pk
    assert denied.detail["reason"] == "own_event"
    assert denied.patient_id == accesses[3].patient_id
    with pytest.raises(PermissionDenied):
        review.review_verdict(actor=lena.actor, item=mine, verdict=Verdict.JUSTIFIED)
    assert not AuditEvent.objects.filter(action=Action.REVIEW_VERDICT).exists()
    # Her verdict on another's event, and mats's on hers, are stored.
    client.post(url, {"item": theirs.pk, "verdict": Verdict.JUSTIFIED})
    review.review_verdict(actor=mats.actor, item=mine, verdict=Verdict.JUSTIFIED)
    assert dict(
        check.items.filter(pk__in=[mine.pk, theirs.pk]).values_list("pk", "decided_by")
    ) == {
        mine.pk: mats.user.pk,
        theirs.pk: lena.user.pk,
    }


def test_r92_an_old_check_of_his_with_his_own_event_sends_it_to_another_reviewer(
    county: County, lena: Persona, mats: Persona, accesses: list[AuditEvent]
) -> None:
    check = ReviewCheck.objects.create(
        provider=county.municipality,
        unit=county.unit_a,
        kind=ReviewCheck.Kind.SAMPLE,
        period_from=MARCH[0],
        period_until=MARCH[1],
        reviewer=lena.user,
        created_at=timezone.now(),
    )
    item = ReviewItem.objects.create(review=check, event_id=accesses[4].pk, reason="random")
    with pytest.raises(PermissionDenied):
        review.review_verdict(actor=lena.actor, item=item, verdict=Verdict.JUSTIFIED)
    review.review_verdict(actor=mats.actor, item=item, verdict=Verdict.JUSTIFIED)
    item.refresh_from_db()
    assert item.decided_by == mats.user


# --- Emergency accesses ------------------------------------------------------------------------


@pytest.fixture
def stranger(county: County) -> Patient:
    return Patient.objects.create(
        identifier="195503039819", id_kind="personnummer", first_name="Sten", last_name="Främling"
    )


def open_emergency(persona: Persona, patient: Patient) -> EmergencyAccess:
    return services.emergency_open(
        actor=persona.actor,
        patient=patient,
        reason_code="acute_care",
        reason_text="Medvetslös patient i hemmet",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )


def test_r92_a_reviewer_never_judges_his_own_emergency_access(
    client: Client, lena: Persona, lena_care: Persona, mats: Persona, stranger: Patient
) -> None:
    # Lena opens an emergency access in her care assignment, then switches to reviewing.
    emergency = open_emergency(lena_care, stranger)
    # Mats is told; she is not asked to judge her own.
    assert Message.objects.filter(recipient=mats.user, kind="emergency_access").exists()
    assert not Message.objects.filter(recipient=lena.user).exists()
    signed_in(client, lena)
    queue_url = reverse("patients:emergency_queue")
    page = client.get(queue_url).content.decode()
    assert f'name="emergency" value="{emergency.pk}"' not in page
    assert "Din egen nödåtkomst väntar på bedömning" in page
    assert "Granskas i stället av Mats Malm." in page
    overview = client.get(reverse("review:overview")).content.decode()
    assert "Medvetslös patient i hemmet" not in overview
    assert 'id="emergencies-waiting"' not in client.get(reverse("start")).content.decode()
    # Posted anyway: refused with a Swedish message, recorded (R38), nothing stored.
    response = client.post(
        queue_url, {"emergency": emergency.pk, "verdict": "justified", "note": "Ok"}, follow=True
    )
    assert "Du kan inte bedöma din egen nödåtkomst" in response.content.decode()
    emergency.refresh_from_db()
    assert (emergency.verdict, emergency.reviewed_by) == ("", None)
    denied = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).order_by("-id").first()
    assert denied is not None
    assert (denied.actor_id, denied.detail["reason"]) == (lena.user.pk, "own_emergency")
    assert denied.patient_id == stranger.pk
    with pytest.raises(PermissionDenied):
        services.emergency_review(actor=lena.actor, emergency=emergency, verdict="justified")
    # Escalated when it has waited too long: to mats again, never to her.
    EmergencyAccess.objects.filter(pk=emergency.pk).update(
        started_at=timezone.now() - dt.timedelta(days=10)
    )
    Message.objects.all().delete()
    assert services.emergencies_escalate(actor=Actor.system("test")) == 1
    assert list(Message.objects.values_list("recipient", flat=True)) == [mats.user.pk]
    # Mats sees it in his queue and judges it.
    signed_in(client, mats)
    assert f'name="emergency" value="{emergency.pk}"' in client.get(queue_url).content.decode()
    client.post(queue_url, {"emergency": emergency.pk, "verdict": "justified", "note": "Ok"})
    emergency.refresh_from_db()
    assert (emergency.verdict, emergency.reviewed_by) == ("justified", mats.user)


def test_r92_his_own_emergency_without_another_reviewer_goes_to_the_next_in_line(
    client: Client, county: County, lena: Persona, lena_care: Persona, stranger: Patient
) -> None:
    sigge = make_persona(
        county.centre, Role.SYSTEM_ADMIN, "sigge", first_name="Sigge", last_name="Sys"
    )
    open_emergency(lena_care, stranger)
    assert not Message.objects.filter(recipient=lena.user).exists()
    assert Message.objects.filter(recipient=sigge.user, kind="emergency_access").exists()
    signed_in(client, lena)
    page = client.get(reverse("patients:emergency_queue")).content.decode()
    assert "systemadministratören (Sigge Sys) behöver utse en" in page


# --- Odd input on the reviewer's forms: a Swedish message, never a 5xx --------------------------


def test_r78_a_verdict_on_an_entry_that_is_not_a_number_is_a_message_not_a_500(
    client: Client, county: County, lena: Persona, alice: Persona, patient: Patient
) -> None:
    read(alice, patient, 3)
    check = review.sample_draw(
        actor=lena.actor, unit=county.unit_a, period_from=MARCH[0], period_until=MARCH[1], size=5
    )
    signed_in(client, lena)
    url = reverse("review:check", args=[check.pk])
    for item in ("abc", "1.5", "-1", "١٢", "1" * 40, ""):
        response = client.post(url, {"item": item, "verdict": Verdict.JUSTIFIED})
        assert response.status_code == 400, item
        assert "Välj en logghändelse i kontrollen." in response.content.decode()
    # A NUL byte is refused at the edge, before any view (RefuseNulMiddleware).
    assert client.post(url, {"item": "1\x00", "verdict": Verdict.JUSTIFIED}).status_code == 400
    assert not check.items.exclude(verdict="").exists()


def test_r52_a_nul_in_the_emergency_review_note_is_a_swedish_form_error(
    client: Client, lena: Persona, alice: Persona, stranger: Patient
) -> None:
    emergency = open_emergency(alice, stranger)
    signed_in(client, lena)
    url = reverse("patients:emergency_queue")
    for note in ("Ok\x07", "rad\x1bbrytning"):
        response = client.post(
            url, {"emergency": emergency.pk, "verdict": "justified", "note": note}
        )
        assert response.status_code == 400
        assert "styrtecken" in response.content.decode()
    # A NUL byte is refused at the edge, before any view (RefuseNulMiddleware).
    nul = {"emergency": emergency.pk, "verdict": "justified", "note": "Ok\x00"}
    assert client.post(url, nul).status_code == 400
    for bad in ({"emergency": "abc", "verdict": "justified"}, {"emergency": emergency.pk}):
        response = client.post(url, bad)
        assert response.status_code == 400
    emergency.refresh_from_db()
    assert emergency.verdict == ""
    with pytest.raises(ValidationError):
        services.emergency_review(
            actor=lena.actor, emergency=emergency, verdict="justified", note="Ok\x00"
        )
    client.post(url, {"emergency": emergency.pk, "verdict": "justified", "note": "Ok"})
    emergency.refresh_from_db()
    assert (emergency.verdict, emergency.verdict_note) == ("justified", "Ok")
