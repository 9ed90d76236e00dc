"""Forms of the inspection pages: an inspection plan, the due list's filter, the day plan's day
and the inspection protocol. They parse input; the services hold the rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from lyfta.catalogue.models import Article, IsoClass
from lyfta.core.forms import Form
from lyfta.workorders.models import InspectionPlan

INTERVAL_MESSAGE = _("Intervallet ska vara 1–120 månader.")
DATE_MESSAGE = _("Ange dagen som åååå-mm-dd, till exempel 2026-03-02.")


class PlanForm(Form):
    name = forms.CharField(
        label=_("Namn"), max_length=120, error_messages={"required": _("Ange planens namn.")}
    )
    article_number = forms.CharField(
        label=_("Artikelnummer"),
        max_length=30,
        required=False,
        help_text=_("Antingen en artikel eller en ISO-klass."),
    )
    iso_code = forms.CharField(
        label=_("ISO-klass"),
        max_length=20,
        required=False,
        help_text=_("Koden, t.ex. 12 36 (omfattar underklasserna)."),
    )
    interval_months = forms.IntegerField(
        label=_("Intervall (månader)"),
        min_value=1,
        max_value=120,
        error_messages={
            "required": INTERVAL_MESSAGE,
            "invalid": INTERVAL_MESSAGE,
            "min_value": INTERVAL_MESSAGE,
            "max_value": INTERVAL_MESSAGE,
        },
    )
    checklist = forms.CharField(
        label=_("Protokoll"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("En kontrollpunkt per rad."),
        error_messages={"required": _("Protokollet behöver minst en kontrollpunkt.")},
    )
    active = forms.BooleanField(label=_("Aktiv"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set by clean(): the article and class the numbers name.
        self.article: Article | None = None
        self.iso_class: IsoClass | None = None

    @classmethod
    def initial_for(cls, plan: InspectionPlan) -> dict[str, Any]:
        return {
            "name": plan.name,
            "article_number": plan.article.article_number if plan.article else "",
            "iso_code": plan.iso_class.code if plan.iso_class else "",
            "interval_months": plan.interval_months,
            "checklist": "\n".join(plan.checklist),
            "active": plan.active,
        }

    def clean_checklist(self) -> list[str]:
        text: str = self.cleaned_data["checklist"]
        points = [line.strip() for line in text.splitlines() if line.strip()]
        if not points:
            raise forms.ValidationError(_("Protokollet behöver minst en kontrollpunkt."))
        if len(points) > 50:
            raise forms.ValidationError(_("Protokollet får ha högst 50 kontrollpunkter."))
        if any(len(p) > 200 for p in points):
            raise forms.ValidationError(_("En kontrollpunkt får vara högst 200 tecken."))
        return points

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = (data.get("article_number") or "").strip()
        code = " ".join((data.get("iso_code") or "").split())
        if number and code:
            self.add_error("iso_code", _("Ange antingen ett artikelnummer eller en ISO-klass."))
        elif not number and not code and "article_number" not in self.errors:
            self.add_error("article_number", _("En plan gäller en artikel eller en ISO-klass."))
        if number:
            self.article = Article.objects.filter(article_number=number).first()
            if self.article is None:
                self.add_error("article_number", _("Det finns ingen artikel med det numret."))
        if code:
            self.iso_class = IsoClass.objects.filter(code=code).first()
            if self.iso_class is None:
                self.add_error("iso_code", _("Det finns ingen ISO-klass med den koden."))
        return data


class DueForm(Form):
    omrade = forms.RegexField(
        label=_("Område (postnumrets tre första siffror)"),
        regex=r"^[0-9]{3}$",
        max_length=3,
        required=False,
        error_messages={
            "invalid": _("Ange området som postnumrets tre första siffror, till exempel 652.")
        },
    )
    manad = forms.RegexField(
        label=_("Månad"),
        regex=r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$",
        max_length=7,
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-03"}),
        error_messages={"invalid": _("Ange månaden som åååå-mm, till exempel 2026-03.")},
    )
    forsenade = forms.BooleanField(label=_("Ta med försenade"), required=False)

    def month(self, default: dt.date) -> dt.date:
        """The first day of the chosen month (or of `default`'s)."""
        value = self.cleaned_data.get("manad") if self.is_bound else ""
        if value:
            year, month = value.split("-")
            return dt.date(int(year), int(month), 1)
        return default.replace(day=1)


class DayPlanForm(Form):
    dag = forms.DateField(
        label=_("Dag"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_MESSAGE},
    )
    team = forms.BooleanField(label=_("Visa hela teamets"), required=False)


RESULT_CHOICES = [
    ("pass", _("Godkänd")),
    ("fail", _("Underkänd")),
    ("na", _("Ej tillämplig")),
]


class InspectionForm(Form):
    """The plan's checklist: one pass/fail/not applicable choice and a note per point, then the
    condition and the day."""

    condition = forms.CharField(label=_("Skick"), max_length=300, required=False)
    performed_on = forms.DateField(
        label=_("Besiktigad"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_MESSAGE, "required": _("Ange besiktningsdagen.")},
    )

    def __init__(self, *args: Any, checklist: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checklist = checklist
        for index, point in enumerate(checklist):
            self.fields[f"point_{index}"] = forms.ChoiceField(
                label=point,
                choices=RESULT_CHOICES,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Ange godkänd, underkänd eller ej tillämplig."),
                    "invalid_choice": _("Ange godkänd, underkänd eller ej tillämplig."),
                },
            )
            self.fields[f"note_{index}"] = forms.CharField(
                label=_("Anteckning"), max_length=300, required=False
            )
        # Condition and date last on the page.
        self.order_fields([*(f for f in self.fields if f.startswith(("point_", "note_")))])

    def points(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"point_{i}"], self[f"note_{i}"]) for i in range(len(self.checklist))]

    def results(self) -> list[tuple[str, str, str]]:
        data = self.cleaned_data
        return [
            (point, data[f"point_{i}"], data.get(f"note_{i}") or "")
            for i, point in enumerate(self.checklist)
        ]
