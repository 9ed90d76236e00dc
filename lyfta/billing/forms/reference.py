"""Forms of the economy desk's reference data: customers, cost centres, units' cost centres,
price lists and their prices, payer rules, the "Vem betalar?" question and a patient's housing.
Messages in Swedish; every form derives from lyfta.core.forms (edge checks, ISO dates)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.billing.models import CostCentre, Customer, Housing, PayerRule, Price, RentRule
from lyfta.billing.services import reference as services
from lyfta.catalogue.models import CostClass
from lyfta.core.forms import Form, ModelForm
from lyfta.organisations.models import CareProvider

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
REQUIRED = {"required": _("Fyll i fältet.")}
DATE_ERRORS = {"invalid": _("Ange ett datum som ÅÅÅÅ-MM-DD."), **REQUIRED}
AMOUNT_ERRORS = {
    "invalid": _("Ange ett belopp i kronor, till exempel 125,50."),
    "min_value": _("Ett belopp kan inte vara negativt."),
    "max_value": _("Beloppet är för stort."),
    "max_digits": _("Beloppet är för stort."),
    "max_decimal_places": _("Ange högst två decimaler."),
    "max_whole_digits": _("Beloppet är för stort."),
    **REQUIRED,
}
INT_ERRORS = {
    "invalid": _("Ange ett heltal."),
    "min_value": _("Talet är för litet."),
    "max_value": _("Talet är för stort."),
    **REQUIRED,
}
TRISTATE = [("", _("Oavsett")), ("ja", _("Ja")), ("nej", _("Nej"))]


def _choice(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _date(label: Any, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE, required=required, error_messages=DATE_ERRORS)


def _amount(label: Any, required: bool = True, max_value: int = 99_999_999) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_value=Decimal(max_value),
        max_digits=10,
        decimal_places=2,
        localize=True,
        error_messages=AMOUNT_ERRORS,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}),
    )


class CustomerForm(ModelForm):
    """A customer's number, Peppol id, invoice address and reference."""

    number_fields = frozenset({"customer_number"})

    class Meta:
        model = Customer
        fields = [
            "customer_number",
            "peppol_id",
            "buyer_reference",
            "invoice_street",
            "invoice_postal_code",
            "invoice_city",
            "email",
            "active",
        ]
        error_messages = {
            "customer_number": {**REQUIRED, "unique": _("Kundnumret används redan.")},
            "invoice_street": REQUIRED,
            "invoice_postal_code": REQUIRED,
            "invoice_city": REQUIRED,
            "email": {"invalid": _("Ange en giltig e-postadress.")},
        }

    def clean_customer_number(self) -> str:
        value = str(self.cleaned_data.get("customer_number") or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,19}", value):
            raise ValidationError(
                _(
                    "Kundnumret består av bokstäverna A–Z, siffror, bindestreck, punkt, snedstreck "
                    "och mellanslag och börjar med en bokstav eller siffra."
                )
            )
        return value

    def clean_peppol_id(self) -> str:
        value = str(self.cleaned_data.get("peppol_id") or "").strip()
        if value:
            problem = services.peppol_problem(value)
            if problem:
                raise ValidationError(problem)
        return value

    def clean_invoice_postal_code(self) -> str:
        value = str(self.cleaned_data.get("invoice_postal_code") or "").strip()
        digits = value.replace(" ", "")
        if not (len(digits) == 5 and digits.isascii() and digits.isdigit()):
            raise ValidationError(_("Postnumret har fem siffror, till exempel 652 25."))
        return f"{digits[:3]} {digits[3:]}"


class CostCentreForm(Form):
    code = forms.CharField(label=_("Kod"), max_length=20, error_messages=REQUIRED)
    name = forms.CharField(label=_("Namn"), max_length=200, error_messages=REQUIRED)
    valid_from = _date(_("Gäller från"))
    valid_until = _date(_("Gäller till och med"), required=False)
    default = forms.BooleanField(label=_("Förval för kunden"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("Slutdatumet kan inte ligga före startdatumet."))
        return data


class CostCentreEditForm(Form):
    name = forms.CharField(label=_("Namn"), max_length=200, error_messages=REQUIRED)
    valid_until = _date(_("Gäller till och med"), required=False)


class UnitCostCentreForm(Form):
    """Which cost centre a unit belongs to from a day."""

    unit = forms.TypedChoiceField(
        label=_("Enhet"),
        coerce=int,
        error_messages={"invalid_choice": _("Välj en enhet."), **REQUIRED},
    )
    cost_centre = forms.TypedChoiceField(
        label=_("Kostnadsställe"),
        coerce=int,
        error_messages={"invalid_choice": _("Välj ett kostnadsställe."), **REQUIRED},
    )
    valid_from = _date(_("Från och med"))

    def __init__(self, *args: Any, customer: Customer, units: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "unit").choices = [("", _("Välj enhet")), *((u.pk, u.name) for u in units)]
        centres = CostCentre.objects.filter(customer=customer).order_by("code")
        _choice(self, "cost_centre").choices = [
            ("", _("Välj kostnadsställe")),
            *((c.pk, f"{c.code} {c.name}") for c in centres),
        ]


class NewPriceListForm(Form):
    name = forms.CharField(label=_("Namn"), max_length=120, error_messages=REQUIRED)
    valid_from = _date(_("Gäller från"))


class PriceListForm(Form):
    """A price list's header and its prices, grouped by kind; a blank price removes it; one
    new price may be added (kind, key, amount)."""

    name = forms.CharField(label=_("Namn"), max_length=120, error_messages=REQUIRED)
    rent_rule = forms.ChoiceField(
        label=_("Hyresberäkning"),
        choices=RentRule.choices,
        error_messages={"invalid_choice": _("Välj hur hyran beräknas."), **REQUIRED},
    )
    hourly_rate = _amount(_("Timpris (kr)"))
    residual_yearly_writedown = _amount(_("Avskrivning per år (%)"), max_value=100)
    residual_floor = _amount(_("Lägsta restvärde (%)"), max_value=100)
    note = forms.CharField(label=_("Anteckning"), max_length=300, required=False)
    new_kind = forms.ChoiceField(
        label=_("Nytt pris: slag"),
        choices=[("", _("Inget nytt pris")), *Price.Kind.choices],
        required=False,
        error_messages={"invalid_choice": _("Välj slag av pris.")},
    )
    new_key = forms.CharField(
        label=_("Nytt pris: prisgrupp, artikelnummer eller avgift"),
        max_length=40,
        required=False,
    )
    new_amount = _amount(_("Nytt pris: belopp (kr)"), required=False)

    def __init__(self, *args: Any, keys: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.price_fields: list[tuple[str, tuple[str, str]]] = []
        for index, (kind, key) in enumerate(keys):
            name = f"price_{index}"
            label = _fee_label(key) if kind == Price.Kind.FEE else key
            self.fields[name] = _amount(label, required=False)
            self.price_fields.append((name, (kind, key)))

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        found: dict[str, list[forms.BoundField]] = {}
        for name, (kind, _key) in self.price_fields:
            found.setdefault(kind, []).append(self[name])
        return [
            (str(dict(Price.Kind.choices)[k]), found[k]) for k in Price.Kind.values if k in found
        ]

    def header_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in (
                "name",
                "rent_rule",
                "hourly_rate",
                "residual_yearly_writedown",
                "residual_floor",
                "note",
            )
        ]

    def new_fields(self) -> list[forms.BoundField]:
        return [self["new_kind"], self["new_key"], self["new_amount"]]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, key, amount = data.get("new_kind"), (data.get("new_key") or "").strip(), None
        amount = data.get("new_amount")
        if kind or key or amount is not None:
            if not (kind and key and amount is not None):
                raise ValidationError(_("Ett nytt pris behöver slag, nyckel och belopp."))
            if kind == Price.Kind.FEE and key not in Price.Fee.values:
                self.add_error(
                    "new_key",
                    _("Avgiften skrivs som en av: %(fees)s.")
                    % {"fees": ", ".join(Price.Fee.values)},
                )
            if (kind, key) in {k for _n, k in self.price_fields}:
                self.add_error("new_key", _("Priset finns redan i listan: ändra det där."))
        return data

    def header(self) -> services.PriceListInput:
        data = self.cleaned_data
        return services.PriceListInput(
            name=data["name"],
            rent_rule=data["rent_rule"],
            hourly_rate=data["hourly_rate"],
            residual_yearly_writedown=data["residual_yearly_writedown"],
            residual_floor=data["residual_floor"],
            note=data.get("note") or "",
        )

    def prices(self) -> dict[tuple[str, str], Decimal | None]:
        data = self.cleaned_data
        found: dict[tuple[str, str], Decimal | None] = {
            key: data.get(name) for name, key in self.price_fields
        }
        if data.get("new_kind"):
            found[(data["new_kind"], data["new_key"].strip())] = data["new_amount"]
        return found


def _fee_label(key: str) -> str:
    for fee in Price.Fee:
        if fee.value == key:
            return str(fee.label)
    return key


def _tristate(value: str) -> bool | None:
    return {"ja": True, "nej": False}.get(value)


def tristate_initial(value: bool | None) -> str:
    return "" if value is None else ("ja" if value else "nej")


class PayerRuleForm(Form):
    region = forms.TypedChoiceField(
        label=_("Region"),
        coerce=int,
        error_messages={"invalid_choice": _("Välj en region."), **REQUIRED},
    )
    priority = forms.IntegerField(
        label=_("Ordning"),
        min_value=1,
        max_value=9999,
        error_messages=INT_ERRORS,
        help_text=_("Reglerna prövas i ordning; den första som passar avgör."),
    )
    name = forms.CharField(label=_("Namn"), max_length=120, required=False)
    payer = forms.ChoiceField(
        label=_("Betalare"),
        choices=PayerRule.Payer.choices,
        error_messages={"invalid_choice": _("Välj vem som betalar."), **REQUIRED},
    )
    housing = forms.ChoiceField(
        label=_("Boendeform"),
        choices=[("", _("Alla boendeformer")), *Housing.choices],
        required=False,
        error_messages={"invalid_choice": _("Välj en boendeform.")},
    )
    responsibility_class = forms.TypedChoiceField(
        label=_("Ansvarsklass"),
        choices=[("", _("Alla ansvarsklasser")), *((n, str(n)) for n in range(1, 5))],
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": _("Ansvarsklassen är 1–4.")},
    )
    cost_class = forms.ChoiceField(
        label=_("Kostnadsansvar"),
        choices=[("", _("Alla")), *CostClass.choices],
        required=False,
        error_messages={"invalid_choice": _("Välj kostnadsansvar.")},
    )
    product_area = forms.CharField(
        label=_("Produktområde (ISO-kod)"),
        max_length=60,
        required=False,
        help_text=_("Början av ISO 9999-koden, till exempel 12 22."),
    )
    habilitation = forms.ChoiceField(
        label=_("Habilitering"),
        choices=TRISTATE,
        required=False,
        error_messages={"invalid_choice": _("Välj ja, nej eller oavsett.")},
    )
    short_term = forms.ChoiceField(
        label=_("Korttidslån"),
        choices=TRISTATE,
        required=False,
        error_messages={"invalid_choice": _("Välj ja, nej eller oavsett.")},
    )
    age_from = forms.IntegerField(
        label=_("Ålder från"), min_value=0, max_value=130, required=False, error_messages=INT_ERRORS
    )
    age_until = forms.IntegerField(
        label=_("Ålder till och med"),
        min_value=0,
        max_value=130,
        required=False,
        error_messages=INT_ERRORS,
    )
    valid_from = _date(_("Gäller från"))
    valid_until = _date(_("Gäller till och med"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regions = CareProvider.objects.filter(kind=CareProvider.Kind.REGION).order_by("name")
        _choice(self, "region").choices = [(r.pk, r.name) for r in regions]

    def clean_product_area(self) -> str:
        value = " ".join(str(self.cleaned_data.get("product_area") or "").split())
        if value and not all(part.isascii() and part.isdigit() for part in value.split()):
            raise ValidationError(_("Ange ISO-koden med siffror, till exempel 12 22."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("Slutdatumet kan inte ligga före startdatumet."))
        low, high = data.get("age_from"), data.get("age_until")
        if low is not None and high is not None and high < low:
            self.add_error("age_until", _("Åldern till och med kan inte vara lägre än från."))
        return data

    def rule(self) -> services.RuleInput:
        data = self.cleaned_data
        region = CareProvider.objects.get(pk=data["region"])
        return services.RuleInput(
            region=region,
            priority=data["priority"],
            name=data.get("name") or "",
            payer=data["payer"],
            valid_from=data["valid_from"],
            valid_until=data.get("valid_until"),
            housing=data.get("housing") or "",
            responsibility_class=data.get("responsibility_class"),
            cost_class=data.get("cost_class") or "",
            product_area=data.get("product_area") or "",
            habilitation=_tristate(data.get("habilitation") or ""),
            age_from=data.get("age_from"),
            age_until=data.get("age_until"),
            short_term=_tristate(data.get("short_term") or ""),
        )


def rule_initial(rule: PayerRule) -> dict[str, Any]:
    return {
        "region": rule.region_id,
        "priority": rule.priority,
        "name": rule.name,
        "payer": rule.payer,
        "housing": rule.housing,
        "responsibility_class": rule.responsibility_class or "",
        "cost_class": rule.cost_class,
        "product_area": rule.product_area,
        "habilitation": tristate_initial(rule.habilitation),
        "short_term": tristate_initial(rule.short_term),
        "age_from": rule.age_from,
        "age_until": rule.age_until,
        "valid_from": rule.valid_from,
        "valid_until": rule.valid_until,
    }


class EndRuleForm(Form):
    last_day = _date(_("Sista giltiga dag"))


class WhoPaysForm(Form):
    """A loan (its number in the list of loans, or the device's individual number) and a month."""

    number_fields = frozenset({"lan"})

    lan = forms.IntegerField(
        label=_("Lånets nummer"),
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        error_messages=INT_ERRORS,
    )
    individ = forms.CharField(label=_("Individnummer"), max_length=40, required=False)
    manad = forms.CharField(
        label=_("Månad"),
        max_length=7,
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "ÅÅÅÅ-MM"}),
    )

    def clean_manad(self) -> dt.date:
        value = str(self.cleaned_data.get("manad") or "").strip()
        if not value:
            today = timezone.localdate()
            return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        try:
            year, month = value.split("-")
            found = dt.date(int(year), int(month), 1)
        except ValueError as error:
            raise ValidationError(_("Ange månaden som ÅÅÅÅ-MM, till exempel 2026-11.")) from error
        if not dt.date(1990, 1, 1) <= found <= dt.date(2199, 12, 1):
            raise ValidationError(_("Ange en månad mellan 1990 och 2199."))
        return found


class HousingForm(Form):
    """A move or a change of housing from a day."""

    housing = forms.ChoiceField(
        label=_("Boendeform"),
        choices=Housing.choices,
        error_messages={"invalid_choice": _("Välj en boendeform."), **REQUIRED},
    )
    municipality = forms.TypedChoiceField(
        label=_("Hemkommun"),
        coerce=int,
        error_messages={"invalid_choice": _("Välj hemkommun."), **REQUIRED},
    )
    valid_from = _date(_("Från och med"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        municipalities = CareProvider.objects.filter(kind=CareProvider.Kind.MUNICIPALITY).order_by(
            "name"
        )
        _choice(self, "municipality").choices = [
            ("", _("Välj kommun")),
            *((m.pk, m.name) for m in municipalities),
        ]

    def clean_valid_from(self) -> dt.date:
        value: dt.date = self.cleaned_data["valid_from"]
        if value > timezone.localdate() + dt.timedelta(days=366):
            raise ValidationError(_("Datumet kan ligga högst ett år fram i tiden."))
        return value
