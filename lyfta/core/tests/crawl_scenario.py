"""The scenario of the oracle crawl (R93) and the legal-route rules it is judged by.

Two care providers (the region and a municipality), two care units of each plus the
assistive-device centre; prescribers at each unit, the centre's staff, a log reviewer of each
provider and the roles without patient access. Nine patients cover the cases of R32–R55: blocks
towards other providers with and without a temporary lift, a consent, a protected patient with
named staff, an emergency access in force, a documented need, a deceased patient, lost devices
of both providers and devices that moved between patients of different providers.

Every row is written with the ORM, and beside it a plain fact (`Facts`). The rules at the end of
this module work on the facts only: they never call `lyfta.access` or a selector, so that the
crawl's expectations are worked out independently of the code under test."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from conftest import County, Persona, make_persona
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LogExtractRequest
from lyfta.audit.services import record
from lyfta.catalogue.tests.factories import ArticleFactory
from lyfta.core.luhn import synthetic_personnummer
from lyfta.inventory.models import Item, StockLocation
from lyfta.orders.models import Loan, LossReport, Order, OrderLine, PickupLine, PickupOrder
from lyfta.organisations.models import Unit
from lyfta.organisations.tests.factories import UnitFactory
from lyfta.patients.models import (
    Block,
    BlockLift,
    CareRelationship,
    Consent,
    EmergencyAccess,
    Patient,
    ProtectedStaff,
)
from lyfta.workorders.models import Team, WorkOrder

# --- The legal-route rules, as plain facts (ACCOUNTABILITY.md R32–R55, DOMAIN.md §2) -----------

# Roles that may open a patient at all, on a route of their own unit (DOMAIN.md §2: billing, user
# and system administrators, catalogue managers and log reviewers must not see patient data in
# the device pages; a log reviewer reads the log of his provider only, R70–R82).
PATIENT_ROLES = frozenset(
    {
        Role.PRESCRIBER,
        Role.ORDERER,
        Role.UNIT_MANAGER,
        Role.CONSULTANT,
        Role.TECHNICIAN,
        Role.LOGISTICS,
        Role.CUSTOMER_SERVICE,
    }
)
# The centre's staff who handle every unit's orders and pick-ups: the order or pick-up is their
# case, so they see who it is for (never a protected patient, R55).
CASE_ROLES = frozenset({Role.LOGISTICS, Role.CUSTOMER_SERVICE})
# Roles that work with the stock itself: they see any item's card (its device history).
STOCK_ROLES = frozenset(
    {Role.TECHNICIAN, Role.LOGISTICS, Role.CUSTOMER_SERVICE, Role.CATALOGUE_MANAGER, Role.QUALITY}
)
ORDERING_ROLES = frozenset({Role.PRESCRIBER, Role.ORDERER, Role.UNIT_MANAGER, Role.CONSULTANT})
# Who gives care that must start at once, and so may use an emergency access (R49, R50): an
# emergency access of anyone else (opened before the rule) opens nothing.
EMERGENCY_ROLES = frozenset({Role.PRESCRIBER, Role.UNIT_MANAGER})


@dataclass(frozen=True)
class Who:
    name: str
    user_id: int
    unit_id: int
    provider_id: int
    role: str


@dataclass(frozen=True)
class PatientFact:
    key: str
    pk: int
    identifier: str
    first_name: str
    last_name: str
    protected: bool = False
    named: frozenset[int] = frozenset()  # user ids of the named staff (R54)

    @property
    def tokens(self) -> tuple[str, ...]:
        """How a page can show who the patient is: the personnummer in its usual forms (12
        digits, YYYYMMDD-NNNN, YYMMDD-NNNN, 10 digits) and the (distinctive) surname."""
        number = self.identifier
        return (
            number,
            f"{number[:8]}-{number[8:]}",
            f"{number[2:8]}-{number[8:]}",
            number[2:],
            self.last_name,
        )


@dataclass(frozen=True)
class LoanFact:
    pk: int
    patient: int
    unit: int
    provider: int
    item: str
    open: bool
    lost: bool


@dataclass(frozen=True)
class CaseFact:
    """An order or a pick-up order: a row linked to a patient, owned by the registering unit."""

    number: str
    pk: int
    patient: int
    unit: int
    provider: int


@dataclass
class Facts:
    unit_provider: dict[int, int] = field(default_factory=dict)
    unit_name: dict[int, str] = field(default_factory=dict)
    patients: dict[str, PatientFact] = field(default_factory=dict)
    relationships: set[tuple[int, int]] = field(default_factory=set)  # (unit, patient)
    # (patient, unit, user or None): a consent in force to the unit (or one of its staff), R40.
    consents: set[tuple[int, int, int | None]] = field(default_factory=set)
    # (block id, patient, owning provider): blocks towards other providers in force, R44.
    blocks: set[tuple[int, int, int]] = field(default_factory=set)
    # (block id, unit, user or None): temporary content lifts in force, R46.
    lifts: set[tuple[int, int, int | None]] = field(default_factory=set)
    emergencies: set[tuple[int, int]] = field(default_factory=set)  # (user, patient), R50
    needs: set[tuple[int, int]] = field(default_factory=set)  # (user, patient), R32
    loans: list[LoanFact] = field(default_factory=list)
    orders: list[CaseFact] = field(default_factory=list)
    pickups: list[CaseFact] = field(default_factory=list)
    # Work orders (the technicians' desk): a CaseFact each, with the item it is about.
    workorders: list[CaseFact] = field(default_factory=list)
    workorder_items: dict[str, str] = field(default_factory=dict)  # number -> item
    # Of the reviewers' logs: the extracts each provider keeps (provider, patient), R80.
    extracts: set[tuple[int, int]] = field(default_factory=set)

    def patient(self, pk: int) -> PatientFact:
        return next(p for p in self.patients.values() if p.pk == pk)


def route(f: Facts, who: Who, patient_id: int) -> str:
    """The legal route of `who` to open the patient, or "" (R32, R50, R54): a care relationship
    of his unit, a documented need of this session, or an emergency access in force (for the
    roles that may use one); a protected patient only for the named staff, in an emergency too;
    no route at all for roles without patient access."""
    if who.role not in PATIENT_ROLES:
        return ""
    patient = f.patient(patient_id)
    if patient.protected and who.user_id not in patient.named:
        return ""
    if (who.unit_id, patient_id) in f.relationships:
        return "relationship"
    if (who.user_id, patient_id) in f.needs:
        return "need"
    if emergency(f, who, patient_id):
        return "emergency"
    return ""


def emergency(f: Facts, who: Who, patient_id: int) -> bool:
    """An emergency access of `who` in force on the patient, in a role that may use one (R50)."""
    return who.role in EMERGENCY_ROLES and (who.user_id, patient_id) in f.emergencies


def owner_visible(f: Facts, who: Who, patient_id: int, owner_unit: int) -> bool:
    """Whether `who` may see what `owner_unit` recorded about the patient (R39–R48): only on a
    route to the patient; his own provider's data; another provider's only with a consent to
    his unit (or him) beside a care relationship of his unit (a documented need is a route within
    his own provider only), or an emergency, and never under that provider's block towards other
    providers unless a content lift for his unit (or him) is in force."""
    way = route(f, who, patient_id)
    if not way:
        return False
    owner = f.unit_provider[owner_unit]
    if owner == who.provider_id:
        return True
    consent = way == "relationship" and any(
        p == patient_id and unit == who.unit_id and user in (None, who.user_id)
        for p, unit, user in f.consents
    )
    if not consent and not emergency(f, who, patient_id):
        return False
    for block_id, p, blocking_provider in f.blocks:
        if p != patient_id or blocking_provider != owner:
            continue
        lifted = any(
            b == block_id and unit == who.unit_id and user in (None, who.user_id)
            for b, unit, user in f.lifts
        )
        if not lifted:
            return False
    return True


def loan_visible(f: Facts, who: Who, loan: LoanFact) -> bool:
    return owner_visible(f, who, loan.patient, loan.unit)


def case_route(f: Facts, who: Who, patient_id: int) -> bool:
    """The centre's route: its order-handling staff see who an order or pick-up is for, never a
    protected patient (R55)."""
    if who.role not in CASE_ROLES or f.patient(patient_id).protected:
        return False
    return any(c.patient == patient_id for c in (*f.orders, *f.pickups))


def case_row_visible(f: Facts, who: Who, case: CaseFact) -> bool:
    """An order or pick-up row: the centre's handlers see every one, a unit its own, and anyone
    else only what its owner recorded about a patient he may see (R39)."""
    if who.role in CASE_ROLES:
        return True
    if who.role in ORDERING_ROLES and case.unit == who.unit_id:
        return True
    return owner_visible(f, who, case.patient, case.unit)


# Roles that ask the technicians for work: they see their own unit's work orders.
WORKORDER_ASKING_ROLES = ORDERING_ROLES | {Role.LOGISTICS, Role.CUSTOMER_SERVICE}


def workorder_visible(f: Facts, who: Who, case: CaseFact) -> bool:
    """Who a work order's page may name its patient to: the technicians (the work order is
    their case) and the unit it is for; a protected patient only to his named staff (R54, R55)."""
    patient = f.patient(case.patient)
    if patient.protected and who.user_id not in patient.named:
        return False
    if who.role == Role.TECHNICIAN:
        return True
    return who.role in WORKORDER_ASKING_ROLES and case.unit == who.unit_id


def workorder_row_visible(f: Facts, who: Who, case: CaseFact) -> bool:
    """A work order's number (not its patient): the technicians and the stock roles see every
    one (the item card's history), a unit its own, anyone else only what its owner recorded about
    a patient he may see (R39)."""
    if who.role in STOCK_ROLES or (who.role in WORKORDER_ASKING_ROLES and case.unit == who.unit_id):
        return True
    return owner_visible(f, who, case.patient, case.unit)


def in_search_scope(f: Facts, who: Who, patient_id: int) -> bool:
    """Search lists only the patients related to the user's unit (R33), protected ones only for
    their named staff (R55)."""
    patient = f.patient(patient_id)
    return (
        who.role in PATIENT_ROLES
        and (who.unit_id, patient_id) in f.relationships
        and (not patient.protected or who.user_id in patient.named)
    )


def reviewable(f: Facts, who: Who, patient_id: int) -> bool:
    """A log reviewer sees who an event is about when the event is his provider's (made by its
    staff or about its data), or the patient asked his provider for a log extract; a protected
    patient is named by number only (R53, R70–R82). Read from the log as it stands."""
    if who.role != Role.LOG_REVIEWER or f.patient(patient_id).protected:
        return False
    if (who.provider_id, patient_id) in f.extracts:
        return True
    return (
        AuditEvent.objects.filter(patient_id=patient_id)
        .filter(actor_provider_id=who.provider_id)
        .exists()
        or AuditEvent.objects.filter(
            patient_id=patient_id, owner_provider_id=who.provider_id
        ).exists()
    )


# --- The scenario -------------------------------------------------------------------------------


@dataclass
class Scenario:
    county: County
    unit_b2: Unit
    people: dict[str, Persona]
    facts: Facts
    who: dict[str, Who]
    article_number: str
    items: list[str]  # every item's individual number
    events: list[int]  # audit events the reviewers' pages open
    extracts: list[int]  # log-extract requests
    checks: list[int] = field(default_factory=list)  # reviewers' saved checks


PERSONA_SPECS: tuple[tuple[str, str, str, str, str], ...] = (
    # (username, unit attribute, role, first name, last name)
    ("alice", "unit_a", Role.PRESCRIBER, "Alice", "Ask"),
    ("alma", "unit_a2", Role.PRESCRIBER, "Alma", "Al"),
    ("maria", "unit_a", Role.UNIT_MANAGER, "Maria", "Chef"),
    ("charlie", "unit_b", Role.PRESCRIBER, "Charlie", "Ceder"),
    ("cecilia", "unit_b2", Role.PRESCRIBER, "Cecilia", "Cypress"),
    ("tekla", "centre", Role.TECHNICIAN, "Tekla", "Tekn"),
    ("logan", "centre", Role.LOGISTICS, "Logan", "Lager"),
    ("kent", "centre", Role.CUSTOMER_SERVICE, "Kent", "Kund"),
    ("billie", "centre", Role.BILLING, "Billie", "Ekon"),
    ("ulla", "unit_a2", Role.USER_ADMIN, "Ulla", "Admin"),
    ("sigge", "centre", Role.SYSTEM_ADMIN, "Sigge", "Sys"),
    ("lena", "unit_a2", Role.LOG_REVIEWER, "Lena", "Logg"),
    ("rita", "region_admin", Role.LOG_REVIEWER, "Rita", "Revy"),
    ("sara", "centre", Role.QUALITY, "Sara", "Kval"),
)
CASE_PERSONAS = frozenset(name for name, _u, role, *_ in PERSONA_SPECS if role in CASE_ROLES)

# (key, first name, surname, born): surnames no persona, unit or article shares.
PATIENTS = (
    ("lift", "Greta", "Liftstrom", "19420303"),
    ("block", "Harald", "Blockstrom", "19360511"),
    ("consent", "Ingrid", "Samtyckstrom", "19480612"),
    ("protected", "Jonas", "Skyddstrom", "19550819"),
    ("emergency", "Karin", "Nodstrom", "19310925"),
    ("deceased", "Lars", "Avlidenstrom", "19291104"),
    ("need", "Maja", "Behovstrom", "19521213"),
    ("region", "Nils", "Regionstrom", "19470122"),
)


def build(county: County) -> Scenario:
    """Write the scenario and its facts."""
    today = timezone.localdate()
    now = timezone.now()
    unit_b2 = UnitFactory(
        provider=county.region, name="Avdelning 12 Testsjukhuset", kind=Unit.Kind.WARD
    )
    units: dict[str, Unit] = {
        "unit_a": county.unit_a,
        "unit_a2": county.unit_a2,
        "unit_b": county.unit_b,
        "unit_b2": unit_b2,
        "centre": county.centre,
        "region_admin": county.region_admin,
    }
    f = Facts(
        unit_provider={u.pk: u.provider_id for u in units.values()},
        unit_name={u.pk: u.name for u in units.values()},
    )
    people: dict[str, Persona] = {}
    who: dict[str, Who] = {}
    for username, unit_name, role, first, last in PERSONA_SPECS:
        unit = units[unit_name]
        people[username] = make_persona(unit, role, username, first_name=first, last_name=last)
        who[username] = Who(username, people[username].user.pk, unit.pk, unit.provider_id, role)
    ua, ua2, ub, ub2 = county.unit_a, county.unit_a2, county.unit_b, unit_b2
    alice, charlie = people["alice"].user, people["charlie"].user

    patients: dict[str, Patient] = {}
    for serial, (key, first, last, born) in enumerate(PATIENTS):
        patients[key] = Patient.objects.create(
            identifier=synthetic_personnummer(born, serial),
            id_kind=Patient.IdKind.PERSONNUMMER,
            first_name=first,
            last_name=last,
            street=f"{last}vagen 1",
            postal_code="65100",
            city="Testby",
        )
    protected = patients["protected"]
    protected.protection = Patient.Protection.PROTECTED_REGISTRATION
    protected.save(update_fields=["protection"])
    ProtectedStaff.objects.create(patient=protected, user=alice, named_by=alice)
    deceased = patients["deceased"]
    deceased.deceased_date = today - dt.timedelta(days=20)
    deceased.save(update_fields=["deceased_date"])
    for key, patient in patients.items():
        f.patients[key] = PatientFact(
            key,
            patient.pk,
            patient.identifier,
            patient.first_name,
            patient.last_name,
            protected=patient.is_protected,
            named=frozenset({alice.pk}) if key == "protected" else frozenset(),
        )

    def relate(unit: Unit, key: str) -> None:
        CareRelationship.objects.create(
            unit=unit,
            patient=patients[key],
            origin=CareRelationship.Origin.REGISTERED,
            reason="Testscenario",
            valid_from=today - dt.timedelta(days=400),
        )
        f.relationships.add((unit.pk, patients[key].pk))

    for unit, key in (
        (ua, "lift"),
        (ua2, "lift"),
        (ub, "lift"),
        (ua, "block"),
        (ub, "block"),
        (ua, "consent"),
        (ub2, "consent"),
        (ua, "protected"),
        (ub, "protected"),
        (ub, "emergency"),
        (ua2, "deceased"),
        (ua, "need"),
        (ub2, "region"),
    ):
        relate(unit, key)
    # A relationship that has ended opens nothing: unit A2 once cared for the blocked patient.
    CareRelationship.objects.create(
        unit=ua2,
        patient=patients["block"],
        origin=CareRelationship.Origin.REGISTERED,
        reason="Avslutad",
        valid_from=today - dt.timedelta(days=400),
        valid_until=today - dt.timedelta(days=30),
    )

    def consent(unit: Unit, key: str) -> None:
        Consent.objects.create(
            patient=patients[key],
            grantee_unit=unit,
            valid_from=today - dt.timedelta(days=10),
            valid_until=today + dt.timedelta(days=300),
            registered_by=alice,
        )
        f.consents.add((patients[key].pk, unit.pk, None))

    consent(ua, "lift")
    consent(ua2, "lift")
    consent(ua, "block")
    consent(ua, "consent")
    # A consent to the region ward for the need patient, whom only the municipality cares for:
    # with cecilia's documented need it opens nothing of the municipality's (R39).
    consent(ub2, "need")
    # An ended consent is no route: the region ward once had one for the consent patient.
    Consent.objects.create(
        patient=patients["consent"],
        grantee_unit=ub2,
        valid_from=today - dt.timedelta(days=100),
        valid_until=today + dt.timedelta(days=100),
        registered_by=people["cecilia"].user,
        status=Consent.Status.ENDED,
    )

    def block(key: str) -> Block:
        made = Block.objects.create(
            patient=patients[key],
            scope=Block.Scope.EXTERNAL,
            owner_provider=county.region,
            requested_at=today - dt.timedelta(days=5),
            requested_by="Patienten",
            reason="Testscenario",
            registered_by=charlie,
        )
        f.blocks.add((made.pk, patients[key].pk, county.region.pk))
        return made

    lifted = block("lift")
    block("block")
    BlockLift.objects.create(
        block=lifted,
        patient=patients["lift"],
        unit=ua,
        step=BlockLift.Step.CONTENT,
        basis=BlockLift.Basis.CONSENT,
        reason_text="Patienten samtycker",
        created_by=alice,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=5),
    )
    f.lifts.add((lifted.pk, ua.pk, None))
    # An expired lift for unit A2 opens nothing.
    BlockLift.objects.create(
        block=lifted,
        patient=patients["lift"],
        unit=ua2,
        step=BlockLift.Step.CONTENT,
        basis=BlockLift.Basis.CONSENT,
        reason_text="Gick ut",
        created_by=people["alma"].user,
        starts_at=now - dt.timedelta(days=3),
        ends_at=now - dt.timedelta(days=2),
    )
    EmergencyAccess.objects.create(
        user=alice,
        assignment=people["alice"].assignment,
        patient=patients["emergency"],
        reason_code=EmergencyAccess.Reason.ACUTE_CARE,
        reason_text="Akut i testscenariot",
        patient_cannot_consent=True,
        started_at=now - dt.timedelta(minutes=10),
        expires_at=now + dt.timedelta(hours=2),
    )
    f.emergencies.add((alice.pk, patients["emergency"].pk))

    def opened(person: str, key: str, why: str) -> None:
        EmergencyAccess.objects.create(
            user=people[person].user,
            assignment=people[person].assignment,
            patient=patients[key],
            reason_code=EmergencyAccess.Reason.ACUTE_CARE,
            reason_text=why,
            patient_cannot_consent=True,
            started_at=now - dt.timedelta(minutes=10),
            expires_at=now + dt.timedelta(hours=2),
        )
        f.emergencies.add((people[person].user.pk, patients[key].pk))

    # An emergency access by charlie, not named for the protected patient, opens nothing (R54);
    # nor does one by the centre's logistician, whose role may not use one (R50).
    opened("charlie", "protected", "Akut men inte namngiven")
    opened("logan", "lift", "Lager utan vårdroll")
    # An expired emergency of charlie's on the need patient opens nothing.
    EmergencyAccess.objects.create(
        user=charlie,
        assignment=people["charlie"].assignment,
        patient=patients["need"],
        reason_code=EmergencyAccess.Reason.ACUTE_CARE,
        reason_text="Gammal",
        patient_cannot_consent=True,
        started_at=now - dt.timedelta(days=2),
        expires_at=now - dt.timedelta(days=2) + dt.timedelta(hours=2),
        ended_at=now - dt.timedelta(days=2) + dt.timedelta(hours=2),
        end_recorded=True,
    )

    # Devices: one tracked lift article, stores at the centre and unit A's buffer store.
    article = ArticleFactory(article_number="CRAWL-LYFT", name="Taklyft testmodell")
    central = StockLocation.objects.create(
        code="CR-HMC", name="Centrallager", kind=StockLocation.Kind.CENTRAL, unit=county.centre
    )
    shrinkage = StockLocation.objects.create(
        code="CR-SVINN", name="Svinn", kind=StockLocation.Kind.SHRINKAGE, unit=county.centre
    )
    StockLocation.objects.create(
        code="CR-BUF", name="Förråd hemsjukvården", kind=StockLocation.Kind.BUFFER, unit=ua
    )
    numbers = iter(range(7000101, 7000200))
    items: list[str] = []

    def item(**fields: object) -> Item:
        made = Item.objects.create(
            individual_number=str(next(numbers)),
            article=article,
            acquired_on=today - dt.timedelta(days=900),
            acquisition_value=Decimal("12000"),
            **fields,
        )
        items.append(made.individual_number)
        return made

    def lend(
        key: str,
        unit: Unit,
        device: Item,
        *,
        days_ago: int = 100,
        ended: str = "",
        ended_days_ago: int = 0,
    ) -> Loan:
        loan = Loan.objects.create(
            patient=patients[key],
            article=article,
            item=device,
            unit=unit,
            payer=unit,
            billing_type="rent",
            started_on=today - dt.timedelta(days=days_ago),
            ended_on=today - dt.timedelta(days=ended_days_ago) if ended else None,
            end_reason=ended,
        )
        f.loans.append(
            LoanFact(
                loan.pk,
                patients[key].pk,
                unit.pk,
                unit.provider_id,
                device.individual_number,
                open=not ended,
                lost=ended == Loan.End.LOST,
            )
        )
        return loan

    def on_loan(key: str, status: str = Item.Status.ON_LOAN) -> Item:
        return item(status=status, holder=patients[key])

    def lost(key: str, unit: Unit, by: Persona) -> None:
        device = item(status=Item.Status.LOST, location=shrinkage, lost_on=today)
        loan = lend(key, unit, device, ended=Loan.End.LOST, ended_days_ago=3)
        LossReport.objects.create(
            loan=loan,
            item=device,
            reported_by=by.user,
            reported_at=now - dt.timedelta(days=3),
            lost_on=today - dt.timedelta(days=3),
            circumstances="Försvann vid flytt",
            charge=LossReport.Charge.NONE,
            residual_value=Decimal("0"),
        )

    lift_home = lend("lift", ua, on_loan("lift"))
    lift_region = lend("lift", ub, on_loan("lift", Item.Status.AWAITING_PICKUP))
    block_municipal = lend("block", ua, on_loan("block", Item.Status.AWAITING_PICKUP))
    lend("block", ub, on_loan("block"))  # the item card of finding 1
    lost("block", ub, people["charlie"])  # a region loss under its block (finding 2)
    lost("block", ua, people["alice"])  # a municipal loss: no consent to the region
    lend("consent", ua, on_loan("consent"))
    consent_region = lend("consent", ub2, on_loan("consent"), days_ago=60)
    lend(
        "consent",
        ub2,
        item(status=Item.Status.IN_STOCK, location=central),
        days_ago=300,
        ended=Loan.End.RETURNED,
        ended_days_ago=200,
    )
    protected_home = lend("protected", ua, on_loan("protected"))
    lend("protected", ub, on_loan("protected"))
    emergency_region = lend("emergency", ub, on_loan("emergency"))
    lend("need", ua, on_loan("need"))
    lend("region", ub2, on_loan("region"))
    lend(
        "deceased",
        ua2,
        item(status=Item.Status.IN_STOCK, location=central),
        days_ago=500,
        ended=Loan.End.RETURNED,
        ended_days_ago=15,
    )
    # Devices that moved between patients of different providers: the region's loan to the
    # emergency patient, then the municipality's to the blocked one; the municipality's loan to
    # the deceased patient, then the region ward's to the consent patient.
    moved = on_loan("block")
    lend("emergency", ub, moved, days_ago=700, ended=Loan.End.RETURNED, ended_days_ago=400)
    lend("block", ua, moved, days_ago=300)
    moved_back = on_loan("consent")
    lend("deceased", ua2, moved_back, days_ago=600, ended=Loan.End.RETURNED, ended_days_ago=300)
    lend("consent", ub2, moved_back, days_ago=200)

    # Orders: open ones (with a reserved item on a line) from each provider, one to a protected
    # patient's confidential address, and a delivered one.
    order_numbers = iter(range(1, 100))

    def order(key: str, unit: Unit, by: Persona, *, status: str = Order.Status.REGISTERED) -> Order:
        made = Order.objects.create(
            number=f"KO-CR{next(order_numbers):04d}",
            patient=patients[key],
            unit=unit,
            payer=unit,
            orderer=by.user,
            delivery=Order.Delivery.PATIENT,
            street=patients[key].street,
            postal_code=patients[key].postal_code,
            city=patients[key].city,
            confidential_address=patients[key].is_protected,
            contact_name=f"{patients[key].first_name} {patients[key].last_name}",
            status=status,
            registered_at=now - dt.timedelta(days=2),
            expected_on=today,
            delivered_at=now - dt.timedelta(days=1) if status == Order.Status.DELIVERED else None,
        )
        if status in Order.OPEN:
            OrderLine.objects.create(
                order=made,
                article=article,
                quantity=1,
                status=OrderLine.Status.RESERVED,
                item=item(status=Item.Status.RESERVED, location=central),
                source=central,
            )
        f.orders.append(CaseFact(made.number, made.pk, patients[key].pk, unit.pk, unit.provider_id))
        return made

    order("block", ua, people["alice"])
    order("block", ub, people["charlie"])
    order("lift", ub, people["charlie"])
    order("protected", ua, people["alice"])
    order("emergency", ub, people["charlie"])
    order("need", ua, people["alice"])
    delivered = order("consent", ub2, people["cecilia"], status=Order.Status.DELIVERED)
    OrderLine.objects.create(
        order=delivered,
        article=article,
        quantity=1,
        status=OrderLine.Status.DELIVERED,
        item=consent_region.item,
        source=central,
    )

    def pickup(key: str, unit: Unit, by: Persona, loan: Loan, number: str) -> None:
        made = PickupOrder.objects.create(
            number=number,
            patient=patients[key],
            unit=unit,
            registered_by=by.user,
            registered_at=now - dt.timedelta(days=1),
            rent_stop_on=today + dt.timedelta(days=2),
            collect_by=today + dt.timedelta(days=6),
            street=patients[key].street,
            postal_code=patients[key].postal_code,
            city=patients[key].city,
            status=PickupOrder.Status.REGISTERED,
        )
        PickupLine.objects.create(pickup=made, loan=loan, status=PickupLine.Status.WAITING)
        f.pickups.append(CaseFact(number, made.pk, patients[key].pk, unit.pk, unit.provider_id))

    pickup("lift", ub, people["charlie"], lift_region, "HO-CR0001")
    pickup("block", ua, people["alice"], block_municipal, "HO-CR0002")

    # Work orders (the technicians' desk): unit A's fault reports on the lift and on the
    # protected patient's device (tekla's own), and the region's on the emergency patient's
    # device (her team's).
    team = Team.objects.create(name="Team Crawl", unit=county.centre, areas="652")
    team.members.add(people["tekla"].user)
    wo_numbers = iter(range(1, 100))

    def work_order(loan: Loan, by: Persona, *, assigned: bool) -> None:
        assert loan.item is not None
        made = WorkOrder.objects.create(
            number=f"AO-CR{next(wo_numbers):04d}",
            # Maintenance: the visit is announced, so its letter is crawled with the page.
            kind=WorkOrder.Kind.MAINTENANCE,
            status=WorkOrder.Status.REGISTERED,
            origin=WorkOrder.Origin.PRESCRIBER,
            place=WorkOrder.Place.HOME,
            item=loan.item,
            article=loan.article,
            patient=loan.patient,
            unit=loan.unit,
            requested_by=by.user,
            team=team,
            assignee=people["tekla"].user if assigned else None,
            description="Lyften går inte upp",
            street=loan.patient.street if not loan.patient.is_protected else "",
            postal_code=loan.patient.postal_code if not loan.patient.is_protected else "",
            city=loan.patient.city if not loan.patient.is_protected else "",
            confidential_address=loan.patient.is_protected,
            registered_at=now - dt.timedelta(days=1),
            start_due=today,
            done_due=today + dt.timedelta(days=9),
        )
        f.workorders.append(
            CaseFact(made.number, made.pk, loan.patient_id, loan.unit_id, loan.unit.provider_id)
        )
        f.workorder_items[made.number] = loan.item.individual_number

    work_order(lift_home, people["alice"], assigned=True)
    work_order(protected_home, people["alice"], assigned=True)
    work_order(emergency_region, people["charlie"], assigned=False)

    # The reviewers' material: reads by each provider's staff, and an extract request each.
    events = [
        record(
            action=Action.PATIENT_READ,
            actor=people["alice"].actor,
            patient_id=patients["block"].pk,
            owner_provider_id=county.municipality.pk,
        ).pk,
        record(
            action=Action.PATIENT_READ,
            actor=people["charlie"].actor,
            patient_id=patients["emergency"].pk,
            owner_provider_id=county.region.pk,
        ).pk,
        record(
            action=Action.PATIENT_READ,
            actor=people["alice"].actor,
            patient_id=patients["protected"].pk,
            owner_provider_id=county.municipality.pk,
        ).pk,
    ]
    extracts = []
    for provider, key in ((county.municipality, "block"), (county.region, "emergency")):
        extracts.append(
            LogExtractRequest.objects.create(
                provider=provider,
                patient=patients[key],
                kind=LogExtractRequest.Kind.PATIENT_REQUEST,
                requested_at=today,
                due_at=today + dt.timedelta(days=30),
                requester="Patienten",
                period_from=today - dt.timedelta(days=30),
                period_until=today,
                received_by=alice,
            ).pk
        )
        f.extracts.add((provider.pk, patients[key].pk))
    return Scenario(
        county=county,
        unit_b2=unit_b2,
        people=people,
        facts=f,
        who=who,
        article_number=article.article_number,
        items=items,
        events=events,
        extracts=extracts,
    )
