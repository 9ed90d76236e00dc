"""Reads of stock for the centre's pages: locations, what is on hand, stock-takes and what a
stock-take counts. No patient data here: the item card, refill needs and recall lists are in
`orders.selectors`."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.catalogue.models import Article
from lyfta.inventory.models import BufferLevel, Item, StockLevel, StockLocation, StockTake

# Goods from suppliers: the central warehouse, buffer stores and (spare parts) the workshop.
RECEIVING = (StockLocation.Kind.CENTRAL, StockLocation.Kind.BUFFER, StockLocation.Kind.WORKSHOP)


def locations_visible(actor: Actor) -> QuerySet[StockLocation]:
    """Every active stock location, for the roles that see stock."""
    require(actor, Cap.STOCK_VIEW)
    return StockLocation.objects.filter(active=True).select_related("unit")


def location_for(*, actor: Actor, location_id: int) -> StockLocation:
    """One active location, or 404."""
    location = locations_visible(actor).filter(pk=location_id).first()
    if location is None:
        raise Http404
    return location


def receiving_locations(actor: Actor) -> QuerySet[StockLocation]:
    """Where goods from a supplier may be received: the central warehouse, buffer stores and
    the workshop (spare parts)."""
    return locations_visible(actor).filter(kind__in=RECEIVING)


def central_locations(actor: Actor) -> QuerySet[StockLocation]:
    return locations_visible(actor).filter(kind=StockLocation.Kind.CENTRAL)


def stock_overview(*, actor: Actor, location: StockLocation) -> list[tuple[Article, int, int]]:
    """(article, on hand, reserved) at a location: stock levels and counted items."""
    require(actor, Cap.STOCK_VIEW)
    rows: dict[int, list[object]] = {}
    for level in StockLevel.objects.filter(location=location).select_related("article"):
        rows[level.article_id] = [level.article, level.quantity, level.reserved]
    items = (
        Item.objects.filter(
            location=location, status__in=[Item.Status.IN_STOCK, Item.Status.RESERVED]
        )
        .values("article_id", "status")
        .order_by()
    )
    articles = Article.objects.in_bulk({row["article_id"] for row in items})
    for row in items:
        entry = rows.setdefault(row["article_id"], [articles[row["article_id"]], 0, 0])
        entry[1] = int(str(entry[1])) + 1
        if row["status"] == Item.Status.RESERVED:
            entry[2] = int(str(entry[2])) + 1
    return sorted(
        ((a, int(str(n)), int(str(r))) for a, n, r in rows.values()),  # type: ignore[misc]
        key=lambda row: row[0].article_number,
    )


def stocktakes_recent(*, actor: Actor, limit: int = 50) -> list[StockTake]:
    """The latest stock-takes with their differences, newest first."""
    require(actor, Cap.STOCK_VIEW)
    return list(
        StockTake.objects.select_related("location", "counted_by").order_by("-counted_at")[:limit]
    )


def countable_articles(location: StockLocation) -> list[Article]:
    """The non-tracked articles a stock-take of `location` asks about: those on its books and,
    for a buffer store, those with a safety level."""
    booked = StockLevel.objects.filter(location=location).values("article")
    levelled = BufferLevel.objects.filter(location=location).values("article")
    return list(
        Article.objects.filter(tracked=False)
        .filter(Q(pk__in=booked) | Q(pk__in=levelled))
        .order_by("article_number")
    )
