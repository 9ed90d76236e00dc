"""Forms of the prescriber's device pages. Messages in Swedish."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.core.forms import Form
from lyfta.inventory.models import StockLocation
from lyfta.orders.models import LossReport, Order

DATE = forms.DateInput(attrs={"type": "date"})


class ArticleSearchForm(Form):
    q = forms.CharField(label=_("Artikelnummer eller benämning"), max_length=100, required=False)
    iso = forms.CharField(label=_("ISO-klass"), max_length=10, required=False)


class AddLineForm(Form):
    article = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("Antal"), min_value=1, max_value=100, initial=1)


class OrderForm(Form):
    delivery = forms.ChoiceField(
        label=_("Leverans till"), choices=Order.Delivery.choices, initial=Order.Delivery.PATIENT
    )
    street = forms.CharField(label=_("Gatuadress"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postnummer"), max_length=6, required=False)
    city = forms.CharField(label=_("Postort"), max_length=100, required=False)
    contact_name = forms.CharField(label=_("Kontaktperson"), max_length=120, required=False)
    contact_phone = forms.CharField(label=_("Kontakttelefon"), max_length=30, required=False)
    note = forms.CharField(
        label=_("Meddelande till Hjälpmedelsservice"), max_length=300, required=False
    )
    urgent = forms.BooleanField(
        label=_("Akut leverans inom 24 timmar (avgift tillkommer)"), required=False
    )
    goal = forms.CharField(
        label=_("Mål med hjälpmedlet"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    follow_up_on = forms.DateField(label=_("Uppföljning"), required=False, widget=DATE)
    short_term_until = forms.DateField(
        label=_("Korttidslån till och med"), required=False, widget=DATE
    )
    # Asked for only when the order would go over LYFTA_MAX_PER_ISO_CLASS (the page says so).
    over_limit_reason = forms.CharField(
        label=_("Skäl till att patienten behöver fler av samma slag"),
        max_length=200,
        required=False,
    )


class TemplateForm(Form):
    name = forms.CharField(label=_("Mallens namn"), max_length=120)


class ReasonForm(Form):
    reason = forms.CharField(label=_("Skäl"), max_length=200)


class PickupForm(Form):
    loans = forms.MultipleChoiceField(
        label=_("Hjälpmedel att hämta"), widget=forms.CheckboxSelectMultiple
    )
    street = forms.CharField(label=_("Annan gatuadress"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postnummer"), max_length=6, required=False)
    city = forms.CharField(label=_("Postort"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("Kontakttelefon"), max_length=30, required=False)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        loans = self.fields["loans"]
        assert isinstance(loans, forms.MultipleChoiceField)  # noqa: S101 - declared above
        loans.choices = choices


class LossForm(Form):
    lost_on = forms.DateField(label=_("Förkommen den"), widget=DATE)
    circumstances = forms.CharField(
        label=_("Vad hände?"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )
    negligence = forms.BooleanField(label=_("Vårdslöshet har konstaterats"), required=False)
    charge = forms.ChoiceField(
        label=_("Restvärdet debiteras"),
        choices=LossReport.Charge.choices,
        initial=LossReport.Charge.NONE,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lost_on"].initial = timezone.localdate()


class WithdrawForm(Form):
    store = forms.ModelChoiceField(label=_("Buffertförråd"), queryset=StockLocation.objects.none())
    article = forms.CharField(label=_("Artikelnummer"), max_length=20)
    individual_number = forms.CharField(
        label=_("Individnummer (för individmärkta)"), max_length=20, required=False
    )
    quantity = forms.IntegerField(label=_("Antal"), min_value=1, max_value=100, initial=1)
    taken_on = forms.DateField(label=_("Uttaget den"), widget=DATE)

    def __init__(self, *args: Any, stores: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        store = self.fields["store"]
        assert isinstance(store, forms.ModelChoiceField)  # noqa: S101 - declared above
        store.queryset = stores
        self.fields["taken_on"].initial = timezone.localdate()

    def clean_taken_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["taken_on"]
        return value


class ReturnLetterForm(Form):
    """Which letter asking for devices back: a short-term loan has ended, a follow-up found
    the need gone, or (to the estate) the patient has died; one loan, or all of them."""

    REASONS = [
        ("korttid", _("Korttidslånet har upphört")),
        ("behov", _("Behovet har upphört")),
        ("dodsbo", _("Till dödsboet")),
    ]

    skal = forms.ChoiceField(
        label=_("Skäl"),
        choices=REASONS,
        error_messages={
            "required": _("Välj vilket brev som ska skrivas ut."),
            "invalid_choice": _("Välj vilket brev som ska skrivas ut."),
        },
    )
    lan = forms.IntegerField(
        label=_("Utlåning"),
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"invalid": _("Välj en utlåning i innehavet.")},
    )
