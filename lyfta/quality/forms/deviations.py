"""Forms of the quality desk's deviations, reports out and supplier complaints. Messages in
Swedish; every form derives from lyfta.core.forms (control characters and invisible-only text
refused at the edge, ISO dates)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.core.forms import Form
from lyfta.quality.models import Complaint, Deviation

DATE = forms.DateInput(attrs={"type": "date"})
AREA = forms.Textarea(attrs={"rows": 4})
REQUIRED = {"required": _("Fyll i fältet.")}
DATE_ERRORS = {"invalid": _("Ange ett datum som ÅÅÅÅ-MM-DD."), **REQUIRED}


def _choices(choices: Any, everything: Any) -> list[tuple[str, Any]]:
    return [("", everything), *((c.value, c.label) for c in choices)]


class FilterForm(Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=_choices(Deviation.Status, _("Alla")), required=False
    )
    typ = forms.ChoiceField(
        label=_("Typ"), choices=_choices(Deviation.Kind, _("Alla")), required=False
    )
    grad = forms.ChoiceField(
        label=_("Allvarlighetsgrad"),
        choices=_choices(Deviation.Severity, _("Alla")),
        required=False,
    )
    sida = forms.IntegerField(min_value=1, max_value=100_000, required=False)


class ComplaintFilterForm(Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=_choices(Complaint.Status, _("Alla")), required=False
    )
    sida = forms.IntegerField(min_value=1, max_value=100_000, required=False)


class DeviationForm(Form):
    """What the reporter tells: kind, what happened and its consequence, how serious, what was
    done at once, the device (a line of the order or pick-up where there are several), when, and
    a wish; optionally the device out of use at once."""

    kind = forms.ChoiceField(
        label=_("Typ av avvikelse"),
        choices=[(k.value, k.label) for k in Deviation.Kind],
        error_messages={"invalid_choice": _("Välj en typ av avvikelse."), **REQUIRED},
    )
    description = forms.CharField(
        label=_("Vad hände?"), max_length=4000, widget=AREA, error_messages=REQUIRED
    )
    consequence = forms.CharField(
        label=_("Konsekvens för patienten"), max_length=2000, widget=AREA, required=False
    )
    severity = forms.ChoiceField(
        label=_("Allvarlighetsgrad"),
        choices=[(s.value, s.label) for s in Deviation.Severity],
        initial=Deviation.Severity.NONE,
        error_messages={"invalid_choice": _("Välj en allvarlighetsgrad."), **REQUIRED},
    )
    immediate_action = forms.CharField(
        label=_("Omedelbar åtgärd"), max_length=2000, widget=AREA, required=False
    )
    line = forms.ChoiceField(label=_("Hjälpmedel"), required=False)
    lot = forms.CharField(label=_("Batch/lot"), max_length=60, required=False)
    occurred_on = forms.DateField(label=_("Inträffade"), widget=DATE, error_messages=DATE_ERRORS)
    wish = forms.CharField(label=_("Önskemål"), max_length=300, required=False)
    quarantine = forms.BooleanField(
        label=_("Ta ur bruk direkt (spärra hjälpmedlet)"), required=False
    )

    def __init__(
        self,
        *args: Any,
        lines: list[tuple[str, str]] | None = None,
        may_quarantine: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {}).setdefault("occurred_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        if lines:
            line = self.fields["line"]
            assert isinstance(line, forms.ChoiceField)  # noqa: S101 - declared so above
            line.choices = [("", _("Inget särskilt")), *lines]
        else:
            del self.fields["line"]
        if not may_quarantine:
            del self.fields["quarantine"]

    def clean_occurred_on(self) -> Any:
        day = self.cleaned_data["occurred_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("Händelsen kan inte ha inträffat i framtiden."))
        return day


class InvestigateForm(Form):
    analysis = forms.CharField(
        label=_("Utredning och analys"), max_length=8000, widget=AREA, required=False
    )


class DecideForm(Form):
    analysis = forms.CharField(
        label=_("Utredning och analys"), max_length=8000, widget=AREA, error_messages=REQUIRED
    )
    measures = forms.CharField(
        label=_("Åtgärder"), max_length=4000, widget=AREA, error_messages=REQUIRED
    )
    decision = forms.CharField(
        label=_("Beslut"), max_length=4000, widget=AREA, error_messages=REQUIRED
    )
    device_fine = forms.BooleanField(label=_("Produkten är felfri: häv spärren"), required=False)


class IdentityForm(Form):
    reason = forms.CharField(
        label=_("Varför behöver ärendet patientens identitet?"),
        max_length=300,
        min_length=10,
        error_messages={
            "min_length": _("Beskriv skälet med minst tio tecken."),
            **REQUIRED,
        },
    )


class IncidentForm(Form):
    serious_threat = forms.BooleanField(
        label=_("Allvarligt hot mot folkhälsan (anmäls inom 2 dagar)"), required=False
    )


class SentForm(Form):
    sent_on = forms.DateField(label=_("Skickad"), widget=DATE, error_messages=DATE_ERRORS)
    reference = forms.CharField(label=_("Mottagarens referens"), max_length=60, required=False)


class ComplaintForm(Form):
    """A complaint from a deviation: the device comes from the deviation."""

    description = forms.CharField(
        label=_("Vad reklameras?"), max_length=4000, widget=AREA, error_messages=REQUIRED
    )
    delivered_on = forms.DateField(
        label=_("Levererad"), widget=DATE, required=False, error_messages=DATE_ERRORS
    )
    lot = forms.CharField(label=_("Batch/lot"), max_length=60, required=False)

    def clean_delivered_on(self) -> Any:
        day = self.cleaned_data["delivered_on"]
        if day is None:
            return day
        if day > timezone.localdate():
            raise forms.ValidationError(_("Leveransdatumet kan inte vara i framtiden."))
        # A device in use was delivered within its life: a date decades back is a typing error.
        if day < timezone.localdate() - dt.timedelta(days=365 * 30):
            raise forms.ValidationError(_("Ange leveransdatumet, högst 30 år tillbaka."))
        return day


class NewComplaintForm(ComplaintForm):
    """A complaint on its own: the article by its number, and the item if there is one."""

    article_number = forms.CharField(
        label=_("Artikelnummer"), max_length=20, error_messages=REQUIRED
    )
    individual_number = forms.CharField(label=_("Individnummer"), max_length=20, required=False)
    number_fields = frozenset({"article_number"})

    field_order = ["article_number", "individual_number", "lot", "delivered_on", "description"]


class ComplaintUpdateForm(Form):
    sent_on = forms.DateField(
        label=_("Skickad till leverantören"),
        widget=DATE,
        required=False,
        error_messages=DATE_ERRORS,
    )
    supplier_reference = forms.CharField(
        label=_("Leverantörens referens"), max_length=60, required=False
    )
    answer = forms.CharField(
        label=_("Leverantörens svar"), max_length=4000, widget=AREA, required=False
    )
    answered_on = forms.DateField(
        label=_("Besvarad"), widget=DATE, required=False, error_messages=DATE_ERRORS
    )
    outcome = forms.ChoiceField(
        label=_("Utfall"),
        choices=_choices(Complaint.Outcome, _("Inget ännu")),
        required=False,
        error_messages={"invalid_choice": _("Välj ett utfall.")},
    )
    credit_amount = forms.DecimalField(
        label=_("Krediterat belopp (kr)"),
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        required=False,
        error_messages={
            "invalid": _("Ange krediteringen i kronor."),
            "min_value": _("Krediteringen ska vara ett belopp från 0 kronor."),
            "max_digits": _("Krediteringen är för stor."),
            "max_decimal_places": _("Ange högst två decimaler."),
            "max_whole_digits": _("Krediteringen är för stor."),
        },
    )
