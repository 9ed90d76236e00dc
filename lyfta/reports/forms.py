"""A figure's filters (issue 17 point 1): period in months, grouping, provider, unit, product
area, ISO class, article (by article number) and supplier. Every field is optional; the period
defaults to the last twelve months. Choices are limited to the actor's statistics scope: a
provider or unit outside it is an invalid choice, never a query."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.access.statistics import StatisticsScope
from lyfta.catalogue.models import Article, IsoClass, Supplier
from lyfta.core.forms import Form
from lyfta.organisations.models import CareProvider, Unit
from lyfta.reports.figures import GROUPINGS, Figure
from lyfta.reports.models import PersonCount
from lyfta.reports.selectors import Filters

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# The longest period: ten years of months.
LONGEST_MONTHS = 120


def _month_add(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


class MonthField(forms.Field):
    """A month as YYYY-MM (the browser's month input), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "ÅÅÅÅ-MM"})

    def to_python(self, value: Any) -> dt.date | None:
        text = str(value or "").strip()
        if not text:
            return None
        found = MONTH.match(text)
        if not found or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
            raise forms.ValidationError(_("Ange månaden som ÅÅÅÅ-MM, till exempel 2026-03."))
        return dt.date(int(found[1]), int(found[2]), 1)


class FigureForm(Form):
    fran = MonthField(label=_("Från och med månad"), required=False)
    till = MonthField(label=_("Till och med månad"), required=False)
    grupp = forms.ChoiceField(
        label=_("Dela upp per"),
        required=False,
        error_messages={"invalid_choice": _("Välj en uppdelning i listan.")},
    )
    slag = forms.ChoiceField(
        label=_("Personer"),
        required=False,
        choices=PersonCount.Kind.choices,
        error_messages={"invalid_choice": _("Välj i listan.")},
    )
    huvudman = forms.TypedChoiceField(
        label=_("Huvudman"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Välj en huvudman i listan.")},
    )
    enhet = forms.TypedChoiceField(
        label=_("Enhet"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Välj en enhet i listan.")},
    )
    omrade = forms.ChoiceField(
        label=_("Produktområde"),
        required=False,
        error_messages={"invalid_choice": _("Välj ett produktområde i listan.")},
    )
    iso = forms.ChoiceField(
        label=_("ISO-klass"),
        required=False,
        error_messages={"invalid_choice": _("Välj en ISO-klass i listan.")},
    )
    artikel = forms.CharField(label=_("Artikelnummer"), required=False, max_length=40)
    leverantor = forms.TypedChoiceField(
        label=_("Leverantör"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Välj en leverantör i listan.")},
    )

    def __init__(self, *args: Any, figure: Figure, scope: StatisticsScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.figure = figure
        providers = CareProvider.objects.order_by("name")
        units = Unit.objects.select_related("provider").order_by("provider__name", "name")
        if scope.providers is not None:
            providers = providers.filter(pk__in=scope.providers)
            units = units.filter(provider__in=scope.providers)
        every = [("", _("Alla"))]
        self.fields["huvudman"].choices = every + list(providers.values_list("pk", "name"))  # type: ignore[attr-defined]
        self.fields["enhet"].choices = every + [  # type: ignore[attr-defined]
            (u.pk, f"{u.name} ({u.provider.short_name})") for u in units
        ]
        classes = IsoClass.objects.order_by("code")
        self.fields["omrade"].choices = every + [  # type: ignore[attr-defined]
            (c, f"{c} {n}") for c, n in classes.filter(level=1).values_list("code", "name")
        ]
        self.fields["iso"].choices = every + [  # type: ignore[attr-defined]
            (c, f"{c} {n}") for c, n in classes.filter(level=2).values_list("code", "name")
        ]
        self.fields["leverantor"].choices = every + list(  # type: ignore[attr-defined]
            Supplier.objects.order_by("name").values_list("pk", "name")
        )
        self.fields["grupp"].choices = [(g, GROUPINGS[g]) for g in figure.groupings]  # type: ignore[attr-defined]
        if figure.kind != "facts":
            # The yearly tables count a year (its end, or today): only the year is asked, as a
            # month in it, so that a report's link (with its period) opens the right year.
            for name in ("fran", "grupp", "omrade", "artikel", "leverantor"):
                del self.fields[name]
            self.fields["till"].label = _("År")
            self.fields["till"].help_text = _("Välj en månad i året. Tabellen gäller hela året.")
            if figure.kind == "population":
                for name in ("huvudman", "enhet", "iso", "slag"):
                    del self.fields[name]
        else:
            del self.fields["slag"]

    def clean_artikel(self) -> int | None:
        number = (self.cleaned_data.get("artikel") or "").strip()
        if not number:
            return None
        found = Article.objects.filter(article_number=number).values_list("pk", flat=True).first()
        if found is None:
            raise forms.ValidationError(_("Det finns ingen artikel med det numret."))
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        current = timezone.localdate().replace(day=1)
        last = data.get("till") or current
        first = data.get("fran") or _month_add(last, -11)
        if first > last:
            self.add_error("fran", _("Perioden måste börja före eller samma månad som den slutar."))
        elif _month_add(first, LONGEST_MONTHS) <= last:
            self.add_error("fran", _("Välj en period på högst tio år."))
        if last > current:
            self.add_error("till", _("Perioden kan inte sluta i en kommande månad."))
        data["fran"], data["till"] = first, last
        # A field left blank shows the month counted (the default), not an empty month.
        blank = [(k, v) for k, v in (("fran", first), ("till", last)) if not self.data.get(k)]
        if blank:
            shown = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
            for key, month in blank:
                shown[key] = f"{month:%Y-%m}"
            self.data = shown
        group = data.get("grupp") or ""
        if group in ("sex", "age") and data.get("enhet"):
            self.add_error(
                "grupp",
                _(
                    "Uppdelning på kön och ålder visas per huvudman och för hela länet. Per "
                    "enhet finns den i tabellen över förskrivna hjälpmedel per ISO-klass, kön "
                    "och ålder, där små grupper döljs."
                ),
            )
        return data

    def filters(self) -> Filters:
        """The cleaned filters (call only when the form is valid)."""
        data = self.cleaned_data
        return Filters(
            first=data["fran"],
            last=data["till"],
            group=data.get("grupp") or "",
            provider=data.get("huvudman"),
            unit=data.get("enhet"),
            area=data.get("omrade") or "",
            iso=data.get("iso") or "",
            article=data.get("artikel"),
            supplier=data.get("leverantor"),
            kind=data.get("slag") or PersonCount.Kind.ON_LOAN,
            article_number=(self.data.get("artikel") or "").strip() if data.get("artikel") else "",
        )
