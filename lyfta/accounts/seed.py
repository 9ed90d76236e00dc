"""Demo accounts: one per role, spread over a region unit, two municipalities and the centre.

The passwords are for the demo only and printed by `make run`; the people are invented."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.accounts import services
from lyfta.accounts.models import Assignment, User
from lyfta.core.luhn import synthetic_personnummer as pnr
from lyfta.organisations.models import Unit

# Long enough and random enough to pass Lyfta's own password rules; for the demo only.
DEMO_PASSWORD = "tranbär kanot fjällräv glöd"  # noqa: S105 - printed demo password, by design


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    title: str
    role: str
    unit_customer: str  # customer number of the unit from organisations.seed
    personnummer: str


DEMO_USERS = [
    DemoUser(
        "anna.forskrivare",
        "Anna",
        "Lind",
        "Arbetsterapeut",
        Role.PRESCRIBER,
        "K20801",
        pnr("19811218", 1),
    ),
    DemoUser(
        "bo.forskrivare", "Bo", "Ek", "Fysioterapeut", Role.PRESCRIBER, "K20801", pnr("19780202", 2)
    ),
    DemoUser(
        "cecilia.forskrivare",
        "Cecilia",
        "Holm",
        "Arbetsterapeut",
        Role.PRESCRIBER,
        "K10005",
        pnr("19900101", 3),
    ),
    DemoUser(
        "david.forskrivare",
        "David",
        "Sand",
        "Sjuksköterska",
        Role.PRESCRIBER,
        "K20101",
        pnr("19640823", 4),
    ),
    DemoUser(
        "eva.bestallare",
        "Eva",
        "Strand",
        "Undersköterska",
        Role.ORDERER,
        "K20804",
        pnr("19700101", 5),
    ),
    DemoUser(
        "fredrik.konsulent",
        "Fredrik",
        "Berg",
        "Hjälpmedelskonsulent",
        Role.CONSULTANT,
        "K10015",
        pnr("19850505", 6),
    ),
    DemoUser(
        "gustav.tekniker",
        "Gustav",
        "Falk",
        "Hjälpmedelstekniker",
        Role.TECHNICIAN,
        "K10011",
        pnr("19750707", 7),
    ),
    DemoUser(
        "hanna.logistik", "Hanna", "Vik", "Logistiker", Role.LOGISTICS, "K10012", pnr("19920303", 8)
    ),
    DemoUser(
        "ida.kundtjanst",
        "Ida",
        "Ström",
        "Kundtjänsthandläggare",
        Role.CUSTOMER_SERVICE,
        "K10010",
        pnr("19881212", 9),
    ),
    DemoUser(
        "jonas.sortiment",
        "Jonas",
        "Dahl",
        "Inköpare",
        Role.CATALOGUE_MANAGER,
        "K10013",
        pnr("19800303", 10),
    ),
    DemoUser(
        "karin.ekonomi", "Karin", "Lund", "Ekonom", Role.BILLING, "K10014", pnr("19721212", 11)
    ),
    DemoUser(
        "sara.kvalitet",
        "Sara",
        "Ek",
        "Kvalitetssamordnare",
        Role.QUALITY,
        "K10016",
        pnr("19810808", 18),
    ),
    DemoUser(
        "lars.anvandaradmin",
        "Lars",
        "Nord",
        "Systemförvaltare",
        Role.USER_ADMIN,
        "K10001",
        pnr("19690505", 12),
    ),
    DemoUser(
        "maria.anvandaradmin",
        "Maria",
        "Sjö",
        "Användarstöd",
        Role.USER_ADMIN,
        "K20809",
        pnr("19840606", 13),
    ),
    DemoUser(
        "nils.loggranskare",
        "Nils",
        "Ås",
        "Informationssäkerhetssamordnare",
        Role.LOG_REVIEWER,
        "K10001",
        pnr("19710909", 14),
    ),
    DemoUser(
        "olivia.loggranskare",
        "Olivia",
        "Björk",
        "Verksamhetsutvecklare",
        Role.LOG_REVIEWER,
        "K20809",
        pnr("19820707", 15),
    ),
    # Arvika's own log reviewer: an emergency access by David (Arvika's home care) is judged by a
    # reviewer of his own municipality (R52), as Anna's is by Olivia in Karlstad.
    DemoUser(
        "rebecka.loggranskare",
        "Rebecka",
        "Alm",
        "Kvalitetsutvecklare",
        Role.LOG_REVIEWER,
        "K20109",
        pnr("19790314", 17),
    ),
    DemoUser(
        "per.systemadmin",
        "Per",
        "Hed",
        "Systemadministratör",
        Role.SYSTEM_ADMIN,
        "K10013",
        pnr("19760404", 16),
    ),
    # A unit manager of the municipality's home care (Anna's and Bo's unit): the statistics of
    # her provider, follow-ups and approvals.
    DemoUser(
        "tove.enhetschef",
        "Tove",
        "Berg",
        "Enhetschef",
        Role.UNIT_MANAGER,
        "K20801",
        pnr("19770606", 19),
    ),
]


def seed(actor: Actor) -> None:
    today = timezone.localdate()
    for demo in DEMO_USERS:
        unit = Unit.objects.get(customer_number=demo.unit_customer)
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = services.user_create(
                actor=actor,
                username=demo.username,
                first_name=demo.first_name,
                last_name=demo.last_name,
                title=demo.title,
                workplace=unit.name,
                email=f"{demo.username}@demo.lyfta.invalid",
                personnummer=demo.personnummer,
                valid_from=today - dt.timedelta(days=30),
                password=DEMO_PASSWORD,
                provider=unit.provider,
            )
            services.agreement_accept(user=user)
        if not Assignment.objects.filter(user=user, unit=unit, role=demo.role).exists():
            services.assignment_create(
                actor=actor,
                user=user,
                unit=unit,
                role=demo.role,
                valid_from=today - dt.timedelta(days=30),
                valid_until=today - dt.timedelta(days=30) + dt.timedelta(days=364),
                decision_reference="Demo: beslut enligt delegationsordning",
            )
