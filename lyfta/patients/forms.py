"""Forms about patients. Messages in Swedish."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.core.forms import Form, ModelForm
from lyfta.organisations.models import CareProvider
from lyfta.patients import identifiers
from lyfta.patients.models import Block, BlockLift, DocumentedNeed, EmergencyAccess, Patient
from lyfta.patients.services import CONTROL_CHARACTERS, NOTE_CONTROL_MESSAGE, Requester


class IdentifierField(forms.CharField):
    """A personnummer, samordningsnummer or reservnummer, normalised (or a Swedish reason)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Personnummer, samordningsnummer eller reservnummer"))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        return identifiers.parse(text).value if text else ""


class SearchForm(Form):
    q = forms.CharField(label=_("Sök bland enhetens patienter: namn eller nummer"), max_length=60)


class FilterForm(Form):
    q = forms.CharField(
        label=_("Filtrera på namn eller personnummer"), max_length=60, required=False
    )


class LookupForm(Form):
    identifier = IdentifierField()


class NeedForm(Form):
    reason_code = forms.ChoiceField(label=_("Skäl"), choices=DocumentedNeed.Reason.choices)
    reason_text = forms.CharField(
        label=_("Beskriv behovet"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


class EmergencyForm(Form):
    reason_code = forms.ChoiceField(label=_("Skäl"), choices=EmergencyAccess.Reason.choices)
    reason_text = forms.CharField(
        label=_("Beskriv nödsituationen"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )
    patient_cannot_consent = forms.BooleanField(
        label=_("Patienten kan inte ta ställning till samtycke just nu"), required=False
    )
    password = forms.CharField(
        label=_("Ditt lösenord"), strip=False, max_length=1024, widget=forms.PasswordInput
    )
    code = forms.CharField(label=_("Engångskod"), max_length=8)

    def __init__(self, *args: Any, needs_code: bool, **kwargs: Any) -> None:
        """The one-time code only for users with a second factor, and then required."""
        super().__init__(*args, **kwargs)
        if not needs_code:
            del self.fields["code"]


# A Swedish postal code, ASCII digits (a full-width digit is not one): 123 45 or 12345.
POSTAL_CODE = r"^[0-9]{3} ?[0-9]{2}$"
POSTAL_CODE_MESSAGE = _("Skriv postnumret som 123 45.")


class RegisterForm(Form):
    identifier = IdentifierField()
    first_name = forms.CharField(label=_("Förnamn"), max_length=100)
    last_name = forms.CharField(label=_("Efternamn"), max_length=100)
    street = forms.CharField(label=_("Gatuadress"), max_length=200, required=False)
    postal_code = forms.RegexField(
        label=_("Postnummer"),
        regex=POSTAL_CODE,
        required=False,
        error_messages={"invalid": POSTAL_CODE_MESSAGE},
    )
    city = forms.CharField(label=_("Postort"), max_length=100, required=False)
    phone = forms.CharField(label=_("Telefon"), max_length=30, required=False)
    home_municipality = forms.ModelChoiceField(
        label=_("Hemkommun"),
        queryset=CareProvider.objects.filter(kind="municipality"),
        required=False,
    )


class CorrectForm(ModelForm):
    reason = forms.CharField(label=_("Skäl till rättelsen"), max_length=200)

    class Meta:
        model = Patient
        fields = [
            "first_name",
            "last_name",
            "street",
            "postal_code",
            "city",
            "phone",
            "home_municipality",
            "deceased_date",
        ]
        widgets = {"deceased_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, fields_allowed: frozenset[str], **kwargs: Any) -> None:
        """Only the fields the actor's grant lets them correct (R34); the rest are not shown, and
        not taken from the request either."""
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name != "reason" and name not in fields_allowed:
                del self.fields[name]

    def clean_postal_code(self) -> str:
        """As at registration: a corrected postal code is one (the model takes any text)."""
        value = (self.cleaned_data.get("postal_code") or "").strip()
        if value and not re.match(POSTAL_CODE, value):
            raise forms.ValidationError(POSTAL_CODE_MESSAGE)
        return value


class RelationshipForm(Form):
    valid_from = forms.DateField(label=_("Från"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(
        label=_("Till och med"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Skäl"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["valid_from"].initial = timezone.localdate()


class ConsentForm(Form):
    valid_from = forms.DateField(
        label=_("Gäller från"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Gäller till och med"), widget=forms.DateInput(attrs={"type": "date"})
    )
    for_me_only = forms.BooleanField(label=_("Bara för mig (annars hela enheten)"), required=False)
    representative = forms.CharField(
        label=_("Företrädare som lämnade samtycket"), max_length=200, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["valid_from"].initial = today
        self.fields["valid_until"].initial = today + dt.timedelta(days=365)


class BlockForm(Form):
    scope = forms.ChoiceField(label=_("Spärren gäller"), choices=Block.Scope.choices)
    requester_kind = forms.ChoiceField(
        label=_("Begärd av"),
        choices=[
            (Requester.PATIENT, _("Patienten själv")),
            (Requester.REPRESENTATIVE, _("Ombud med fullmakt från patienten")),
            (Requester.GUARDIAN, _("Vårdnadshavare")),
        ],
    )
    requested_by = forms.CharField(label=_("Namn på den som begärde"), max_length=200)
    requested_at = forms.DateField(
        label=_("Begärd den"), widget=forms.DateInput(attrs={"type": "date"})
    )
    info_from = forms.DateField(
        label=_("Uppgifter från"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    info_until = forms.DateField(
        label=_("Uppgifter till och med"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(label=_("Kommentar"), max_length=300, required=False)


class ReasonForm(Form):
    reason = forms.CharField(label=_("Skäl"), max_length=300)


class LiftForm(Form):
    basis = forms.ChoiceField(label=_("Grund"), choices=BlockLift.Basis.choices)
    reason = forms.CharField(label=_("Skäl"), max_length=300)
    hours = forms.IntegerField(label=_("Timmar"), min_value=1, max_value=24, initial=2)


class ProtectionForm(Form):
    protection = forms.ChoiceField(
        label=_("Skyddad identitet"), choices=Patient.Protection.choices, required=False
    )
    source = forms.ChoiceField(
        label=_("Källa"),
        choices=[
            ("manual", _("Manuell registrering")),
            ("navet-01003", _("Navet 01003 sekretessmarkering")),
            ("navet-01020", _("Navet 01020 skyddad folkbokföring")),
        ],
    )
    approved_delivery_address = forms.CharField(
        label=_("Godkänd leveransadress (Skatteverkets förmedlingsadress eller överenskommen)"),
        max_length=300,
        required=False,
    )


class StaffForm(Form):
    username = forms.CharField(label=_("Användarnamn"), max_length=150)


class NamingForm(Form):
    naming = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class EmergencyReviewForm(Form):
    """A log reviewer's verdict on an emergency access in the queue (R52)."""

    emergency = forms.IntegerField(
        min_value=1,
        max_value=2**62,
        error_messages={
            key: _("Välj en nödåtkomst i kön.")
            for key in ("required", "invalid", "min_value", "max_value")
        },
    )
    verdict = forms.ChoiceField(
        label=_("Bedömning"),
        choices=EmergencyAccess.Verdict.choices,
        error_messages={
            "required": _("Välj en bedömning."),
            "invalid_choice": _("Välj en bedömning."),
        },
    )
    note = forms.CharField(
        label=_("Kommentar"),
        required=False,
        strip=True,
        widget=forms.Textarea,
        error_messages={"null_characters_not_allowed": NOTE_CONTROL_MESSAGE},
    )

    def clean_note(self) -> str:
        note: str = self.cleaned_data.get("note") or ""
        if CONTROL_CHARACTERS.search(note):
            raise forms.ValidationError(NOTE_CONTROL_MESSAGE)
        return note
