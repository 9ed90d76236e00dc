"""Articles, suppliers, substitution groups and ISO classes: validation and audited changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from conftest import Persona
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.catalogue import services
from lyfta.catalogue.models import (
    Article,
    BillingType,
    CostClass,
    DeliveryClass,
    IsoClass,
    normalise_iso_code,
)
from lyfta.catalogue.tests.factories import (
    ArticleFactory,
    IsoClassFactory,
    SubstitutionGroupFactory,
    SupplierFactory,
)

pytestmark = pytest.mark.django_db


def _article_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "article_number": "500100",
        "name": "Rollator Test, 4 hjul",
        "iso_class": IsoClassFactory(),
        "supplier": SupplierFactory(),
        "billing_type": BillingType.RENT,
        "monthly_rent": Decimal("75"),
        "tracked": True,
        "delivery_class": DeliveryClass.STOCK,
        "cost_class": CostClass.PRESCRIBER,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("raw", "code"),
    [("122203", "12 22 03"), ("12-22-03", "12 22 03"), ("12 22", "12 22"), ("12", "12")],
)
def test_iso_codes_are_normalised_to_pairs(raw: str, code: str) -> None:
    assert normalise_iso_code(raw) == code


def test_article_create_is_audited_with_its_values(karin: Persona) -> None:
    article = services.article_create(actor=karin.actor, **_article_data())
    event = AuditEvent.objects.get(action=Action.ARTICLE_CREATED)
    assert event.resource_type == "catalogue.article"
    assert event.resource_id == str(article.pk)
    assert event.actor_username == "karin"
    assert event.changes["article_number"] == [None, "500100"]
    assert event.changes["monthly_rent"] == [None, "75.00"]
    assert article.lead_time_days == 3  # a stock item's default


def test_rent_article_needs_a_monthly_rent(karin: Persona) -> None:
    with pytest.raises(ValidationError) as caught:
        services.article_create(actor=karin.actor, **_article_data(monthly_rent=None))
    assert "månadshyra" in str(caught.value.message_dict["monthly_rent"])
    assert not Article.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.ARTICLE_CREATED).exists()


def test_sold_article_needs_a_price(karin: Persona) -> None:
    with pytest.raises(ValidationError) as caught:
        services.article_create(
            actor=karin.actor, **_article_data(billing_type=BillingType.SALE, monthly_rent=None)
        )
    assert "pris" in str(caught.value.message_dict["price"])


def test_article_belongs_to_a_third_level_class(karin: Persona) -> None:
    subclass = IsoClassFactory(code="12 06")
    with pytest.raises(ValidationError) as caught:
        services.article_create(actor=karin.actor, **_article_data(iso_class=subclass))
    assert "tredje nivån" in str(caught.value.message_dict["iso_class"])


def test_order_item_needs_the_suppliers_lead_time(karin: Persona) -> None:
    with pytest.raises(ValidationError) as caught:
        services.article_create(
            actor=karin.actor, **_article_data(delivery_class=DeliveryClass.ORDER)
        )
    assert "lead_time_days" in caught.value.message_dict
    article = services.article_create(
        actor=karin.actor, **_article_data(delivery_class=DeliveryClass.ORDER, lead_time_days=15)
    )
    assert article.lead_time_days == 15


def test_high_priority_item_gets_one_working_day(karin: Persona) -> None:
    article = services.article_create(
        actor=karin.actor, **_article_data(delivery_class=DeliveryClass.PRIORITY)
    )
    assert article.lead_time_days == 1


def test_database_refuses_a_rent_article_without_rent() -> None:
    article = ArticleFactory.build(monthly_rent=None)
    article.iso_class.save()
    article.supplier.save()
    article.iso_class_id = article.iso_class.pk
    article.supplier_id = article.supplier.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        article.save()


def test_update_records_only_the_changed_fields(karin: Persona) -> None:
    article = ArticleFactory(monthly_rent=Decimal("75.00"))
    services.article_update(
        actor=karin.actor, article=article, monthly_rent=Decimal("80"), name=article.name
    )
    event = AuditEvent.objects.get(action=Action.ARTICLE_CHANGED)
    assert event.changes == {"monthly_rent": ["75.00", "80.00"]}


def test_unchanged_save_records_nothing(karin: Persona) -> None:
    article = ArticleFactory(monthly_rent=Decimal("75.00"))
    services.article_update(actor=karin.actor, article=article, monthly_rent=Decimal("75"))
    assert not AuditEvent.objects.filter(action=Action.ARTICLE_CHANGED).exists()


def test_accessories_are_recorded_by_article_number(karin: Persona) -> None:
    rollator = ArticleFactory()
    basket = ArticleFactory(article_number="ACC-1", billing_type=BillingType.SALE)
    services.article_update(actor=karin.actor, article=rollator, accessories=[basket])
    assert list(rollator.accessories.all()) == [basket]
    assert list(basket.accessory_of.all()) == [rollator]
    event = AuditEvent.objects.get(action=Action.ARTICLE_CHANGED)
    assert event.changes == {"accessories": [[], ["ACC-1"]]}


def test_article_cannot_be_its_own_accessory(karin: Persona) -> None:
    article = ArticleFactory()
    with pytest.raises(ValidationError):
        services.article_update(actor=karin.actor, article=article, accessories=[article])


def test_withdrawn_article_is_kept_and_the_change_recorded(karin: Persona) -> None:
    article = ArticleFactory()
    services.article_withdraw(actor=karin.actor, article=article)
    article.refresh_from_db()
    assert article.in_assortment is False
    event = AuditEvent.objects.get(action=Action.ARTICLE_CHANGED)
    assert event.changes == {"in_assortment": [True, False]}
    services.article_reinstate(actor=karin.actor, article=article)
    article.refresh_from_db()
    assert article.in_assortment is True


def test_prescriber_cannot_create_an_article_and_the_attempt_is_recorded(
    alice: Persona,
) -> None:
    with pytest.raises(PermissionDenied):
        services.article_create(actor=alice.actor, **_article_data())
    assert not Article.objects.exists()
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert denied.actor_username == "alice" and denied.detail["capability"] == "catalogue.manage"


def test_prescriber_cannot_withdraw_an_article(alice: Persona) -> None:
    article = ArticleFactory()
    with pytest.raises(PermissionDenied):
        services.article_withdraw(actor=alice.actor, article=article)
    article.refresh_from_db()
    assert article.in_assortment is True


def test_supplier_organisation_number_is_checked_when_given(karin: Persona) -> None:
    with pytest.raises(ValidationError) as caught:
        services.supplier_create(actor=karin.actor, name="Fel AB", organisation_number="123")
    assert "organisation_number" in caught.value.message_dict
    supplier = services.supplier_create(actor=karin.actor, name="Utan nummer AB")
    assert supplier.organisation_number == ""
    event = AuditEvent.objects.get(action=Action.SUPPLIER_CREATED)
    assert event.changes["name"] == [None, "Utan nummer AB"]


def test_supplier_organisation_number_gets_its_hyphen(karin: Persona) -> None:
    supplier = services.supplier_create(
        actor=karin.actor, name="Med nummer AB", organisation_number="5560000001"
    )
    assert supplier.organisation_number == "556000-0001"


def test_supplier_change_is_audited(karin: Persona) -> None:
    supplier = SupplierFactory()
    services.supplier_update(actor=karin.actor, supplier=supplier, active=False)
    event = AuditEvent.objects.get(action=Action.SUPPLIER_CHANGED)
    assert event.changes == {"active": [True, False]}


def test_substitution_group_create_and_change_are_audited(karin: Persona) -> None:
    group = services.substitution_group_create(actor=karin.actor, name="Duschpallar", fixed=True)
    services.substitution_group_update(actor=karin.actor, group=group, fixed=False)
    assert AuditEvent.objects.get(action=Action.SUBSTITUTION_GROUP_CREATED).changes["fixed"] == [
        None,
        True,
    ]
    assert AuditEvent.objects.get(action=Action.SUBSTITUTION_GROUP_CHANGED).changes == {
        "fixed": [True, False]
    }


def test_substitution_group_names_are_unique(karin: Persona) -> None:
    SubstitutionGroupFactory(name="Rollatorer")
    with pytest.raises(ValidationError):
        services.substitution_group_create(actor=karin.actor, name="Rollatorer")


def test_iso_class_gets_its_level_and_parent_from_the_code(karin: Persona) -> None:
    top = services.iso_class_create(actor=karin.actor, code="12", name="Förflyttning")
    sub = services.iso_class_create(actor=karin.actor, code="1206", name="Gånghjälpmedel")
    division = services.iso_class_create(actor=karin.actor, code="12 06 06", name="Rollatorer")
    assert (top.level, sub.level, division.level) == (1, 2, 3)
    assert division.parent == sub and sub.parent == top and sub.code == "12 06"
    assert division.path() == [top, sub, division]
    assert AuditEvent.objects.filter(action=Action.ISO_CLASS_CREATED).count() == 3


def test_iso_class_needs_its_parent(karin: Persona) -> None:
    with pytest.raises(ValidationError) as caught:
        services.iso_class_create(actor=karin.actor, code="12 06 06", name="Rollatorer")
    assert "12 06" in str(caught.value)
    assert not IsoClass.objects.exists()


def test_iso_class_code_must_be_pairs_of_digits(karin: Persona) -> None:
    with pytest.raises(ValidationError):
        services.iso_class_create(actor=karin.actor, code="1", name="Fel")


def test_iso_class_rename_is_audited(karin: Persona) -> None:
    iso = IsoClassFactory(code="12")
    services.iso_class_update(actor=karin.actor, iso_class=iso, name="Mobilitet")
    event = AuditEvent.objects.get(action=Action.ISO_CLASS_CHANGED)
    assert event.changes["name"][1] == "Mobilitet"
