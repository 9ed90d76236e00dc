"""Forms of sign-in, self-service and user administration. Messages in Swedish."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from personnummer import personnummer as pnr_lib

from lyfta.access.roles import API_CLIENT_ROLES, Purpose, Role
from lyfta.accounts.models import ApiScope, RecertificationDecision, User
from lyfta.core.forms import Form, ModelForm
from lyfta.core.text import non_ascii_digits
from lyfta.organisations.models import Unit


class LoginForm(Form):
    # Whatever was typed is an attempt: it is recorded (R22, escaped for the log, R71) and gets
    # the one answer for every failure (R21), not a message of its own.
    edge_exempt = frozenset({"username"})

    username = forms.CharField(label=_("Användarnamn"), max_length=150)
    # No max on purpose beyond the policy's 256 (R14): an over-long paste simply fails to match.
    password = forms.CharField(
        label=_("Lösenord"), strip=False, max_length=1024, widget=forms.PasswordInput
    )


class CodeForm(Form):
    code = forms.RegexField(
        label=_("Engångskod"),
        regex=r"^\s*[0-9]{6}\s*$",
        error_messages={"invalid": _("Skriv de sex siffrorna från din autentiseringsapp.")},
    )

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip()


class PasswordChangeForm(Form):
    current = forms.CharField(
        label=_("Nuvarande lösenord"), strip=False, max_length=1024, widget=forms.PasswordInput
    )
    new = forms.CharField(
        label=_("Nytt lösenord"), strip=False, max_length=1024, widget=forms.PasswordInput
    )
    repeat = forms.CharField(
        label=_("Upprepa det nya lösenordet"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new") and data.get("repeat") and data["new"] != data["repeat"]:
            self.add_error("repeat", _("Lösenorden är inte likadana."))
        return data


class PasswordSetForm(Form):
    new = forms.CharField(
        label=_("Nytt lösenord"), strip=False, max_length=1024, widget=forms.PasswordInput
    )
    repeat = forms.CharField(
        label=_("Upprepa lösenordet"), strip=False, max_length=1024, widget=forms.PasswordInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new") and data.get("repeat") and data["new"] != data["repeat"]:
            self.add_error("repeat", _("Lösenorden är inte likadana."))
        return data


class ReauthForm(Form):
    password = forms.CharField(
        label=_("Lösenord"), strip=False, max_length=1024, widget=forms.PasswordInput
    )
    code = forms.CharField(label=_("Engångskod"), max_length=8)

    def __init__(self, *args: Any, needs_code: bool, **kwargs: Any) -> None:
        """The one-time code is asked for only from users with a second factor, and from them
        it is required: never an optional-looking field for something that must be given."""
        super().__init__(*args, **kwargs)
        if not needs_code:
            del self.fields["code"]


def normalise_personnummer(value: str, *, today: dt.date | None = None) -> str:
    """YYYYMMDDNNNN from any accepted form, or a Swedish ValidationError. Digits 0–9 only (the
    library takes fullwidth digits and would store them), and no birth date ahead of today."""
    if non_ascii_digits(value):
        raise forms.ValidationError(
            _(
                "Personnumret innehåller siffror av ett annat slag än 0–9 (till exempel breda "
                "siffror). Skriv det med vanliga siffror."
            )
        )
    try:
        parsed = pnr_lib.Personnummer(value.strip())
    except (pnr_lib.PersonnummerException, ValueError) as error:
        raise forms.ValidationError(
            _(
                "Personnumret är inte giltigt. Skriv det som ÅÅÅÅMMDD-NNNN och kontrollera datum "
                "och kontrollsiffra."
            )
        ) from error
    if parsed.is_coordination_number():
        raise forms.ValidationError(
            _("Ange personnummer, inte samordningsnummer, för en användare.")
        )
    if parsed.get_date() > (today or timezone.localdate()):
        raise forms.ValidationError(_("Födelsedatumet i personnumret ligger i framtiden."))
    return str(parsed.format(True))


class UserForm(ModelForm):
    # Any of the usual forms is accepted and stored as 12 digits.
    personnummer = forms.CharField(
        label=_("Personnummer"), max_length=20, help_text=_("ÅÅÅÅMMDD-NNNN")
    )

    class Meta:
        model = User
        fields = [
            "first_name",
            "last_name",
            "personnummer",
            "username",
            "hsa_id",
            "title",
            "workplace",
            "email",
            "phone",
            "valid_from",
            "valid_until",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {"first_name": _("Förnamn"), "last_name": _("Efternamn"), "email": _("E-post")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "personnummer", "username", "title", "workplace"):
            self.fields[name].required = True

    def clean_personnummer(self) -> str:
        return normalise_personnummer(self.cleaned_data["personnummer"] or "")

    def clean_hsa_id(self) -> str | None:
        """Stored as typed but without spaces and in capitals; empty is "none" (no OIDC sign-in)."""
        value = (self.cleaned_data.get("hsa_id") or "").replace(" ", "").upper()
        return value or None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("Slutdatum kan inte vara före startdatum."))
        return data


class AssignmentForm(Form):
    unit = forms.ModelChoiceField(label=_("Enhet"), queryset=Unit.objects.none())
    role = forms.ChoiceField(label=_("Roll"), choices=Role.choices)
    purpose = forms.ChoiceField(
        label=_("Ändamål"), choices=[("", _("Rollens ändamål")), *Purpose.choices], required=False
    )
    valid_from = forms.DateField(
        label=_("Giltigt från"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Giltigt till och med"), widget=forms.DateInput(attrs={"type": "date"})
    )
    decision_reference = forms.CharField(
        label=_("Beslutsreferens"),
        max_length=100,
        help_text=_("Diarienummer eller delegationsbeslut."),
    )

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field = self.fields["unit"]
        if isinstance(unit_field, forms.ModelChoiceField):
            unit_field.queryset = units if units is not None else Unit.objects.none()
        self.fields["valid_from"].initial = timezone.localdate()


class ApiClientForm(Form):
    """A machine client of the API (issue 18): who it is, where it acts and what it may do."""

    name = forms.CharField(
        label=_("Namn"),
        max_length=100,
        help_text=_("Systemet som anropar, t.ex. Treserva Testköpings kommun."),
    )
    description = forms.CharField(label=_("Beskrivning"), max_length=300, required=False)
    unit = forms.ModelChoiceField(
        label=_("Enhet"),
        queryset=Unit.objects.none(),
        help_text=_("Klienten ser patienter med vårdrelation till enheten, som en anställd där."),
    )
    role = forms.ChoiceField(label=_("Roll"), choices=[])
    purpose = forms.ChoiceField(
        label=_("Ändamål"), choices=[("", _("Rollens ändamål")), *Purpose.choices], required=False
    )
    scopes = forms.MultipleChoiceField(
        label=_("Behörigheter"), choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple
    )
    expires_on = forms.DateField(
        label=_("Gäller till och med"), widget=forms.DateInput(attrs={"type": "date"})
    )
    rate_limit = forms.IntegerField(
        label=_("Anrop per minut"), min_value=1, max_value=10_000, initial=120
    )
    decision_reference = forms.CharField(
        label=_("Beslutsreferens"),
        max_length=100,
        help_text=_("Diarienummer eller beslut om anslutningen."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field = self.fields["unit"]
        if isinstance(unit_field, forms.ModelChoiceField):
            unit_field.queryset = Unit.objects.filter(active=True).select_related("provider")
        role_field = self.fields["role"]
        if isinstance(role_field, forms.ChoiceField):
            role_field.choices = [(r, Role(r).label) for r in API_CLIENT_ROLES]
        self.fields["rate_limit"].initial = settings.LYFTA_API_RATE_LIMIT


class ExtendForm(Form):
    valid_until = forms.DateField(
        label=_("Nytt slutdatum"), widget=forms.DateInput(attrs={"type": "date"})
    )
    decision_reference = forms.CharField(label=_("Beslutsreferens"), max_length=100)


class ReasonForm(Form):
    reason = forms.CharField(label=_("Skäl"), max_length=200)


class RecertificationForm(Form):
    outcome = forms.ChoiceField(label=_("Beslut"), choices=RecertificationDecision.Outcome.choices)
    note = forms.CharField(label=_("Kommentar"), max_length=300, required=False)


def date_or_none(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
