"""Forms of the technicians' desk. Messages in Swedish; every form derives from lyfta.core.forms
(control characters refused at the edge)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.accounts.models import User
from lyfta.core.forms import Form
from lyfta.inventory.models import StockLocation
from lyfta.workorders.models import Team, WorkOrder

DATE = forms.DateInput(attrs={"type": "date"})
K, P = WorkOrder.Kind, WorkOrder.Place
AREA = r"^[0-9]{3}$"

# What a unit asks for from the holdings; inspections, maintenance and reconditioning come from
# the plans and the centre.
UNIT_KINDS = [
    (k.value, k.label)
    for k in (
        K.REPAIR,
        K.ADAPTATION,
        K.SPECIAL_ADAPTATION,
        K.TRIAL,
        K.INSTALLATION,
        K.OFF_CATALOGUE,
    )
]
CENTRE_KINDS = [
    *UNIT_KINDS,
    *((k.value, k.label) for k in (K.INSPECTION, K.MAINTENANCE, K.RECONDITIONING)),
]


class QueueForm(Form):
    vy = forms.ChoiceField(
        label=_("Visa"),
        choices=[("mina", _("Mina")), ("teamets", _("Teamets"))],
        required=False,
    )
    omrade = forms.RegexField(
        label=_("Område (postnummer, 3 siffror)"),
        regex=AREA,
        max_length=3,
        required=False,
        error_messages={"invalid": _("Ange området som tre siffror, t.ex. 652.")},
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Alla öppna"))] + [(s.value, s.label) for s in WorkOrder.OPEN],
        required=False,
    )
    sida = forms.IntegerField(min_value=1, max_value=100_000, required=False)
    number_fields = frozenset({"omrade"})


class PageForm(Form):
    sida = forms.IntegerField(min_value=1, max_value=100_000, required=False)


class NewWorkOrderForm(Form):
    kind = forms.ChoiceField(label=_("Typ av arbete"), choices=UNIT_KINDS, initial=K.REPAIR)
    description = forms.CharField(
        label=_("Beskriv felet eller behovet"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    place = forms.ChoiceField(
        label=_("Var ska arbetet göras?"),
        choices=[(P.HOME.value, P.HOME.label), (P.UNIT.value, P.UNIT.label)]
        + [(P.WORKSHOP.value, P.WORKSHOP.label)],
        initial=P.HOME,
    )
    priority = forms.ChoiceField(
        label=_("Prioritet"), choices=WorkOrder.Priority.choices, initial=WorkOrder.Priority.NORMAL
    )
    contact_phone = forms.CharField(label=_("Kontakttelefon"), max_length=30, required=False)

    def __init__(self, *args: Any, centre: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if centre:
            kind = self.fields["kind"]
            assert isinstance(kind, forms.ChoiceField)  # noqa: S101 - declared above
            kind.choices = CENTRE_KINDS


class PlanForm(Form):
    assignee = forms.ModelChoiceField(
        label=_("Tekniker"), queryset=User.objects.none(), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    planned_on = forms.DateField(label=_("Planerad dag"), required=False, widget=DATE)

    def __init__(self, *args: Any, technicians: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee, team = self.fields["assignee"], self.fields["team"]
        assert isinstance(assignee, forms.ModelChoiceField)  # noqa: S101
        assert isinstance(team, forms.ModelChoiceField)  # noqa: S101
        assignee.queryset = technicians
        assignee.label_from_instance = lambda user: user.display_name  # type: ignore[method-assign,assignment]
        team.queryset = teams
        self.fields["planned_on"].initial = timezone.localdate()


class NoteForm(Form):
    note = forms.CharField(label=_("Vad väntar arbetet på?"), max_length=200)


class ReportForm(Form):
    findings = forms.CharField(
        label=_("Felbeskrivning efter undersökning"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    actions = forms.CharField(
        label=_("Åtgärder"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    minutes_spent = forms.IntegerField(
        label=_("Arbetstid (minuter)"), min_value=0, max_value=6000, initial=0
    )
    billable = forms.BooleanField(label=_("Debiteras utöver hyran"), required=False)


class PartForm(Form):
    article = forms.CharField(label=_("Artikelnummer"), max_length=20)
    quantity = forms.IntegerField(label=_("Antal"), min_value=1, max_value=100, initial=1)
    location = forms.ModelChoiceField(label=_("Ur lager"), queryset=StockLocation.objects.none())
    # A fresh key each time the form is shown: a second post of the same form is recognised.
    form_key = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["form_key"].initial = secrets.token_hex(16)
        location = self.fields["location"]
        assert isinstance(location, forms.ModelChoiceField)  # noqa: S101
        location.queryset = locations
        first = locations.first()
        if first is not None and locations.count() == 1:
            location.initial = first.pk


class ReasonForm(Form):
    reason = forms.CharField(label=_("Skäl till makulering"), max_length=200)


class EstimateForm(Form):
    instruction = forms.CharField(
        label=_("Instruktion"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    risk_analysis = forms.CharField(
        label=_("Riskanalys"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    cost_estimate = forms.DecimalField(
        label=_("Kostnadsförslag (kr)"),
        min_value=Decimal("0"),
        max_value=Decimal("99999999.99"),
        max_digits=10,
        decimal_places=2,
    )


class AttachForm(Form):
    file = forms.FileField(
        label=_("Foto (JPEG, PNG) eller PDF, högst 10 MB"),
        max_length=200,
        allow_empty_file=False,
        error_messages={
            "required": _("Välj en fil att bifoga."),
            "empty": _("Filen är tom."),
            "invalid": _("Välj en fil att bifoga."),
        },
    )
