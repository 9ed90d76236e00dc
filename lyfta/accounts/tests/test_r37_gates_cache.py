"""The session gates' answers are kept in the session behind the user's access version (issue 19
point 5, decision 0018): every kind of change that can alter a gate or the assignment a session
works in raises the version, however it is written, and the next request asks again (R37). Time
passing with no change — an assignment's or an account's last day going by — ends them at once
as well. And a signed-in page asks the database for the session and the user, not for the gates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import device_classes
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import County, Persona, signed_in
from lyfta.access.roles import Role
from lyfta.accounts import agreement, gates, services
from lyfta.accounts.models import AgreementAcceptance, Assignment, User
from lyfta.accounts.tests.factories import AssignmentFactory
from lyfta.accounts.tests.helpers import last_event
from lyfta.audit.actions import Action
from lyfta.orders.tests.conftest import Shop, shop  # noqa: F401 (the fixture)
from lyfta.orders.tests.test_query_counts import lend
from lyfta.organisations.models import CareProvider, Unit

pytestmark = pytest.mark.django_db

# A page behind every gate (the sessions page stays open while an assignment is chosen).
PAGE = "organisations:providers"


def version(user: User) -> int:
    return User.objects.values_list("access_version", flat=True).get(pk=user.pk)


def warmed(client: Client, persona: Persona, **signed_in_options: Any) -> Client:
    """Signed in, with the gates' answers kept by one request (and that request's own changes,
    such as the sign-in's, behind it)."""
    signed_in(client, persona, **signed_in_options)
    assert client.get(reverse(PAGE)).status_code == 200
    assert client.get(reverse(PAGE)).status_code == 200
    return client


def gate_reads(client: Client, name: str = PAGE, *args: object) -> list[str]:
    """The SELECTs of one request that read what the gates are made of."""
    tables = (
        "accounts_assignment",
        "accounts_agreementacceptance",
        "otp_totp_totpdevice",
    )
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(name, args=args)).status_code == 200
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and any(f'FROM "{t}"' in q["sql"] for t in tables)
    ]


def next_request_goes_to(client: Client, page: str) -> None:
    """The next request to the page behind every gate is sent to `page`."""
    response = client.get(reverse(PAGE))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(page))


# --- Every kind of change raises the version, however it is written ----------------------------


def _new_assignment(p: Persona, county: County) -> None:
    AssignmentFactory(user=p.user, unit=county.unit_a2, role=Role.ORDERER)


def _bulk_create(p: Persona, county: County) -> None:
    template = Assignment.objects.get(pk=p.assignment.pk)
    template.pk = None
    template.unit = county.unit_a2
    Assignment.objects.bulk_create([template])


def _bulk_update(p: Persona, county: County) -> None:
    assignment = Assignment.objects.get(pk=p.assignment.pk)
    assignment.role = Role.ORDERER
    Assignment.objects.bulk_update([assignment], ["role"])


def _delete_assignment(p: Persona, county: County) -> None:
    extra = AssignmentFactory(user=p.user, unit=county.unit_a2, role=Role.ORDERER)
    p.user.refresh_from_db()
    before = version(p.user)
    Assignment.objects.filter(pk=extra.pk).delete()
    assert version(p.user) > before


def _device_confirmed(p: Persona, county: County) -> None:
    device = TOTPDevice.objects.create(user=p.user, name="telefon", confirmed=False)
    before = version(p.user)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    assert version(p.user) > before


def _device_removed(p: Persona, county: County) -> None:
    TOTPDevice.objects.create(user=p.user, name="telefon", confirmed=True)
    before = version(p.user)
    TOTPDevice.objects.filter(user=p.user).delete()
    assert version(p.user) > before


def _acceptance_removed(p: Persona, county: County) -> None:
    services.agreement_accept(user=p.user)
    before = version(p.user)
    AgreementAcceptance.objects.filter(user=p.user).delete()
    assert version(p.user) > before


CHANGES: dict[str, Callable[[Persona, County], object]] = {
    # The user row itself.
    "user saved": lambda p, c: User.objects.get(pk=p.user.pk).save(),
    "user deactivated (update)": lambda p, c: User.objects.filter(pk=p.user.pk).update(
        is_active=False
    ),
    "account window closed (update)": lambda p, c: User.objects.filter(pk=p.user.pk).update(
        valid_until=timezone.localdate()
    ),
    "suspended (update)": lambda p, c: User.objects.filter(pk=p.user.pk).update(
        suspended_at=timezone.now()
    ),
    "forced password change (update)": lambda p, c: User.objects.filter(pk=p.user.pk).update(
        must_change_password=True
    ),
    # The user's assignments, by every path.
    "assignment created": _new_assignment,
    "assignment created (bulk_create)": _bulk_create,
    "assignment ended (service)": lambda p, c: services._assignment_close(
        actor=p.actor, assignment=p.assignment, reason="test"
    ),
    "assignment ended (update)": lambda p, c: Assignment.objects.filter(pk=p.assignment.pk).update(
        ended_at=timezone.now()
    ),
    "assignment suspended (update)": lambda p, c: Assignment.objects.filter(
        pk=p.assignment.pk
    ).update(suspended_at=timezone.now()),
    "assignment shortened (update)": lambda p, c: Assignment.objects.filter(
        pk=p.assignment.pk
    ).update(valid_until=timezone.localdate()),
    "role changed (bulk_update)": _bulk_update,
    "assignment moved to another unit (update)": lambda p, c: Assignment.objects.filter(
        pk=p.assignment.pk
    ).update(unit=c.unit_a2),
    "assignment deleted": _delete_assignment,
    # The user agreement.
    "agreement accepted": lambda p, c: services.agreement_accept(user=p.user),
    "acceptance removed": _acceptance_removed,
    # The second factor.
    "device created": lambda p, c: TOTPDevice.objects.create(user=p.user, name="telefon"),
    "device confirmed": _device_confirmed,
    "device removed (queryset delete)": _device_removed,
    # What the assignment means: its unit and provider.
    "unit renamed (update)": lambda p, c: Unit.objects.filter(pk=p.assignment.unit_id).update(
        name="Hemsjukvården Nya namnet"
    ),
    "unit moved to another provider (update)": lambda p, c: Unit.objects.filter(
        pk=p.assignment.unit_id
    ).update(provider=c.region),
    "provider's organisation number changed (update)": lambda p, c: CareProvider.objects.filter(
        pk=c.municipality.pk
    ).update(organisation_number="2120001231"),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_r37_every_kind_of_change_raises_the_access_version(
    change: str, alice: Persona, county: County
) -> None:
    before = version(alice.user)
    CHANGES[change](alice, county)
    assert version(alice.user) > before


def test_r37_a_change_to_one_user_leaves_the_others_alone(
    alice: Persona, charlie: Persona, county: County
) -> None:
    before = version(charlie.user)
    Assignment.objects.filter(pk=alice.assignment.pk).update(ended_at=timezone.now())
    Unit.objects.filter(pk=county.unit_a.pk).update(name="Nytt namn")
    CareProvider.objects.filter(pk=county.municipality.pk).update(short_name="Ny")
    TOTPDevice.objects.create(user=alice.user, name="telefon")
    assert version(charlie.user) == before, "charlie works for the region, not in unit A"


def test_r37_an_assignment_that_changes_hands_raises_both_users(
    alice: Persona, bob: Persona
) -> None:
    before = version(alice.user), version(bob.user)
    Assignment.objects.filter(pk=alice.assignment.pk).update(user=bob.user)
    assert version(alice.user) > before[0]
    assert version(bob.user) > before[1]


def test_r37_a_stale_save_never_takes_the_version_back(alice: Persona) -> None:
    stale = User.objects.get(pk=alice.user.pk)
    Assignment.objects.filter(pk=alice.assignment.pk).update(ended_at=timezone.now())
    raised = version(alice.user)
    assert raised > stale.access_version
    stale.first_name = "Alicia"
    stale.save()  # writes the old access_version back
    assert version(alice.user) > raised
    User.objects.filter(pk=alice.user.pk).update(access_version=0)
    assert version(alice.user) > raised, "not even when a statement sets it"


def test_r12_every_installed_second_factor_has_its_triggers() -> None:
    """Only TOTP is installed; a new django-otp plugin's devices need triggers of their own in
    lyfta/accounts/triggers.py before its devices can be trusted from the session's gates."""
    assert [m._meta.db_table for m in device_classes()] == ["otp_totp_totpdevice"]


# --- The next request sees it ------------------------------------------------------------------


def test_r37_an_assignment_ended_on_the_administrators_page_ends_at_the_next_request(
    client: Client, alice: Persona, ulla: Persona, county: County
) -> None:
    AssignmentFactory(user=alice.user, unit=county.unit_a2, role=Role.ORDERER)
    warmed(client, alice)
    admin = signed_in(Client(), ulla)
    response = admin.post(
        reverse("accounts:admin_assignment_end", args=[alice.assignment.pk]), {"reason": "flytt"}
    )
    assert response.status_code == 302
    response = client.get(reverse(PAGE))
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "assignment_not_active"
    assert response.status_code == 200
    assert client.session["assignment_id"] != alice.assignment.pk
    assert response.wsgi_request.actor.role == Role.ORDERER  # type: ignore[attr-defined]


def test_r37_an_assignment_ended_by_a_queryset_update_ends_at_the_next_request(
    client: Client, alice: Persona
) -> None:
    warmed(client, alice)
    Assignment.objects.filter(pk=alice.assignment.pk).update(ended_at=timezone.now())
    next_request_goes_to(client, "accounts:choose_assignment")
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "assignment_not_active"


def test_r37_an_assignment_ends_at_the_first_request_after_its_last_day(
    client: Client, alice: Persona
) -> None:
    today = timezone.localdate()
    Assignment.objects.filter(pk=alice.assignment.pk).update(valid_until=today)
    warmed(client, alice)
    assert "assignment_id" in client.session
    with mock.patch("django.utils.timezone.localdate", return_value=today + dt.timedelta(days=1)):
        next_request_goes_to(client, "accounts:choose_assignment")
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "assignment_not_active"
    assert "assignment_id" not in client.session


def test_r37_a_kept_assignment_is_checked_against_today_on_every_request(
    client: Client, alice: Persona
) -> None:
    """Even were the date not part of the key, the kept assignment's own window is checked."""
    today = timezone.localdate()
    Assignment.objects.filter(pk=alice.assignment.pk).update(valid_until=today)
    warmed(client, alice)
    session = client.session
    session[gates.SESSION_KEY]["key"][2] = (today + dt.timedelta(days=1)).isoformat()
    session.save()
    with mock.patch("django.utils.timezone.localdate", return_value=today + dt.timedelta(days=1)):
        next_request_goes_to(client, "accounts:choose_assignment")
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "assignment_not_active"


def test_r3_an_account_ends_at_the_first_request_after_its_last_day(
    client: Client, alice: Persona
) -> None:
    today = timezone.localdate()
    User.objects.filter(pk=alice.user.pk).update(valid_until=today)
    warmed(client, alice)
    with mock.patch("django.utils.timezone.localdate", return_value=today + dt.timedelta(days=1)):
        next_request_goes_to(client, "accounts:login")
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "account_not_valid"


def test_r3_a_deactivated_user_is_refused_at_the_next_request(
    client: Client, alice: Persona
) -> None:
    warmed(client, alice)
    before = version(alice.user)
    User.objects.filter(pk=alice.user.pk).update(is_active=False)
    assert version(alice.user) > before
    next_request_goes_to(client, "accounts:login")
    assert last_event(Action.SESSION_REFUSED).detail["reason"] == "account_not_valid"


def test_r10_a_new_agreement_text_is_asked_for_at_the_next_request(
    client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    warmed(client, alice)
    changed = [(heading, list(paragraphs)) for heading, paragraphs in agreement.AGREEMENT_SECTIONS]
    changed[0][1][0] += " En ny mening."
    monkeypatch.setattr(agreement, "AGREEMENT_SECTIONS", changed)
    next_request_goes_to(client, "accounts:agreement")


def test_r12_a_removed_device_is_asked_for_again_at_the_next_request(
    client: Client, alice: Persona, settings: Any
) -> None:
    settings.LYFTA_REQUIRE_MFA = True
    warmed(client, alice, verified=True)
    assert not gate_reads(client), "the verified device is not read on every request"
    TOTPDevice.objects.filter(user=alice.user).delete()  # no session is ended by this path
    next_request_goes_to(client, "accounts:mfa_enrol")


def test_r12_an_unconfirmed_device_no_longer_verifies_the_session(
    client: Client, alice: Persona, settings: Any
) -> None:
    settings.LYFTA_REQUIRE_MFA = True
    warmed(client, alice, verified=True)
    TOTPDevice.objects.filter(user=alice.user).update(confirmed=False)
    next_request_goes_to(client, "accounts:mfa_enrol")


def test_r12_a_new_administrative_role_asks_for_a_second_factor_at_the_next_request(
    client: Client, alice: Persona, county: County
) -> None:
    warmed(client, alice)
    AssignmentFactory(user=alice.user, unit=county.unit_a2, role=Role.USER_ADMIN)
    next_request_goes_to(client, "accounts:mfa_enrol")


def test_r15_a_forced_password_change_is_asked_for_at_the_next_request(
    client: Client, alice: Persona
) -> None:
    warmed(client, alice)
    User.objects.filter(pk=alice.user.pk).update(must_change_password=True)
    next_request_goes_to(client, "accounts:password_change")


def test_r31_a_changed_role_is_the_next_requests_role(client: Client, alice: Persona) -> None:
    warmed(client, alice)
    Assignment.objects.filter(pk=alice.assignment.pk).update(role=Role.ORDERER)
    response = client.get(reverse(PAGE))
    assert response.wsgi_request.actor.role == Role.ORDERER  # type: ignore[attr-defined]


def test_r58_a_renamed_unit_and_provider_are_in_the_next_requests_audit_records(
    client: Client, alice: Persona, county: County
) -> None:
    warmed(client, alice)
    Unit.objects.filter(pk=county.unit_a.pk).update(name="Hemsjukvården Nya namnet")
    CareProvider.objects.filter(pk=county.municipality.pk).update(organisation_number="2120001231")
    actor = client.get(reverse(PAGE)).wsgi_request.actor  # type: ignore[attr-defined]
    assert actor.unit.name == "Hemsjukvården Nya namnet"
    assert actor.provider.organisation_number == "2120001231"


def test_r31_another_assignment_in_the_session_is_read_not_taken_from_the_kept_one(
    client: Client, alice: Persona, county: County
) -> None:
    other = AssignmentFactory(user=alice.user, unit=county.unit_a2, role=Role.ORDERER)
    warmed(client, alice)
    session = client.session
    session["assignment_id"] = other.pk
    session.save()
    response = client.get(reverse(PAGE))
    assert response.wsgi_request.actor.assignment.pk == other.pk  # type: ignore[attr-defined]


# --- The kept answers and what they save --------------------------------------------------------


def test_r37_the_kept_assignment_is_the_row_the_database_holds(alice: Persona) -> None:
    loaded = Assignment.objects.select_related("unit__provider").get(pk=alice.assignment.pk)
    kept = gates.thaw_assignment(gates.freeze_assignment(loaded))
    for original, copy in (
        (loaded, kept),
        (loaded.unit, kept.unit),
        (loaded.unit.provider, kept.unit.provider),
    ):
        for field in type(original)._meta.concrete_fields:
            assert field.value_from_object(copy) == field.value_from_object(original), field
        assert copy._state.adding is False


def test_r37_a_signed_in_page_reads_no_gate_while_nothing_changed(
    client: Client, alice: Persona
) -> None:
    warmed(client, alice)
    assert gate_reads(client) == []
    Assignment.objects.filter(pk=alice.assignment.pk).update(last_used_at=timezone.now())
    assert len(gate_reads(client)) == 4, "after a change: assignment, agreement, device, roles"
    assert gate_reads(client) == []


# The page behind every gate, before the gates were kept (commit c3cb579): 9 queries without a
# second factor in the session (session, user, chosen assignment, agreement, TOTP device,
# administrative roles, then the page's own three), 8 with a verified one (the device instead of
# the last two gate reads). Now: the session, the user and the page's own.
PAGE_BEFORE = {False: 9, True: 8}
PAGE_NOW = 5


@pytest.mark.parametrize("verified", [False, True], ids=["no-second-factor", "totp-verified"])
def test_r37_a_signed_in_page_costs_fewer_queries_with_the_gates_kept(
    client: Client, alice: Persona, verified: bool
) -> None:
    warmed(client, alice, verified=verified)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(PAGE)).status_code == 200
    assert len(queries) == PAGE_NOW
    assert len(queries) < PAGE_BEFORE[verified]
    assert [q["sql"].split('"')[1] for q in queries.captured_queries[:2]] == [
        "django_session",
        "accounts_user",
    ]


@pytest.mark.parametrize("verified", [False, True], ids=["no-second-factor", "totp-verified"])
def test_r37_the_holdings_page_reads_no_gate_while_nothing_changed(
    client: Client,
    shop: Shop,  # noqa: F811
    alice: Persona,
    logan: Persona,
    verified: bool,
) -> None:
    """The holdings page (bench/session_gates.py): 17 queries before (16 verified), 13 now."""
    lend(shop, alice, logan, shop.patient, 1)
    signed_in(client, alice, verified=verified)
    client.get(reverse("orders:holdings", args=[shop.patient.pk]))
    assert gate_reads(client, "orders:holdings", shop.patient.pk) == []
