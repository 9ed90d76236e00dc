"""The economy desk's reference data (issue 14 points 1-3): history is never rewritten. A new
price list applies from its start and the days before keep the old list's prices; a list billed
in a locked run is not edited; a unit's new cost centre closes the previous period the day before
and never reaches into billed months; a payer rule used in a locked run keeps its conditions.
Every change is audited with old and new values (R8-style, R57 for a patient's housing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.patients import PatientGrant, grant_for
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import (
    BillingRun,
    CostCentre,
    Customer,
    Housing,
    PatientHousing,
    PayerRule,
    Price,
    PriceList,
    UnitCostCentre,
)
from lyfta.billing.services import reference as services
from lyfta.billing.services.prices import PriceBook
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db


def _customer(county: County) -> Customer:
    return Customer.objects.create(
        provider=county.municipality,
        customer_number="5010",
        invoice_street="Box 1",
        invoice_postal_code="652 25",
        invoice_city="Karlstad",
    )


def _locked(month: dt.date, by: Persona) -> BillingRun:
    return BillingRun.objects.create(
        month=month,
        status=BillingRun.Status.LOCKED,
        created_by=by.user,
        approved_by=by.user,
        approved_at=timezone.now(),
    )


def _list(valid_from: dt.date, rent: str = "500") -> PriceList:
    price_list = PriceList.objects.create(name="L", valid_from=valid_from, hourly_rate=600)
    Price.objects.create(price_list=price_list, kind="rent", key="L1", amount=Decimal(rent))
    Price.objects.create(price_list=price_list, kind="fee", key="delivery", amount=250)
    return price_list


# --- Price lists --------------------------------------------------------------------------------


def test_a_new_price_list_copies_the_prices_and_never_rewrites_the_days_before_it(
    billie: Persona,
) -> None:
    old = _list(dt.date(2025, 1, 1))
    new = services.price_list_new(
        actor=billie.actor, valid_from=dt.date(2026, 1, 1), name="Prislista 2026"
    )
    assert {(p.kind, p.key, p.amount) for p in new.prices.all()} == {
        (p.kind, p.key, p.amount) for p in old.prices.all()
    }
    services.price_list_update(
        actor=billie.actor,
        price_list=new,
        header=services.PriceListInput(
            "Prislista 2026", "per_day", Decimal(650), Decimal(20), Decimal(10)
        ),
        prices={
            ("rent", "L1"): Decimal("530"),
            ("fee", "delivery"): None,
            ("sale", "A-1"): Decimal(9),
        },
    )
    book = PriceBook.load()
    assert book.price("rent", "L1", dt.date(2025, 12, 31)) == Decimal("500")
    assert book.price("rent", "L1", dt.date(2026, 1, 1)) == Decimal("530")
    assert book.price("fee", "delivery", dt.date(2025, 12, 31)) == Decimal("250")
    assert book.price("fee", "delivery", dt.date(2026, 1, 1)) is None
    assert book.price("sale", "A-1", dt.date(2026, 6, 1)) == Decimal(9)
    assert Price.objects.get(price_list=old, kind="rent").amount == Decimal("500")
    event = AuditEvent.objects.filter(action=Action.PRICE_LIST_CHANGED).get()
    assert event.changes["price rent:L1"] == ["500.00", "530"]
    assert event.changes["hourly_rate"] == ["600.00", "650"]


def test_a_billed_price_list_is_not_edited_and_a_new_one_starts_after_the_locked_month(
    billie: Persona,
) -> None:
    price_list = _list(dt.date(2026, 1, 1))
    _locked(dt.date(2026, 3, 1), billie)
    with pytest.raises(ValidationError, match="låst debitering"):
        services.price_list_update(
            actor=billie.actor,
            price_list=price_list,
            header=services.PriceListInput("X", "per_day", Decimal(1), Decimal(1), Decimal(1)),
            prices={("rent", "L1"): Decimal(1)},
        )
    assert PriceList.objects.get(pk=price_list.pk).name == "L"
    assert Price.objects.get(price_list=price_list, kind="rent").amount == Decimal(500)
    with pytest.raises(ValidationError, match="tidigast från 2026-04-01"):
        services.price_list_new(actor=billie.actor, valid_from=dt.date(2026, 3, 15), name="X")
    assert PriceList.objects.count() == 1
    created = services.price_list_new(actor=billie.actor, valid_from=dt.date(2026, 4, 1), name="Ny")
    assert created.prices.count() == 2


def test_price_list_input_is_checked_before_anything_is_written(billie: Persona) -> None:
    price_list = _list(dt.date(2026, 1, 1))
    for prices in (
        {("rent", "L1"): Decimal(-1)},
        {("nonsense", "L1"): Decimal(1)},
        {("fee", "not-a-fee"): Decimal(1)},
    ):
        with pytest.raises(ValidationError):
            services.price_list_update(
                actor=billie.actor,
                price_list=price_list,
                header=services.PriceListInput(
                    "Ändrad", "per_day", Decimal(1), Decimal(1), Decimal(1)
                ),
                prices=prices,
            )
    assert PriceList.objects.get(pk=price_list.pk).name == "L"
    assert not AuditEvent.objects.filter(action=Action.PRICE_LIST_CHANGED).exists()


# --- Customers and cost centres -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0007:2321000016", True),
        ("0007:232100-0016", False),
        ("0007:2321000017", False),  # check digit
        ("0007:1921000016", False),  # third digit below 2: a personnummer, not an organisation
        ("0088:7300010000001", True),
        ("0088:7300010000002", False),
        ("9955:SE232100001601", True),
        ("9955:SE232100001701", False),
        ("2321000016", False),
        ("0007:", False),
        ("abcd:123", False),
        ("0192:991825827", True),  # another scheme: form only
    ],
)
def test_peppol_ids_are_checked_to_the_digit(value: str, ok: bool) -> None:
    assert (services.peppol_problem(value) is None) == ok, services.peppol_problem(value)


def test_a_customer_change_is_audited_with_old_and_new_values_and_a_bad_peppol_id_changes_nothing(
    county: County, billie: Persona, alice: Persona
) -> None:
    customer = _customer(county)
    with pytest.raises(ValidationError):
        services.customer_update(
            actor=billie.actor,
            customer=customer,
            data={"peppol_id": "0007:2321000017", "invoice_city": "X"},
        )
    assert Customer.objects.get(pk=customer.pk).invoice_city == "Karlstad"
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=alice.actor, customer=customer, data={"invoice_city": "X"})
    services.customer_update(
        actor=billie.actor,
        customer=customer,
        data={"peppol_id": "0007:2321000016", "buyer_reference": "R1"},
    )
    event = AuditEvent.objects.get(action=Action.CUSTOMER_CHANGED)
    assert event.changes == {"peppol_id": ["", "0007:2321000016"], "buyer_reference": ["", "R1"]}


def test_a_units_new_cost_centre_closes_the_previous_period_the_day_before(
    county: County, billie: Persona
) -> None:
    customer = _customer(county)
    first = services.cost_centre_create(
        actor=billie.actor, customer=customer, code="A", name="A", valid_from=dt.date(2024, 1, 1)
    )
    second = services.cost_centre_create(
        actor=billie.actor, customer=customer, code="B", name="B", valid_from=dt.date(2024, 1, 1)
    )
    services.unit_cost_centre_set(
        actor=billie.actor, unit=county.unit_a, centre=first, valid_from=dt.date(2024, 1, 1)
    )
    services.unit_cost_centre_set(
        actor=billie.actor, unit=county.unit_a, centre=second, valid_from=dt.date(2026, 5, 10)
    )
    periods = list(UnitCostCentre.objects.filter(unit=county.unit_a).order_by("valid_from"))
    assert [(p.cost_centre_id, p.valid_from, p.valid_until) for p in periods] == [
        (first.pk, dt.date(2024, 1, 1), dt.date(2026, 5, 9)),
        (second.pk, dt.date(2026, 5, 10), None),
    ]
    # Not before a period the unit already has, not into a billed month, not another's unit.
    with pytest.raises(ValidationError, match="redan ett kostnadsställe"):
        services.unit_cost_centre_set(
            actor=billie.actor, unit=county.unit_a, centre=first, valid_from=dt.date(2026, 5, 1)
        )
    _locked(dt.date(2026, 6, 1), billie)
    with pytest.raises(ValidationError, match="tidigast från 2026-07-01"):
        services.unit_cost_centre_set(
            actor=billie.actor, unit=county.unit_a, centre=first, valid_from=dt.date(2026, 6, 30)
        )
    with pytest.raises(ValidationError, match="vårdgivare"):
        services.unit_cost_centre_set(
            actor=billie.actor, unit=county.unit_b, centre=first, valid_from=dt.date(2026, 8, 1)
        )
    assert UnitCostCentre.objects.count() == 2
    assert AuditEvent.objects.filter(action=Action.UNIT_COST_CENTRE_SET).count() == 2


def test_a_cost_centres_end_never_moves_into_billed_months(county: County, billie: Persona) -> None:
    customer = _customer(county)
    centre = services.cost_centre_create(
        actor=billie.actor, customer=customer, code="A", name="A", valid_from=dt.date(2024, 1, 1)
    )
    _locked(dt.date(2026, 6, 1), billie)
    with pytest.raises(ValidationError):
        services.cost_centre_update(
            actor=billie.actor, centre=centre, name="A", valid_until=dt.date(2026, 6, 1)
        )
    services.cost_centre_update(
        actor=billie.actor, centre=centre, name="A2", valid_until=dt.date(2026, 7, 31)
    )
    assert CostCentre.objects.get(pk=centre.pk).valid_until == dt.date(2026, 7, 31)
    services.cost_centre_create(
        actor=billie.actor,
        customer=customer,
        code="D1",
        name="D",
        valid_from=dt.date(2024, 1, 1),
        default=True,
    )
    with pytest.raises(ValidationError, match="förvalt"):
        services.cost_centre_create(
            actor=billie.actor,
            customer=customer,
            code="D2",
            name="D",
            valid_from=dt.date(2024, 1, 1),
            default=True,
        )


# --- Payer rules --------------------------------------------------------------------------------


def _rule_input(county: County, **fields: object) -> services.RuleInput:
    values: dict[str, object] = {
        "region": county.region,
        "priority": 10,
        "name": "Ansvar 2",
        "payer": PayerRule.Payer.REGION,
        "valid_from": dt.date(2026, 1, 1),
        "responsibility_class": 2,
    }
    values.update(fields)
    return services.RuleInput(**values)  # type: ignore[arg-type]


def test_a_rule_used_in_a_locked_run_keeps_its_conditions_and_may_only_be_ended_later(
    county: County, billie: Persona
) -> None:
    rule = services.payer_rule_create(actor=billie.actor, data=_rule_input(county))
    _locked(dt.date(2026, 2, 1), billie)
    with pytest.raises(ValidationError, match="bara dess slutdatum"):
        services.payer_rule_update(
            actor=billie.actor, rule=rule, data=_rule_input(county, payer="home_municipality")
        )
    with pytest.raises(ValidationError, match="tidigast från 2026-03-01"):
        services.payer_rule_end(actor=billie.actor, rule=rule, last_day=dt.date(2026, 2, 10))
    services.payer_rule_end(actor=billie.actor, rule=rule, last_day=dt.date(2026, 3, 31))
    rule.refresh_from_db()
    assert (rule.payer, rule.valid_until) == ("region", dt.date(2026, 3, 31))
    with pytest.raises(ValidationError, match="en ny regel"):
        services.payer_rule_create(
            actor=billie.actor, data=_rule_input(county, valid_from=dt.date(2026, 2, 1))
        )
    # A rule for a municipality is refused: rules are the region's.
    with pytest.raises(ValidationError, match="region"):
        services.payer_rule_create(
            actor=billie.actor,
            data=_rule_input(county, region=county.municipality, valid_from=dt.date(2026, 4, 1)),
        )
    assert PayerRule.objects.count() == 1
    actions = list(
        AuditEvent.objects.filter(action__startswith="billing.payer_rule")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [Action.PAYER_RULE_CREATED, Action.PAYER_RULE_CHANGED]


# --- Housing ------------------------------------------------------------------------------------


def test_r57_r86_a_move_is_a_new_housing_row_audited_about_the_patient(
    county: County, alice: Persona, billie: Persona
) -> None:
    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="A", last_name="B"
    )
    CareRelationship.objects.create(
        unit=county.unit_a, patient=patient, origin="order", valid_from=dt.date(2024, 1, 1)
    )
    grant = grant_for(alice.actor, patient, "test")
    assert isinstance(grant, PatientGrant)
    # Without a grant to the patient, or in a role that does not prescribe: refused.
    for actor, given in ((alice.actor, None), (billie.actor, grant)):
        with pytest.raises(PermissionDenied):
            services.housing_register(
                actor=actor,
                grant=given,
                patient_id=patient.pk,
                housing=Housing.ORDINARY,
                municipality=county.municipality,
                valid_from=dt.date(2025, 1, 1),
            )
    services.housing_register(
        actor=alice.actor,
        grant=grant,
        patient_id=patient.pk,
        housing=Housing.ORDINARY,
        municipality=county.municipality,
        valid_from=dt.date(2025, 1, 1),
    )
    services.housing_register(
        actor=alice.actor,
        grant=grant,
        patient_id=patient.pk,
        housing=Housing.SPECIAL,
        municipality=county.municipality,
        valid_from=dt.date(2026, 5, 15),
    )
    rows = list(PatientHousing.unscoped.filter(patient=patient).order_by("valid_from"))
    assert [(r.housing, r.valid_from) for r in rows] == [
        ("ordinary", dt.date(2025, 1, 1)),
        ("special", dt.date(2026, 5, 15)),
    ]
    events = AuditEvent.objects.filter(action=Action.HOUSING_REGISTERED, patient_id=patient.pk)
    assert events.count() == 2
    assert events.order_by("pk").last().changes["housing"] == ["ordinary", "special"]  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        services.housing_register(
            actor=alice.actor,
            grant=grant,
            patient_id=patient.pk,
            housing=Housing.LSS,
            municipality=county.municipality,
            valid_from=dt.date(2026, 5, 15),
        )
    with pytest.raises(ValidationError, match="hemkommun"):
        services.housing_register(
            actor=alice.actor,
            grant=grant,
            patient_id=patient.pk,
            housing=Housing.LSS,
            municipality=county.region,
            valid_from=dt.date(2026, 6, 1),
        )
    assert PatientHousing.unscoped.filter(patient=patient).count() == 2
