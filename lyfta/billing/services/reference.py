"""The economy desk's reference data (issue 14 points 1-3): customers and their cost centres,
which cost centre each unit belongs to from which day, price lists with validity, payer rules,
and "who pays for this loan" for a month with the reasons in words.

History is never rewritten: the days up to the end of the latest month billed in a locked run
(`last_locked_day`) keep their cost centres, prices and rules. A unit's new cost centre, a new
price list and a new or changed payer rule apply from a later day; a price list whose months were
billed is not edited. Every change is audited with the old and new values (R8-style, R57 for a
patient's housing). Messages are Swedish; a refusal is a ValidationError, never a half-write
(each change is one transaction)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.refusals import read_only_refusal
from lyfta.access.roles import Cap
from lyfta.access.users import users_with
from lyfta.audit.actions import Action
from lyfta.audit.services import diff, record, snapshot
from lyfta.billing.models import (
    BillingRun,
    CostCentre,
    Customer,
    Housing,
    PatientHousing,
    PayerRule,
    Price,
    PriceList,
    RentRule,
    UnitCostCentre,
)
from lyfta.billing.selectors import reference as selectors
from lyfta.billing.services.payers import (
    LoanFacts,
    PayerBook,
    Segment,
    describe,
    housing_periods,
)
from lyfta.core.luhn import luhn_ok
from lyfta.messages.models import Message
from lyfta.messages.services import messages_send
from lyfta.orders.models import Loan
from lyfta.organisations.models import CareProvider, Unit
from lyfta.patients.models import Patient

ONE_DAY = dt.timedelta(days=1)
CUSTOMER_FIELDS = (
    "customer_number",
    "peppol_id",
    "buyer_reference",
    "invoice_street",
    "invoice_postal_code",
    "invoice_city",
    "email",
    "active",
)
PRICE_LIST_FIELDS = (
    "name",
    "rent_rule",
    "hourly_rate",
    "residual_yearly_writedown",
    "residual_floor",
    "note",
)
RULE_FIELDS = (
    "region",
    "priority",
    "name",
    "housing",
    "responsibility_class",
    "cost_class",
    "product_area",
    "habilitation",
    "age_from",
    "age_until",
    "short_term",
    "payer",
    "valid_from",
    "valid_until",
)
MAX_AMOUNT = Decimal("99999999.99")


def _manage(actor: Actor) -> None:
    require(actor, Cap.BILLING_MANAGE)


def _after_locked(day: dt.date, what: str) -> None:
    """Refuse `day` if it lies in a month already billed in a locked run."""
    locked = selectors.last_locked_day()
    if locked is not None and day <= locked:
        raise ValidationError(
            _(
                "Månaderna till och med %(locked)s är debiterade i en låst körning och ändras "
                "aldrig: %(what)s kan gälla tidigast från %(first)s."
            )
            % {
                "locked": locked.isoformat(),
                "what": what,
                "first": (locked + ONE_DAY).isoformat(),
            }
        )


# --- Peppol participant ids -----------------------------------------------------------------

PEPPOL = re.compile(r"^([0-9]{4}):(\S{1,50})$")


def _gln_ok(digits: str) -> bool:
    """GS1 check digit of a 13-digit GLN."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == check


def peppol_problem(value: str) -> str | None:
    """What is wrong with a Peppol participant id (scheme:identifier), or None. Swedish schemes
    are checked to the digit: 0007 an organisation number (ten digits, third 2 or higher, Luhn),
    0088 a GLN (13 digits, GS1 check digit), 9955 a VAT number (SE + ten digits + 01)."""
    found = PEPPOL.match(value)
    if found is None:
        return _("Peppol-id skrivs schema:identitet, till exempel 0007:2321000016.")
    scheme, identifier = found.groups()
    if scheme == "0007":
        if not re.fullmatch(r"[0-9]{10}", identifier):
            return _("Efter 0007: ska organisationsnumrets tio siffror stå, utan bindestreck.")
        if int(identifier[2]) < 2 or not luhn_ok(identifier):
            return _("Organisationsnumret i Peppol-id:t är inte giltigt (kontrollsiffran).")
    elif scheme == "0088":
        if not re.fullmatch(r"[0-9]{13}", identifier) or not _gln_ok(identifier):
            return _("Efter 0088: ska ett GLN med 13 siffror och rätt kontrollsiffra stå.")
    elif scheme == "9955":
        if not re.fullmatch(r"SE[0-9]{10}01", identifier) or not luhn_ok(identifier[2:12]):
            return _("Efter 9955: ska ett svenskt momsnummer stå, till exempel SE232100001601.")
    elif not re.fullmatch(r"[A-Za-z0-9.\-]{1,50}", identifier):
        return _("Identiteten i Peppol-id:t får bara innehålla bokstäver, siffror, punkt och -.")
    return None


def peppol_from_organisation_number(number: str) -> str:
    return "0007:" + number.replace("-", "")


# --- Customers and cost centres -------------------------------------------------------------


def customer_update(*, actor: Actor, customer: Customer, data: dict[str, Any]) -> Customer:
    """Change a customer's number, Peppol id, invoice address, reference, e-mail or activity."""
    _manage(actor)
    peppol = str(data.get("peppol_id") or "").strip()
    if peppol:
        problem = peppol_problem(peppol)
        if problem:
            raise ValidationError(problem)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        before = snapshot(locked, CUSTOMER_FIELDS)
        for name in CUSTOMER_FIELDS:
            if name in data:
                value = data[name]
                setattr(locked, name, value.strip() if isinstance(value, str) else value)
        if (
            Customer.objects.filter(customer_number=locked.customer_number)
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ValidationError(_("Kundnumret används redan av en annan kund."))
        changes = diff(before, snapshot(locked, CUSTOMER_FIELDS))
        if not changes:
            return locked
        locked.save()
        record(action=Action.CUSTOMER_CHANGED, actor=actor, target=locked, changes=changes)
    return locked


def customer_create(
    *,
    actor: Actor,
    provider: CareProvider,
    customer_number: str,
    street: str,
    postal: str,
    city: str,
) -> Customer:
    """A customer for a provider that has none (the demo's seed; a new municipality)."""
    _manage(actor)
    with transaction.atomic():
        if Customer.objects.filter(provider=provider).exists():
            raise ValidationError(_("Vårdgivaren är redan kund."))
        if Customer.objects.filter(customer_number=customer_number).exists():
            raise ValidationError(_("Kundnumret används redan av en annan kund."))
        customer = Customer.objects.create(
            provider=provider,
            customer_number=customer_number,
            peppol_id=peppol_from_organisation_number(provider.organisation_number),
            invoice_street=street,
            invoice_postal_code=postal,
            invoice_city=city,
        )
        record(
            action=Action.CUSTOMER_CHANGED,
            actor=actor,
            target=customer,
            changes=diff({}, snapshot(customer, CUSTOMER_FIELDS)),
        )
    return customer


def cost_centre_create(
    *,
    actor: Actor,
    customer: Customer,
    code: str,
    name: str,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
    default: bool = False,
) -> CostCentre:
    _manage(actor)
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise ValidationError(_("Ange kod och namn för kostnadsstället."))
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError(_("Slutdatumet kan inte ligga före startdatumet."))
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)
        if CostCentre.objects.filter(customer=customer, code=code).exists():
            raise ValidationError(_("Kunden har redan ett kostnadsställe med den koden."))
        if default and CostCentre.objects.filter(customer=customer, default=True).exists():
            raise ValidationError(_("Kunden har redan ett förvalt kostnadsställe."))
        centre = CostCentre.objects.create(
            customer=customer,
            code=code,
            name=name,
            valid_from=valid_from,
            valid_until=valid_until,
            default=default,
        )
        record(
            action=Action.COST_CENTRE_CREATED,
            actor=actor,
            target=centre,
            detail={"customer": customer.customer_number, "code": code},
            changes=diff({}, snapshot(centre, ("code", "name", "valid_from", "valid_until"))),
        )
    return centre


def cost_centre_update(
    *, actor: Actor, centre: CostCentre, name: str, valid_until: dt.date | None
) -> CostCentre:
    """Rename a cost centre or set its last day. Its last day never moves back into billed
    months, and never before a day a unit still belongs to it."""
    _manage(actor)
    name = name.strip()
    if not name:
        raise ValidationError(_("Ange kostnadsställets namn."))
    with transaction.atomic():
        locked = CostCentre.objects.select_for_update().get(pk=centre.pk)
        before = snapshot(locked, ("name", "valid_until"))
        if valid_until != locked.valid_until:
            if valid_until is not None and valid_until < locked.valid_from:
                raise ValidationError(_("Slutdatumet kan inte ligga före startdatumet."))
            earliest = min(
                (d for d in (valid_until, locked.valid_until) if d is not None),
                default=None,
            )
            if earliest is not None:
                _after_locked(earliest + ONE_DAY, _("ett nytt slutdatum"))
            if valid_until is not None:
                later = UnitCostCentre.objects.filter(cost_centre=locked).filter(
                    models_q_period_after(valid_until)
                )
                if later.exists():
                    raise ValidationError(
                        _(
                            "Enheter hör till kostnadsstället efter %(day)s: flytta dem till ett "
                            "annat kostnadsställe först."
                        )
                        % {"day": valid_until.isoformat()}
                    )
        locked.name = name
        locked.valid_until = valid_until
        changes = diff(before, snapshot(locked, ("name", "valid_until")))
        if not changes:
            return locked
        locked.save(update_fields=["name", "valid_until"])
        record(action=Action.COST_CENTRE_CHANGED, actor=actor, target=locked, changes=changes)
    return locked


def models_q_period_after(day: dt.date) -> Any:
    """Unit periods with days after `day`."""
    from django.db.models import Q

    return Q(valid_until__isnull=True) | Q(valid_until__gt=day)


def unit_cost_centre_set(
    *, actor: Actor, unit: Unit, centre: CostCentre, valid_from: dt.date
) -> UnitCostCentre:
    """The unit belongs to `centre` from `valid_from`: the previous period ends the day before.
    Never from a day in a billed month, and never before a period the unit already has."""
    _manage(actor)
    if centre.customer.provider_id != unit.provider_id:
        raise ValidationError(_("Enheten hör inte till kundens vårdgivare."))
    if valid_from < centre.valid_from or (
        centre.valid_until is not None and valid_from > centre.valid_until
    ):
        raise ValidationError(_("Kostnadsstället gäller inte från det datumet."))
    _after_locked(valid_from, _("ett nytt kostnadsställe"))
    with transaction.atomic():
        Unit.objects.select_for_update().get(pk=unit.pk)
        periods = list(UnitCostCentre.objects.filter(unit=unit).order_by("valid_from"))
        later = [p for p in periods if p.valid_from >= valid_from]
        if later:
            raise ValidationError(
                _("Enheten har redan ett kostnadsställe från %(day)s: välj ett senare datum.")
                % {"day": later[-1].valid_from.isoformat()}
            )
        closed: dict[str, Any] = {}
        if periods:
            previous = periods[-1]
            if previous.cost_centre_id == centre.pk and (
                previous.valid_until is None or previous.valid_until >= valid_from
            ):
                raise ValidationError(_("Enheten hör redan till det kostnadsstället."))
            if previous.valid_until is None or previous.valid_until >= valid_from:
                closed = {"period": previous.pk, "until": [previous.valid_until, None]}
                previous.valid_until = valid_from - ONE_DAY
                closed["until"][1] = previous.valid_until
                previous.save(update_fields=["valid_until"])
        period = UnitCostCentre.objects.create(unit=unit, cost_centre=centre, valid_from=valid_from)
        record(
            action=Action.UNIT_COST_CENTRE_SET,
            actor=actor,
            target=period,
            owner_unit_id=unit.pk,
            owner_provider_id=unit.provider_id,
            detail={
                "unit": unit.pk,
                "cost_centre": centre.code,
                "from": valid_from.isoformat(),
                "closed": closed,
            },
        )
    return period


# --- Price lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceListInput:
    name: str
    rent_rule: str
    hourly_rate: Decimal
    residual_yearly_writedown: Decimal
    residual_floor: Decimal
    note: str = ""


def _checked_header(header: PriceListInput) -> PriceListInput:
    name = header.name.strip()
    if not name:
        raise ValidationError(_("Ange prislistans namn."))
    if header.rent_rule not in RentRule.values:
        raise ValidationError(_("Välj hur hyran beräknas."))
    for value in (header.hourly_rate, header.residual_yearly_writedown, header.residual_floor):
        if value < 0 or value > MAX_AMOUNT:
            raise ValidationError(_("Belopp och procentsatser kan inte vara negativa."))
    if header.residual_floor > 100 or header.residual_yearly_writedown > 100:
        raise ValidationError(_("En procentsats kan vara högst 100."))
    return PriceListInput(
        name=name[:120],
        rent_rule=header.rent_rule,
        hourly_rate=header.hourly_rate,
        residual_yearly_writedown=header.residual_yearly_writedown,
        residual_floor=header.residual_floor,
        note=header.note.strip()[:300],
    )


def price_list_new(
    *, actor: Actor, valid_from: dt.date, name: str, header: PriceListInput | None = None
) -> PriceList:
    """A new price list from `valid_from`, with the prices of the list in force that day copied
    for editing. It starts after the last billed month; the days before it keep the old list."""
    _manage(actor)
    _after_locked(valid_from, _("en ny prislista"))
    with transaction.atomic():
        if PriceList.objects.filter(valid_from=valid_from).exists():
            raise ValidationError(_("Det finns redan en prislista som gäller från det datumet."))
        source = selectors.price_list_on(valid_from)
        if header is None:
            if source is None:
                raise ValidationError(
                    _("Det finns ingen prislista att utgå från: ange timpris och restvärdesregel.")
                )
            header = PriceListInput(
                name=name,
                rent_rule=source.rent_rule,
                hourly_rate=source.hourly_rate,
                residual_yearly_writedown=source.residual_yearly_writedown,
                residual_floor=source.residual_floor,
            )
        header = _checked_header(PriceListInput(**{**header.__dict__, "name": name}))
        created = PriceList.objects.create(
            valid_from=valid_from, created_by=actor.user, **header.__dict__
        )
        copied = 0
        if source is not None:
            prices = [
                Price(price_list=created, kind=p.kind, key=p.key, amount=p.amount)
                for p in Price.objects.filter(price_list=source)
            ]
            Price.objects.bulk_create(prices)
            copied = len(prices)
        record(
            action=Action.PRICE_LIST_CREATED,
            actor=actor,
            target=created,
            detail={
                "valid_from": valid_from.isoformat(),
                "copied_from": source.pk if source else None,
                "prices": copied,
            },
        )
    return created


def refuse_if_billed(price_list: PriceList) -> None:
    if selectors.price_list_billed(price_list):
        raise ValidationError(
            _(
                "Prislistan har använts i en låst debitering och kan inte ändras. Skapa en ny "
                "prislista som gäller från en senare dag."
            )
        )


PriceKey = tuple[str, str]


def price_list_update(
    *,
    actor: Actor,
    price_list: PriceList,
    header: PriceListInput,
    prices: Mapping[PriceKey, Decimal | None],
) -> PriceList:
    """Change a price list that has not been billed: its header and its prices (`None` removes a
    price; a key not there before adds one)."""
    _manage(actor)
    header = _checked_header(header)
    for (kind, key), amount in prices.items():
        if kind not in Price.Kind.values:
            raise ValidationError(_("Okänt slag av pris."))
        if not key.strip() or len(key) > 40:
            raise ValidationError(_("Ange prisgrupp, artikelnummer eller avgift för priset."))
        if kind == Price.Kind.FEE and key not in Price.Fee.values:
            raise ValidationError(_("Okänd avgift."))
        if amount is not None and (amount < 0 or amount > MAX_AMOUNT):
            raise ValidationError(_("Ett pris kan inte vara negativt."))
    with transaction.atomic():
        locked = PriceList.objects.select_for_update().get(pk=price_list.pk)
        refuse_if_billed(locked)
        before = snapshot(locked, PRICE_LIST_FIELDS)
        for name, value in header.__dict__.items():
            setattr(locked, name, value)
        changes: dict[str, Any] = diff(before, snapshot(locked, PRICE_LIST_FIELDS))
        existing = {(p.kind, p.key): p for p in Price.objects.filter(price_list=locked)}
        price_changes: dict[str, list[Any]] = {}
        for (kind, key), amount in sorted(prices.items()):
            current = existing.get((kind, key))
            label = f"{kind}:{key}"
            if current is None:
                if amount is not None:
                    Price.objects.create(price_list=locked, kind=kind, key=key, amount=amount)
                    price_changes[label] = [None, str(amount)]
            elif amount is None:
                current.delete()
                price_changes[label] = [str(current.amount), None]
            elif current.amount != amount:
                price_changes[label] = [str(current.amount), str(amount)]
                current.amount = amount
                current.save(update_fields=["amount"])
        if not changes and not price_changes:
            return locked
        locked.save()
        record(
            action=Action.PRICE_LIST_CHANGED,
            actor=actor,
            target=locked,
            changes={**changes, **{f"price {k}": v for k, v in list(price_changes.items())[:200]}},
        )
    return locked


# --- Payer rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    region: CareProvider
    priority: int
    name: str
    payer: str
    valid_from: dt.date
    valid_until: dt.date | None = None
    housing: str = ""
    responsibility_class: int | None = None
    cost_class: str = ""
    product_area: str = ""
    habilitation: bool | None = None
    age_from: int | None = None
    age_until: int | None = None
    short_term: bool | None = None


def _checked_rule(data: RuleInput) -> None:
    if data.region.kind != CareProvider.Kind.REGION:
        raise ValidationError(_("Betalarregler gäller per region: välj en region."))
    if data.payer not in PayerRule.Payer.values:
        raise ValidationError(_("Välj vem som betalar."))
    if data.housing and data.housing not in Housing.values:
        raise ValidationError(_("Välj en boendeform."))
    if data.responsibility_class is not None and not 1 <= data.responsibility_class <= 4:
        raise ValidationError(_("Ansvarsklassen är 1–4."))
    if data.valid_until is not None and data.valid_until < data.valid_from:
        raise ValidationError(_("Slutdatumet kan inte ligga före startdatumet."))
    if data.age_from is not None and data.age_until is not None and data.age_until < data.age_from:
        raise ValidationError(_("Åldern till och med kan inte vara lägre än åldern från."))
    if data.payer == PayerRule.Payer.HOME_MUNICIPALITY and data.housing == "":
        # Allowed: the home municipality is known from any housing period; a patient without
        # one falls through to the next rule (the derivation says so).
        pass


def _rule_used(rule: PayerRule) -> bool:
    """Whether any of the rule's days lie in a month billed in a locked run."""
    locked = selectors.last_locked_day()
    return locked is not None and rule.valid_from <= locked


def payer_rule_create(*, actor: Actor, data: RuleInput) -> PayerRule:
    _manage(actor)
    _checked_rule(data)
    _after_locked(data.valid_from, _("en ny regel"))
    with transaction.atomic():
        rule = PayerRule.objects.create(created_by=actor.user, **_rule_fields(data))
        record(
            action=Action.PAYER_RULE_CREATED,
            actor=actor,
            target=rule,
            changes=diff({}, snapshot(rule, RULE_FIELDS)),
            detail={"conditions": describe(rule)},
        )
    return rule


def _rule_fields(data: RuleInput) -> dict[str, Any]:
    fields = dict(data.__dict__)
    fields["name"] = str(fields["name"]).strip()[:120]
    fields["product_area"] = str(fields["product_area"]).strip()[:60]
    fields["cost_class"] = str(fields["cost_class"]).strip()[:16]
    return fields


def payer_rule_update(*, actor: Actor, rule: PayerRule, data: RuleInput) -> PayerRule:
    """Change a rule. A rule whose days were billed in a locked run keeps its conditions and
    start; only its last day may be set (not back into billed months): end it and make a new
    one from a later day instead."""
    _manage(actor)
    _checked_rule(data)
    with transaction.atomic():
        locked = PayerRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(locked, RULE_FIELDS)
        fields = _rule_fields(data)
        if _rule_used(locked):
            kept = {k: v for k, v in fields.items() if k != "valid_until"}
            if any(getattr(locked, k) != v for k, v in kept.items()):
                raise ValidationError(
                    _(
                        "Regeln har använts i en låst debitering: bara dess slutdatum kan "
                        "ändras. Avsluta den och skapa en ny regel från en senare dag."
                    )
                )
        else:
            _after_locked(data.valid_from, _("regeln"))
        if fields["valid_until"] != locked.valid_until:
            days = [d for d in (fields["valid_until"], locked.valid_until) if d is not None]
            if days:
                _after_locked(min(days) + ONE_DAY, _("ett nytt slutdatum"))
        for name, value in fields.items():
            setattr(locked, name, value)
        changes = diff(before, snapshot(locked, RULE_FIELDS))
        if not changes:
            return locked
        locked.save()
        record(
            action=Action.PAYER_RULE_CHANGED,
            actor=actor,
            target=locked,
            changes=changes,
            detail={"conditions": describe(locked)},
        )
    return locked


def payer_rule_end(*, actor: Actor, rule: PayerRule, last_day: dt.date) -> PayerRule:
    """The rule applies through `last_day`; from the next day the next matching rule decides."""
    _manage(actor)
    if last_day < rule.valid_from:
        raise ValidationError(_("Slutdatumet kan inte ligga före regelns startdatum."))
    with transaction.atomic():
        locked = PayerRule.objects.select_for_update().get(pk=rule.pk)
        days = [d for d in (last_day, locked.valid_until) if d is not None]
        _after_locked(min(days) + ONE_DAY, _("ett nytt slutdatum"))
        before = locked.valid_until
        if before == last_day:
            return locked
        locked.valid_until = last_day
        locked.save(update_fields=["valid_until"])
        record(
            action=Action.PAYER_RULE_CHANGED,
            actor=actor,
            target=locked,
            changes={"valid_until": [before, last_day]},
        )
    return locked


# --- Who pays for a loan --------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    customer: str
    cost_centre: str
    rule: str


@dataclass(frozen=True)
class HousingRow:
    valid_from: dt.date
    housing: str
    municipality: str


@dataclass(frozen=True)
class Derivation:
    loan: Loan
    month: dt.date
    start: dt.date | None  # None: the loan had no rent days that month
    until: dt.date | None
    segments: list[SegmentRow]
    housing: list[HousingRow]
    problem: str = ""
    # A protected patient's housing (form and municipality) is not shown but to her named staff.
    housing_withheld: bool = False


def _protected_from(actor: Actor, patient_id: int) -> bool:
    """Whether the patient has protected personal data and the actor is not her named staff."""
    from lyfta.patients.models import ProtectedStaff

    protected = Patient.objects.filter(pk=patient_id).exclude(protection="").exists()
    return protected and not (
        ProtectedStaff.objects.filter(
            patient_id=patient_id, user=actor.user, ended_at__isnull=True
        ).exists()
    )


def _born(patient_id: int) -> dt.date | None:
    identifier = (
        Patient.objects.filter(pk=patient_id).values_list("identifier", flat=True).first() or ""
    )
    if len(identifier) < 8 or not identifier[:8].isdigit():
        return None
    day = int(identifier[6:8])
    if day > 60:  # samordningsnummer: the day plus 60
        day -= 60
    try:
        return dt.date(int(identifier[:4]), int(identifier[4:6]), day)
    except ValueError:
        return None


def loan_facts(loan: Loan) -> LoanFacts:
    article = loan.article
    return LoanFacts(
        loan_id=loan.pk,
        patient_id=loan.patient_id,
        unit_id=loan.unit_id,
        unit_provider_id=loan.unit.provider_id,
        unit_kind=loan.unit.kind,
        responsibility_class=article.responsibility_class,
        cost_class=article.cost_class,
        iso_code=article.iso_class.code if article.iso_class_id else "",
        short_term=loan.expected_end is not None,
        born=_born(loan.patient_id),
    )


def who_pays(*, actor: Actor, loan: Loan, month: dt.date) -> Derivation:
    """The loan's days in `month` with their payers and reasons; recorded as a read of the loan
    (R57: the economy role saw that this patient's device is billed, not who the patient is)."""
    if actor is None:
        raise PermissionDenied
    month = month.replace(day=1)
    last = selectors.month_end(month)
    stop = loan.rent_stop_on or loan.ended_on
    start = max(month, loan.started_on)
    until = min(last, stop) if stop is not None else last
    housing = selectors.housing_rows(actor, loan.patient_id)
    names = dict(CareProvider.objects.values_list("pk", "name"))
    labels = dict(Housing.choices)
    housing_rows = [
        HousingRow(day, str(labels.get(kind, kind)), names.get(m, "")) for day, kind, m in housing
    ]
    withheld = _protected_from(actor, loan.patient_id)
    if withheld:
        housing_rows = []
    segments: list[SegmentRow] = []
    problem = ""
    if until < start:
        record(
            action=Action.PAYER_SHOWN,
            actor=actor,
            target=loan,
            patient_id=loan.patient_id,
            detail={"month": month.isoformat(), "days": 0},
        )
        return Derivation(loan, month, None, None, [], housing_rows, "", withheld)
    book = PayerBook.load()
    try:
        found = book.segments(loan_facts(loan), housing_periods(housing), start, until)
    except LookupError as error:
        found, problem = [], str(error)
    customers = {
        c.pk: f"{c.customer_number} {c.provider.name}"
        for c in Customer.objects.select_related("provider")
    }
    centres = {c.pk: f"{c.code} {c.name}" for c in CostCentre.objects.all()}
    rules = {r.pk: r.name or describe(r) for r in book.rules}
    for segment in found:
        decision = segment.decision
        segments.append(
            SegmentRow(
                segment=segment,
                customer=customers.get(decision.customer_id, ""),
                cost_centre=centres.get(decision.cost_centre_id or 0, ""),
                rule=rules.get(decision.rule_id or 0, ""),
            )
        )
    record(
        action=Action.PAYER_SHOWN,
        actor=actor,
        target=loan,
        patient_id=loan.patient_id,
        detail={"month": month.isoformat(), "segments": len(segments)},
    )
    return Derivation(loan, month, start, until, segments, housing_rows, problem, withheld)


# --- Patients' form of housing --------------------------------------------------------------


def may_register_housing(actor: Actor) -> bool:
    return can(actor, Cap.ORDERS_PRESCRIBE) or can(actor, Cap.PATIENTS_REGISTER)


def housing_register(
    *,
    actor: Actor,
    patient_id: int,
    housing: str,
    municipality: CareProvider,
    valid_from: dt.date,
    grant: PatientGrant | None = None,
) -> PatientHousing:
    """A move or a change of housing from `valid_from`: a new row, never an overwrite (R86);
    audited as a registration about the patient (R57). The payer changes from that day.
    Registered by a prescriber (or whoever registers patients) on a writable grant to the
    patient; the demo's seed as the system."""
    if not actor.is_system:
        if not may_register_housing(actor):
            raise PermissionDenied
        if grant is None or grant.patient.pk != patient_id:
            raise PermissionDenied
        refusal = read_only_refusal(actor, grant, "housing_register")
        if refusal is not None:
            raise refusal
    if housing not in Housing.values:
        raise ValidationError(_("Välj en boendeform."))
    if municipality.kind != CareProvider.Kind.MUNICIPALITY:
        raise ValidationError(_("Välj patientens hemkommun."))
    born = _born(patient_id)
    if born is not None and valid_from < born:
        raise ValidationError(_("Boendet kan inte börja före patientens födelsedag."))
    if valid_from > timezone.localdate() + dt.timedelta(days=366):
        raise ValidationError(_("Ange ett datum högst ett år framåt."))
    with transaction.atomic():
        if PatientHousing.unscoped.filter(patient_id=patient_id, valid_from=valid_from).exists():
            raise ValidationError(_("Det finns redan ett boende registrerat från det datumet."))
        previous = (
            PatientHousing.unscoped.filter(patient_id=patient_id, valid_from__lt=valid_from)
            .order_by("-valid_from")
            .first()
        )
        if (
            previous is not None
            and previous.housing == housing
            and previous.municipality_id == municipality.pk
        ):
            raise ValidationError(_("Patienten har redan den boendeformen i den kommunen."))
        try:
            with transaction.atomic():
                row = PatientHousing.unscoped.create(
                    patient_id=patient_id,
                    housing=housing,
                    municipality=municipality,
                    valid_from=valid_from,
                    registered_by=actor.user,
                )
        except IntegrityError as error:
            raise ValidationError(
                _("Det finns redan ett boende registrerat från det datumet.")
            ) from error
        record(
            action=Action.HOUSING_REGISTERED,
            actor=actor,
            target=row,
            patient_id=patient_id,
            changes={
                "housing": [previous.housing if previous else None, housing],
                "municipality": [
                    previous.municipality_id if previous else None,
                    municipality.pk,
                ],
            },
            detail={"from": valid_from.isoformat()},
        )
    return row


@dataclass(frozen=True)
class Move:
    """A move registered from the population register: the new housing row, and the locked
    months whose payer it changes (the economy desk corrects those by hand)."""

    housing: PatientHousing
    locked_months: list[dt.date]


def housing_move(
    *, actor: Actor, patient_id: int, municipality: CareProvider, valid_from: dt.date
) -> Move | None:
    """The population register moves the patient to `municipality` from `valid_from`: the form
    of housing in force that day goes on in the new municipality, as a new row (the payer of
    every day after it changes with it, R86). None when nothing is to be registered: the patient
    has no housing registered on that day (the form is not guessed), already lives in that
    municipality then, or has a row of that very day (registered by hand; it stands). A move into
    a month already billed and locked changes the payer of days already invoiced: the economy
    desk is told, since corrections are its decision (`corrections.correct_line`)."""
    if not actor.is_system:
        raise PermissionDenied("applied from the population register only")
    in_force = (
        PatientHousing.unscoped.filter(patient_id=patient_id, valid_from__lte=valid_from)
        .order_by("-valid_from")
        .first()
    )
    if (
        in_force is None
        or in_force.municipality_id == municipality.pk
        or in_force.valid_from == valid_from
    ):
        return None
    row = housing_register(
        actor=actor,
        patient_id=patient_id,
        housing=in_force.housing,
        municipality=municipality,
        valid_from=valid_from,
    )
    locked = list(
        BillingRun.objects.filter(
            status=BillingRun.Status.LOCKED, month__gte=valid_from.replace(day=1)
        )
        .order_by("month")
        .values_list("month", flat=True)
    )
    if locked:
        months = ", ".join(f"{month:%Y-%m}" for month in locked)
        messages_send(
            recipients=users_with(Cap.BILLING_MANAGE),
            kind=Message.Kind.NOTICE,
            subject=_("Flytt i folkbokföringen påverkar låsta månader"),
            body=_(
                "En patient har enligt folkbokföringen bytt hemkommun från %(day)s. Betalaren "
                "kan ha ändrats för redan låsta månader (%(months)s): kontrollera om raderna "
                "behöver rättas."
            )
            % {"day": valid_from.isoformat(), "months": months},
        )
    return Move(row, locked)
