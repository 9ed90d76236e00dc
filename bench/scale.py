"""The scale-data generator (`manage.py generate_scale_data --size regional|national`).

Synthetic data at the size of a region or of Sweden, consistent with every invariant the system
keeps: each item in one place or with one patient, at most one open loan per item, a stock ledger
whose sums equal where the items are, care relationships behind every loan and every patient read
in the log, and an audit log sealed into the hash chain. PostgreSQL only: rows go in with COPY and
explicit ids, sequences are moved past them afterwards.

Everything is synthetic: personnummer use the birth numbers 980–999 that Skatteverket keeps for
test identities (and their samordningsnummer variants), first names come from a short list,
surnames are spread as Sweden's are (see `COMMON_LAST`), addresses are invented streets in the
demo county's towns. At national size each of the demo county's care units comes 25 times
(`units_per_demo_unit`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone


@dataclass(frozen=True)
class Size:
    patients: int
    items: int
    loans: int
    users: int
    events: int
    open_orders: int


SIZES = {
    # A quick run to try the generator and the benchmarks out.
    "small": Size(4_000, 15_000, 30_000, 200, 300_000, 100),
    "regional": Size(40_000, 150_000, 300_000, 2_000, 5_000_000, 500),
    "national": Size(1_000_000, 3_000_000, 10_000_000, 50_000, 30_000_000, 5_000),
}

FIRST = [
    "Anna",
    "Erik",
    "Maria",
    "Lars",
    "Karin",
    "Anders",
    "Eva",
    "Johan",
    "Kerstin",
    "Per",
    "Ingrid",
    "Nils",
    "Birgitta",
    "Olof",
    "Margareta",
    "Sven",
    "Elsa",
    "Gustav",
    "Astrid",
    "Karl",
    "Sara",
    "Oskar",
    "Linnea",
    "Axel",
    "Maja",
    "Hugo",
    "Ebba",
    "Arvid",
    "Greta",
]
# Surnames as Sweden has them: a heavy head of -son names and a long tail. The first list holds
# the commonest names with their approximate share of the population in per mille (SCB's name
# statistics, rounded); the rest of the population (about 71 %) gets names composed of a first
# and a second part, 1,000 of them in a fixed shuffled order, the weight of the name of rank r
# falling as 1/(r + 300): from 1.6 per mille to 0.4. A search for a surname
# then matches from 2 % of patients ("Andersson") to a few in a hundred thousand, as in a real
# county, instead of every one of 24 names matching 4 % (issue 19: the name search can only be
# judged against a realistic spread).
COMMON_LAST = [
    ("Andersson", 21.5), ("Johansson", 21.4), ("Karlsson", 19.1), ("Nilsson", 14.7),
    ("Eriksson", 12.9), ("Larsson", 10.7), ("Olsson", 9.9), ("Persson", 9.1),
    ("Svensson", 8.7), ("Gustafsson", 8.6), ("Pettersson", 8.2), ("Jonsson", 6.2),
    ("Jansson", 4.3), ("Hansson", 3.7), ("Bengtsson", 3.0), ("Jönsson", 2.9),
    ("Lindberg", 2.6), ("Jakobsson", 2.5), ("Magnusson", 2.4), ("Lindström", 2.4),
    ("Olofsson", 2.3), ("Lindqvist", 2.3), ("Lindgren", 2.2), ("Berg", 2.1),
    ("Axelsson", 2.1), ("Bergström", 2.0), ("Lundberg", 2.0), ("Lind", 1.9),
    ("Lundgren", 1.9), ("Lundqvist", 1.8), ("Mattsson", 1.8), ("Berglund", 1.7),
    ("Fredriksson", 1.6), ("Sandberg", 1.6), ("Henriksson", 1.6), ("Holm", 1.4),
    ("Ek", 0.9), ("Sjöberg", 1.3), ("Ström", 1.1), ("Åberg", 1.0), ("Öberg", 0.9),
    ("Hägg", 0.4), ("Björk", 1.0), ("Lund", 1.2),
]  # fmt: skip
LAST_FIRST_PARTS = [
    "Lind", "Berg", "Lund", "Sand", "Holm", "Sjö", "Ek", "Ny", "Fors", "Hed", "Wall", "Dahl",
    "Ström", "Öst", "Väst", "Norr", "Söder", "Malm", "Hag", "Sten", "Björk", "Al", "Asp", "Gran",
    "Ros", "Lil", "Stor", "Kvarn", "Bäck", "Åker", "Eng", "Ljung", "Hassel", "Rönn", "Blom",
    "Lönn", "Fager", "Gull", "Silfver", "Wester", "Öster", "Nord", "Hjelm", "Frost", "Vik",
    "Strand", "Mo", "Torn", "Klint", "Ståhl",
]  # fmt: skip
LAST_SECOND_PARTS = [
    "berg", "ström", "qvist", "gren", "holm", "lund", "dahl", "mark", "sten", "blad", "ling",
    "ell", "man", "vall", "sjö", "ros", "by", "borg", "stedt", "näs",
]  # fmt: skip


def _last_names() -> tuple[list[str], list[float]]:
    names = [name for name, _ in COMMON_LAST]
    weights = [share for _, share in COMMON_LAST]
    head = set(names)
    composed = [
        first + second
        for second in LAST_SECOND_PARTS
        for first in LAST_FIRST_PARTS
        if first + second not in head and first.lower() != second
    ]
    random.Random(19).shuffle(composed)  # noqa: S311 - a fixed order, not a secret
    tail = 1000.0 - sum(weights)
    falling = [1 / (rank + 300) for rank in range(1, len(composed) + 1)]
    names += composed
    weights += [tail * w / sum(falling) for w in falling]
    return names, weights


LAST, LAST_WEIGHTS = _last_names()
# Cumulative weights, so that each draw is one bisection (`rng.choices` with cum_weights).
LAST_CUMULATIVE = list(itertools.accumulate(LAST_WEIGHTS))


def last_name(rng: random.Random) -> str:
    return rng.choices(LAST, cum_weights=LAST_CUMULATIVE)[0]


STREETS = [
    "Storgatan",
    "Kyrkogatan",
    "Skolgatan",
    "Ängsvägen",
    "Björkvägen",
    "Sjövägen",
    "Tallvägen",
    "Ekvägen",
    "Parkgatan",
    "Järnvägsgatan",
]


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def luhn(digits: str) -> str:
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def personnummer(born: dt.date, serial: int, coordination: bool = False) -> str:
    """A 12-digit test identity: born `born`, birth number 980–999; a samordningsnummer when
    `coordination` (day + 60)."""
    day = born.day + (60 if coordination else 0)
    date = f"{born.year:04d}{born.month:02d}{day:02d}"
    birth = f"{980 + serial % 20:03d}"
    return date + birth + luhn(date[2:] + birth)


# --- COPY with explicit ids ---------------------------------------------------------------------


def copy_rows(
    model: type[models.Model], columns: list[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """COPY `rows` (tuples in `columns` order, database values) into `model`'s table.

    The first COPY into a table in this process is followed by ANALYZE. The foreign-key checks
    of the next COPY (run at its commit) use plans the connection cached when the table held the
    demo county's 30 patients: a sequential scan of the referenced table per row, quadratic once
    it holds thousands (the care relationships of 80,000 patients took four minutes). ANALYZE
    gives the planner the table's size and makes it plan them again."""
    table = model._meta.db_table
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        if table not in _ANALYSED:
            cursor.execute(f"ANALYZE {table}")
            _ANALYSED.add(table)
    return count


_ANALYSED: set[str] = set()


def next_id(model: type[models.Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")  # noqa: S608
        return int(cursor.fetchone()[0])


def reset_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
        )


# --- The generator ------------------------------------------------------------------------------


@dataclass
class World:
    """What the generator knows of the demo county it grows from."""

    care_units: list[Any]
    units_by_municipality: dict[int, list[Any]]
    region_units: list[Any]
    central: Any
    recon: Any
    articles: list[Any]


def generate(
    size_name: str, *, seed: int = 2026, out: Callable[[str], None] = log
) -> dict[str, Any]:
    """Generate the data set `size_name` into the (migrated, seeded) database."""
    if connection.vendor != "postgresql":
        raise SystemExit("generate_scale_data writes with COPY: use PostgreSQL (DATABASE_URL)")
    from lyfta.inventory.models import Counter

    marker = f"scale:{size_name}"
    if Counter.objects.filter(name=marker).exists():
        out(f"{size_name} data is already here (counter {marker}); nothing to do")
        return {"skipped": True}
    size = SIZES[size_name]
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, func: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = func()
        timings[name] = time.perf_counter() - t0
        out(f"{name}: {timings[name]:.1f} s")
        return result

    step("units", lambda: _more_units(size))
    world = _world()
    users = step("users and assignments", lambda: _users(world, size, rng))
    patients = step("patients and care relationships", lambda: _patients(world, size, rng))
    step("items, loans and the stock ledger", lambda: _items(world, size, rng, users, patients))
    step("open orders for the pick list", lambda: _orders(world, size, rng, users, patients))
    # LYFTA_BENCH_NO_EVENTS=1 leaves out the audit events (30M at national size, over an hour
    # on a loaded 2-core machine): the desks' benchmarks don't read them, the log-search ones do.
    if os.environ.get("LYFTA_BENCH_NO_EVENTS") != "1":
        step("audit events", lambda: _events(world, size, rng, users, patients))
        step("sealing the audit chain", _seal)
    step("analyse", _analyse)
    Counter.objects.create(name=marker, value=1)
    total = time.perf_counter() - started
    out(f"{size_name} data generated in {total:.0f} s")
    return {"seconds": total, "steps": timings}


CARE_KINDS = ["home_care", "care_home", "primary_care", "ward", "habilitation"]


def units_per_demo_unit(size: Size) -> int:
    """How many units of each kind the data has for each of the demo county's: one up to a
    region's size, more beyond it. A national deployment has more units, not bigger ones: a
    health centre or a municipality's home care has some thousand patients with devices whether
    its county's system or the nation's holds them. Before this the national data put a million
    patients in the demo county's 20-odd units (47,632 in the busiest), so every page about a
    unit's own patients grew with the nation, which no real unit does (issue 19)."""
    return max(1, round(size.patients / SIZES["regional"].patients))


def _more_units(size: Size) -> int:
    """Copies of each of the demo county's care units, under the same provider, with its delivery
    addresses and cost centre: "Vårdcentral Haga 2" … "Vårdcentral Haga 25"."""
    from lyfta.billing.models import UnitCostCentre
    from lyfta.organisations.models import DeliveryAddress, Unit

    copies = units_per_demo_unit(size)
    if copies == 1:
        return 0
    originals = list(Unit.objects.filter(active=True, kind__in=CARE_KINDS).order_by("pk"))
    made = 0
    for unit in originals:
        addresses = list(DeliveryAddress.objects.filter(unit=unit))
        centres = list(UnitCostCentre.objects.filter(unit=unit))
        clones = Unit.objects.bulk_create(
            [
                Unit(provider_id=unit.provider_id, name=f"{unit.name} {k}", kind=unit.kind,
                     customer_number=f"{unit.customer_number}-{k}", cost_centre=unit.cost_centre,
                     phone=unit.phone, active=True)
                for k in range(2, copies + 1)
            ]
        )  # fmt: skip
        DeliveryAddress.objects.bulk_create(
            [
                DeliveryAddress(unit=clone, label=a.label, street=a.street,
                                postal_code=a.postal_code, city=a.city, is_default=a.is_default)
                for clone in clones
                for a in addresses
            ]
        )  # fmt: skip
        UnitCostCentre.objects.bulk_create(
            [
                UnitCostCentre(unit=clone, cost_centre_id=c.cost_centre_id,
                               valid_from=c.valid_from, valid_until=c.valid_until)
                for clone in clones
                for c in centres
            ]
        )  # fmt: skip
        made += len(clones)
    return made


def _world() -> World:
    from lyfta.catalogue.models import Article
    from lyfta.inventory.models import StockLocation
    from lyfta.organisations.models import CareProvider, Unit

    units = list(
        Unit.objects.filter(active=True, kind__in=CARE_KINDS)
        .select_related("provider")
        .order_by("pk")
    )
    if not units:
        raise SystemExit("run `manage.py seed_demo` first: the generator grows the demo county")
    by_municipality: dict[int, list[Any]] = {}
    for unit in units:
        if unit.provider.kind == CareProvider.Kind.MUNICIPALITY:
            by_municipality.setdefault(unit.provider_id, []).append(unit)
    region_units = [u for u in units if u.provider.kind == CareProvider.Kind.REGION]
    central = StockLocation.objects.filter(kind="central").order_by("pk").first()
    recon = StockLocation.objects.filter(kind="reconditioning").order_by("pk").first()
    articles = list(Article.objects.filter(tracked=True, in_assortment=True).order_by("pk"))
    if central is None or recon is None or not articles:
        raise SystemExit("the demo county has no stock locations or tracked articles")
    return World(units, by_municipality, region_units, central, recon, articles)


def _users(world: World, size: Size, rng: random.Random) -> list[tuple[int, int, int]]:
    """(user id, assignment id, unit index) for each generated user."""
    from django.contrib.auth.hashers import make_password

    from lyfta.accounts.models import Assignment, User
    from lyfta.accounts.seed import DEMO_PASSWORD

    password = make_password(DEMO_PASSWORD)
    now = timezone.now()
    today = timezone.localdate()
    first_user = next_id(User)
    first_assignment = next_id(Assignment)
    plan = []
    user_rows = []
    assignment_rows = []
    taken = set(User.objects.exclude(personnummer=None).values_list("personnummer", flat=True))
    k = 0
    for n in range(size.users):
        uid, aid = first_user + n, first_assignment + n
        unit_index = n % len(world.care_units)
        unit = world.care_units[unit_index]
        while True:
            number = personnummer(dt.date(1960, 1, 1) + dt.timedelta(days=k // 20), k)
            k += 1
            if number not in taken:
                break
        user_rows.append(
            dict(id=uid, password=password, username=f"s{n:06d}",  # noqa: C408 - names, not strings
                 first_name=rng.choice(FIRST),
                 last_name=last_name(rng), email=f"s{n:06d}@scale.lyfta.invalid",
                 is_active=True, date_joined=now, personnummer=number, title="Arbetsterapeut",
                 workplace=unit.name, valid_from=today - dt.timedelta(days=400),
                 password_changed_at=now, provider_id=unit.provider_id)
        )  # fmt: skip
        assignment_rows.append(
            (aid, now, now, uid, unit.pk, "prescriber", "care", today - dt.timedelta(days=200),
             today + dt.timedelta(days=160), None, "Skalningsdata", None, None, None, None, "",
             None)
        )  # fmt: skip
        plan.append((uid, aid, unit_index))
    # Every column the rows leave out takes its field's default (a new field needs nothing here).
    fields = User._meta.concrete_fields
    columns = [f.column for f in fields]
    copy_rows(
        User,
        columns,
        [tuple(row[f.attname] if f.attname in row else f.get_default() for f in fields)
         for row in user_rows],
    )  # fmt: skip
    copy_rows(Assignment, [f.column for f in Assignment._meta.concrete_fields], assignment_rows)
    reset_sequence(User)
    reset_sequence(Assignment)
    return plan


def _patients(world: World, size: Size, rng: random.Random) -> list[tuple[int, int]]:
    """(patient id, index of the unit whose relationship it has) for each patient."""
    from lyfta.patients.models import CareRelationship, Patient

    now = timezone.now()
    today = timezone.localdate()
    first_patient = next_id(Patient)
    first_rel = next_id(CareRelationship)
    plan = []
    municipal = [u for units in world.units_by_municipality.values() for u in units]
    index_of = {u.pk: i for i, u in enumerate(world.care_units)}

    taken = set(Patient.objects.values_list("identifier", flat=True))

    def identities() -> Iterator[tuple[str, bool]]:
        k = 0
        while True:
            born = dt.date(1920, 1, 1) + dt.timedelta(days=k // 40)
            coordination = (k // 20) % 2 == 1
            identifier = personnummer(born, k, coordination)
            k += 1
            if identifier not in taken:  # the demo county's own patients keep theirs
                yield identifier, coordination

    def patient_rows() -> Iterator[tuple[Any, ...]]:
        for n, (identifier, coordination) in zip(range(size.patients), identities(), strict=False):
            pid = first_patient + n
            unit = municipal[n % len(municipal)]
            plan.append((pid, index_of[unit.pk]))
            yield (
                pid, now, now, identifier,
                "samordningsnummer" if coordination else "personnummer",
                rng.choice(FIRST), last_name(rng),
                f"{rng.choice(STREETS)} {1 + n % 90}", f"65{n % 10} {10 + n % 90:02d}",
                "Karlstad", "", unit.provider_id, "", "", "", None,
            )  # fmt: skip

    copy_rows(Patient, [f.column for f in Patient._meta.concrete_fields], patient_rows())

    def relationship_rows() -> Iterator[tuple[Any, ...]]:
        rid = first_rel
        for pid, unit_index in plan:
            unit = world.care_units[unit_index]
            yield (rid, now, now, unit.pk, pid, "order", "", today - dt.timedelta(days=500),
                   None, None, None, None, "")  # fmt: skip
            rid += 1
            if world.region_units and pid % 3 == 0:
                region = world.region_units[pid % len(world.region_units)]
                yield (rid, now, now, region.pk, pid, "prescription", "",
                       today - dt.timedelta(days=300), None, None, None, None, "")  # fmt: skip
                rid += 1

    copy_rows(
        CareRelationship,
        [f.column for f in CareRelationship._meta.concrete_fields],
        relationship_rows(),
    )
    reset_sequence(Patient)
    reset_sequence(CareRelationship)
    return plan


def _items(
    world: World,
    size: Size,
    rng: random.Random,
    users: list[tuple[int, int, int]],
    patients: list[tuple[int, int]],
) -> None:
    """Items with their loan history and ledger: each item is received into the central store,
    lent and returned (via reconditioning) `h` times, and is now on loan, in stock, or in
    reconditioning. Ledger sums then equal where every item is."""
    from lyfta.inventory.models import Counter, Item, StockMovement
    from lyfta.orders.models import Loan

    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    users_by_unit: dict[int, list[int]] = {}
    for uid, _aid, unit_index in users:
        users_by_unit.setdefault(unit_index, []).append(uid)
    patients_by_unit: dict[int, list[int]] = {}
    for pid, unit_index in patients:
        patients_by_unit.setdefault(unit_index, []).append(pid)
    unit_indexes = [i for i in patients_by_unit if i in users_by_unit]
    first_item = next_id(Item)
    first_loan = next_id(Loan)
    first_move = next_id(StockMovement)
    open_share = 0.6
    history_per_item = max(0.0, (size.loans - size.items * open_share) / size.items)
    item_rows: list[tuple[Any, ...]] = []
    loan_rows: list[tuple[Any, ...]] = []
    move_rows: list[tuple[Any, ...]] = []
    item_columns = [f.column for f in Item._meta.concrete_fields]
    loan_columns = [f.column for f in Loan._meta.concrete_fields]
    move_columns = [f.column for f in StockMovement._meta.concrete_fields]
    loan_id, move_id = first_loan, first_move
    central, recon = world.central.pk, world.recon.pk

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(10, 0), tz)

    def flush() -> None:
        copy_rows(Item, item_columns, item_rows)
        copy_rows(Loan, loan_columns, loan_rows)
        copy_rows(StockMovement, move_columns, move_rows)
        item_rows.clear()
        loan_rows.clear()
        move_rows.clear()

    for n in range(size.items):
        item_id = first_item + n
        article = world.articles[n % len(world.articles)]
        roll = rng.random()
        status = (
            "on_loan" if roll < open_share else ("reconditioning" if roll > 0.97 else "in_stock")
        )
        history = int(history_per_item) + (1 if rng.random() < history_per_item % 1 else 0)
        if status == "reconditioning":
            history = max(history, 1)
        acquired = today - dt.timedelta(days=60 + (history + 1) * 200 + rng.randint(0, 100))
        unit_index = unit_indexes[n % len(unit_indexes)]
        day = acquired
        move_rows.append((move_id, at(day), "receipt", article.pk, item_id, 1, None, central,
                          None, "", "", None, ""))  # fmt: skip
        move_id += 1
        holder = None
        for j in range(history + (1 if status == "on_loan" else 0)):
            patient = rng.choice(patients_by_unit[unit_index])
            prescriber = rng.choice(users_by_unit[unit_index])
            unit = world.care_units[unit_index]
            start = day + dt.timedelta(days=rng.randint(5, 40))
            is_open = j == history
            end = None if is_open else start + dt.timedelta(days=rng.randint(30, 150))
            loan_rows.append(
                (loan_id, patient, article.pk, item_id, 1, "", None, unit.pk, unit.pk, prescriber,
                 article.billing_type, start, None, None, end, "" if is_open else "returned")
            )  # fmt: skip
            loan_id += 1
            move_rows.append((move_id, at(start), "delivery", article.pk, item_id, 1, central,
                              None, patient, "", "", None, ""))  # fmt: skip
            move_id += 1
            if is_open:
                holder = patient
                break
            assert end is not None
            move_rows.append((move_id, at(end), "return", article.pk, item_id, 1, None, recon,
                              patient, "", "", None, ""))  # fmt: skip
            move_id += 1
            day = end + dt.timedelta(days=rng.randint(2, 10))
            if not (status == "reconditioning" and j == history - 1):
                move_rows.append((move_id, at(day), "reconditioned", article.pk, item_id, 1,
                                  recon, central, None, "", "", None, ""))  # fmt: skip
                move_id += 1
        location = {"on_loan": None, "in_stock": central, "reconditioning": recon}[status]
        item_rows.append(
            (item_id, f"S{item_id:09d}", article.pk, f"SN{item_id:09d}",
             f"LOT-{article.pk}-{n % 7}", status, location, holder, acquired,
             article.price or Decimal("1000.00"), None,
             history + (1 if status == "on_loan" else 0), None, "", None, "", "")
        )  # fmt: skip
        if len(move_rows) >= 200_000:
            flush()
    flush()
    for model in (Item, Loan, StockMovement):
        reset_sequence(model)
    Counter.objects.update_or_create(name="item", defaults={"value": first_item + size.items})


def _orders(
    world: World,
    size: Size,
    rng: random.Random,
    users: list[tuple[int, int, int]],
    patients: list[tuple[int, int]],
) -> None:
    """Open orders due on the next working day, each reserving one free item: the pick list."""
    from lyfta.core.workdays import add_working_days
    from lyfta.inventory.models import Item
    from lyfta.orders.models import Order, OrderLine

    day = add_working_days(timezone.localdate(), 1)
    free = list(
        Item.objects.filter(status="in_stock", location=world.central).values_list(
            "pk", "article_id"
        )[: size.open_orders]
    )
    users_by_unit = {unit_index: uid for uid, _aid, unit_index in users}
    now = timezone.now()
    first_order, first_line = next_id(Order), next_id(OrderLine)
    order_rows, line_rows = [], []
    for n, (item_id, article_id) in enumerate(free):
        pid, unit_index = patients[rng.randrange(len(patients))]
        unit = world.care_units[unit_index]
        orderer = users_by_unit.get(unit_index, users[0][0])
        order_rows.append(
            (first_order + n, f"KS{first_order + n:08d}", pid, None, None, unit.pk, unit.pk,
             orderer, "patient", f"{rng.choice(STREETS)} {n % 90 + 1}", f"65{n % 10}30",
             "Karlstad", False, "", "", "", False, "registered", now, day, None, None, "", False,
             False, False)
        )  # fmt: skip
        line_rows.append(
            (first_line + n, first_order + n, article_id, 1, None, "reserved", item_id,
             world.central.pk, "")
        )  # fmt: skip
    copy_rows(Order, [f.column for f in Order._meta.concrete_fields], order_rows)
    copy_rows(OrderLine, [f.column for f in OrderLine._meta.concrete_fields], line_rows)
    Item.objects.filter(pk__in=[item_id for item_id, _a in free]).update(status="reserved")
    reset_sequence(Order)
    reset_sequence(OrderLine)


ACTIONS = [
    ("patient.read", 0.62, "patients.patient"),
    ("patient.listed", 0.12, ""),
    ("loan.holdings_viewed", 0.10, "orders.loan"),
    ("patient.searched", 0.06, ""),
    ("order.created", 0.04, "orders.order"),
    ("auth.login", 0.05, ""),
    ("loan.created", 0.01, "orders.loan"),
]


def _events(
    world: World,
    size: Size,
    rng: random.Random,
    users: list[tuple[int, int, int]],
    patients: list[tuple[int, int]],
) -> None:
    """A year of audit events, as users of the units with care relationships make them: reads of
    their own patients in working hours mostly, lists, searches, orders and logins."""
    from lyfta.audit import partitions
    from lyfta.audit.models import AuditEvent

    unit_meta = [
        (u.pk, u.name[:200], u.provider_id, u.provider.organisation_number)
        for u in world.care_units
    ]
    patients_by_unit: dict[int, list[int]] = {}
    for pid, unit_index in patients:
        patients_by_unit.setdefault(unit_index, []).append(pid)
    staffed = [u for u in users if u[2] in patients_by_unit]
    first_user = users[0][0] if users else 0
    names = {uid: f"s{uid - first_user:06d}" for uid, _a, _u in users}
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.name != "id"]
    cumulative = []
    total = 0.0
    for action, share, resource in ACTIONS:
        total += share
        cumulative.append((total, action, resource))
    now = timezone.now()
    span = 365 * 24 * 3600
    # PostgreSQL: the year's monthly partitions (decision 0023) exist before its events go in.
    partitions.ensure_for(now - dt.timedelta(seconds=span), now)
    empty = json.dumps({})
    route = json.dumps({"route": "scale"})

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(size.events):
            uid, aid, unit_index = staffed[n % len(staffed)]
            unit_pk, unit_name, provider_pk, orgno = unit_meta[unit_index]
            roll = rng.random() * total
            action, resource = next((a, r) for c, a, r in cumulative if roll <= c)
            # Spread over the year in order: ids and times rise together as in a real log.
            when = now - dt.timedelta(seconds=span * (1 - n / size.events))
            with_patient = action not in ("auth.login", "patient.searched")
            pid = rng.choice(patients_by_unit[unit_index]) if with_patient else None
            yield (
                when, action, "granted", "care", uid, names[uid], "Skalad Användare",
                "Arbetsterapeut", "prescriber", aid, provider_pk, orgno, unit_pk, unit_name, pid,
                provider_pk if pid else None, unit_pk if pid else None, resource,
                str(pid) if pid and resource == "patients.patient" else "",
                "relationship" if pid else "", "", "lyfta-web", "10.1.0.1",
                hashlib.sha256(f"{uid}:{n // 40}".encode()).hexdigest(), f"{n:032x}", empty,
                route,
            )  # fmt: skip

    copy_rows(AuditEvent, columns, rows())


def _seal() -> None:
    """Seal the generated events as an operator's backfill of an import: one BACKFILL checkpoint
    per batch vouches for the range (verification accepts events recorded before their seal only
    under such a checkpoint). The events are fresh, in id order and above everything sealed
    before, so batches take id ranges instead of the regular sealer's search for unsealed events;
    the hashing, MACs and checkpoints are the sealer's own."""
    from lyfta.audit import daily, sealing
    from lyfta.audit.models import AuditCheckpoint, AuditEvent

    key = sealing.audit_key()
    kid = sealing.key_id(key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM audit_auditevent")
        last_id = int(cursor.fetchone()[0])
    batch = 100_000
    sealed = 0
    while True:
        with transaction.atomic():
            sealing._lock_sealer()
            seq, prev, head_event = sealing._head()
            if head_event >= last_id:
                break
            rows = sealing.fetch_events(
                AuditEvent.objects.filter(id__gt=head_event, id__lte=last_id).order_by("id")[:batch]
            )
            now = timezone.now()
            seals = []
            for row in rows:
                seq += 1
                entry = sealing.chain_hash(prev, row)
                seals.append(
                    (seq, row["id"], sealing.FORMAT_VERSION, prev, entry,
                     sealing.seal_mac(key, seq, entry), kid, now, row["occurred_at"])
                )  # fmt: skip
                prev = entry
            sealing._insert_seals(seals)
            times = [row["occurred_at"] for row in rows]
            daily.add_seals(seals[0][0], seq, between=(min(times), max(times)))
            sealing.write_checkpoint(
                kind=AuditCheckpoint.Kind.BACKFILL,
                seal_seq=seq,
                entry_hash=prev,
                key=key,
                from_seq=seals[0][0],
            )
        sealed += len(seals)
        if sealed % 1_000_000 < batch:
            log(f"  sealed {sealed:,}")
    sealing.audit_seal(checkpoint=True)


def _analyse() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def counts() -> dict[str, int]:
    """Row counts of the big tables (for the bench table and the restore drill)."""
    from lyfta.audit.models import AuditEvent, AuditSeal
    from lyfta.inventory.models import Item, StockMovement
    from lyfta.orders.models import Loan
    from lyfta.patients.models import Patient

    result = {}
    for model in (Patient, Item, Loan, StockMovement, AuditEvent, AuditSeal):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {model._meta.db_table}")  # noqa: S608
            result[model._meta.label] = int(cursor.fetchone()[0])
    return result


def atomic_generate(size_name: str) -> dict[str, Any]:
    with transaction.atomic():
        return generate(size_name)
