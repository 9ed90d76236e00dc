"""Separation of duties (R91): granting or ending system administration, user administration or log
review, and resetting the password or second factor of an account that holds one of them, is a
request by one person and an approval by another; nobody decides his own request or one about
himself; both steps are audited; a one-time code is shown only to the approver. And R92's last
clause: a log-reviewer and a care assignment at one provider are warned about."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.roles import Role
from lyfta.accounts import services
from lyfta.accounts.models import Assignment, PasswordResetCode, PrivilegeRequest, User
from lyfta.accounts.tests.factories import AssignmentFactory, UserFactory
from lyfta.accounts.tests.helpers import last_event
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def ursula(county: County) -> Persona:
    """The region's user administrator (at the assistive-device centre, where system
    administration may be granted)."""
    return make_persona(
        county.centre, Role.USER_ADMIN, "ursula", first_name="Ursula", last_name="Uppsåt"
    )


@pytest.fixture
def ulrik(county: County) -> Persona:
    """A second user administrator of the region."""
    return make_persona(
        county.region_admin, Role.USER_ADMIN, "ulrik", first_name="Ulrik", last_name="Ärlig"
    )


def _grant_form(unit_id: int, role: str) -> dict[str, str | int]:
    return {
        "unit": unit_id,
        "role": role,
        "purpose": "",
        "valid_from": TODAY().isoformat(),
        "valid_until": (TODAY() + dt.timedelta(days=100)).isoformat(),
        "decision_reference": "Dnr 2026/91",
    }


def _decide(client: Client, name: str, request: PrivilegeRequest) -> Any:
    return client.post(reverse(f"accounts:admin_privilege_{name}", args=[request.pk]))


# --- The attacks of the security review fail -----------------------------------------------------


def test_r91_a_user_administrator_cannot_make_a_new_account_system_administrator_alone(
    client: Client, ursula: Persona, ulrik: Persona, county: County
) -> None:
    signed_in(client, ursula)
    response = client.post(
        reverse("accounts:admin_user_create"),
        {
            "first_name": "Falsk",
            "last_name": "Figur",
            "personnummer": "19850505-9819",
            "username": "falsk",
            "title": "Systemadministratör",
            "workplace": "Hjälpmedelsservice",
            "valid_from": TODAY().isoformat(),
        },
    )
    assert response.status_code == 200
    fake = User.objects.get(username="falsk")
    response = client.post(
        reverse("accounts:admin_assignment_add", args=[fake.pk]),
        _grant_form(county.centre.pk, Role.SYSTEM_ADMIN),
    )
    assert response.status_code == 302
    assert not Assignment.objects.filter(user=fake).exists(), "nothing granted yet"
    request = PrivilegeRequest.objects.get(subject=fake)
    assert (request.kind, request.role, request.status) == ("grant", Role.SYSTEM_ADMIN, "pending")
    page = client.get(response["Location"]).content.decode()
    assert "väntar på godkännande" in page
    # The service refuses the one-step grant outright, and records the refusal.
    with pytest.raises(PermissionDenied):
        services.assignment_create(
            actor=ursula.actor,
            user=fake,
            unit=county.centre,
            role=Role.SYSTEM_ADMIN,
            valid_from=TODAY(),
            valid_until=TODAY() + dt.timedelta(days=10),
            decision_reference="x",
        )
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "needs_approval"
    # ... and she cannot approve her own request.
    assert _decide(client, "approve", request).status_code == 403
    request.refresh_from_db()
    assert request.status == "pending"
    assert not Assignment.objects.filter(user=fake).exists()
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "own_request"
    # The approver is told that the requester made the new account's one-time code himself.
    approver = Client()
    signed_in(approver, ulrik)
    page = approver.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Falsk Figur" in page
    assert "har själv gett en engångskod för lösenord till kontot" in page


def test_r91_a_user_administrator_never_sees_a_system_administrators_one_time_code(
    client: Client, ursula: Persona, sigge: Persona
) -> None:
    signed_in(client, ursula)
    response = client.post(reverse("accounts:admin_user_action", args=[sigge.user.pk, "reset"]))
    assert response.status_code == 302, "no code page"
    assert not PasswordResetCode.objects.filter(user=sigge.user).exists()
    page = client.get(response["Location"]).content.decode()
    assert "nytt-losenord" not in page
    assert "visas bara för den som godkänner" in page
    assert "väntar på godkännande" in page
    request = PrivilegeRequest.objects.get(subject=sigge.user)
    assert request.kind == "password_reset"
    with pytest.raises(PermissionDenied):
        services.password_reset_start(actor=ursula.actor, user=sigge.user)
    assert not PasswordResetCode.objects.filter(user=sigge.user).exists()
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "needs_approval"


def test_r91_a_user_administrator_cannot_remove_a_system_administrators_second_factor_alone(
    client: Client, ursula: Persona, sigge: Persona
) -> None:
    TOTPDevice.objects.create(user=sigge.user, name="telefon", confirmed=True)
    signed_in(client, ursula)
    response = client.post(reverse("accounts:admin_user_action", args=[sigge.user.pk, "mfa"]))
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=sigge.user).count() == 1
    assert PrivilegeRequest.objects.get(subject=sigge.user).kind == "mfa_reset"
    with pytest.raises(PermissionDenied):
        services.user_mfa_reset(actor=ursula.actor, user=sigge.user)
    assert TOTPDevice.objects.filter(user=sigge.user).count() == 1


def test_r91_ending_a_privileged_assignment_waits_for_approval(
    client: Client, ulla: Persona, lena: Persona
) -> None:
    signed_in(client, ulla)
    response = client.post(
        reverse("accounts:admin_assignment_end", args=[lena.assignment.pk]), {"reason": "slutat"}
    )
    assert response.status_code == 302
    lena.assignment.refresh_from_db()
    assert lena.assignment.ended_at is None, "still in force until approved"
    request = PrivilegeRequest.objects.get(subject=lena.user)
    assert (request.kind, request.assignment, request.reason) == ("end", lena.assignment, "slutat")
    with pytest.raises(PermissionDenied):
        services.assignment_end(actor=ulla.actor, assignment=lena.assignment, reason="x")


def test_r91_nobody_approves_a_request_about_himself(
    client: Client, ursula: Persona, ulrik: Persona
) -> None:
    """Ulrik asks that Ursula's user administration be ended and that her second factor be reset:
    she may decide neither."""
    end = services.privilege_request_end(
        actor=ulrik.actor, assignment=ursula.assignment, reason="omorganisation"
    )
    mfa = services.privilege_request_reset(
        actor=ulrik.actor, user=ursula.user, kind=PrivilegeRequest.Kind.MFA_RESET
    )
    signed_in(client, ursula)
    listing = client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Inga begäranden väntar på ditt beslut" in listing
    for request in (end, mfa):
        assert _decide(client, "approve", request).status_code == 403
        assert last_event(Action.ACCESS_DENIED).detail["reason"] == "about_self"
        assert _decide(client, "reject", request).status_code == 403
        request.refresh_from_db()
        assert request.status == "pending"
    with pytest.raises(PermissionDenied):
        services.privilege_request_approve(actor=ursula.actor, request=end)
    ursula.assignment.refresh_from_db()
    assert ursula.assignment.ended_at is None


def test_r91_a_request_for_oneself_is_refused_at_the_start(ursula: Persona, county: County) -> None:
    with pytest.raises(PermissionDenied):
        services.privilege_request_grant(
            actor=ursula.actor,
            user=ursula.user,
            unit=county.centre,
            role=Role.SYSTEM_ADMIN,
            valid_from=TODAY(),
            valid_until=TODAY() + dt.timedelta(days=10),
            decision_reference="x",
        )
    assert not PrivilegeRequest.objects.exists()


def test_r91_another_providers_administrator_neither_sees_nor_decides(
    client: Client, ursula: Persona, ulla: Persona, sigge: Persona
) -> None:
    request = services.privilege_request_reset(
        actor=ursula.actor, user=sigge.user, kind=PrivilegeRequest.Kind.PASSWORD_RESET
    )
    signed_in(client, ulla)  # the municipality's
    assert "Sigge" not in client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert _decide(client, "approve", request).status_code == 404
    with pytest.raises(PermissionDenied):
        services.privilege_request_approve(actor=ulla.actor, request=request)
    assert last_event(Action.ACCESS_DENIED).detail["reason"] == "outside_scope"
    assert not PasswordResetCode.objects.filter(user=sigge.user).exists()


def test_r91_a_care_role_cannot_approve(alice: Persona, ulla: Persona, lena: Persona) -> None:
    request = services.privilege_request_reset(
        actor=ulla.actor, user=lena.user, kind=PrivilegeRequest.Kind.MFA_RESET
    )
    with pytest.raises(PermissionDenied):
        services.privilege_request_approve(actor=alice.actor, request=request)


# --- The two-step flow over the pages ------------------------------------------------------------


def test_r91_a_password_reset_is_approved_by_another_and_only_he_sees_the_code(
    client: Client, ursula: Persona, ulrik: Persona, sigge: Persona
) -> None:
    signed_in(client, ursula)
    client.post(reverse("accounts:admin_user_action", args=[sigge.user.pk, "reset"]))
    request = PrivilegeRequest.objects.get(subject=sigge.user)
    mine = client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Väntar på godkännande" in mine and "Återkalla" in mine

    approver = Client()
    signed_in(approver, ulrik)
    listing = approver.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Sigge Sys" in listing and "Ursula Uppsåt" in listing
    assert reverse("accounts:admin_privilege_approve", args=[request.pk]) in listing
    response = approver.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "/konto/nytt-losenord/" in page
    assert "Koden visas bara för dig" in page
    link = page.split("/konto/nytt-losenord/", 1)[1].split("/", 1)[0]
    stored = PasswordResetCode.objects.get(user=sigge.user)
    assert stored.created_by == ulrik.user

    # The requester's pages never show it.
    for url in (
        reverse("accounts:admin_privilege_requests"),
        reverse("accounts:admin_user", args=[sigge.user.pk]),
    ):
        assert link not in client.get(url).content.decode()
    assert "Godkänd" in client.get(reverse("accounts:admin_privilege_requests")).content.decode()

    # The code works, once, for the person it is handed to.
    new = "vårt nya kontor har gröna gardiner"
    set_url = reverse("accounts:password_set", args=[link])
    assert Client().post(set_url, {"new": new, "repeat": new}).status_code == 302
    sigge.user.refresh_from_db()
    assert sigge.user.check_password(new)

    # Both steps are audited, each by its own person, and linked.
    asked = last_event(Action.PRIVILEGE_REQUESTED)
    assert (asked.actor_username, asked.detail["kind"]) == ("ursula", "password_reset")
    approved = last_event(Action.PRIVILEGE_APPROVED)
    assert approved.actor_username == "ulrik"
    assert approved.detail["requested_by"] == ursula.user.pk
    started = last_event(Action.PASSWORD_RESET_STARTED)
    assert (started.actor_username, started.detail["request"]) == ("ulrik", request.pk)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", ulrik.user)
    # Decided once: a second approval changes nothing.
    again = approver.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    assert again.status_code == 302
    assert PasswordResetCode.objects.filter(user=sigge.user).count() == 1


def test_r91_a_system_administrator_approves_a_grant_which_takes_effect_then(
    client: Client, ursula: Persona, sigge: Persona, county: County
) -> None:
    person = UserFactory(username="nyadmin", first_name="Nya", last_name="Admin")
    AssignmentFactory(user=person, unit=county.centre, role=Role.TECHNICIAN)
    signed_in(client, ursula)
    client.post(
        reverse("accounts:admin_assignment_add", args=[person.pk]),
        _grant_form(county.centre.pk, Role.SYSTEM_ADMIN),
    )
    request = PrivilegeRequest.objects.get(subject=person)
    detail = client.get(reverse("accounts:admin_user", args=[person.pk])).content.decode()
    assert "Väntar på godkännande" in detail and "Systemadministratör" in detail
    assert not person.assignments.filter(role=Role.SYSTEM_ADMIN).exists()

    approver = Client()
    signed_in(approver, sigge)
    page = approver.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Nya Admin" in page and "Dnr 2026/91" in page
    assert 'name="csrfmiddlewaretoken"' in page
    response = approver.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    assert response.status_code == 302
    granted = person.assignments.get(role=Role.SYSTEM_ADMIN)
    assert (granted.unit, granted.decision_reference, granted.decided_by) == (
        county.centre,
        "Dnr 2026/91",
        sigge.user,
    )
    created = last_event(Action.ASSIGNMENT_CREATED)
    assert created.actor_username == "sigge"
    assert created.detail["request"] == request.pk
    assert created.detail["requested_by"] == ursula.user.pk
    assert last_event(Action.PRIVILEGE_APPROVED).detail["assignment"] == granted.pk
    request.refresh_from_db()
    assert request.assignment == granted


def test_r91_an_approved_end_ends_the_assignment(
    client: Client, ulla: Persona, lena: Persona, sigge: Persona
) -> None:
    request = services.privilege_request_end(
        actor=ulla.actor, assignment=lena.assignment, reason="slutat"
    )
    signed_in(client, sigge)
    assert _decide(client, "approve", request).status_code == 302
    lena.assignment.refresh_from_db()
    assert lena.assignment.ended_at is not None
    assert lena.assignment.ended_by == sigge.user
    assert last_event(Action.ASSIGNMENT_ENDED).detail["request"] == request.pk


def test_r91_a_rejected_request_changes_nothing_and_is_audited(
    client: Client, ursula: Persona, ulrik: Persona, sigge: Persona
) -> None:
    TOTPDevice.objects.create(user=sigge.user, name="telefon", confirmed=True)
    request = services.privilege_request_reset(
        actor=ursula.actor, user=sigge.user, kind=PrivilegeRequest.Kind.MFA_RESET
    )
    signed_in(client, ulrik)
    response = client.post(
        reverse("accounts:admin_privilege_reject", args=[request.pk]), {"reason": "ej styrkt"}
    )
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=sigge.user).exists()
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_note) == (
        "rejected",
        ulrik.user,
        "ej styrkt",
    )
    rejected = last_event(Action.PRIVILEGE_REJECTED)
    assert (rejected.actor_username, rejected.detail["requested_by"]) == ("ulrik", ursula.user.pk)
    assert _decide(client, "approve", request).status_code == 302
    assert TOTPDevice.objects.filter(user=sigge.user).exists(), "a rejected request stays so"


def test_r91_an_approved_second_factor_reset_removes_the_device(
    client: Client, ursula: Persona, ulrik: Persona, sigge: Persona
) -> None:
    TOTPDevice.objects.create(user=sigge.user, name="telefon", confirmed=True)
    request = services.privilege_request_reset(
        actor=ursula.actor, user=sigge.user, kind=PrivilegeRequest.Kind.MFA_RESET
    )
    signed_in(client, ulrik)
    assert _decide(client, "approve", request).status_code == 302
    assert not TOTPDevice.objects.filter(user=sigge.user).exists()
    reset = last_event(Action.MFA_RESET)
    assert (reset.actor_username, reset.detail["request"]) == ("ulrik", request.pk)


def test_r91_requests_expire_and_can_be_cancelled_by_the_requester_only(
    client: Client, ursula: Persona, ulrik: Persona, sigge: Persona
) -> None:
    old = services.privilege_request_reset(
        actor=ursula.actor, user=sigge.user, kind=PrivilegeRequest.Kind.PASSWORD_RESET
    )
    assert old.expires_at - old.requested_at == dt.timedelta(days=7)
    PrivilegeRequest.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    signed_in(client, ulrik)
    assert "Sigge" not in client.get(reverse("accounts:admin_privilege_requests")).content.decode()
    with pytest.raises(ValidationError):
        services.privilege_request_approve(actor=ulrik.actor, request=old)
    assert not PasswordResetCode.objects.filter(user=sigge.user).exists()

    fresh = services.privilege_request_reset(
        actor=ursula.actor, user=sigge.user, kind=PrivilegeRequest.Kind.PASSWORD_RESET
    )
    with pytest.raises(ValidationError):  # one of a kind waits at a time
        services.privilege_request_reset(
            actor=ursula.actor, user=sigge.user, kind=PrivilegeRequest.Kind.PASSWORD_RESET
        )
    assert _decide(client, "cancel", fresh).status_code == 403, "only the requester withdraws"
    requester = Client()
    signed_in(requester, ursula)
    assert _decide(requester, "cancel", fresh).status_code == 302
    fresh.refresh_from_db()
    assert fresh.status == "cancelled"
    assert last_event(Action.PRIVILEGE_CANCELLED).actor_username == "ursula"
    assert _decide(client, "approve", fresh).status_code == 302
    assert not PasswordResetCode.objects.filter(user=sigge.user).exists()


def test_r91_extending_a_privileged_assignment_is_a_request(
    client: Client, ulla: Persona, lena: Persona
) -> None:
    signed_in(client, ulla)
    url = reverse("accounts:admin_assignment_extend", args=[lena.assignment.pk])
    assert "måste godkänna" in client.get(url).content.decode()
    until = lena.assignment.valid_until + dt.timedelta(days=30)
    response = client.post(url, {"valid_until": until.isoformat(), "decision_reference": "F-1"})
    assert response.status_code == 302
    assert lena.user.assignments.count() == 1
    request = PrivilegeRequest.objects.get(subject=lena.user)
    assert (request.replaces, request.valid_until) == (lena.assignment, until)


def test_r91_removal_at_the_follow_up_of_a_privileged_assignment_is_a_request(
    client: Client, ulla: Persona, lena: Persona, county: County
) -> None:
    signed_in(client, ulla)
    client.post(
        reverse("accounts:admin_recertification_unit", args=[county.unit_a2.pk]),
        {"assignment": lena.assignment.pk, "outcome": "remove", "note": ""},
    )
    lena.assignment.refresh_from_db()
    assert lena.assignment.ended_at is None
    assert PrivilegeRequest.objects.get(subject=lena.user).kind == "end"


def test_r91_ordinary_grants_and_resets_stay_one_step(
    client: Client, ulla: Persona, alice: Persona, county: County
) -> None:
    signed_in(client, ulla)
    response = client.post(
        reverse("accounts:admin_assignment_add", args=[alice.user.pk]),
        _grant_form(county.unit_a2.pk, Role.ORDERER),
    )
    assert response.status_code == 302
    assert alice.user.assignments.filter(role=Role.ORDERER).exists()
    page = client.post(reverse("accounts:admin_user_action", args=[alice.user.pk, "reset"]))
    assert page.status_code == 200
    assert "/konto/nytt-losenord/" in page.content.decode()
    assert not PrivilegeRequest.objects.exists()


def test_r91_the_requests_page_is_linked_from_the_user_administration(
    client: Client, ulla: Persona
) -> None:
    signed_in(client, ulla)
    page = client.get(reverse("accounts:admin_users")).content.decode()
    assert reverse("accounts:admin_privilege_requests") in page


# --- R92: log review and care at one provider are warned about ---------------------------------


def test_r92_a_log_reviewer_and_care_assignment_at_one_provider_is_warned_about(
    client: Client, ulla: Persona, alice: Persona, lena: Persona, sigge: Persona, county: County
) -> None:
    signed_in(client, ulla)
    # A care assignment for the municipality's log reviewer: one step, with a warning.
    response = client.post(
        reverse("accounts:admin_assignment_add", args=[lena.user.pk]),
        _grant_form(county.unit_a.pk, Role.PRESCRIBER),
        follow=True,
    )
    assert "Varning: Lena Logg får både ett uppdrag som loggranskare" in response.content.decode()
    created = last_event(Action.ASSIGNMENT_CREATED)
    assert created.detail["warning"] == "log_review_and_care_at_same_provider"
    assert created.detail["conflicting_assignments"] == [lena.assignment.pk]

    # Log review for a prescriber of the same provider: the request, the approver's page and the
    # grant all carry the warning.
    response = client.post(
        reverse("accounts:admin_assignment_add", args=[alice.user.pk]),
        _grant_form(county.unit_a2.pk, Role.LOG_REVIEWER),
        follow=True,
    )
    assert "Varning: Alice Ask får både" in response.content.decode()
    asked = last_event(Action.PRIVILEGE_REQUESTED)
    assert asked.detail["warning"] == "log_review_and_care_at_same_provider"
    approver = Client()
    signed_in(approver, sigge)
    page = approver.get(reverse("accounts:admin_privilege_requests")).content.decode()
    assert "Varning: Alice Ask får både" in page
    request = PrivilegeRequest.objects.get(subject=alice.user)
    approver.post(reverse("accounts:admin_privilege_approve", args=[request.pk]))
    created = last_event(Action.ASSIGNMENT_CREATED)
    assert created.detail["warning"] == "log_review_and_care_at_same_provider"
    assert created.detail["conflicting_assignments"] == [alice.assignment.pk]


def test_r92_no_warning_without_patient_access_or_at_another_provider(
    client: Client, ulla: Persona, lena: Persona, county: County
) -> None:
    signed_in(client, ulla)
    response = client.post(
        reverse("accounts:admin_assignment_add", args=[lena.user.pk]),
        _grant_form(county.unit_a.pk, Role.CATALOGUE_MANAGER),
        follow=True,
    )
    assert "Varning" not in response.content.decode()
    assert "warning" not in last_event(Action.ASSIGNMENT_CREATED).detail
    region_care = AssignmentFactory(user=lena.user, unit=county.unit_b, role=Role.PRESCRIBER)
    from lyfta.access import users as access_users

    assert access_users.review_conflicts(lena.user, county.unit_a2, Role.LOG_REVIEWER) == []
    assert access_users.review_conflicts(lena.user, county.unit_b, Role.LOG_REVIEWER) == [
        region_care
    ]
    assert AuditEvent.objects.filter(action=Action.ASSIGNMENT_CREATED).count() == 1
