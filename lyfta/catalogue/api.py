"""The assortment in the API (issue 18): articles, ISO 9999 classes and suppliers, a page at a
time. Reference data, not patient data: any client whose token holds `catalogue:read` and whose
role sees the catalogue reads all of it."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.params.functions import Path, Query

from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting
from lyfta.api.paging import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, cursor_after, next_cursor, page_size
from lyfta.api.schema import MAX_ID
from lyfta.catalogue import selectors
from lyfta.catalogue.models import Article, IsoClass, Supplier
from lyfta.core.paging import keyset

router = Router(tags=["Sortiment"])


class IsoClassOut(Schema):
    id: int
    code: str
    name: str
    level: int
    parent_id: int | None


class SupplierOut(Schema):
    id: int
    name: str
    organisation_number: str
    phone: str
    email: str
    active: bool


class ArticleOut(Schema):
    """An article. Amounts are decimal strings in kronor (no rounding through a float)."""

    id: int
    article_number: str
    name: str
    iso_class_id: int
    iso_code: str
    supplier_id: int
    supplier_article_number: str
    billing_type: str
    monthly_rent: str | None
    price: str | None
    tracked: bool
    delivery_class: str
    lead_time_days: int
    substitution_group_id: int | None
    maintenance_interval_months: int | None
    warranty_months: int
    cost_class: str
    responsibility_class: int | None
    in_assortment: bool


class ArticlePage(Schema):
    items: list[ArticleOut]
    next_cursor: str | None


class IsoClassPage(Schema):
    items: list[IsoClassOut]
    next_cursor: str | None


class SupplierPage(Schema):
    items: list[SupplierOut]
    next_cursor: str | None


def article_out(article: Article) -> ArticleOut:
    return ArticleOut(
        id=article.pk,
        article_number=article.article_number,
        name=article.name,
        iso_class_id=article.iso_class_id,
        iso_code=article.iso_class.code,
        supplier_id=article.supplier_id,
        supplier_article_number=article.supplier_article_number,
        billing_type=article.billing_type,
        monthly_rent=str(article.monthly_rent) if article.monthly_rent is not None else None,
        price=str(article.price) if article.price is not None else None,
        tracked=article.tracked,
        delivery_class=article.delivery_class,
        lead_time_days=article.lead_time_days,
        substitution_group_id=article.substitution_group_id,
        maintenance_interval_months=article.maintenance_interval_months,
        warranty_months=article.warranty_months,
        cost_class=article.cost_class,
        responsibility_class=article.responsibility_class,
        in_assortment=article.in_assortment,
    )


def iso_class_out(iso: IsoClass) -> IsoClassOut:
    return IsoClassOut(
        id=iso.pk, code=iso.code, name=iso.name, level=iso.level, parent_id=iso.parent_id
    )


def supplier_out(supplier: Supplier) -> SupplierOut:
    return SupplierOut(
        id=supplier.pk,
        name=supplier.name,
        organisation_number=supplier.organisation_number,
        phone=supplier.phone,
        email=supplier.email,
        active=supplier.active,
    )


@router.get("/articles", response=ArticlePage, url_name="articles", summary="Artiklar")
def articles(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
    q: str = Query("", max_length=100, description="Artikelnummer eller ord i benämningen"),
    iso: str = Query("", max_length=8, description="ISO-kod eller dess början, t.ex. 12 22"),
    supplier: int | None = Query(None, ge=1, le=MAX_ID),
    in_assortment: bool = Query(True, description="Bara artiklar i sortimentet"),
) -> ArticlePage:
    """The assortment, ascending by id, filtered as the article search on the pages."""
    actor = acting(request, ApiScope.CATALOGUE_READ)
    found = selectors.articles_listed(
        actor=actor,
        query=q,
        iso_code=iso,
        supplier_id=supplier,
        in_assortment_only=in_assortment,
    )
    page = keyset(found, cursor_after(cursor), page_size(limit))
    return ArticlePage(
        items=[article_out(a) for a in page.rows], next_cursor=next_cursor(page.last)
    )


@router.get("/articles/{article_id}", response=ArticleOut, url_name="article", summary="En artikel")
def article(request: HttpRequest, article_id: int = Path(..., ge=1, le=MAX_ID)) -> ArticleOut:
    actor = acting(request, ApiScope.CATALOGUE_READ)
    return article_out(selectors.article_get(actor=actor, article_id=article_id))


@router.get("/iso-classes", response=IsoClassPage, url_name="iso_classes", summary="ISO-klasser")
def iso_classes(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> IsoClassPage:
    actor = acting(request, ApiScope.CATALOGUE_READ)
    page = keyset(selectors.iso_classes_listed(actor=actor), cursor_after(cursor), page_size(limit))
    return IsoClassPage(
        items=[iso_class_out(c) for c in page.rows], next_cursor=next_cursor(page.last)
    )


@router.get("/suppliers", response=SupplierPage, url_name="suppliers", summary="Leverantörer")
def suppliers(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> SupplierPage:
    actor = acting(request, ApiScope.CATALOGUE_READ)
    page = keyset(selectors.suppliers_listed(actor=actor), cursor_after(cursor), page_size(limit))
    return SupplierPage(
        items=[supplier_out(s) for s in page.rows], next_cursor=next_cursor(page.last)
    )
