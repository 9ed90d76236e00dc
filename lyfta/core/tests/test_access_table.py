"""The access table (STYLE.md #5, issue "Patients" item 9, R35): every route of the URL conf has
an entry stating, for every persona, the answer it must get — including direct ids of other
units' and other providers' objects, which get the same 404 as missing ones. A route without an
entry fails the test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.roles import Role
from lyfta.accounts.models import UserSession
from lyfta.messages.models import Message
from lyfta.patients.models import Block, CareRelationship, Consent, EmergencyAccess, Patient

PERSONAS = [
    "anonymous",
    "alice",
    "bob",
    "charlie",
    "tekla",
    "lena",
    "logan",
    "billie",
    "ulla",
    "sigge",
]
OK, FOUND, DENIED, MISSING, BAD, GONE = 200, 302, 403, 404, 400, 405
LOGIN = "login"  # a redirect to the sign-in page


@dataclass
class World:
    county: County
    people: dict[str, Persona]
    patient_a: Patient  # related to unit A (alice, bob)
    patient_b: Patient  # related only to unit B of the region (charlie)
    relationship_a: CareRelationship
    consent_a: Consent
    block_a: Block
    emergency_alice: EmergencyAccess
    session_alice: UserSession
    message_lena: Message


@pytest.fixture
def world(
    county: County,
    alice: Persona,
    bob: Persona,
    charlie: Persona,
    tekla: Persona,
    lena: Persona,
    logan: Persona,
    billie: Persona,
    ulla: Persona,
    sigge: Persona,
) -> World:
    people = {
        p.user.username: p for p in (alice, bob, charlie, tekla, lena, logan, billie, ulla, sigge)
    }
    today = timezone.localdate()
    patient_a = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    patient_b = Patient.objects.create(
        identifier="194502029814", id_kind="personnummer", first_name="Bertil", last_name="Björk"
    )
    rel_a = CareRelationship.objects.create(
        unit=county.unit_a, patient=patient_a, origin="order", valid_from=today
    )
    CareRelationship.objects.create(
        unit=county.unit_b, patient=patient_b, origin="order", valid_from=today
    )
    consent = Consent.objects.create(
        patient=patient_a,
        grantee_unit=county.unit_a,
        valid_from=today,
        valid_until=today + dt.timedelta(days=30),
        registered_by=alice.user,
    )
    block = Block.objects.create(
        patient=patient_a,
        scope="internal",
        owner_provider=county.municipality,
        owner_unit=county.unit_a,
        requested_at=today,
        requested_by="Patienten",
        registered_by=alice.user,
    )
    now = timezone.now()
    emergency = EmergencyAccess.objects.create(
        user=alice.user,
        assignment=alice.assignment,
        patient=patient_b,
        reason_code="acute_care",
        reason_text="Akut fall i test",
        patient_cannot_consent=True,
        started_at=now,
        expires_at=now + dt.timedelta(hours=2),
        ended_at=now,
        end_recorded=True,
    )
    session = UserSession.objects.create(
        user=alice.user, session_key="x" * 32, created_at=now, last_seen_at=now
    )
    message = Message.objects.create(
        recipient=lena.user, kind="notice", subject="Test", created_at=now, link="/"
    )
    return World(
        county, people, patient_a, patient_b, rel_a, consent, block, emergency, session, message
    )


@dataclass
class Route:
    method: str = "get"
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    expect: dict[str, int | str] = field(default_factory=dict)
    default: int | str = MISSING
    data: dict[str, Any] = field(default_factory=dict)


def everyone(code: int | str, **exceptions: int | str) -> dict[str, int | str]:
    table: dict[str, int | str] = {p: code for p in PERSONAS if p != "anonymous"}
    table["anonymous"] = LOGIN
    table.update(exceptions)
    return table


CARE = ("alice", "bob", "charlie", "tekla", "logan")  # roles with patient access
NO_PATIENTS = ("lena", "billie", "ulla", "sigge")
PA = lambda w: {"patient_id": w.patient_a.pk}  # noqa: E731
PB = lambda w: {"patient_id": w.patient_b.pk}  # noqa: E731

ROUTES: dict[str, list[Route]] = {
    "start": [Route(expect=everyone(OK))],
    "healthz": [Route(expect=dict.fromkeys(PERSONAS, OK))],
    "set_language": [
        Route(
            method="post",
            data={"language": "en", "next": "/"},
            expect=dict.fromkeys(PERSONAS, FOUND),
        )
    ],
    # The admin sends the anonymous to its login, which sends them on to Lyfta's.
    "admin:index": [Route(expect=everyone(DENIED, sigge=OK, anonymous=FOUND))],
    "accounts:login": [Route(expect={**everyone(FOUND), "anonymous": OK})],
    "accounts:logout": [Route(expect=everyone(GONE)), Route(method="post", expect=everyone(FOUND))],
    "accounts:keepalive": [Route(method="post", expect=everyone(204))],
    "accounts:agreement": [Route(expect=everyone(OK))],
    "accounts:agreement_pdf": [Route(expect=everyone(OK))],
    # Voluntary enrolment right after signing in; those who have a device are done.
    "accounts:mfa_enrol": [Route(expect=everyone(OK, lena=FOUND, ulla=FOUND, sigge=FOUND))],
    "accounts:mfa_verify": [Route(expect=everyone(FOUND))],
    "accounts:choose_assignment": [Route(expect=everyone(OK))],
    "accounts:reauthenticate": [Route(expect=everyone(OK))],
    "accounts:password_change": [Route(expect=everyone(OK))],
    "accounts:password_set": [
        Route(kwargs=lambda w: {"code": "finns-inte"}, expect=dict.fromkeys(PERSONAS, MISSING))
    ],
    "accounts:sessions": [Route(expect=everyone(OK))],
    # Someone else's session id: the same 404 as a missing one, for everyone but its owner.
    "accounts:session_end": [
        Route(
            method="post",
            kwargs=lambda w: {"session_id": w.session_alice.pk},
            expect=everyone(MISSING, alice=FOUND),
        )
    ],
    "accounts:admin_users": [Route(expect=everyone(DENIED, ulla=OK))],
    "accounts:admin_user_create": [Route(expect=everyone(DENIED, ulla=OK))],
    "accounts:admin_user": [
        Route(
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=OK),
        ),
        # charlie works for the region: outside ulla's (municipal) scope.
        Route(
            kwargs=lambda w: {"user_id": w.people["charlie"].user.pk},
            expect=everyone(DENIED, ulla=MISSING),
        ),
    ],
    "accounts:admin_user_edit": [
        Route(
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=OK),
        )
    ],
    "accounts:admin_assignment_add": [
        Route(
            method="post",
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=BAD),
        )
    ],
    "accounts:admin_user_agreement_pdf": [
        Route(
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk},
            expect=everyone(DENIED, ulla=OK),
        )
    ],
    "accounts:admin_user_action": [
        Route(
            method="post",
            kwargs=lambda w: {"user_id": w.people["alice"].user.pk, "action": "sessions"},
            expect=everyone(DENIED, ulla=FOUND),
        )
    ],
    "accounts:admin_assignment_extend": [
        Route(
            kwargs=lambda w: {"assignment_id": w.people["alice"].assignment.pk},
            expect=everyone(MISSING, ulla=OK),
        ),
        Route(
            kwargs=lambda w: {"assignment_id": w.people["charlie"].assignment.pk},
            expect=everyone(MISSING),
        ),
    ],
    "accounts:admin_assignment_end": [
        Route(
            method="post",
            kwargs=lambda w: {"assignment_id": w.people["charlie"].assignment.pk},
            expect=everyone(MISSING),
        )
    ],
    "accounts:admin_recertification": [Route(expect=everyone(DENIED, ulla=OK))],
    "accounts:admin_recertification_unit": [
        Route(kwargs=lambda w: {"unit_id": w.county.unit_a.pk}, expect=everyone(DENIED, ulla=OK)),
        Route(
            kwargs=lambda w: {"unit_id": w.county.unit_b.pk}, expect=everyone(DENIED, ulla=MISSING)
        ),
    ],
    "organisations:providers": [Route(expect=everyone(OK))],
    "organisations:provider": [
        Route(kwargs=lambda w: {"provider_id": w.county.region.pk}, expect=everyone(OK))
    ],
    "organisations:provider_history": [
        Route(
            kwargs=lambda w: {"provider_id": w.county.region.pk},
            expect=everyone(DENIED, lena=OK, sigge=OK),
        )
    ],
    "organisations:unit": [
        Route(kwargs=lambda w: {"unit_id": w.county.unit_b.pk}, expect=everyone(OK))
    ],
    "organisations:unit_history": [
        Route(
            kwargs=lambda w: {"unit_id": w.county.unit_b.pk},
            expect=everyone(DENIED, lena=OK, sigge=OK),
        )
    ],
    "patients:search": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, OK)))],
    # Without a pending number there is nothing to show.
    "patients:outside": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, MISSING)))],
    "patients:emergency": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, MISSING)))],
    "patients:emergency_end": [
        Route(
            method="post",
            kwargs=lambda w: {"emergency_id": w.emergency_alice.pk},
            expect=everyone(MISSING, alice=FOUND),
        )
    ],
    "patients:emergency_queue": [Route(expect=everyone(DENIED, lena=OK))],
    "patients:register": [Route(expect=everyone(DENIED, **dict.fromkeys(CARE, OK)))],
    "patients:detail": [
        Route(kwargs=PA, expect=everyone(MISSING, alice=OK, bob=OK)),
        # The region patient: only charlie's unit has a relationship; for alice it is another
        # provider's object.
        Route(kwargs=PB, expect=everyone(MISSING, charlie=OK)),
        Route(kwargs=lambda w: {"patient_id": 999999}, expect=everyone(MISSING)),
    ],
    "patients:correct": [
        Route(kwargs=PA, expect=everyone(MISSING, alice=OK, bob=OK)),
        Route(kwargs=PB, expect=everyone(MISSING, charlie=OK)),
    ],
    "patients:relationship_add": [
        Route(method="post", kwargs=PA, expect=everyone(MISSING, alice=FOUND, bob=FOUND)),
        Route(method="post", kwargs=PB, expect=everyone(MISSING, charlie=FOUND)),
    ],
    "patients:relationship_end": [
        Route(
            method="post",
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "relationship_id": w.relationship_a.pk},
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    "patients:consent_add": [
        Route(method="post", kwargs=PB, expect=everyone(MISSING, charlie=FOUND))
    ],
    "patients:consent_close": [
        Route(
            method="post",
            kwargs=lambda w: {
                "patient_id": w.patient_a.pk,
                "consent_id": w.consent_a.pk,
                "how": "end",
            },
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    "patients:block_add": [
        Route(method="post", kwargs=PB, expect=everyone(MISSING, charlie=FOUND))
    ],
    "patients:block_reveal": [
        Route(method="post", kwargs=PA, expect=everyone(MISSING, alice=FOUND, bob=FOUND))
    ],
    "patients:block_lift": [
        Route(
            method="post",
            kwargs=lambda w: {"patient_id": w.patient_a.pk, "block_id": w.block_a.pk},
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    "patients:block_close": [
        Route(
            method="post",
            kwargs=lambda w: {
                "patient_id": w.patient_a.pk,
                "block_id": w.block_a.pk,
                "how": "lift",
            },
            expect=everyone(MISSING, alice=FOUND, bob=FOUND),
        )
    ],
    # Only unit managers name staff of protected patients; no persona here is one.
    "patients:protection": [Route(kwargs=PA, expect=everyone(DENIED))],
    "messages:inbox": [Route(expect=everyone(OK))],
    "messages:open": [
        Route(
            method="post",
            kwargs=lambda w: {"message_id": w.message_lena.pk},
            expect=everyone(FOUND),
        )
    ],
    "audit:cross_provider": [Route(expect=everyone(DENIED, lena=OK))],
}


def url_names() -> list[str]:
    names: list[str] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    names.append("admin:index")  # the admin is one entry: its index is the gate
                    continue
                ns = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                walk(pattern.url_patterns, ns)
            elif pattern.name:
                names.append(prefix + pattern.name)

    walk(get_resolver().url_patterns, "")
    return sorted(set(names))


def test_r35_every_route_has_an_entry_in_the_access_table() -> None:
    missing = [name for name in url_names() if name not in ROUTES]
    assert not missing, f"routes without an access-table entry: {missing}"
    stale = [name for name in ROUTES if name not in url_names()]
    assert not stale, f"entries for routes that no longer exist: {stale}"


CASES = [
    (name, i, persona)
    for name, routes in ROUTES.items()
    for i in range(len(routes))
    for persona in PERSONAS
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "index", "persona"), CASES, ids=[f"{n}[{i}]-{p}" for n, i, p in CASES]
)
def test_r35_each_persona_gets_the_answer_the_table_states(
    client: Client, world: World, name: str, index: int, persona: str
) -> None:
    route = ROUTES[name][index]
    if persona != "anonymous":
        signed_in(client, world.people[persona])
    url = reverse(name, kwargs=route.kwargs(world))
    response = getattr(client, route.method)(url, route.data)
    expected = route.expect.get(persona, route.default)
    if expected == LOGIN:
        assert response.status_code == FOUND, (name, persona, response.status_code)
        assert response["Location"].startswith(reverse("accounts:login")), response["Location"]
    else:
        assert response.status_code == expected, (
            name,
            persona,
            response.status_code,
            response.get("Location"),
        )


def test_make_persona_roles_cover_the_table() -> None:
    assert {
        Role.PRESCRIBER,
        Role.TECHNICIAN,
        Role.LOG_REVIEWER,
        Role.LOGISTICS,
        Role.BILLING,
        Role.USER_ADMIN,
        Role.SYSTEM_ADMIN,
    } <= set(Role.values)
    assert callable(make_persona)
