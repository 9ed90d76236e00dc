"""Demo stock: the centre's places (central warehouse, reconditioning, workshop, shrinkage), buffer
stores for a few home-care units with safety levels, and goods received for every article of the
demo assortment: a few individuals with serial numbers and batches for tracked articles, a
quantity of the others. Every unit of stock comes in through `goods_receive`, so the ledger and
the audit trail account for it. Idempotent: an article already received is left alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.catalogue.models import Article, DeliveryClass
from lyfta.inventory import services
from lyfta.inventory.models import BufferLevel, StockLocation, StockMovement
from lyfta.organisations.models import Unit, Warehouse

CENTRE_PLACES = [
    ("HMC", "Centrallagret Lagergatan", StockLocation.Kind.CENTRAL),
    ("REKOND", "Rekonditionering", StockLocation.Kind.RECONDITIONING),
    ("VERKSTAD", "Verkstaden", StockLocation.Kind.WORKSHOP),
    ("SVINN", "Svinn", StockLocation.Kind.SHRINKAGE),
]
# Home-care units of these municipalities keep a buffer store.
BUFFER_TOWNS = ["Karlstad", "Arvika", "Säffle"]
TRACKED_UNITS = 4
LOOSE_UNITS = 40
BUFFER_ARTICLES = 2  # of each kind: tracked and not


def _centre_unit() -> Unit | None:
    """The centre unit that keeps the stock: the one responsible for the main warehouse."""
    main = Warehouse.objects.filter(is_main=True).select_related("unit").first()
    if main is not None:
        return main.unit
    return Unit.objects.filter(kind=Unit.Kind.CENTRE).order_by("pk").first()


def _place(code: str, name: str, kind: str, unit: Unit) -> StockLocation:
    location, _created = StockLocation.objects.get_or_create(
        code=code, defaults={"name": name, "kind": kind, "unit": unit}
    )
    return location


def _receive(actor: Actor, location: StockLocation, article: Article, serial: int) -> None:
    """Goods receipt of one article into `location`, once: a tracked article as a few
    individuals in two batches, acquired over the last year; others as a quantity."""
    if StockMovement.unscoped.filter(
        article=article, to_location=location, kind=StockMovement.Kind.RECEIPT
    ).exists():
        return
    today = timezone.localdate()
    value = article.price if article.price is not None else Decimal("1000.00")
    if not article.tracked:
        services.goods_receive(
            actor=actor,
            location=location,
            article=article,
            quantity=LOOSE_UNITS if location.kind == StockLocation.Kind.CENTRAL else 2,
            acquired_on=today - dt.timedelta(days=30),
            value=value,
            reference="demo",
        )
        return
    count = TRACKED_UNITS if location.kind == StockLocation.Kind.CENTRAL else 1
    for batch_no in range(2 if count > 1 else 1):
        batch = f"L{today.year - 1 + batch_no}-{serial:03d}"
        items = [
            services.ReceivedItem(
                f"SN{article.article_number}-{serial:03d}{batch_no}{n:02d}", batch
            )
            for n in range(count // 2 if count > 1 else 1)
        ]
        services.goods_receive(
            actor=actor,
            location=location,
            article=article,
            quantity=len(items),
            items=items,
            acquired_on=today - dt.timedelta(days=300 - 200 * batch_no),
            value=value,
            reference="demo",
        )


def seed(actor: Actor) -> None:
    centre = _centre_unit()
    if centre is None:
        return
    places = {kind: _place(code, name, kind, centre) for code, name, kind in CENTRE_PLACES}
    stores = []
    for town in BUFFER_TOWNS:
        unit = Unit.objects.filter(kind=Unit.Kind.HOME_CARE, name=f"Hemsjukvården {town}").first()
        if unit is not None:
            code = f"BUF-{unit.customer_number}"[:20]
            stores.append(
                _place(code, f"Buffertförråd {unit.name}", StockLocation.Kind.BUFFER, unit)
            )
    articles = list(Article.objects.filter(in_assortment=True).order_by("article_number"))
    for serial, article in enumerate(articles, start=1):
        _receive(actor, places[StockLocation.Kind.CENTRAL], article, serial)
    # Each store keeps a few tracked and a few other stock articles, short of its safety levels
    # so that the refill page has something to show.
    stock_items = [a for a in articles if a.delivery_class != DeliveryClass.ORDER]
    stocked = [a for a in stock_items if a.tracked][:BUFFER_ARTICLES] + [
        a for a in stock_items if not a.tracked
    ][:BUFFER_ARTICLES]
    # Each store's individuals get serial numbers of their own: 1000 per store above the central
    # warehouse's (three stores once shared one serial number per article).
    for index, store in enumerate(stores, start=1):
        for serial, article in enumerate(stocked, start=1):
            if not BufferLevel.objects.filter(location=store, article=article).exists():
                services.buffer_level_set(
                    actor=actor,
                    location=store,
                    article=article,
                    safety_level=2 if article.tracked else 4,
                )
            _receive(actor, store, article, 1000 * index + serial)
