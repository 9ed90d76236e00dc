"""Forms of the log review pages. Messages in Swedish."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from lyfta.access.actor import Actor
from lyfta.accounts.models import User
from lyfta.audit.actions import Action
from lyfta.audit.models import LogExtractRequest, Outcome, Verdict
from lyfta.core.forms import Form
from lyfta.organisations.models import Unit
from lyfta.patients import identifiers
from lyfta.patients.models import Patient

DATE = forms.DateInput(attrs={"type": "date"})


class QuickSelect(forms.Select):
    """A select of many options (every kind of event, every unit of a provider) written out in
    Python: Django renders each option through a template of its own, which made the search
    form cost the log-search page more than its queries (issue 19). The same markup."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = [
            format_html(
                '<option value="{}"{}>{}</option>',
                option["value"] if option["value"] is not None else "",
                flatatt(option["attrs"]),
                option["label"],
            )
            for _group, choices, _index in widget["optgroups"]
            for option in choices
        ]
        return format_html(
            '<select name="{}"{}>\n{}\n</select>',
            widget["name"],
            flatatt(widget["attrs"]),
            mark_safe("\n".join(options)),  # noqa: S308 - each option made by format_html
        )


class PeriodForm(Form):
    period_from = forms.DateField(label=_("Från"), widget=DATE)
    period_until = forms.DateField(label=_("Till och med"), widget=DATE)

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["period_from"].initial = today - dt.timedelta(days=30)
        self.fields["period_until"].initial = today
        if "unit" in self.fields and units is not None:
            unit_field = self.fields["unit"]
            if isinstance(unit_field, forms.ModelChoiceField):
                unit_field.queryset = units

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_from"), data.get("period_until")
        if start and end and end < start:
            self.add_error("period_until", _("Periodens slut kan inte vara före dess början."))
        if start and end and (end - start).days > 3660:
            self.add_error("period_until", _("Välj en period på högst tio år."))
        return data


class SearchForm(PeriodForm):
    patient = forms.CharField(label=_("Patientens nummer"), max_length=20, required=False)
    user = forms.CharField(label=_("Användarnamn"), max_length=150, required=False)
    unit = forms.ModelChoiceField(
        label=_("Enhet"), queryset=Unit.objects.none(), required=False, widget=QuickSelect
    )
    action = forms.ChoiceField(
        label=_("Händelse"),
        choices=[("", _("Alla")), *Action.choices],
        required=False,
        widget=QuickSelect,
    )
    outcome = forms.ChoiceField(
        label=_("Utfall"), choices=[("", _("Alla")), *Outcome.choices], required=False
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def clean_patient(self) -> Patient | None:
        from lyfta.logreview.review import review_patient

        text = self.cleaned_data.get("patient") or ""
        if not text:
            return None
        # One of the reviewer's provider's patients, else the same answer whether the number is
        # in Lyfta or not (review.review_patient).
        return review_patient(actor=self.actor, identifier=identifiers.parse(text).value)

    def clean_user(self) -> User | None:
        text = self.cleaned_data.get("user") or ""
        if not text:
            return None
        user = User.objects.filter(username=text).first()
        if user is None:
            raise forms.ValidationError(_("Det finns ingen användare med det användarnamnet."))
        return user


class SampleForm(PeriodForm):
    unit = forms.ModelChoiceField(label=_("Enhet"), queryset=Unit.objects.none())
    size = forms.IntegerField(
        label=_("Antal logghändelser"), min_value=5, max_value=200, initial=25
    )


class VerdictForm(Form):
    verdict = forms.ChoiceField(label=_("Bedömning"), choices=Verdict.choices)
    follow_up = forms.CharField(label=_("Uppföljning"), max_length=300, required=False)


class CloseForm(Form):
    conclusion = forms.CharField(
        label=_("Slutsats och uppföljning"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ScheduleForm(Form):
    interval_days = forms.IntegerField(label=_("Intervall i dagar"), min_value=7, max_value=366)


class ExtractForm(PeriodForm):
    patient = forms.CharField(label=_("Patientens nummer"), max_length=20)
    kind = forms.ChoiceField(label=_("Typ av begäran"), choices=LogExtractRequest.Kind.choices)
    requested_at = forms.DateField(label=_("Begäran mottagen"), widget=DATE)
    requester = forms.CharField(label=_("Begärd av"), max_length=200, required=False)
    secrecy_reviewed = forms.BooleanField(
        label=_("Sekretessprövning gjord (gäller begäran om allmän handling)"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requested_at"].initial = timezone.localdate()
        self.fields["period_from"].initial = timezone.localdate() - dt.timedelta(days=365)

    def clean_patient(self) -> Patient:
        from lyfta.logreview.review import NO_SUCH_PATIENT

        value = identifiers.parse(self.cleaned_data.get("patient") or "").value
        patient = Patient.objects.filter(identifier=value).first()
        if patient is None:
            # The same words as for another provider's patient (review.extract_register).
            raise forms.ValidationError(NO_SUCH_PATIENT)
        return patient
