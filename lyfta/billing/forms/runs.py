"""Forms of the run pages: a month to run, a correction of a locked line, the billed-lines
search."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from lyfta.billing.models import Customer
from lyfta.core.forms import Form

_MONTH = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})$")


class MonthForm(Form):
    """The month to bill, as ÅÅÅÅ-MM (the browser's month picker sends that)."""

    month = forms.CharField(
        label=_("Månad"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "ÅÅÅÅ-MM"}),
    )
    number_fields: ClassVar[frozenset[str]] = frozenset({"month"})

    def clean_month(self) -> dt.date:
        value = self.cleaned_data["month"].strip()
        match = _MONTH.match(value)
        if not match:
            raise ValidationError(_("Skriv månaden som ÅÅÅÅ-MM, till exempel 2025-01."))
        year, month = int(match["year"]), int(match["month"])
        if not 1 <= month <= 12 or not 2000 <= year <= 2199:
            raise ValidationError(_("Ange en månad mellan 2000-01 och 2199-12."))
        return dt.date(year, month, 1)


class CorrectionForm(Form):
    """A correction of a locked line: the reason, and the right amount if it is not zero."""

    reason = forms.CharField(label=_("Skäl till rättelsen"), max_length=200)
    new_amount = forms.DecimalField(
        label=_("Rätt belopp (kr)"),
        required=False,
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("-99999999.99"),
        max_value=Decimal("99999999.99"),
        help_text=_("Lämna tomt om raden bara ska krediteras."),
    )


class LineSearchForm(Form):
    """The billed-lines search: by customer, by device, or by a patient's number."""

    kund = forms.ModelChoiceField(
        label=_("Kund"),
        queryset=Customer.objects.select_related("provider").order_by("customer_number"),
        required=False,
        error_messages={"invalid_choice": _("Välj en kund i listan.")},
    )
    individ = forms.CharField(label=_("Individnummer"), max_length=20, required=False)
    personnummer = forms.CharField(
        label=_("Patientens personnummer"),
        max_length=20,
        required=False,
        help_text=_(
            "Sökningen loggas som en läsning av patientens uppgifter. Namn och nummer visas inte."
        ),
    )
    number_fields: ClassVar[frozenset[str]] = frozenset({"individ", "personnummer"})

    def clean_personnummer(self) -> str:
        from lyfta.patients.identifiers import parse

        raw = self.cleaned_data.get("personnummer", "").strip()
        if not raw:
            return ""
        return parse(raw).value
