"""Forms of the catalogue pages. They parse input; the services hold the rules."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lyfta.catalogue.models import (
    DEFAULT_LEAD_TIME,
    Article,
    BillingType,
    DeliveryClass,
    IsoClass,
    SubstitutionGroup,
    Supplier,
)
from lyfta.catalogue.services import ARTICLE_FIELDS, GROUP_FIELDS, SUPPLIER_FIELDS
from lyfta.core.forms import Form, ModelForm

TRACKED_CHOICES = [("", _("Alla")), ("ja", _("Individmärkta")), ("nej", _("Ej individmärkta"))]


class ArticleFilterForm(Form):
    """The search and filters of the article list (GET)."""

    q = forms.CharField(
        label=_("Sök artikelnummer eller benämning"), required=False, max_length=100
    )
    iso = forms.CharField(label=_("ISO-klass"), required=False, max_length=12)
    supplier = forms.ModelChoiceField(
        label=_("Leverantör"),
        queryset=Supplier.objects.order_by("name"),
        required=False,
        empty_label=_("Alla"),
    )
    billing_type = forms.ChoiceField(
        label=_("Debiteringstyp"), choices=[("", _("Alla")), *BillingType.choices], required=False
    )
    delivery_class = forms.ChoiceField(
        label=_("Leveransklass"), choices=[("", _("Alla")), *DeliveryClass.choices], required=False
    )
    tracked = forms.ChoiceField(label=_("Individmärkning"), choices=TRACKED_CHOICES, required=False)
    withdrawn = forms.BooleanField(label=_("Visa även utgångna artiklar"), required=False)

    def search_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `selectors.article_search` (valid form only)."""
        data = self.cleaned_data
        tracked = {"ja": True, "nej": False}.get(data.get("tracked") or "")
        supplier = data.get("supplier")
        return {
            "query": data.get("q") or "",
            "iso_code": data.get("iso") or "",
            "in_assortment_only": not data.get("withdrawn"),
            "supplier_id": supplier.pk if supplier else None,
            "billing_type": data.get("billing_type") or "",
            "delivery_class": data.get("delivery_class") or "",
            "tracked": tracked,
            "limit": 0,
        }


class ArticleForm(ModelForm):
    """Create or edit an article. Accessories are given as article numbers."""

    accessory_numbers = forms.CharField(
        label=_("Tillbehör"),
        required=False,
        max_length=2000,
        help_text=_("Artikelnummer, åtskilda med mellanslag eller kommatecken."),
    )

    class Meta:
        model = Article
        fields = [f for f in ARTICLE_FIELDS if f != "in_assortment"]
        # Amounts as Swedes write them: 1234,50.
        localized_fields = ("monthly_rent", "price")
        widgets = {"lead_time_days": forms.NumberInput(attrs={"min": 1})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["iso_class"].queryset = IsoClass.objects.filter(level=3)  # type: ignore[attr-defined]
        # Inactive suppliers are not offered, except the one the article already has.
        current = self.instance.supplier_id if self.instance.pk else None
        self.fields["supplier"].queryset = Supplier.objects.filter(  # type: ignore[attr-defined]
            Q(active=True) | Q(pk=current)
        )
        self.fields["substitution_group"].queryset = SubstitutionGroup.objects.all()  # type: ignore[attr-defined]
        self.fields["lead_time_days"].required = False
        self.fields["lead_time_days"].help_text = _(
            "Arbetsdagar från beställning till leverans. Lämna tomt för lagervaror: "
            "högprioriterad 1, lagervara 3. Beställningsvaror: leverantörens leveranstid."
        )
        if self.instance.pk:
            numbers = self.instance.accessories.values_list("article_number", flat=True)
            self.fields["accessory_numbers"].initial = " ".join(sorted(numbers))

    def clean_accessory_numbers(self) -> list[Article]:
        raw = self.cleaned_data.get("accessory_numbers") or ""
        numbers = list(dict.fromkeys(n for n in re.split(r"[\s,;]+", raw) if n))
        found = {a.article_number: a for a in Article.objects.filter(article_number__in=numbers)}
        unknown = [n for n in numbers if n not in found]
        if unknown:
            raise forms.ValidationError(
                _("Artiklarna finns inte: %(numbers)s.") % {"numbers": ", ".join(unknown)}
            )
        if self.instance.pk and self.instance.article_number in found:
            raise forms.ValidationError(_("En artikel kan inte vara tillbehör till sig själv."))
        return [found[n] for n in numbers]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # A stock item without a lead time gets its delivery class's; an order item needs one.
        if data.get("lead_time_days") is None and "lead_time_days" not in self.errors:
            if data.get("delivery_class") in DEFAULT_LEAD_TIME:
                data["lead_time_days"] = DEFAULT_LEAD_TIME[data["delivery_class"]]
            elif data.get("delivery_class"):
                self.add_error(
                    "lead_time_days", _("Ange leveranstiden i arbetsdagar för en beställningsvara.")
                )
        return data

    def service_data(self, *, changed_only: bool) -> dict[str, Any]:
        """The model fields for the article services: all, or only those the user changed."""
        names = [f for f in self._meta.fields or () if not changed_only or f in self.changed_data]
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}


class SupplierForm(ModelForm):
    class Meta:
        model = Supplier
        fields = list(SUPPLIER_FIELDS)


class SubstitutionGroupForm(ModelForm):
    class Meta:
        model = SubstitutionGroup
        fields = list(GROUP_FIELDS)


class IsoClassCreateForm(Form):
    code = forms.CharField(
        label=_("ISO-kod"),
        max_length=12,
        help_text=_(
            "Två, fyra eller sex siffror, till exempel 12 22 03. Överordnad klass måste finnas."
        ),
    )
    name = forms.CharField(
        label=_("Benämning"),
        max_length=120,
        help_text=_(
            "En egen kort benämning på svenska (standardens texter är upphovsrättsskyddade)."
        ),
    )


class IsoClassEditForm(Form):
    name = forms.CharField(label=_("Benämning"), max_length=120)


class ImportForm(Form):
    file = forms.FileField(
        label=_("Artikelfil (CSV)"),
        help_text=_("UTF-8, semikolon- eller kommaavgränsad, högst 5 MB."),
    )
