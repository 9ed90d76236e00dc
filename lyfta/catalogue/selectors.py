"""Reads of the assortment. The catalogue is reference data, not patient data: every actor with
the catalogue capability sees all of it. `article_search` and `substitutes` take no actor because
ordering and stock code calls them after its own access check; the page-facing selectors check."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.models import AuditEvent
from lyfta.audit.selectors import history_of
from lyfta.catalogue.models import Article, IsoClass, SubstitutionGroup, Supplier
from lyfta.core.workdays import add_working_days

# An ISO code typed into the free-text box ("12 22", "12 22 03"): searched as a class as well.
_ISO_IN_QUERY = re.compile(r"[0-9]{2}(?: [0-9]{2}){1,2}")


def _iso_prefix(value: str) -> str:
    """An ISO code or the start of one in canonical spacing ("1222", "12-22", "12 2" → "12 22",
    "12 22", "12 2"); empty when `value` is not digits."""
    digits = re.sub(r"[\s.\-]", "", value)
    if not (digits.isascii() and digits.isdigit()):
        return ""
    return " ".join(digits[i : i + 2] for i in range(0, min(len(digits), 6), 2))


def _word_variants(word: str) -> Q:
    # SQLite folds only ASCII letters in LIKE, so "övre" would miss "Övre"; PostgreSQL folds all.
    # Trying the common capitalisations finds the usual spellings on both.
    variants = dict.fromkeys([word, word.lower(), word.capitalize(), word.upper()])
    q = Q()
    for variant in variants:
        q |= Q(name__icontains=variant)
    return q


def article_search(
    *,
    query: str = "",
    iso_code: str = "",
    in_assortment_only: bool = True,
    limit: int = 50,
    supplier_id: int | None = None,
    billing_type: str = "",
    delivery_class: str = "",
    tracked: bool | None = None,
) -> QuerySet[Article]:
    """Articles matching `query` by exact or leading article number (the supplier's too), by all
    of its words in the name, or as an ISO code ("12 22"), within the ISO class `iso_code` ("12",
    "12 22", "12 22 03" or the digits alone). Exact number matches come first, then number
    prefixes, then by name. `limit` 0 means no limit (for a paginated list)."""
    articles = Article.objects.select_related("iso_class", "supplier", "substitution_group")
    if in_assortment_only:
        articles = articles.filter(in_assortment=True)
    prefix = _iso_prefix(iso_code.strip()) if iso_code.strip() else ""
    if iso_code.strip():
        articles = (
            articles.filter(iso_class__code__startswith=prefix) if prefix else articles.none()
        )
    if supplier_id is not None:
        articles = articles.filter(supplier_id=supplier_id)
    if billing_type:
        articles = articles.filter(billing_type=billing_type)
    if delivery_class:
        articles = articles.filter(delivery_class=delivery_class)
    if tracked is not None:
        articles = articles.filter(tracked=tracked)
    query = " ".join(query.split())[:100]
    if query:
        words = Q()
        for word in query.split(" ")[:8]:
            words &= _word_variants(word)
        number = query.replace(" ", "")
        by_number = (
            Q(article_number__iexact=number)
            | Q(article_number__istartswith=number)
            | Q(supplier_article_number__iexact=query)
            | Q(supplier_article_number__istartswith=query)
        )
        if _ISO_IN_QUERY.fullmatch(query):
            by_number |= Q(iso_class__code__startswith=query)
        articles = articles.filter(by_number | words).annotate(
            rank=Case(
                When(article_number__iexact=number, then=Value(0)),
                When(supplier_article_number__iexact=query, then=Value(1)),
                When(article_number__istartswith=number, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            )
        )
        articles = articles.order_by("rank", "name", "article_number")
    else:
        articles = articles.order_by("iso_class__code", "name", "article_number")
    return articles[:limit] if limit > 0 else articles


def substitutes(article: Article) -> QuerySet[Article]:
    """The other in-assortment articles of `article`'s substitution group (none without one)."""
    if article.substitution_group_id is None:
        return Article.objects.none()
    return (
        Article.objects.filter(
            substitution_group_id=article.substitution_group_id, in_assortment=True
        )
        .exclude(pk=article.pk)
        .select_related("supplier", "iso_class")
        .order_by("article_number")
    )


def expected_delivery(article: Article, ordered_on: dt.date) -> dt.date:
    """The expected delivery date of `article` ordered on `ordered_on`: its lead time in Swedish
    working days (public holidays excluded), counted from the day after the order."""
    return add_working_days(ordered_on, article.lead_time_days)


# --- Page-facing selectors: each checks the catalogue capability --------------------------------


def article_get(*, actor: Actor, article_id: int) -> Article:
    require(actor, Cap.CATALOGUE_VIEW)
    return get_object_or_404(
        Article.objects.select_related(
            "iso_class__parent__parent", "supplier", "substitution_group"
        ),
        pk=article_id,
    )


def article_accessories(article: Article) -> QuerySet[Article]:
    return article.accessories.select_related("supplier").order_by("article_number")


def article_accessory_of(article: Article) -> QuerySet[Article]:
    """The articles that list `article` as one of their accessories."""
    return article.accessory_of.order_by("article_number")


def article_history(*, actor: Actor, article: Article, limit: int = 200) -> list[AuditEvent]:
    """Who changed `article`, when, and which fields from what to what, newest first. For the
    catalogue manager, who answers for prices and terms; the viewing is itself recorded."""
    require(actor, Cap.CATALOGUE_MANAGE, target=article)
    return history_of(actor=actor, obj=article, limit=limit)


def suppliers_list(*, actor: Actor) -> QuerySet[Supplier]:
    """Every supplier with its number of articles in the assortment."""
    require(actor, Cap.CATALOGUE_VIEW)
    return Supplier.objects.annotate(
        article_count=Count("articles", filter=Q(articles__in_assortment=True))
    ).order_by("-active", "name")


def supplier_get(*, actor: Actor, supplier_id: int) -> Supplier:
    require(actor, Cap.CATALOGUE_VIEW)
    return get_object_or_404(Supplier, pk=supplier_id)


def groups_list(*, actor: Actor) -> QuerySet[SubstitutionGroup]:
    """Every substitution group with its number of articles in the assortment."""
    require(actor, Cap.CATALOGUE_VIEW)
    return SubstitutionGroup.objects.annotate(
        article_count=Count("articles", filter=Q(articles__in_assortment=True))
    ).order_by("name")


def group_get(*, actor: Actor, group_id: int) -> SubstitutionGroup:
    require(actor, Cap.CATALOGUE_VIEW)
    return get_object_or_404(SubstitutionGroup, pk=group_id)


def group_members(group: SubstitutionGroup) -> QuerySet[Article]:
    """All articles of `group`, those in the assortment first."""
    return group.articles.select_related("supplier", "iso_class").order_by(
        "-in_assortment", "article_number"
    )


def iso_classes_top(*, actor: Actor) -> QuerySet[IsoClass]:
    """The first-level ISO classes with their number of articles in the assortment."""
    require(actor, Cap.CATALOGUE_VIEW)
    return _with_article_counts(IsoClass.objects.filter(level=1))


def iso_class_get(*, actor: Actor, iso_id: int) -> IsoClass:
    require(actor, Cap.CATALOGUE_VIEW)
    return get_object_or_404(IsoClass.objects.select_related("parent__parent"), pk=iso_id)


def iso_children(iso_class: IsoClass) -> QuerySet[IsoClass]:
    return _with_article_counts(iso_class.children.all())


def _with_article_counts(classes: QuerySet[IsoClass]) -> QuerySet[IsoClass]:
    """`classes` with the number of in-assortment articles in each class and every class under
    it (articles hang on third-level classes, whose codes start with their ancestors' codes)."""
    count = (
        Article.objects.filter(in_assortment=True, iso_class__code__startswith=OuterRef("code"))
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return classes.annotate(
        article_count=Coalesce(Subquery(count, output_field=IntegerField()), 0)
    ).order_by("code")


def level3_classes() -> QuerySet[IsoClass]:
    """The classes an article can belong to (third level), for choosing one."""
    return IsoClass.objects.filter(level=3).order_by("code")


# --- The API's lists (issue 18): the whole assortment, paged by the caller ---------------------


def articles_listed(
    *,
    actor: Actor,
    query: str = "",
    iso_code: str = "",
    supplier_id: int | None = None,
    in_assortment_only: bool = True,
) -> QuerySet[Article]:
    """The articles matching the filters (as `article_search`), unsliced: the API pages them."""
    require(actor, Cap.CATALOGUE_VIEW)
    return article_search(
        query=query,
        iso_code=iso_code,
        supplier_id=supplier_id,
        in_assortment_only=in_assortment_only,
        limit=0,
    )


def iso_classes_listed(*, actor: Actor) -> QuerySet[IsoClass]:
    """Every ISO 9999 class of the assortment, all three levels."""
    require(actor, Cap.CATALOGUE_VIEW)
    return IsoClass.objects.all()


def suppliers_listed(*, actor: Actor) -> QuerySet[Supplier]:
    """Every supplier, active or not (articles keep theirs)."""
    require(actor, Cap.CATALOGUE_VIEW)
    return Supplier.objects.all()
