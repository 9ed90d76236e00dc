"""Finding articles: by number, by words in the name, by ISO class; and their substitutes."""

from __future__ import annotations

import datetime as dt

import pytest

from lyfta.catalogue.models import Article
from lyfta.catalogue.selectors import article_search, expected_delivery, substitutes
from lyfta.catalogue.tests.factories import (
    ArticleFactory,
    IsoClassFactory,
    SubstitutionGroupFactory,
)

pytestmark = pytest.mark.django_db


def _numbers(articles: object) -> list[str]:
    return [a.article_number for a in articles]  # type: ignore[attr-defined]


@pytest.fixture
def assortment() -> dict[str, Article]:
    rollators = IsoClassFactory(code="12 06 06")
    wheelchairs = IsoClassFactory(code="12 22 03")
    transport = IsoClassFactory(code="12 22 18")
    beds = IsoClassFactory(code="18 12 10")
    return {
        "rollator": ArticleFactory(
            article_number="120606", name="Rollator Rx Flex, 4 hjul", iso_class=rollators
        ),
        "rollator_low": ArticleFactory(
            article_number="1206061", name="Rollator Rx Flex, låg", iso_class=rollators
        ),
        "wheelchair": ArticleFactory(
            article_number="300100",
            name="Manuell rullstol Älv, sitsbredd 43",
            iso_class=wheelchairs,
            supplier_article_number="ALV-43",
        ),
        "transport": ArticleFactory(
            article_number="300200", name="Transportrullstol Älv", iso_class=transport
        ),
        "bed": ArticleFactory(
            article_number="400100", name="Vårdsäng Vila, 90 × 200 cm", iso_class=beds
        ),
        "old_bed": ArticleFactory(
            article_number="400199",
            name="Vårdsäng Vila, gammal modell",
            iso_class=beds,
            in_assortment=False,
        ),
    }


def test_exact_article_number_comes_first(assortment: dict[str, Article]) -> None:
    assert _numbers(article_search(query="120606")) == ["120606", "1206061"]


def test_article_number_prefix_finds_the_series(assortment: dict[str, Article]) -> None:
    assert _numbers(article_search(query="3001")) == ["300100"]


def test_supplier_article_number_finds_the_article(assortment: dict[str, Article]) -> None:
    assert _numbers(article_search(query="alv-43")) == ["300100"]


def test_all_words_must_be_in_the_name_in_any_order(assortment: dict[str, Article]) -> None:
    assert _numbers(article_search(query="flex rollator låg")) == ["1206061"]
    assert _numbers(article_search(query="rullstol älv")) == ["300100", "300200"]


def test_words_match_whatever_their_case_swedish_letters_too(
    assortment: dict[str, Article],
) -> None:
    assert _numbers(article_search(query="VÅRDSÄNG")) == ["400100"]
    assert _numbers(article_search(query="vårdsäng")) == ["400100"]


def test_iso_class_prefix_narrows_the_search(assortment: dict[str, Article]) -> None:
    assert _numbers(article_search(iso_code="12 22")) == ["300100", "300200"]
    assert _numbers(article_search(iso_code="1222")) == ["300100", "300200"]
    assert _numbers(article_search(iso_code="12 22 18")) == ["300200"]
    assert _numbers(article_search(query="rullstol", iso_code="12 22 03")) == ["300100"]
    assert _numbers(article_search(iso_code="rullstol")) == []


def test_iso_code_typed_as_text_finds_the_class(assortment: dict[str, Article]) -> None:
    assert _numbers(article_search(query="12 22 18")) == ["300200"]
    assert sorted(_numbers(article_search(query="12 22"))) == ["300100", "300200"]


def test_articles_out_of_the_assortment_are_left_out_unless_asked_for(
    assortment: dict[str, Article],
) -> None:
    assert _numbers(article_search(query="vårdsäng")) == ["400100"]
    assert sorted(_numbers(article_search(query="vårdsäng", in_assortment_only=False))) == [
        "400100",
        "400199",
    ]


def test_limit_caps_the_result(assortment: dict[str, Article]) -> None:
    assert len(article_search(limit=2)) == 2
    assert len(article_search(limit=0)) == 5


def test_substitutes_are_the_other_articles_of_the_group_in_the_assortment() -> None:
    group = SubstitutionGroupFactory()
    article = ArticleFactory(substitution_group=group)
    other = ArticleFactory(substitution_group=group)
    ArticleFactory(substitution_group=group, in_assortment=False)
    ArticleFactory()  # no group
    assert list(substitutes(article)) == [other]
    assert list(substitutes(ArticleFactory())) == []


def test_expected_delivery_counts_swedish_working_days() -> None:
    article = ArticleFactory(lead_time_days=3)
    # Ordered Thursday 2 April 2026: Good Friday, the weekend and Easter Monday do not count.
    assert expected_delivery(article, dt.date(2026, 4, 2)) == dt.date(2026, 4, 9)
