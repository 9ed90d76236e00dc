"""Safety notices carried out as campaigns (issue 15 point 4): building the list of affected
devices wherever they are, blocking affected stock from picking until it is checked, telling
the holding units, work orders for repairs and exchanges, each device's status, and closing.

Building is set-based: one read of the affected items (their serial numbers compared naturally
in Python, `core.serials.serial_in_range`), one of their open loans, one of the untracked
lots' holders and places, then the rows are inserted in chunks; a campaign over 20,000 devices
is a handful of statements, not 20,000."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lyfta.access.actor import Actor
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap, Role
from lyfta.access.users import units_users_in_role, units_users_with
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.catalogue.models import Article, Supplier
from lyfta.core.serials import serial_key
from lyfta.inventory import locks
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLocation, StockMovement
from lyfta.messages.models import Message
from lyfta.messages.services import messages_send_each
from lyfta.orders.models import Loan
from lyfta.patients.models import Patient, ProtectedStaff
from lyfta.quality.models import Campaign, CampaignDevice
from lyfta.workorders import services as workorders
from lyfta.workorders.models import WorkOrder

MAX_ARTICLES = 20
MAX_LOTS = 200
MAX_RANGES = 50
CHUNK = 1000  # rows a statement: 10 parameters each, well within SQLite's limit
# Items that are nowhere to be checked: scrapped ones, and lost ones (in shrinkage).
GONE = (Item.Status.SCRAPPED, Item.Status.LOST)
# Statuses after which a blocked device may be picked again; "not found" keeps it blocked.
CLEARS = (
    CampaignDevice.Status.CHECKED,
    CampaignDevice.Status.FIXED,
    CampaignDevice.Status.REPLACED,
    CampaignDevice.Status.NOT_AFFECTED,
)


@dataclass(frozen=True)
class NoticeInput:
    """A field safety notice as the quality officer enters it."""

    title: str
    notice_reference: str
    notice_date: dt.date
    description: str
    action: str
    articles: list[Article]
    supplier: Supplier | None = None
    lots: list[str] = field(default_factory=list)
    serial_ranges: list[tuple[str, str]] = field(default_factory=list)
    blocks_stock: bool = True


@dataclass(frozen=True)
class Affected:
    """One affected device (or an untracked lot's quantity) where it is."""

    article_id: int
    item_id: int | None
    lot: str
    quantity: int
    loan_id: int | None
    location_id: int | None
    holding_unit_id: int | None
    in_stock: bool  # in a place picking could take it from
    prescriber_id: int | None = None  # the loan's prescriber (who is told)
    number: str = ""  # the item's individual number


def _may_manage(actor: Actor) -> None:
    require(actor, Cap.QUALITY_MANAGE)


def may_set_status(actor: Actor) -> bool:
    """The quality officer, the technicians and logistics set each device's status."""
    return any(
        can(actor, cap) for cap in (Cap.QUALITY_MANAGE, Cap.WORKORDERS_HANDLE, Cap.STOCK_MANAGE)
    )


def block_reason(campaign: Campaign) -> str:
    return _("Säkerhetskampanj %(number)s") % {"number": campaign.number}


def _checked(notice: NoticeInput) -> NoticeInput:
    if not notice.articles:
        raise ValidationError(_("Ange minst en artikel som meddelandet gäller."))
    if len(notice.articles) > MAX_ARTICLES:
        raise ValidationError(_("Högst %(n)s artiklar per kampanj.") % {"n": MAX_ARTICLES})
    if notice.action not in Campaign.Action.values:
        raise ValidationError(_("Välj vad som ska göras med varje produkt."))
    if notice.notice_date > timezone.localdate():
        raise ValidationError(_("Säkerhetsmeddelandets datum kan inte ligga i framtiden."))
    lots = sorted({lot.strip()[:60] for lot in notice.lots if lot.strip()})
    if len(lots) > MAX_LOTS:
        raise ValidationError(_("Högst %(n)s batcher per kampanj.") % {"n": MAX_LOTS})
    ranges = [(low.strip()[:60], high.strip()[:60]) for low, high in notice.serial_ranges]
    ranges = [(low, high) for low, high in ranges if low or high]
    for low, high in ranges:
        # A range written backwards finds nothing: a recall that silently misses its devices.
        if low and high and serial_key(low) > serial_key(high):
            raise ValidationError(
                _(
                    "Serienummerintervallet %(low)s;%(high)s är baklänges: skriv det lägsta "
                    "serienumret först."
                )
                % {"low": low, "high": high}
            )
    if len(ranges) > MAX_RANGES:
        raise ValidationError(
            _("Högst %(n)s serienummerintervall per kampanj.") % {"n": MAX_RANGES}
        )
    untracked = [a for a in notice.articles if not a.tracked]
    if ranges and untracked and not lots:
        raise ValidationError(
            _("%(article)s har inga serienummer: ange batch för den.") % {"article": untracked[0]}
        )
    return NoticeInput(
        title=notice.title.strip()[:200],
        notice_reference=notice.notice_reference.strip()[:60],
        notice_date=notice.notice_date,
        description=notice.description.strip()[:8000],
        action=notice.action,
        articles=notice.articles,
        supplier=notice.supplier,
        lots=lots,
        serial_ranges=ranges,
        blocks_stock=notice.blocks_stock,
    )


def _tracked(
    articles: list[Article], lots: list[str], ranges: list[tuple[str, str]]
) -> list[Affected]:
    """Every item of the tracked articles in a lot or a serial range (every item when neither is
    given), wherever it is: with a patient (its open loan and the loan's unit) or in a place."""
    ids = [a.pk for a in articles if a.tracked]
    if not ids:
        return []
    rows = (
        Item.objects.filter(article_id__in=ids)
        .exclude(status__in=GONE)
        .values_list(
            "pk",
            "article_id",
            "serial_number",
            "batch",
            "status",
            "location_id",
            "individual_number",
        )
        .order_by("pk")
    )
    lot_set = set(lots)
    # The ends' keys once (`core.serials.serial_in_range` compares the same keys).
    bounds = [
        (serial_key(low) if low else None, serial_key(high) if high else None)
        for low, high in ranges
    ]
    chosen = []
    # Plain tuples from the cursor (the same SELECT): at national size an article has tens of
    # thousands of items, and the ORM's per-row work was most of the time spent here.
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    for pk, article_id, serial, batch, status, location_id, number in fetched:
        if lots or ranges:
            in_lot = bool(batch) and batch in lot_set
            if not in_lot:
                if not serial.strip():
                    continue
                key = serial_key(serial)
                if not any(
                    (low is None or key >= low) and (high is None or key <= high)
                    for low, high in bounds
                ):
                    continue
        chosen.append((pk, article_id, batch, status, location_id, number))
    with_patient = {pk for pk, _a, _b, status, _l, _n in chosen if status in Item.WITH_PATIENT}
    loans: dict[int, tuple[int, int, int | None]] = {}
    if with_patient:
        # By the loan's own article (an item's loan has the item's article): the open loans'
        # partial index, no join to the items.
        for item_id, loan_id, unit_id, prescriber_id in Loan.unscoped.filter(
            article_id__in=ids, ended_on__isnull=True, item__isnull=False
        ).values_list("item_id", "pk", "unit_id", "prescriber_id"):
            if item_id in with_patient:
                loans[item_id] = (loan_id, unit_id, prescriber_id)
    place_unit = dict(StockLocation.objects.values_list("pk", "unit_id"))
    result = []
    for pk, article_id, batch, status, location_id, number in chosen:
        loan = loans.get(pk)
        result.append(
            Affected(
                article_id=article_id,
                item_id=pk,
                lot=batch,
                quantity=1,
                loan_id=loan[0] if loan else None,
                location_id=None if loan else location_id,
                holding_unit_id=loan[1] if loan else place_unit.get(location_id),
                in_stock=loan is None and status not in Item.WITH_PATIENT,
                prescriber_id=loan[2] if loan else None,
                number=number,
            )
        )
    return result


def _untracked(articles: list[Article], lots: list[str]) -> list[Affected]:
    """The untracked articles' lots (every lot when none is given): one row per open loan that
    holds some, one per place whose ledger balance of the lot is above nothing."""
    ids = [a.pk for a in articles if not a.tracked]
    if not ids:
        return []
    loans = Loan.unscoped.filter(article_id__in=ids, ended_on__isnull=True, item__isnull=True)
    moves = StockMovement.unscoped.filter(article_id__in=ids)
    if lots:
        loans = loans.filter(lot__in=lots)
        moves = moves.filter(lot__in=lots)
    result = [
        Affected(article_id, None, lot, quantity, pk, None, unit_id, False, prescriber_id)
        for pk, article_id, lot, quantity, unit_id, prescriber_id in loans.values_list(
            "pk", "article_id", "lot", "quantity", "unit_id", "prescriber_id"
        ).order_by("pk")
    ]
    balance: dict[tuple[int, str, int], int] = defaultdict(int)
    for article_id, lot, place, n in (
        moves.filter(to_location__isnull=False)
        .values_list("article_id", "lot", "to_location_id")
        .annotate(n=Sum("quantity"))
    ):
        balance[(article_id, lot, place)] += n
    for article_id, lot, place, n in (
        moves.filter(from_location__isnull=False)
        .values_list("article_id", "lot", "from_location_id")
        .annotate(n=Sum("quantity"))
    ):
        balance[(article_id, lot, place)] -= n
    places = dict(
        StockLocation.objects.exclude(kind=StockLocation.Kind.SHRINKAGE).values_list(
            "pk", "unit_id"
        )
    )
    for (article_id, lot, place), n in sorted(balance.items()):
        if n > 0 and place in places:
            result.append(Affected(article_id, None, lot, n, None, place, places[place], True))
    return result


def affected_devices(notice: NoticeInput) -> list[Affected]:
    """Every device the notice concerns, wherever it is (no access check: the callers check)."""
    notice = _checked(notice)
    return _tracked(notice.articles, notice.lots, notice.serial_ranges) + _untracked(
        notice.articles, notice.lots
    )


@dataclass(frozen=True)
class Preview:
    devices: int
    with_patients: int
    in_stock: int
    elsewhere: int
    units: int


def campaign_preview(*, actor: Actor, notice: NoticeInput) -> Preview:
    """How many devices a campaign would list, before it is created (counts only)."""
    _may_manage(actor)
    found = affected_devices(notice)
    return Preview(
        devices=sum(a.quantity for a in found),
        with_patients=sum(a.quantity for a in found if a.loan_id is not None),
        in_stock=sum(a.quantity for a in found if a.in_stock),
        elsewhere=sum(a.quantity for a in found if a.loan_id is None and not a.in_stock),
        units=len({a.holding_unit_id for a in found if a.holding_unit_id}),
    )


def _protected_holders(loan_ids: set[int]) -> tuple[dict[int, int], dict[int, set[int]]]:
    """Which of the loans a patient with protected identity holds (loan to patient), and each
    such patient's named staff (R54). Two short reads: the open loans of the few protected
    patients (the `patient_protected` index), not the campaign's thousands of loans."""
    protected = Patient.objects.exclude(protection="").values("pk")
    held = {
        loan_id: patient_id
        for loan_id, patient_id in Loan.unscoped.filter(
            ended_on__isnull=True, patient__in=protected
        ).values_list("pk", "patient_id")
        if loan_id in loan_ids
    }
    named: dict[int, set[int]] = defaultdict(set)
    if held:
        for patient_id, user_id in ProtectedStaff.objects.filter(
            patient__in=set(held.values()), ended_at__isnull=True
        ).values_list("patient_id", "user_id"):
            named[patient_id].add(user_id)
    return held, named


def _notify_units(campaign: Campaign, found: list[Affected], articles: dict[int, Article]) -> int:
    """Tell each unit holding affected devices on loan: each prescriber of an affected loan who
    still prescribes there gets the devices of her own loans, the unit's managers the unit's;
    a unit with neither tells every prescriber it has. The devices by article and individual
    number or lot, and the campaign; never the patient. A protected patient's devices are listed
    only in a letter whose every reader is named for her (R54, R55); the others read how many
    there are, and her named staff who were not told them get a letter of her devices of their
    own. How many units were told."""
    by_unit: dict[int, list[Affected]] = defaultdict(list)
    for row in found:
        if row.loan_id is not None and row.holding_unit_id is not None:
            by_unit[row.holding_unit_id].append(row)
    if not by_unit:
        return 0
    held, named = _protected_holders(
        {r.loan_id for rows in by_unit.values() for r in rows if r.loan_id}
    )
    # Two queries for every unit, every message in one batched INSERT.
    prescribers = units_users_with(list(by_unit), Cap.ORDERS_PRESCRIBE)
    managers = units_users_in_role(list(by_unit), Role.UNIT_MANAGER)
    subject = _("Säkerhetskampanj %(number)s: %(title)s") % {
        "number": campaign.number,
        "title": campaign.title,
    }
    opening = _(
        "Tillverkaren har gått ut med ett säkerhetsmeddelande (%(ref)s): %(title)s. "
        "Åtgärd: %(action)s. Hjälpmedelscentralen kontaktar brukarna eller er om "
        "varje berört hjälpmedel. Era patienters berörda hjälpmedel:"
    ) % {
        "ref": campaign.notice_reference,
        "title": campaign.title,
        "action": campaign.action_label,
    }
    names = {pk: str(article) for pk, article in articles.items()}
    individual = _("individ %(n)s")

    # Whose devices went unlisted, and to whom each protected patient's were listed.
    unlisted: dict[int, list[Affected]] = defaultdict(list)
    listed_to: dict[int, set[int]] = defaultdict(set)

    def withheld(row: Affected, readers: list[int]) -> bool:
        patient_id = held.get(row.loan_id) if row.loan_id else None
        if patient_id is None:
            return False
        if set(readers) <= named[patient_id]:
            listed_to[patient_id].update(readers)
            return False
        unlisted[patient_id].append(row)
        return True

    def body(rows: list[Affected], readers: list[int]) -> str:
        kept = [row for row in rows if not withheld(row, readers)]
        hidden = sum(row.quantity for row in rows) - sum(row.quantity for row in kept)
        rows = kept
        lines = []
        for row in rows[:20]:
            what = names[row.article_id]
            if row.item_id:
                what += " " + individual % {"n": row.number}
            else:
                what += " " + _("batch %(lot)s, %(n)s st") % {
                    "lot": row.lot or "–",
                    "n": row.quantity,
                }
            lines.append("– " + what)
        if len(rows) > 20:
            lines.append(_("… och %(n)s till.") % {"n": len(rows) - 20})
        if hidden:
            lines.append(
                ngettext(
                    "%(n)s hjälpmedel hos patient med skyddad identitet – listas bara för "
                    "den personal som är namngiven för patienten.",
                    "%(n)s hjälpmedel hos patient med skyddad identitet – listas bara för "
                    "den personal som är namngiven för patienten.",
                    hidden,
                )
                % {"n": hidden}
            )
        return "\n".join([opening, *lines])

    letters: list[tuple[list[int], str, str]] = []
    told = 0
    for unit_id, rows in sorted(by_unit.items()):
        active = set(prescribers.get(unit_id, []))
        own: dict[int, list[Affected]] = defaultdict(list)
        for row in rows:
            if row.prescriber_id in active:
                own[row.prescriber_id].append(row)
        for prescriber_id, theirs in sorted(own.items()):
            letters.append(([prescriber_id], subject, body(theirs, [prescriber_id])))
        unit_people = managers.get(unit_id, []) or ([] if own else sorted(active))
        if unit_people:
            letters.append((unit_people, subject, body(rows, unit_people)))
        told += bool(own or unit_people)
    # A protected patient's named staff who were not told her devices get them in a letter of
    # their own: they are the ones who may reach her (the technicians "contact the unit").
    for patient_id, theirs in sorted(unlisted.items()):
        readers = sorted(named[patient_id] - listed_to[patient_id])
        if readers:
            unique = list({id(row): row for row in theirs}.values())
            letters.append((readers, subject, body(unique, readers)))
            listed_to[patient_id].update(readers)
    messages_send_each(letters=letters, kind=Message.Kind.NOTICE)
    return told


def _work_orders(actor: Actor, campaign: Campaign) -> int:
    """A work order for each device on loan when the action is a repair or an exchange (done at
    the patient's home by the technicians, the holding unit named)."""
    if campaign.action not in (Campaign.Action.REPAIR, Campaign.Action.EXCHANGE):
        return 0
    system = Actor.system("campaign")
    rows = list(
        CampaignDevice.unscoped.filter(
            campaign=campaign, loan__isnull=False, item__isnull=False
        ).select_related("item", "loan__patient", "loan__unit")
    )
    made = 0
    for row in rows:
        assert row.loan is not None  # noqa: S101 - filtered above
        assert row.item is not None  # noqa: S101 - filtered above
        order = workorders.work_order_create(
            actor=system,
            kind=WorkOrder.Kind.REPAIR,
            description=_("Säkerhetskampanj %(number)s (%(ref)s): %(action)s. %(title)s")
            % {
                "number": campaign.number,
                "ref": campaign.notice_reference,
                "action": campaign.action_label,
                "title": campaign.title,
            },
            place=WorkOrder.Place.HOME,
            unit=row.loan.unit,
            item=row.item,
            patient=row.loan.patient,
            origin=WorkOrder.Origin.CENTRE,
        )
        CampaignDevice.unscoped.filter(pk=row.pk).update(workorder=order)
        made += 1
    return made


INSERT_COLUMNS = (
    "campaign_id",
    "article_id",
    "item_id",
    "lot",
    "quantity",
    "loan_id",
    "location_id",
    "holding_unit_id",
    "status",
    "note",
)


def _insert_rows(campaign: Campaign, found: list[Affected]) -> None:
    """The campaign's rows inserted from plain values, not model instances (20,000 instances
    would cost more than the database does). On PostgreSQL one INSERT … SELECT over arrays
    (`unnest`), so the statement has seven parameters however many rows; elsewhere
    multi-row INSERTs of CHUNK rows."""
    table = connection.ops.quote_name(CampaignDevice._meta.db_table)
    columns = ", ".join(INSERT_COLUMNS)
    status = CampaignDevice.Status.TO_CHECK
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names from the model
                "SELECT %s, a, i, l, q, o, p, u, %s, '' FROM unnest("
                "%s::bigint[], %s::bigint[], %s::text[], %s::int[], %s::bigint[], "
                "%s::bigint[], %s::bigint[]) AS x(a, i, l, q, o, p, u)",
                [
                    campaign.pk,
                    status,
                    [a.article_id for a in found],
                    [a.item_id for a in found],
                    [a.lot for a in found],
                    [a.quantity for a in found],
                    [a.loan_id for a in found],
                    [a.location_id for a in found],
                    [a.holding_unit_id for a in found],
                ],
            )
            return
        one = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"
        for start in range(0, len(found), CHUNK):
            part = found[start : start + CHUNK]
            values: list[int | str | None] = []
            for a in part:
                values += [
                    campaign.pk,
                    a.article_id,
                    a.item_id,
                    a.lot,
                    a.quantity,
                    a.loan_id,
                    a.location_id,
                    a.holding_unit_id,
                    status,
                    "",
                ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(part))}",  # noqa: S608
                values,
            )


def campaign_create(*, actor: Actor, notice: NoticeInput) -> Campaign:
    """Create a campaign from a field safety notice: list every affected device where it is,
    block what is in stock from picking (items taken out of use, untracked lots blocked), tell
    the holding units, and make work orders for repairs and exchanges. One transaction."""
    _may_manage(actor)
    if actor.user is None:
        raise PermissionDenied("a person creates a campaign")
    notice = _checked(notice)
    if not notice.title:
        raise ValidationError(_("Ange en rubrik."))
    if not notice.notice_reference:
        raise ValidationError(_("Ange tillverkarens referens för säkerhetsmeddelandet."))
    if not notice.description:
        raise ValidationError(_("Beskriv vad säkerhetsmeddelandet säger."))
    with transaction.atomic():
        number = f"KAM-{locks.counter_next('campaign'):04d}"
        campaign = Campaign.objects.create(
            number=number,
            title=notice.title,
            notice_reference=notice.notice_reference,
            notice_date=notice.notice_date,
            supplier=notice.supplier,
            description=notice.description,
            action=notice.action,
            lots=notice.lots,
            serial_ranges=[list(pair) for pair in notice.serial_ranges],
            blocks_stock=notice.blocks_stock,
            created_by=actor.user,
            created_at=timezone.now(),
        )
        campaign.articles.set(notice.articles)
        found = affected_devices(notice)
        _insert_rows(campaign, found)
        blocked_items = blocked_lots = 0
        if notice.blocks_stock:
            reason = block_reason(campaign)
            # One UPDATE over the campaign's own rows in a place (not with a patient).
            # The ids as a list: updated by their primary key (a subquery over the campaign's
            # rows made the planner scan every item).
            blocked_items = stock.items_take_out_of_use(
                actor=actor,
                item_ids=[a.item_id for a in found if a.item_id and a.location_id is not None],
                reason=reason,
            )
            by_pk = {a.pk: a for a in notice.articles}
            for article_id, lot in sorted(
                {(a.article_id, a.lot) for a in found if a.item_id is None and a.in_stock and a.lot}
            ):
                blocked_lots += stock.lot_block(
                    actor=actor,
                    article=by_pk[article_id],
                    lot=lot,
                    reason=reason,
                    reference=number,
                )
        units = _notify_units(campaign, found, {a.pk: a for a in notice.articles})
        made = _work_orders(actor, campaign)
        record(
            action=Action.CAMPAIGN_CREATED,
            actor=actor,
            target=campaign,
            detail={
                "notice": notice.notice_reference,
                "action": notice.action,
                "articles": [a.article_number for a in notice.articles],
                "lots": notice.lots[:50],
                "serial_ranges": [list(p) for p in notice.serial_ranges[:50]],
                "rows": len(found),
                "devices": sum(a.quantity for a in found),
                "blocked_items": blocked_items,
                "blocked_lots": blocked_lots,
                "units_told": units,
                "workorders": made,
            },
        )
    return campaign


def _unblock(actor: Actor, campaign: Campaign, row: CampaignDevice) -> None:
    """A checked device may be picked again: its item back in use, or its lot unblocked once
    every place holding the lot is done."""
    reason = block_reason(campaign)
    if row.item_id is not None:
        stock.items_put_back_in_use(actor=actor, item_ids=[row.item_id], reason=reason)
        return
    if not row.lot:
        return
    open_rows = CampaignDevice.unscoped.filter(
        campaign=campaign, article_id=row.article_id, lot=row.lot, loan__isnull=True
    ).exclude(status__in=CLEARS)
    if not open_rows.exists():
        stock.lot_unblock(actor=actor, article=row.article, lot=row.lot, reference=campaign.number)


def campaign_device_set(
    *, actor: Actor, device: CampaignDevice, status: str, note: str = ""
) -> CampaignDevice:
    """Set what was done with one device (to check, checked, fixed, replaced, not found, not
    affected) with a note; a device checked, fixed, replaced or found not affected may be picked
    again. Audited with the before and after."""
    if not may_set_status(actor):
        raise PermissionDenied("campaign status")
    if status not in CampaignDevice.Status.values:
        raise ValidationError(_("Välj en status."))
    note = note.strip()
    if len(note) > 300:
        raise ValidationError(_("Anteckningen får vara högst 300 tecken."))
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=device.campaign_id)
        if campaign.status != Campaign.Status.OPEN:
            raise ValidationError(_("Kampanjen är avslutad."))
        locked = (
            CampaignDevice.unscoped.select_for_update()
            .filter(pk=device.pk, campaign=campaign)
            .first()
        )
        if locked is None:
            raise ValidationError(_("Produkten finns inte i kampanjen."))
        before = locked.status
        CampaignDevice.unscoped.filter(pk=locked.pk).update(
            status=status,
            note=note,
            handled_by=actor.user,
            handled_at=timezone.now(),
        )
        locked.refresh_from_db()
        if campaign.blocks_stock and status in CLEARS:
            _unblock(actor, campaign, locked)
        elif (
            campaign.blocks_stock
            and status == CampaignDevice.Status.TO_CHECK
            and locked.item_id is not None
            and locked.location_id is not None
        ):
            # Set back to be checked: a device in stock is blocked again.
            stock.items_take_out_of_use(
                actor=actor, item_ids=[locked.item_id], reason=block_reason(campaign)
            )
        record(
            action=Action.CAMPAIGN_DEVICE_SET,
            actor=actor,
            target=locked,
            changes={"status": [before, status]},
            detail={
                "campaign": campaign.number,
                "item": locked.item_id,
                "lot": locked.lot,
                "note": note[:300],
            },
        )
    return locked


def campaign_device_by_number(campaign: Campaign, number: str) -> CampaignDevice | None:
    """The campaign's row of a scanned or typed individual (or serial) number, if any."""
    number = number.strip()
    if not number or len(number) > 60:
        return None
    item = (
        Item.objects.filter(Q(individual_number=number) | Q(serial_number=number))
        .filter(
            pk__in=CampaignDevice.unscoped.filter(campaign=campaign, item__isnull=False).values(
                "item_id"
            )
        )
        .order_by("pk")
        .first()
    )
    if item is None:
        return None
    return CampaignDevice.unscoped.filter(campaign=campaign, item=item).first()


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    by_status: dict[str, int]

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (self.done * 100) // self.total


def campaign_progress(campaign: Campaign) -> Progress:
    """How far the campaign is: its rows by status (a device, or a lot where it is, is one)."""
    counts: dict[str, int] = dict(
        CampaignDevice.unscoped.filter(campaign=campaign)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    total = sum(counts.values())
    done = sum(n for status, n in counts.items() if status in CampaignDevice.DONE)
    return Progress(total=total, done=done, by_status=counts)


def campaign_close(*, actor: Actor, campaign: Campaign, report: str) -> Campaign:
    """Close a campaign whose every device has a status other than "to check", with the final
    report's text; the counts per status and unit are kept in the audit record."""
    _may_manage(actor)
    report = report.strip()
    if len(report) > 8000:
        raise ValidationError(_("Slutrapporten får vara högst 8 000 tecken."))
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.OPEN:
            raise ValidationError(_("Kampanjen är redan avslutad."))
        left = CampaignDevice.unscoped.filter(
            campaign=locked, status=CampaignDevice.Status.TO_CHECK
        ).count()
        if left:
            raise ValidationError(
                _("%(n)s produkter är inte kontrollerade än: kampanjen kan inte avslutas.")
                % {"n": left}
            )
        progress = campaign_progress(locked)
        now = timezone.now()
        Campaign.objects.filter(pk=locked.pk).update(
            status=Campaign.Status.CLOSED, closed_by=actor.user, closed_at=now, report=report
        )
        record(
            action=Action.CAMPAIGN_CLOSED,
            actor=actor,
            target=locked,
            changes={"status": [Campaign.Status.OPEN, Campaign.Status.CLOSED]},
            detail={"by_status": progress.by_status, "report": report[:500]},
        )
    locked.refresh_from_db()
    return locked
