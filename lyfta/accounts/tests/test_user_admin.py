"""Accounts and assignments: one person per account (R1), assignments (R2, R4), ending access
(R5, R37), follow-up (R6), dormant accounts (R7), audited changes (R8), no self-granting (R9),
the user agreement (R10), separate providers (R11) and the assignment per session (R31)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access import users as access_users
from lyfta.access.roles import ROLE_CAPABILITIES, Role
from lyfta.accounts import agreement, services
from lyfta.accounts.models import AgreementAcceptance, Assignment, RecertificationDecision, User
from lyfta.accounts.tests.factories import AssignmentFactory, UserFactory
from lyfta.accounts.tests.helpers import actions, last_event, sign_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.core.dates import add_months

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


# --- R1: one identified person per account ------------------------------------------------------


def test_r1_two_accounts_cannot_share_a_personnummer(alice: Persona) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="alias", personnummer=alice.user.personnummer)


def test_r1_the_account_form_requires_a_valid_personnummer() -> None:
    from lyfta.accounts.forms import UserForm

    base = {
        "first_name": "Ny",
        "last_name": "Person",
        "username": "ny",
        "title": "AT",
        "workplace": "X",
        "valid_from": "2026-01-01",
    }
    form = UserForm({**base, "personnummer": "19900101-1234"})
    assert not form.is_valid()
    assert "Personnumret är inte giltigt" in str(form.errors["personnummer"])
    form = UserForm({**base, "personnummer": "199001019810"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["personnummer"] == "199001019810"
    assert not UserForm({**base, "personnummer": ""}).is_valid()


def test_r1_the_demo_accounts_are_each_one_person() -> None:
    call_command("seed_demo", stdout=__import__("io").StringIO())
    people = list(User.objects.values_list("personnummer", flat=True))
    assert len(people) == len(set(people)) >= 16
    assert all(people)


# --- R2: access rights are assignments ----------------------------------------------------------


def test_r2_an_assignment_holds_unit_role_purpose_window_and_decision(alice: Persona) -> None:
    a = alice.assignment
    assert (a.unit, a.role, a.purpose) == (a.unit, Role.PRESCRIBER, "care")
    assert a.valid_from and a.valid_until and a.decision_reference
    assert a.unit.provider.organisation_number


def test_r2_without_an_assignment_in_force_nothing_opens(client: Client, alice: Persona) -> None:
    Assignment.objects.filter(pk=alice.assignment.pk).update(
        valid_until=TODAY() - dt.timedelta(days=1), valid_from=TODAY() - dt.timedelta(days=9)
    )
    services.agreement_accept(user=alice.user)
    sign_in(client, "alice")
    response = client.get(reverse("organisations:providers"))
    assert response["Location"].startswith(reverse("accounts:choose_assignment"))
    page = client.get(reverse("accounts:choose_assignment")).content.decode()
    assert "inget medarbetaruppdrag som gäller i dag" in page


# --- R4: every assignment ends at most 12 months ahead; extension is a new decision --------


def test_r4_an_assignment_beyond_twelve_months_is_refused(
    ulla: Persona, alice: Persona, county: County
) -> None:
    too_far = add_months(TODAY(), 12) + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as raised:
        services.assignment_create(
            actor=ulla.actor,
            user=alice.user,
            unit=county.unit_a2,
            role=Role.ORDERER,
            valid_from=TODAY(),
            valid_until=too_far,
            decision_reference="D-1",
        )
    assert "högst 12 månader" in str(raised.value)
    ok = services.assignment_create(
        actor=ulla.actor,
        user=alice.user,
        unit=county.unit_a2,
        role=Role.ORDERER,
        valid_from=TODAY(),
        valid_until=add_months(TODAY(), 12),
        decision_reference="D-1",
    )
    assert ok.valid_until == add_months(TODAY(), 12)


def test_r4_the_end_date_is_always_set() -> None:
    assert Assignment._meta.get_field("valid_until").null is False


def test_r4_an_extension_is_a_new_logged_decision(ulla: Persona, county: County) -> None:
    person = UserFactory(provider=county.municipality)
    old = AssignmentFactory(
        user=person, unit=county.unit_a, valid_until=TODAY() + dt.timedelta(days=5)
    )
    new = services.assignment_extend(
        actor=ulla.actor,
        assignment=old,
        valid_until=add_months(TODAY(), 6),
        decision_reference="D-2",
    )
    old.refresh_from_db()
    assert old.valid_until == TODAY() + dt.timedelta(days=5), "the old decision is not edited"
    assert (new.replaces, new.valid_from) == (old, old.valid_until + dt.timedelta(days=1))
    event = last_event(Action.ASSIGNMENT_CREATED)
    assert event.detail["extends"] == old.pk
    assert event.actor_username == "ulla"


# --- R5, R37: ending access ---------------------------------------------------------------------


def test_r5_deactivating_a_user_ends_every_session(alice: Persona, ulla: Persona) -> None:
    services.agreement_accept(user=alice.user)
    a, b = Client(), Client()
    sign_in(a, "alice")
    sign_in(b, "alice")
    services.user_deactivate(actor=ulla.actor, user=alice.user, reason="slutat")
    assert a.get(reverse("start")).status_code == 302
    assert b.get(reverse("start")).status_code == 302
    assert sign_in(Client(), "alice").status_code == 200, "and no new sign-in"
    event = last_event(Action.USER_DEACTIVATED)
    assert event.detail["sessions_ended"] == 2


def test_r5_ending_the_last_assignment_ends_the_sessions(alice: Persona, ulla: Persona) -> None:
    services.agreement_accept(user=alice.user)
    client = Client()
    sign_in(client, "alice")
    assert client.get(reverse("start")).status_code == 200
    services.assignment_end(actor=ulla.actor, assignment=alice.assignment, reason="flyttat")
    assert client.get(reverse("start")).status_code == 302
    assert last_event(Action.ASSIGNMENT_ENDED).detail["sessions_ended"] == 1


def test_r37_an_ended_assignment_takes_effect_at_the_next_request(
    client: Client, alice: Persona, ulla: Persona, county: County
) -> None:
    AssignmentFactory(user=alice.user, unit=county.unit_a2, role=Role.ORDERER)
    signed_in(client, alice)
    assert client.get(reverse("start")).status_code == 200
    services.assignment_end(actor=ulla.actor, assignment=alice.assignment, reason="ändrat")
    response = client.get(reverse("start"))
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "assignment_not_active"
    # The one assignment still in force takes over, and says so.
    assert response.status_code == 200
    assert "Beställare" in response.content.decode()
    assert client.session["assignment_id"] != alice.assignment.pk


# --- R6: follow-up of access rights --------------------------------------------------------------


def test_r6_the_report_lists_each_assignment_with_use_and_end_and_stores_decisions(
    client: Client, ulla: Persona, alice: Persona, bob: Persona, county: County
) -> None:
    Assignment.objects.filter(pk=alice.assignment.pk).update(last_used_at=timezone.now())
    signed_in(client, ulla)
    page = client.get(reverse("accounts:admin_recertification_unit", args=[county.unit_a.pk]))
    html = page.content.decode()
    assert "Alice Ask" in html and "Bob Bok" in html
    assert alice.assignment.valid_until.isoformat() in html
    assert "aldrig" in html  # bob has never used his
    response = client.post(
        reverse("accounts:admin_recertification_unit", args=[county.unit_a.pk]),
        {"assignment": bob.assignment.pk, "outcome": "remove", "note": "slutat"},
    )
    assert response.status_code == 302
    decision = RecertificationDecision.objects.get()
    assert (decision.decided_by, decision.outcome, decision.note) == (ulla.user, "remove", "slutat")
    bob.assignment.refresh_from_db()
    assert bob.assignment.ended_at is not None
    assert Action.RECERTIFICATION_RECORDED in actions(actor_username="ulla")


def test_r6_another_providers_unit_is_not_in_the_report(
    client: Client, ulla: Persona, county: County
) -> None:
    signed_in(client, ulla)
    url = reverse("accounts:admin_recertification_unit", args=[county.unit_b.pk])
    assert client.get(url).status_code == 404


# --- R7: dormant accounts and assignments ---------------------------------------------------------


def test_r7_dormant_accounts_and_assignments_are_suspended_and_logged(
    alice: Persona, bob: Persona
) -> None:
    long_ago = timezone.now() - dt.timedelta(days=181)
    User.objects.filter(pk=alice.user.pk).update(last_login=long_ago)
    User.objects.filter(pk=bob.user.pk).update(last_login=timezone.now())
    Assignment.objects.filter(pk=bob.assignment.pk).update(
        last_used_at=timezone.now() - dt.timedelta(days=91)
    )
    call_command("suspend_dormant_accounts", stdout=__import__("io").StringIO())
    alice.user.refresh_from_db()
    bob.user.refresh_from_db()
    bob.assignment.refresh_from_db()
    assert alice.user.suspended_at is not None
    assert bob.user.suspended_at is None
    assert bob.assignment.suspended_at is not None
    assert last_event(Action.USER_SUSPENDED).actor_username == "system:suspend_dormant_accounts"
    assert last_event(Action.ASSIGNMENT_SUSPENDED).resource_id == str(bob.assignment.pk)


def test_r7_a_new_account_is_not_dormant(alice: Persona) -> None:
    call_command("suspend_dormant_accounts", stdout=__import__("io").StringIO())
    alice.user.refresh_from_db()
    assert alice.user.suspended_at is None


# --- R8: changes to accounts and assignments are audited ----------------------------------------


def test_r8_account_changes_are_recorded_with_old_and_new_values(
    ulla: Persona, county: County
) -> None:
    person = UserFactory(provider=county.municipality, title="Undersköterska")
    services.user_update(actor=ulla.actor, user=person, title="Sjuksköterska")
    event = last_event(Action.USER_UPDATED)
    assert event.changes == {"title": ["Undersköterska", "Sjuksköterska"]}
    assert (event.actor_username, event.resource_id) == ("ulla", str(person.pk))


def test_r8_a_new_assignment_is_recorded_with_its_fields(ulla: Persona, county: County) -> None:
    person = UserFactory(provider=county.municipality)
    services.assignment_create(
        actor=ulla.actor,
        user=person,
        unit=county.unit_a,
        role=Role.ORDERER,
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
        decision_reference="D-3",
    )
    event = last_event(Action.ASSIGNMENT_CREATED)
    assert event.changes["role"] == [None, "orderer"]
    assert event.changes["unit"] == [None, county.unit_a.pk]


# --- R9: nobody grants their own rights; an administrator works in their provider --------------


def test_r9_a_user_administrator_cannot_grant_themselves(ulla: Persona, county: County) -> None:
    with pytest.raises(PermissionDenied):
        services.assignment_create(
            actor=ulla.actor,
            user=ulla.user,
            unit=county.unit_a,
            role=Role.PRESCRIBER,
            valid_from=TODAY(),
            valid_until=TODAY() + dt.timedelta(days=30),
            decision_reference="x",
        )
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "not_grantable"
    with pytest.raises(PermissionDenied):
        services.assignment_extend(
            actor=ulla.actor,
            assignment=ulla.assignment,
            valid_until=TODAY() + dt.timedelta(days=300),
            decision_reference="x",
        )


def test_r9_no_assignments_at_another_providers_units(
    ulla: Persona, alice: Persona, county: County
) -> None:
    with pytest.raises(PermissionDenied):
        services.assignment_create(
            actor=ulla.actor,
            user=alice.user,
            unit=county.unit_b,
            role=Role.PRESCRIBER,
            valid_from=TODAY(),
            valid_until=TODAY() + dt.timedelta(days=30),
            decision_reference="x",
        )


def test_r9_another_providers_accounts_are_not_found(
    client: Client, ulla: Persona, charlie: Persona
) -> None:
    signed_in(client, ulla)
    assert client.get(reverse("accounts:admin_user", args=[charlie.user.pk])).status_code == 404
    assert "charlie" not in client.get(reverse("accounts:admin_users")).content.decode()


def test_r9_a_prescriber_cannot_reach_user_administration(as_alice: Client) -> None:
    assert as_alice.get(reverse("accounts:admin_users")).status_code == 403
    assert last_event(Action.ACCESS_DENIED).actor_username == "alice"


def test_r9_user_administration_gives_no_patient_data() -> None:
    caps = ROLE_CAPABILITIES[Role.USER_ADMIN] | ROLE_CAPABILITIES[Role.SYSTEM_ADMIN]
    assert not any(cap.startswith(("patients.", "holdings.", "orders.")) for cap in caps)


def test_r9_the_administrator_cannot_deactivate_their_own_account(ulla: Persona) -> None:
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=ulla.actor, user=ulla.user, reason="x")
    assert not access_users.can_manage_account(ulla.actor, ulla.user)


# --- R10: the user agreement ---------------------------------------------------------------------


def test_r10_first_use_requires_the_agreement_and_stores_version_and_time(
    client: Client, alice: Persona
) -> None:
    sign_in(client, "alice")
    response = client.get(reverse("start"))
    assert response["Location"] == reverse("accounts:agreement")
    page = client.get(reverse("accounts:agreement")).content.decode()
    assert "2008:355" in page and "Godkänn och fortsätt" in page
    assert client.post(reverse("accounts:agreement"), {}).status_code == 400
    assert client.post(reverse("accounts:agreement"), {"accept": "yes"}).status_code == 302
    acceptance = AgreementAcceptance.objects.get(user=alice.user)
    assert acceptance.version == agreement.AGREEMENT_VERSION
    assert acceptance.digest == agreement.agreement_digest()
    assert acceptance.accepted_at is not None
    assert client.get(reverse("start")).status_code == 200
    assert last_event(Action.AGREEMENT_ACCEPTED).detail["version"] == agreement.AGREEMENT_VERSION


def test_r10_a_new_text_must_be_accepted_again(
    client: Client, alice: Persona, monkeypatch: Any
) -> None:
    signed_in(client, alice)
    assert client.get(reverse("start")).status_code == 200
    monkeypatch.setattr(
        agreement, "AGREEMENT_SECTIONS", [*agreement.AGREEMENT_SECTIONS, ("Nytt", ["En ny regel."])]
    )
    assert client.get(reverse("start"))["Location"] == reverse("accounts:agreement")


def test_r10_the_agreement_pdf_is_logged(as_alice: Client) -> None:
    try:
        import weasyprint  # noqa: F401
    except OSError:
        pytest.skip("WeasyPrint's system libraries are missing")
    response = as_alice.get(reverse("accounts:agreement_pdf"))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert last_event(Action.AGREEMENT_PRINTED).actor_username == "alice"


# --- R11: separate care providers ---------------------------------------------------------------


def test_r11_region_and_municipalities_are_separate_providers_with_their_own_numbers() -> None:
    from lyfta.organisations.models import CareProvider

    call_command("seed_demo", stdout=__import__("io").StringIO())
    numbers = list(CareProvider.objects.values_list("organisation_number", flat=True))
    assert len(numbers) == len(set(numbers)) == 17
    assert CareProvider.objects.filter(kind="region").count() == 1


# --- R31: one assignment per session ------------------------------------------------------------


def test_r31_one_assignment_is_chosen_automatically_and_recorded(
    client: Client, alice: Persona
) -> None:
    services.agreement_accept(user=alice.user)
    sign_in(client, "alice")
    assert client.get(reverse("start")).status_code == 200
    chosen = last_event(Action.ASSIGNMENT_CHOSEN)
    assert chosen.detail["automatic"] is True
    assert chosen.assignment_id == alice.assignment.pk


def test_r31_with_several_the_user_chooses_and_switching_is_logged(
    client: Client, alice: Persona, county: County
) -> None:
    second = AssignmentFactory(user=alice.user, unit=county.unit_a2, role=Role.ORDERER)
    services.agreement_accept(user=alice.user)
    sign_in(client, "alice")
    assert client.get(reverse("start"))["Location"].startswith(
        reverse("accounts:choose_assignment")
    )
    client.post(reverse("accounts:choose_assignment"), {"assignment": alice.assignment.pk})
    assert client.get(reverse("start")).status_code == 200
    client.post(reverse("accounts:choose_assignment"), {"assignment": second.pk})
    switch = last_event(Action.ASSIGNMENT_CHOSEN)
    assert (switch.assignment_id, switch.detail["previous"]) == (second.pk, alice.assignment.pk)
    client.get(reverse("organisations:providers"))
    assert client.get(reverse("start")).content.decode().count(county.unit_a2.name) >= 1


def test_r31_every_event_carries_the_assignment_in_force(
    as_alice: Client, alice: Persona, county: County
) -> None:
    as_alice.get(reverse("organisations:unit_history", args=[county.unit_a.pk]))
    denied = last_event(Action.ACCESS_DENIED)
    assert denied.assignment_id == alice.assignment.pk
    assert denied.actor_unit_id == alice.assignment.unit_id


def test_r31_someone_elses_assignment_cannot_be_chosen(
    client: Client, alice: Persona, bob: Persona
) -> None:
    signed_in(client, alice)
    response = client.post(reverse("accounts:choose_assignment"), {"assignment": bob.assignment.pk})
    assert response.status_code == 400
    assert client.session["assignment_id"] == alice.assignment.pk


# --- The administration pages ---------------------------------------------------------------------


def test_user_administration_pages_work_end_to_end(
    client: Client, ulla: Persona, county: County
) -> None:
    signed_in(client, ulla)
    response = client.post(
        reverse("accounts:admin_user_create"),
        {
            "first_name": "Greta",
            "last_name": "Gran",
            "personnummer": "19850505-9819",
            "username": "greta",
            "title": "Arbetsterapeut",
            "workplace": "Hemsjukvården",
            "email": "",
            "phone": "",
            "valid_from": TODAY().isoformat(),
            "valid_until": "",
        },
    )
    assert response.status_code == 200
    assert "nytt-losenord" in response.content.decode()
    greta = User.objects.get(username="greta")
    assert greta.provider == county.municipality
    response = client.post(
        reverse("accounts:admin_assignment_add", args=[greta.pk]),
        {
            "unit": county.unit_a.pk,
            "role": Role.PRESCRIBER,
            "purpose": "",
            "valid_from": TODAY().isoformat(),
            "valid_until": (TODAY() + dt.timedelta(days=100)).isoformat(),
            "decision_reference": "Dnr 2026/1",
        },
    )
    assert response.status_code == 302
    assert greta.assignments.get().purpose == "care"
    detail = client.get(reverse("accounts:admin_user", args=[greta.pk])).content.decode()
    assert "Dnr 2026/1" in detail
    bad = client.post(
        reverse("accounts:admin_assignment_add", args=[greta.pk]),
        {
            "unit": county.unit_b.pk,
            "role": Role.PRESCRIBER,
            "valid_from": TODAY().isoformat(),
            "valid_until": TODAY().isoformat(),
            "decision_reference": "x",
        },
    )
    assert bad.status_code == 400, "another provider's unit is not even offered"
    assert AuditEvent.objects.filter(actor_username="ulla", action=Action.USER_CREATED).exists()


def test_duplicate_username_gets_a_swedish_message(
    client: Client, ulla: Persona, alice: Persona
) -> None:
    signed_in(client, ulla)
    response = client.post(
        reverse("accounts:admin_user_create"),
        {
            "first_name": "A",
            "last_name": "B",
            "personnummer": "19850505-9819",
            "username": "alice",
            "title": "x",
            "workplace": "y",
            "valid_from": TODAY().isoformat(),
        },
    )
    assert response.status_code == 400
    assert "finns redan" in response.content.decode()


def test_make_persona_helper_is_usable(county: County) -> None:
    persona = make_persona(county.unit_a, Role.ORDERER, "olle")
    assert persona.actor.role == Role.ORDERER
