"""Writes to stock: goods receipt, moves between places and to and from patients, reservations,
reconditioning, scrapping and stock-takes. Every quantity change is a ledger row written in the
same transaction (DOMAIN.md §5); every state change is audited.

The functions prefixed with `move_`/`reserve_`/`release_` are building blocks for the order and
loan services: they assume the caller holds the transaction and has checked access."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.prepared import Prepared, columns, instances
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import Outcome
from lyfta.audit.services import record
from lyfta.catalogue.models import Article
from lyfta.inventory import locks
from lyfta.inventory.models import (
    BufferLevel,
    Item,
    LotBlock,
    Reservation,
    StockLevel,
    StockLocation,
    StockMovement,
    StockTake,
)
from lyfta.inventory.signals import stock_available
from lyfta.organisations.models import Unit
from lyfta.patients.models import Patient

# Straight-line depreciation of a device's value for residual value (DOMAIN.md §3.7).
DEPRECIATION_MONTHS = 60


class OutOfStock(ValidationError):
    """Nothing of the article is free to reserve or pick (a concurrent order may have won)."""


def _user(actor: Actor) -> object:
    return actor.user


def ledger(
    *,
    actor: Actor,
    kind: str,
    article: Article,
    quantity: int = 1,
    item: Item | None = None,
    source: StockLocation | None = None,
    target: StockLocation | None = None,
    patient: Patient | None = None,
    reference: str = "",
    note: str = "",
    lot: str | None = None,
) -> StockMovement:
    """Write one ledger row and apply it to the stock level of a non-tracked article (a
    quantity taken from several lots is several rows: see `ledger_lots`; this returns the
    first)."""
    return ledger_lots(
        actor=actor,
        kind=kind,
        article=article,
        quantity=quantity,
        item=item,
        source=source,
        target=target,
        patient=patient,
        reference=reference,
        note=note,
        lot=lot,
    )[0]


def ledger_lots(
    *,
    actor: Actor,
    kind: str,
    article: Article,
    quantity: int = 1,
    item: Item | None = None,
    source: StockLocation | None = None,
    target: StockLocation | None = None,
    patient: Patient | None = None,
    reference: str = "",
    note: str = "",
    lot: str | None = None,
) -> list[StockMovement]:
    """Write the ledger rows of one move and apply it to the stock level of a non-tracked
    article. A non-tracked quantity carries its lot: `lot` when the caller knows it (goods
    receipt, a return from a patient), otherwise taken from `source` oldest lot first, skipping
    blocked lots (`lot_split`), one row per lot."""
    if item is not None or article.tracked:
        parts = [(item.batch if item is not None else "", quantity)]
    elif lot is not None or source is None:
        parts = [((lot or "").strip()[:60], quantity)]
    else:
        parts = lot_split(article, source, quantity)
    now = timezone.now()
    movements = [
        StockMovement.unscoped.create(
            occurred_at=now,
            kind=kind,
            article=article,
            item=item,
            quantity=part,
            from_location=source,
            to_location=target,
            patient=patient,
            reference=reference[:40],
            lot="" if item is not None else part_lot,
            actor=actor.user,
            note=note[:200],
        )
        for part_lot, part in parts
    ]
    if not article.tracked:
        if source is not None:
            changed = StockLevel.objects.filter(
                location=source, article=article, quantity__gte=F("reserved") + quantity
            ).update(quantity=F("quantity") - quantity)
            if changed != 1:
                raise OutOfStock(
                    _("Det finns inte %(n)s st av %(article)s i %(place)s.")
                    % {"n": quantity, "article": article, "place": source}
                )
        if target is not None:
            StockLevel.objects.get_or_create(location=target, article=article)
            StockLevel.objects.filter(location=target, article=article).update(
                quantity=F("quantity") + quantity
            )
    return movements


# --- Lots of non-tracked articles --------------------------------------------------------------


def lot_balances(article: Article, location: StockLocation) -> list[tuple[str, int]]:
    """What of each lot of a non-tracked `article` is at `location` by the ledger, oldest lot
    first (the lot that came to the place first), lots with nothing left omitted. Stock that
    came without a lot is the lot "" (older than any lot it came with)."""
    from django.db.models import Min, Sum

    rows = StockMovement.unscoped.filter(article=article)
    inflow = {
        row["lot"]: (row["n"], row["first"])
        for row in rows.filter(to_location=location)
        .values("lot")
        .annotate(n=Sum("quantity"), first=Min("id"))
    }
    outflow = dict(
        rows.filter(from_location=location)
        .values("lot")
        .annotate(n=Sum("quantity"))
        .values_list("lot", "n")
    )
    left = [
        (first, lot, n - (outflow.get(lot) or 0))
        for lot, (n, first) in inflow.items()
        if n - (outflow.get(lot) or 0) > 0
    ]
    return [(lot, n) for _first, lot, n in sorted(left)]


def blocked_lots(article: Article) -> set[str]:
    """The lots of `article` blocked from picking now (a safety campaign until checked)."""
    return set(
        LotBlock.objects.filter(article=article, ended_at__isnull=True).values_list(
            "lot", flat=True
        )
    )


def blocked_quantity(article: Article, location: StockLocation) -> int:
    """How much of a non-tracked `article` at `location` is in blocked lots (0 at once when
    none of its lots is blocked, the common case)."""
    if article.tracked:
        return 0
    blocked = blocked_lots(article)
    if not blocked:
        return 0
    return sum(n for lot, n in lot_balances(article, location) if lot in blocked)


def lot_split(article: Article, location: StockLocation, quantity: int) -> list[tuple[str, int]]:
    """Which lots `quantity` of a non-tracked article taken from `location` comes from: the
    oldest lot first (FIFO), never a blocked lot. What the ledger cannot place in a lot (stock
    from before lots were recorded) is the lot ""."""
    blocked = blocked_lots(article)
    parts: list[tuple[str, int]] = []
    left = quantity
    for lot, n in lot_balances(article, location):
        if left == 0:
            break
        if lot in blocked:
            continue
        take = min(n, left)
        parts.append((lot, take))
        left -= take
    if left:
        if blocked and parts == [] and lot_balances(article, location):
            raise OutOfStock(
                _("%(article)s i %(place)s är spärrad (säkerhetskampanj).")
                % {"article": article, "place": location}
            )
        parts.append(("", left))
    merged: dict[str, int] = {}
    for lot, n in parts:
        merged[lot] = merged.get(lot, 0) + n
    return list(merged.items())


def lot_block(*, actor: Actor, article: Article, lot: str, reason: str, reference: str) -> bool:
    """Block `lot` of a non-tracked article from picking (a safety campaign); False when it was
    blocked already for the same reference. The caller holds the transaction and has checked
    access; audited."""
    lot = lot.strip()[:60]
    if not lot or article.tracked:
        return False
    if LotBlock.objects.filter(
        article=article, lot=lot, reference=reference, ended_at__isnull=True
    ).exists():
        return False
    block = LotBlock.objects.create(
        article=article,
        lot=lot,
        reason=reason[:200],
        reference=reference[:40],
        created_at=timezone.now(),
    )
    record(
        action=Action.LOT_BLOCKED,
        actor=actor,
        target=block,
        detail={"article": article.article_number, "lot": lot, "reference": reference},
    )
    return True


def lot_unblock(*, actor: Actor, article: Article, lot: str, reference: str) -> bool:
    """End the block of `lot` set by `reference` (the lot is checked); audited."""
    block = LotBlock.objects.filter(
        article=article, lot=lot, reference=reference, ended_at__isnull=True
    ).first()
    if block is None:
        return False
    LotBlock.objects.filter(pk=block.pk).update(ended_at=timezone.now())
    record(
        action=Action.LOT_UNBLOCKED,
        actor=actor,
        target=block,
        detail={"article": article.article_number, "lot": lot, "reference": reference},
    )
    return True


def items_take_out_of_use(*, actor: Actor, item_ids: list[int] | QuerySet[Any], reason: str) -> int:
    """Take many items out of use at once (a safety campaign: picking refuses them until they
    are checked): `item_ids` a list, or a query of ids (one UPDATE however many there are).
    Items already out of use keep their reason. One audit record names the first of them."""
    today = timezone.localdate()
    if isinstance(item_ids, list):
        # SQLite takes at most a few thousand parameters a statement; PostgreSQL 65,535.
        size = 20_000 if connection.vendor == "postgresql" else 1000
        chunks: list[Any] = [item_ids[s : s + size] for s in range(0, len(item_ids), size)]
        first = item_ids[:20]
    else:
        chunks = [item_ids]
        first = list(item_ids[:20].values_list(*item_ids.query.values_select, flat=True))
    done = 0
    for chunk in chunks:
        done += Item.objects.filter(pk__in=chunk, out_of_use_since__isnull=True).update(
            out_of_use_since=today, out_of_use_reason=reason[:200]
        )
    if done:
        record(
            action=Action.ITEM_OUT_OF_USE,
            actor=actor,
            resource_type="inventory.item",
            resource_id="",
            detail={"reason": reason[:200], "items": done, "first": first},
        )
    return done


def items_put_back_in_use(*, actor: Actor, item_ids: list[int], reason: str) -> int:
    """Put back in use the items taken out of use for `reason` (and for nothing else)."""
    done = Item.objects.filter(
        pk__in=item_ids, out_of_use_reason=reason[:200], out_of_use_since__isnull=False
    ).update(out_of_use_since=None, out_of_use_reason="")
    if done:
        record(
            action=Action.ITEM_BACK_IN_USE,
            actor=actor,
            resource_type="inventory.item",
            resource_id="",
            detail={"reason": reason[:200], "items": done, "first": item_ids[:20]},
        )
    return done


def _in_force(today: dt.date | None = None) -> QuerySet[Reservation]:
    """Reservations in force: not ended, not past their day, and not for a patient who has died.
    Such a reservation holds nothing even before the daily job closes it."""
    return Reservation.unscoped.filter(
        ended_at__isnull=True,
        until__gte=today or timezone.localdate(),
        patient__deceased_date__isnull=True,
    )


def _theirs(patient_id: int | None, unit_id: int | None) -> Q:
    """The reservations an order (of `patient_id`, from `unit_id`) may take: those for its
    patient, and its unit's planned need (a reservation for the unit without a patient)."""
    mine = Q(pk__in=[])
    if patient_id is not None:
        mine |= Q(patient_id=patient_id)
    if unit_id is not None:
        mine |= Q(patient__isnull=True, unit_id=unit_id)
    return mine


def held_for_others(
    patient_id: int | None = None, unit_id: int | None = None, today: dt.date | None = None
) -> Q:
    """Items held by a reservation in force for someone other than this patient or unit: never
    offered to them (issue 16 point 5)."""
    others = _in_force(today).exclude(_theirs(patient_id, unit_id))
    return Q(Exists(others.filter(item=OuterRef("pk"))))


def held_for(item: Item, patient_id: int | None, unit_id: int | None) -> bool:
    """Whether `item` is held by a reservation in force for someone else."""
    return Item.objects.filter(pk=item.pk).filter(held_for_others(patient_id, unit_id)).exists()


def available(
    article: Article,
    location: StockLocation,
    *,
    at_most: int | None = None,
    patient_id: int | None = None,
    unit_id: int | None = None,
) -> int:
    """What of `article` at `location` is free for a new order (of `patient_id` from `unit_id`:
    items reserved for others are not); with `at_most`, counting stops there (enough to know
    whether an order can be filled, without counting a whole warehouse)."""
    if article.tracked:
        free = Item.objects.filter(
            article=article,
            location=location,
            status=Item.Status.IN_STOCK,
            out_of_use_since__isnull=True,
        ).exclude(held_for_others(patient_id, unit_id))
        return (free[:at_most] if at_most is not None else free).count()
    level = StockLevel.objects.filter(article=article, location=location).first()
    return max(0, level.available - blocked_quantity(article, location)) if level else 0


def _free(
    article_id: int, location_id: int, patient_id: int | None, unit_id: int | None, today: dt.date
) -> QuerySet[Item]:
    """The free items of an article at a location: in stock, in use, held for no one else."""
    return Item.objects.filter(
        article_id=article_id,
        location_id=location_id,
        status=Item.Status.IN_STOCK,
        out_of_use_since=None,
    ).exclude(held_for_others(patient_id, unit_id, today))


# The order a reservation takes free items in: reconditioned units first (they have been lent
# before), then the oldest; the order of the index `item_free_in_pick_order`.
_PICK_ORDER = (F("times_lent").desc(), "acquired_on", "pk")


def _candidates(
    article_id: int,
    location_id: int,
    patient_id: int | None,
    unit_id: int | None,
    today: dt.date,
    *,
    limit: int,
) -> QuerySet[Item, tuple[Any, ...]]:
    """Free items of an article at a location in pick order, the first `limit`: read down the
    index in its order and stopped there (a national warehouse holds 10,000 of an article)."""
    free = _free(article_id, location_id, patient_id, unit_id, today)
    return free.order_by(*_PICK_ORDER).values_list(*columns(Item))[:limit]


def _reserved_for_them(
    article_id: int, location_id: int, patient_id: int | None, unit_id: int | None, today: dt.date
) -> QuerySet[Item, tuple[Any, ...]]:
    """The free items of the article there that a reservation in force holds for this patient
    or unit: taken before any other. Read from the reservations (a handful), apart from the
    others: ordered first in one read, they made the database sort every free item."""
    theirs = _in_force(today).filter(_theirs(patient_id, unit_id)).values("item_id")
    free = _free(article_id, location_id, patient_id, unit_id, today).filter(pk__in=theirs)
    return free.order_by(*_PICK_ORDER).values_list(*columns(Item))[:4]


# Theirs, then the first few free items, then (read again) more if concurrent orders took those;
# compiled once (issue 19: the ORM's compile of this read cost several times the database's).
_THEIRS = Prepared(_reserved_for_them)
_FIRST_CANDIDATES = Prepared(functools.partial(_candidates, limit=4))
_MORE_CANDIDATES = Prepared(functools.partial(_candidates, limit=20))


def reserve_item(
    article: Article,
    location: StockLocation,
    *,
    patient_id: int | None = None,
    unit_id: int | None = None,
) -> Item:
    """Reserve one free item of a tracked article for an order of `patient_id` from `unit_id`:
    one reserved for them first, else the first in pick order. A conditional update: of two
    concurrent reservations of the last unit exactly one succeeds; the other gets OutOfStock.
    The item is returned as read (status reserved), not read again."""
    today = timezone.localdate()
    reads: tuple[Prepared, ...] = (_FIRST_CANDIDATES, _MORE_CANDIDATES)
    if patient_id is not None or unit_id is not None:
        reads = (_THEIRS, *reads)
    for read in reads:
        rows = read.rows(article.pk, location.pk, patient_id, unit_id, today)
        item: Item
        for item in instances(rows, Item):
            if Item.objects.filter(
                pk=item.pk, status=Item.Status.IN_STOCK, out_of_use_since=None
            ).update(status=Item.Status.RESERVED):
                item.status = Item.Status.RESERVED
                return item
    raise OutOfStock(_("%(article)s finns inte i lager.") % {"article": article})


def reserve_quantity(article: Article, location: StockLocation, quantity: int) -> None:
    """Reserve `quantity` of a non-tracked article at `location`; a blocked lot's quantity is
    not free (a safety campaign until the lot is checked)."""
    blocked = blocked_quantity(article, location)
    changed = StockLevel.objects.filter(
        article=article, location=location, quantity__gte=F("reserved") + quantity + blocked
    ).update(reserved=F("reserved") + quantity)
    if changed != 1:
        raise OutOfStock(
            _("Det finns inte %(n)s st av %(article)s i lager.")
            % {"n": quantity, "article": article}
        )


def release_quantity(article: Article, location: StockLocation, quantity: int) -> None:
    StockLevel.objects.filter(article=article, location=location, reserved__gte=quantity).update(
        reserved=F("reserved") - quantity
    )


def release_item(item: Item) -> None:
    """A reserved or picked item goes back to free stock where it is."""
    Item.objects.filter(
        pk=item.pk, status__in=[Item.Status.RESERVED, Item.Status.IN_TRANSIT]
    ).update(status=Item.Status.IN_STOCK)


# --- Goods receipt --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedItem:
    serial_number: str = ""
    batch: str = ""


def goods_receive(
    *,
    actor: Actor,
    location: StockLocation,
    article: Article,
    quantity: int = 1,
    items: list[ReceivedItem] | None = None,
    acquired_on: dt.date | None = None,
    value: Decimal | None = None,
    reference: str = "",
    lot: str = "",
) -> list[Item]:
    """Receive goods from a supplier into a location: tracked articles become items with new
    individual numbers (one per `items` entry), others add to the stock level in their `lot`."""
    require(actor, Cap.STOCK_MANAGE)
    if location.kind not in (
        StockLocation.Kind.CENTRAL,
        StockLocation.Kind.BUFFER,
        StockLocation.Kind.WORKSHOP,
    ):
        raise ValidationError(
            _("Inleverans sker till centrallagret, ett buffertförråd eller verkstaden.")
        )
    if location.kind == StockLocation.Kind.WORKSHOP and article.tracked:
        # The workshop keeps spare parts, which the technicians take out for work orders.
        raise ValidationError(
            _("Till verkstaden tas bara reservdelar emot (artiklar utan individnummer).")
        )
    if not 1 <= quantity <= 10000:
        raise ValidationError(_("Antalet ska vara 1–10 000."))
    acquired_on = acquired_on or timezone.localdate()
    if acquired_on > timezone.localdate():
        raise ValidationError(_("Anskaffningsdatum kan inte ligga i framtiden."))
    unit_value = value if value is not None else (article.price or Decimal("0"))
    if unit_value < 0:
        raise ValidationError(_("Värdet kan inte vara negativt."))
    created: list[Item] = []
    with transaction.atomic():
        if article.tracked:
            entries = items or [ReceivedItem() for _ in range(quantity)]
            first = locks.counter_next("item", len(entries))
            for offset, entry in enumerate(entries):
                item = Item.objects.create(
                    individual_number=f"{first + offset:07d}",
                    article=article,
                    serial_number=entry.serial_number.strip()[:60],
                    batch=entry.batch.strip()[:60],
                    status=Item.Status.IN_STOCK,
                    location=location,
                    acquired_on=acquired_on,
                    acquisition_value=unit_value,
                )
                ledger(
                    actor=actor,
                    kind=StockMovement.Kind.RECEIPT,
                    article=article,
                    item=item,
                    target=location,
                    reference=reference,
                )
                created.append(item)
            quantity = len(entries)
        else:
            ledger(
                actor=actor,
                kind=StockMovement.Kind.RECEIPT,
                article=article,
                quantity=quantity,
                target=location,
                reference=reference,
                lot=lot,
            )
        record(
            action=Action.STOCK_RECEIVED,
            actor=actor,
            target=location,
            detail={
                "article": article.article_number,
                "quantity": quantity,
                "lot": lot.strip()[:60],
                "items": [i.individual_number for i in created][:100],
            },
        )
        # Backordered lines waiting for this article get their reservation now (orders listen).
        stock_available.send(sender=Item, actor=actor, article=article)
    return created


# --- Reconditioning and scrapping ------------------------------------------------------------


def item_recondition_done(*, actor: Actor, item: Item, to: StockLocation) -> Item:
    """A cleaned and checked item goes back to stock as available (DOMAIN.md §3.6)."""
    require(actor, Cap.STOCK_MANAGE)
    if to.kind not in (StockLocation.Kind.CENTRAL, StockLocation.Kind.BUFFER):
        raise ValidationError(_("Välj ett lager att ställa in individen i."))
    with transaction.atomic():
        locked = locks.items_locked([item.pk]).get(item.pk)
        if locked is None or locked.status != Item.Status.RECONDITIONING:
            raise ValidationError(_("Individen är inte under rekonditionering."))
        source = locked.location
        locked.status = Item.Status.IN_STOCK
        locked.location = to
        locked.save(update_fields=["status", "location"])
        ledger(
            actor=actor,
            kind=StockMovement.Kind.RECONDITIONED,
            article=locked.article,
            item=locked,
            source=source,
            target=to,
        )
        record(
            action=Action.ITEM_RECONDITIONED,
            actor=actor,
            target=locked,
            changes={"status": [Item.Status.RECONDITIONING, Item.Status.IN_STOCK]},
            detail={"to": to.code},
        )
        stock_available.send(sender=Item, actor=actor, article=locked.article)
    return locked


def item_scrap(*, actor: Actor, item: Item, reason: str) -> Item:
    """Scrap an item that cannot be lent again, with a reason."""
    require(actor, Cap.STOCK_MANAGE)
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Ange skälet till att individen skrotas."))
    with transaction.atomic():
        locked = locks.items_locked([item.pk]).get(item.pk)
        allowed = (Item.Status.RECONDITIONING, Item.Status.IN_STOCK, Item.Status.IN_REPAIR)
        if locked is None or locked.status not in allowed:
            raise ValidationError(
                _("Bara en individ i lager eller under rekonditionering kan skrotas.")
            )
        before, source = locked.status, locked.location
        locked.status = Item.Status.SCRAPPED
        locked.location = None
        locked.scrap_reason = reason[:200]
        locked.save(update_fields=["status", "location", "scrap_reason"])
        ledger(
            actor=actor,
            kind=StockMovement.Kind.SCRAPPED,
            article=locked.article,
            item=locked,
            source=source,
            note=reason,
        )
        record(
            action=Action.ITEM_SCRAPPED,
            actor=actor,
            target=locked,
            changes={"status": [before, Item.Status.SCRAPPED]},
            detail={"reason": reason[:200]},
        )
    return locked


def residual_value(item: Item, on: dt.date) -> Decimal:
    """Straight-line residual value of an item on a day: nothing after five years."""
    months = (on.year - item.acquired_on.year) * 12 + on.month - item.acquired_on.month
    left = max(0, DEPRECIATION_MONTHS - max(0, months))
    return (item.acquisition_value * left / DEPRECIATION_MONTHS).quantize(Decimal("0.01"))


# --- Buffer stores and stock-takes -------------------------------------------------------------


def buffer_level_set(
    *, actor: Actor, location: StockLocation, article: Article, safety_level: int
) -> BufferLevel:
    require(actor, Cap.STOCK_MANAGE)
    if location.kind != StockLocation.Kind.BUFFER:
        raise ValidationError(_("Säkerhetsnivåer gäller buffertförråd."))
    if not 0 <= safety_level <= 1000:
        raise ValidationError(_("Säkerhetsnivån ska vara 0–1 000."))
    with transaction.atomic():
        before = (
            BufferLevel.objects.filter(location=location, article=article)
            .values_list("safety_level", flat=True)
            .first()
        )
        level, _created = BufferLevel.objects.update_or_create(
            location=location, article=article, defaults={"safety_level": safety_level}
        )
        record(
            action=Action.BUFFER_LEVEL_SET,
            actor=actor,
            target=level,
            changes={"safety_level": [before, safety_level]},
        )
    return level


@dataclass(frozen=True)
class RefillNeed:
    article: Article
    safety_level: int
    on_hand: int
    on_the_way: int

    @property
    def need(self) -> int:
        return max(0, self.safety_level - self.on_hand - self.on_the_way)


def stocktake_register(
    *,
    actor: Actor,
    location: StockLocation,
    counts: dict[int, int],
    items_seen: list[str] | None = None,
) -> StockTake:
    """Record a count of a location. `counts` maps non-tracked article ids to the counted
    quantity; `items_seen` lists the individual numbers found there. Differences become ledger
    rows (STOCKTAKE) so that the books match what is on the shelf; tracked items on the books
    but not seen are listed as differences for follow-up, not moved."""
    require(actor, Cap.STOCK_MANAGE)
    if actor.user is None:
        raise PermissionDenied("a person counts stock")
    counter = actor.user
    if any(n < 0 for n in counts.values()):
        raise ValidationError(_("Ett räknat antal kan inte vara negativt."))
    differences: list[dict[str, object]] = []
    with transaction.atomic():
        levels = locks.levels_locked(
            StockLevel.objects.filter(location=location, article_id__in=list(counts))
        )
        by_article = {level.article_id: level for level in levels}
        articles = Article.objects.in_bulk(list(counts))
        for article_id, counted in sorted(counts.items()):
            article = articles.get(article_id)
            if article is None or article.tracked:
                raise ValidationError(_("Räkna individmärkta artiklar per individ."))
            level = by_article.get(article_id)
            booked = level.quantity if level else 0
            reserved = level.reserved if level else 0
            if counted < reserved:
                raise ValidationError(
                    _("%(article)s: %(n)s st är reserverade för ordrar; räkna igen.")
                    % {"article": article, "n": reserved}
                )
            if counted == booked:
                continue
            ledger(
                actor=actor,
                kind=StockMovement.Kind.STOCKTAKE,
                article=article,
                quantity=abs(counted - booked),
                source=location if counted < booked else None,
                target=location if counted > booked else None,
                note="inventering",
            )
            differences.append(
                {"article": article.article_number, "booked": booked, "counted": counted}
            )
        if items_seen is not None:
            seen = {n.strip() for n in items_seen if n.strip()}
            booked_items = set(
                Item.objects.filter(
                    location=location,
                    status__in=[Item.Status.IN_STOCK, Item.Status.RESERVED],
                ).values_list("individual_number", flat=True)
            )
            for number in sorted(booked_items - seen):
                differences.append({"item": number, "booked": 1, "counted": 0})
            for number in sorted(seen - booked_items):
                differences.append({"item": number, "booked": 0, "counted": 1})
        take = StockTake.objects.create(
            location=location,
            counted_at=timezone.now(),
            counted_by=counter,
            differences=differences,
        )
        record(
            action=Action.STOCK_COUNTED,
            actor=actor,
            target=take,
            detail={"location": location.code, "differences": len(differences)},
        )
    return take


def ledger_balance(article: Article, location: StockLocation) -> int:
    """The quantity the ledger says is at `location`: everything moved in minus everything out."""
    from django.db.models import Sum

    rows = StockMovement.unscoped.filter(article=article)
    inflow = rows.filter(to_location=location).aggregate(n=Sum("quantity"))["n"] or 0
    outflow = rows.filter(from_location=location).aggregate(n=Sum("quantity"))["n"] or 0
    return int(inflow - outflow)


def books_at(article: Article, location: StockLocation) -> int:
    """What the books say is physically at `location` (items there, or the stock level)."""
    if article.tracked:
        return (
            Item.objects.filter(article=article, location=location)
            .exclude(Q(status=Item.Status.SCRAPPED))
            .count()
        )
    level = StockLevel.objects.filter(article=article, location=location).first()
    return level.quantity if level else 0


# --- Reservations (issue 16 point 5) ----------------------------------------------------------

# A device is held for at most half a year: longer, and it is a loan that has not been made.
MAX_RESERVATION_DAYS = 183
RESERVABLE = (Item.Status.IN_STOCK, Item.Status.RECONDITIONING)


class _Owner(TypedDict):
    owner_provider_id: int
    owner_unit_id: int


def _reservation_owner(reservation: Reservation) -> _Owner:
    """Whose information a reservation is: the unit it is for, and its provider (R42)."""
    return {
        "owner_provider_id": reservation.unit.provider_id,
        "owner_unit_id": reservation.unit_id,
    }


def no_patient_at_unit() -> str:
    """The one answer for every patient a reservation cannot name: unknown, protected from the
    actor, without a care relationship at the unit, or deceased (no oracle for any of them)."""
    return _("Det finns ingen patient med det personnumret och en vårdrelation vid enheten.")


def reservation_patient(
    *, actor: Actor, unit: Unit, identifier: str = "", patient: Patient | None = None
) -> Patient:
    """The patient (by `identifier`, or `patient` itself) a device may be held for at `unit`,
    through the access layer's rule (a care relationship in force at the unit; a protected
    patient only for her named staff; never a deceased one). Every failure gets the same
    message and is recorded as a refusal with its reason and the patient where one was found
    (R38); one for a protected patient is flagged for review (R54)."""
    from lyfta.access.patients import Denial, reservation_denial

    if patient is None and identifier:
        patient = Patient.objects.filter(identifier=identifier).first()
    denial = Denial("not_found") if patient is None else reservation_denial(actor, unit.pk, patient)
    if denial is None and patient is not None:
        return patient
    assert denial is not None  # noqa: S101 - set above whenever no patient is returned
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        patient_id=patient.pk if patient is not None else None,
        resource_type="patients.patient",
        resource_id=patient.pk if patient is not None else "",
        detail={
            "reason": denial.reason,
            "review": denial.reason == "protected_identity",
            "purpose": "reservation",
            "unit": unit.pk,
        },
    )
    raise ValidationError({"identifier": [no_patient_at_unit()]})


def reservation_create(
    *,
    actor: Actor,
    item: Item,
    unit: Unit,
    until: dt.date,
    patient: Patient | None = None,
    identifier: str = "",
    note: str = "",
) -> Reservation:
    """Hold a new or reconditioned item for a patient (of `unit`, by `patient` or `identifier`)
    or for `unit`'s planned need until a day. While in force, picking and allocation offer it to
    nobody else. Everything but the patient is checked first: the patient is looked up only for
    a reservation that would otherwise be made, and only through `reservation_patient`."""
    require(actor, Cap.STOCK_MANAGE)
    if actor.user is None:
        raise PermissionDenied("a person reserves")
    today = timezone.localdate()
    if until < today:
        raise ValidationError(_("Reservationen kan inte gälla till en dag som har passerat."))
    if until > today + dt.timedelta(days=MAX_RESERVATION_DAYS):
        raise ValidationError(_("En individ kan reserveras i högst sex månader."))
    if not unit.active:
        raise ValidationError(_("Enheten är inte aktiv."))
    # Checked again under the lock below; here so that a refusal never depends on the patient.
    if not Item.objects.filter(pk=item.pk, status__in=RESERVABLE).exists():
        raise ValidationError(
            _("Bara en individ i lager eller under rekonditionering kan reserveras.")
        )
    if _in_force(today).filter(item=item).exists():
        raise ValidationError(_("Individen är redan reserverad."))
    if Item.objects.filter(pk=item.pk, out_of_use_since__isnull=False).exists():
        raise ValidationError(_("Individen är tagen ur bruk och kan inte reserveras."))
    if patient is not None or identifier:
        patient = reservation_patient(
            actor=actor, unit=unit, identifier=identifier, patient=patient
        )
    with transaction.atomic():
        locked = locks.items_locked([item.pk]).get(item.pk)
        if locked is None or locked.status not in RESERVABLE:
            raise ValidationError(
                _("Bara en individ i lager eller under rekonditionering kan reserveras.")
            )
        if _in_force(today).filter(item=locked).exists():
            raise ValidationError(_("Individen är redan reserverad."))
        if locked.out_of_use_since is not None:
            raise ValidationError(_("Individen är tagen ur bruk och kan inte reserveras."))
        # A reservation past its day but not yet closed by the job is closed now.
        _expire(actor, Reservation.unscoped.filter(item=locked, ended_at__isnull=True))
        reservation = Reservation(
            item=locked,
            patient=patient,
            unit=unit,
            until=until,
            note=note.strip()[:200],
            created_by=actor.user,
            created_at=timezone.now(),
        )
        reservation.full_clean()
        reservation.save()
        record(
            action=Action.RESERVATION_CREATED,
            actor=actor,
            target=reservation,
            patient_id=patient.pk if patient else None,
            detail={
                "item": locked.individual_number,
                "unit": unit.pk,
                "until": until,
                "for_patient": patient is not None,
            },
            **_reservation_owner(reservation),
        )
    return reservation


def reservation_cancel(*, actor: Actor, reservation: Reservation) -> Reservation:
    """End a reservation before its day: the item is free for anyone again."""
    require(actor, Cap.STOCK_MANAGE)
    with transaction.atomic():
        if not Reservation.unscoped.filter(pk=reservation.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=Reservation.End.CANCELLED
        ):
            raise ValidationError(_("Reservationen är redan avslutad."))
        record(
            action=Action.RESERVATION_CANCELLED,
            actor=actor,
            target=reservation,
            patient_id=reservation.patient_id,
            changes={"end_reason": ["", Reservation.End.CANCELLED]},
            detail={"item": reservation.item.individual_number},
            **_reservation_owner(reservation),
        )
    reservation.refresh_from_db()
    return reservation


def _expire(actor: Actor, found: QuerySet[Reservation]) -> int:
    done = 0
    today = timezone.localdate()
    lapsed = found.filter(Q(until__lt=today) | Q(patient__deceased_date__isnull=False))
    for reservation in lapsed.select_related("unit", "item"):
        if Reservation.unscoped.filter(pk=reservation.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=Reservation.End.EXPIRED
        ):
            done += 1
            record(
                action=Action.RESERVATION_EXPIRED,
                actor=actor,
                target=reservation,
                patient_id=reservation.patient_id,
                changes={"end_reason": ["", Reservation.End.EXPIRED]},
                detail={"item": reservation.item.individual_number, "until": reservation.until},
                **_reservation_owner(reservation),
            )
    return done


def reservations_expire(*, actor: Actor) -> int:
    """The daily job: close every reservation whose day has passed or whose patient has died
    (the queries already treat them as not in force)."""
    with transaction.atomic():
        return _expire(actor, Reservation.unscoped.filter(ended_at__isnull=True))


def reservations_use(
    *, actor: Actor, item: Item, patient_id: int | None, unit_id: int | None
) -> None:
    """The item went to the order it was held for (delivered to the patient, or to the unit's
    store): its reservation has done its work. The caller holds the transaction."""
    for reservation in (
        _in_force()
        .filter(item=item)
        .filter(_theirs(patient_id, unit_id))
        .select_related("unit", "item")
    ):
        Reservation.unscoped.filter(pk=reservation.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=Reservation.End.USED
        )
        record(
            action=Action.RESERVATION_USED,
            actor=actor,
            target=reservation,
            patient_id=reservation.patient_id,
            changes={"end_reason": ["", Reservation.End.USED]},
            detail={"item": item.individual_number},
            **_reservation_owner(reservation),
        )


# --- Taking a device out of use and back (a deviation's quarantine, DOMAIN.md §3.5) ----------


@transaction.atomic
def item_out_of_use(*, actor: Actor, item: Item, reason: str, since: dt.date | None = None) -> Item:
    """Take `item` out of use at once: picking, reservation and delivery refuse it until
    `item_back_in_use`. An item already out of use keeps its first date and reason."""
    reason = reason.strip()[:200]
    if not reason:
        raise ValidationError(_("Ange varför hjälpmedlet tas ur bruk."))
    locked = locks.items_locked([item.pk])[item.pk]
    if locked.status in (Item.Status.SCRAPPED, Item.Status.LOST):
        raise ValidationError(_("Hjälpmedlet är skrotat eller förkommet och kan inte spärras."))
    if locked.out_of_use_since is not None:
        return locked
    locked.out_of_use_since = since or timezone.localdate()
    locked.out_of_use_reason = reason
    locked.save(update_fields=["out_of_use_since", "out_of_use_reason"])
    record(
        action=Action.ITEM_OUT_OF_USE,
        actor=actor,
        target=locked,
        changes={"out_of_use_since": [None, locked.out_of_use_since.isoformat()]},
        detail={"reason": reason},
    )
    return locked


@transaction.atomic
def item_back_in_use(*, actor: Actor, item: Item, reason: str) -> Item:
    """Put `item` back in use (the investigation found the device fine)."""
    locked = locks.items_locked([item.pk])[item.pk]
    if locked.out_of_use_since is None:
        return locked
    before = locked.out_of_use_since.isoformat()
    locked.out_of_use_since = None
    locked.out_of_use_reason = ""
    locked.save(update_fields=["out_of_use_since", "out_of_use_reason"])
    record(
        action=Action.ITEM_BACK_IN_USE,
        actor=actor,
        target=locked,
        changes={"out_of_use_since": [before, None]},
        detail={"reason": reason.strip()[:200]},
    )
    return locked
