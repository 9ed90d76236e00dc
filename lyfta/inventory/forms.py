"""Forms of the stock pages. They parse and check input; the services hold the rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from lyfta.catalogue.models import Article
from lyfta.core.forms import Form
from lyfta.core.serials import serial_key
from lyfta.core.text import refuse_non_ascii_digits
from lyfta.inventory.models import StockLocation
from lyfta.inventory.services import ReceivedItem
from lyfta.organisations.models import Unit
from lyfta.patients import identifiers

MAX_SERIALS = 500
MAX_ITEMS_SEEN = 5000


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class ArticleNumberField(forms.CharField):
    """An article number that must exist (digits 0–9 only); cleans to the Article."""

    default_validators = [refuse_non_ascii_digits]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Artikelnummer"))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Article | None:
        number = super().clean(value)
        if not number:
            return None
        article = Article.objects.filter(article_number=number).first()
        if article is None:
            raise forms.ValidationError(
                _("Det finns ingen artikel med nummer %(number)s."), params={"number": number}
            )
        return article


class LocationForm(Form):
    plats = forms.ModelChoiceField(
        label=_("Lagerplats"),
        queryset=StockLocation.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("Välj en lagerplats i listan.")},
    )

    def __init__(self, *args: Any, locations: QuerySet[StockLocation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["plats"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = locations


class ReceiveForm(Form):
    """Goods receipt: serial numbers one per line for tracked articles, a quantity for others."""

    location = forms.ModelChoiceField(
        label=_("Till lagerplats"),
        queryset=StockLocation.objects.none(),
        error_messages={"invalid_choice": _("Välj centrallagret eller ett buffertförråd.")},
    )
    article = ArticleNumberField()
    quantity = forms.IntegerField(
        label=_("Antal"),
        min_value=1,
        max_value=10000,
        required=False,
        help_text=_("För individmärkta artiklar räcker serienumren."),
    )
    serials = forms.CharField(
        label=_("Serienummer, ett per rad"),
        required=False,
        max_length=MAX_SERIALS * 62,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    batch = forms.CharField(label=_("Batch/lot"), max_length=60, required=False)
    value = forms.DecimalField(
        label=_("Anskaffningsvärde per styck (kr)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text=_("Tomt: artikelns pris."),
    )
    acquired_on = forms.DateField(
        label=_("Anskaffningsdatum"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Tomt: i dag."),
    )
    reference = forms.CharField(label=_("Följesedel eller referens"), max_length=40, required=False)

    def __init__(self, *args: Any, locations: QuerySet[StockLocation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["location"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = locations

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        article: Article | None = data.get("article")
        quantity: int | None = data.get("quantity")
        serials = _lines(data.get("serials") or "")
        if article is None:
            return data
        if len(serials) > MAX_SERIALS:
            self.add_error("serials", _("Högst %(n)s serienummer åt gången.") % {"n": MAX_SERIALS})
        elif len(set(serials)) != len(serials):
            self.add_error("serials", _("Samma serienummer står flera gånger."))
        if article.tracked:
            if serials and quantity is not None and quantity != len(serials):
                self.add_error(
                    "quantity",
                    _("Antalet stämmer inte med antalet serienummer. Rätta något av dem."),
                )
            elif not serials and quantity is None:
                self.add_error("quantity", _("Ange serienummer eller ett antal."))
        else:
            if serials:
                self.add_error("serials", _("Artikeln är inte individmärkt. Ange bara antalet."))
            if quantity is None:
                self.add_error("quantity", _("Ange antalet."))
        data["serial_list"] = serials
        return data

    def received_items(self) -> list[ReceivedItem] | None:
        article: Article = self.cleaned_data["article"]
        if not article.tracked:
            return None
        batch = self.cleaned_data.get("batch") or ""
        serials: list[str] = self.cleaned_data["serial_list"]
        if serials:
            return [ReceivedItem(serial, batch) for serial in serials]
        return [ReceivedItem("", batch) for _n in range(self.cleaned_data["quantity"])]

    def total(self) -> int:
        items = self.received_items()
        return len(items) if items is not None else int(self.cleaned_data["quantity"])


class StocktakeForm(Form):
    """Counted quantities per non-tracked article and the individual numbers seen."""

    items_counted = forms.BooleanField(
        label=_("Individmärkta hjälpmedel är räknade"),
        required=False,
        initial=True,
        help_text=_("Individer som finns i böckerna men inte står nedan listas som differenser."),
    )
    items_seen = forms.CharField(
        label=_("Individnummer som finns på platsen, ett per rad"),
        required=False,
        max_length=MAX_ITEMS_SEEN * 22,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args: Any, articles: list[Article], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.articles = articles
        for article in articles:
            self.fields[f"count_{article.pk}"] = forms.IntegerField(
                label=str(article),
                min_value=0,
                max_value=1_000_000,
                required=False,
                error_messages={"min_value": _("Ett räknat antal kan inte vara negativt.")},
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.counts() and not data.get("items_counted"):
            raise forms.ValidationError(_("Ange minst ett räknat antal eller räkna individerna."))
        return data

    def counts(self) -> dict[int, int]:
        data = getattr(self, "cleaned_data", {})
        return {
            article.pk: int(data[f"count_{article.pk}"])
            for article in self.articles
            if data.get(f"count_{article.pk}") is not None
        }

    def count_fields(self) -> list[forms.BoundField]:
        return [self[f"count_{article.pk}"] for article in self.articles]

    def items(self) -> list[str] | None:
        if not self.cleaned_data.get("items_counted"):
            return None
        return _lines(self.cleaned_data.get("items_seen") or "")


class BufferLevelForm(Form):
    article = ArticleNumberField()
    safety_level = forms.IntegerField(label=_("Säkerhetsnivå"), min_value=0, max_value=1000)


# An individual number as Lyfta writes them: ASCII letters, digits 0–9 and hyphens.
ITEM_NUMBER = r"[0-9A-Za-z-]{1,20}"


class ItemFindForm(Form):
    nummer = forms.RegexField(
        label=_("Individnummer"),
        regex=rf"^{ITEM_NUMBER}$",
        max_length=20,
        error_messages={"invalid": _("Ett individnummer är siffror, till exempel 0001234.")},
    )


class RecallForm(Form):
    """Which units a recall concerns: an article, optionally one batch or a serial range."""

    artikel = ArticleNumberField()
    batch = forms.CharField(label=_("Batch/lot"), max_length=60, required=False)
    serie_fran = forms.CharField(label=_("Serienummer från"), max_length=60, required=False)
    serie_till = forms.CharField(label=_("Serienummer till"), max_length=60, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("serie_fran") or "", data.get("serie_till") or ""
        # Compared as people read them: "SN-9" comes before "SN-10".
        if low and high and serial_key(low) > serial_key(high):
            self.add_error("serie_till", _("Intervallet ska sluta på ett högre serienummer."))
        return data


class ReservationForm(Form):
    """Hold an item for a unit's planned need, or for one of its patients (by identifier)."""

    unit = forms.ModelChoiceField(
        label=_("Enhet"),
        queryset=Unit.objects.none(),
        error_messages={
            "required": _("Välj enheten som individen reserveras för."),
            "invalid_choice": _("Välj en enhet i listan."),
        },
    )
    identifier = forms.CharField(
        label=_("Patientens personnummer (tomt: enhetens planerade behov)"),
        max_length=20,
        required=False,
    )
    until = forms.DateField(
        label=_("Reserverad till och med"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Ange dagen reservationen gäller till."),
            "invalid": _("Ange dagen som åååå-mm-dd, till exempel 2026-03-02."),
        },
    )
    note = forms.CharField(label=_("Anteckning"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = (
            Unit.objects.filter(active=True)
            .exclude(kind__in=[Unit.Kind.CENTRE, Unit.Kind.ADMINISTRATION])
            .order_by("name")
        )

    def clean_identifier(self) -> str:
        raw = str(self.cleaned_data.get("identifier") or "").strip()
        if not raw:
            return ""
        return identifiers.parse(raw).value
