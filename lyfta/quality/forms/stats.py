"""The failure statistics' filters (issue 15 point 5): period, grouping, kind of deviation and
ISO class. Every field is optional; what is missing takes its default (the last twelve months,
per article, every kind, every class)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.catalogue.models import IsoClass
from lyfta.core.forms import Form
from lyfta.quality.models import Deviation

GROUP_CHOICES = [
    ("article", _("Artikel")),
    ("supplier", _("Leverantör")),
    ("lot", _("Batch/lot")),
    ("unit", _("Innehavande enhet")),
]
# The longest period the page counts over: ten years of months on one chart.
LONGEST_DAYS = 3660


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months up to and including today."""
    try:
        start = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28)
    return start + dt.timedelta(days=1), today


class StatsForm(Form):
    fran = forms.DateField(
        label=_("Från och med"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Ange datumet som ÅÅÅÅ-MM-DD.")},
    )
    till = forms.DateField(
        label=_("Till och med"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Ange datumet som ÅÅÅÅ-MM-DD.")},
    )
    gruppera = forms.ChoiceField(
        label=_("Gruppera per"),
        choices=GROUP_CHOICES,
        required=False,
        error_messages={"invalid_choice": _("Välj en gruppering i listan.")},
    )
    typ = forms.ChoiceField(
        label=_("Typ av avvikelse"),
        choices=[("", _("Alla typer"))] + list(Deviation.Kind.choices),
        required=False,
        error_messages={"invalid_choice": _("Välj en typ av avvikelse i listan.")},
    )
    iso = forms.ChoiceField(
        label=_("ISO-klass"),
        required=False,
        error_messages={"invalid_choice": _("Välj en ISO-klass i listan.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        classes = IsoClass.objects.filter(level__lte=2).order_by("code").values_list("code", "name")
        self.fields["iso"].choices = [("", _("Alla klasser"))] + [  # type: ignore[attr-defined]
            (code, f"{code} {name}") for code, name in classes
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = default_period(timezone.localdate())
        since = data.get("fran") or (start if not data.get("till") else None)
        until = data.get("till") or end
        if since is None:
            since, _ignored = default_period(until)
        if not self.has_error("fran") and not self.has_error("till"):
            if since > until:
                self.add_error("till", _("Slutdatumet kan inte vara före startdatumet."))
            elif (until - since).days > LONGEST_DAYS:
                self.add_error("till", _("Välj en period på högst tio år."))
        data["fran"], data["till"] = since, until
        data["gruppera"] = data.get("gruppera") or "article"
        return data
