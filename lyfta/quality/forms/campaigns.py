"""Forms of the safety campaigns: a field safety notice, a device's status, finding a device by
its number, closing with a report, and the device list's filter."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.catalogue.models import Article, Supplier
from lyfta.core.forms import Form
from lyfta.quality.models import Campaign, CampaignDevice
from lyfta.quality.services.campaigns import MAX_ARTICLES, MAX_LOTS, MAX_RANGES, NoticeInput

DATE = forms.DateInput(attrs={"type": "date"})


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class NoticeForm(Form):
    """A field safety notice (FSN) as the manufacturer sent it."""

    title = forms.CharField(label=_("Rubrik"), max_length=200)
    notice_reference = forms.CharField(label=_("Tillverkarens referens (FSN)"), max_length=60)
    notice_date = forms.DateField(label=_("Säkerhetsmeddelandets datum"), widget=DATE)
    supplier = forms.ModelChoiceField(
        label=_("Leverantör"),
        queryset=Supplier.objects.order_by("name"),
        required=False,
        error_messages={"invalid_choice": _("Välj en leverantör i listan.")},
    )
    description = forms.CharField(
        label=_("Vad meddelandet säger"),
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    action = forms.ChoiceField(
        label=_("Åtgärd för varje produkt"),
        choices=Campaign.Action.choices,
        error_messages={"invalid_choice": _("Välj en åtgärd i listan.")},
    )
    articles = forms.CharField(
        label=_("Artikelnummer"),
        max_length=MAX_ARTICLES * 21,
        help_text=_("Ett eller flera, åtskilda med mellanslag eller kommatecken."),
    )
    lots = forms.CharField(
        label=_("Batch/lot, en per rad"),
        required=False,
        max_length=MAX_LOTS * 62,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    serial_ranges = forms.CharField(
        label=_("Serienummerintervall, ett per rad"),
        required=False,
        max_length=MAX_RANGES * 124,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Första och sista serienumret åtskilda med semikolon, t.ex. SN-100;SN-250. "
            "Serienummer jämförs efter talet: SN-9 kommer före SN-10."
        ),
    )
    blocks_stock = forms.BooleanField(
        label=_("Spärra berörda produkter i lager tills de är kontrollerade"),
        required=False,
        initial=True,
    )

    def clean_notice_date(self) -> Any:
        day = self.cleaned_data["notice_date"]
        if day > timezone.localdate():
            raise forms.ValidationError(
                _("Säkerhetsmeddelandets datum kan inte ligga i framtiden.")
            )
        return day

    def clean_articles(self) -> list[Article]:
        numbers = [n for n in re.split(r"[\s,;]+", self.cleaned_data["articles"]) if n]
        if not numbers:
            raise forms.ValidationError(_("Ange minst ett artikelnummer."))
        if len(numbers) > MAX_ARTICLES:
            raise forms.ValidationError(
                _("Högst %(n)s artiklar per kampanj."), params={"n": MAX_ARTICLES}
            )
        bad = [n for n in numbers if not (n.isascii() and n.isdigit())]
        if bad:
            raise forms.ValidationError(
                _("Ett artikelnummer består av siffror: %(bad)s."), params={"bad": bad[0][:20]}
            )
        found = {a.article_number: a for a in Article.objects.filter(article_number__in=numbers)}
        missing = [n for n in numbers if n not in found]
        if missing:
            raise forms.ValidationError(
                _("Det finns ingen artikel med nummer %(number)s."),
                params={"number": missing[0][:20]},
            )
        return list({n: found[n] for n in numbers}.values())

    def clean_lots(self) -> list[str]:
        lots = _lines(self.cleaned_data.get("lots") or "")
        if len(lots) > MAX_LOTS:
            raise forms.ValidationError(
                _("Högst %(n)s batcher per kampanj."), params={"n": MAX_LOTS}
            )
        if any(len(lot) > 60 for lot in lots):
            raise forms.ValidationError(_("En batch är högst 60 tecken."))
        return lots

    def clean_serial_ranges(self) -> list[tuple[str, str]]:
        ranges = []
        for line in _lines(self.cleaned_data.get("serial_ranges") or ""):
            parts = [p.strip() for p in line.split(";")]
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise forms.ValidationError(
                    _("Skriv varje intervall som första;sista serienummer (raden ”%(line)s”)."),
                    params={"line": line[:40]},
                )
            if any(len(p) > 60 for p in parts):
                raise forms.ValidationError(_("Ett serienummer är högst 60 tecken."))
            ranges.append((parts[0], parts[1]))
        if len(ranges) > MAX_RANGES:
            raise forms.ValidationError(
                _("Högst %(n)s serienummerintervall per kampanj."), params={"n": MAX_RANGES}
            )
        return ranges

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        articles = data.get("articles") or []
        if (
            any(not a.tracked for a in articles)
            and data.get("serial_ranges")
            and not data.get("lots")
        ):
            self.add_error("lots", _("En artikel utan serienummer avgränsas med batch."))
        return data

    def notice(self) -> NoticeInput:
        data = self.cleaned_data
        return NoticeInput(
            title=data["title"],
            notice_reference=data["notice_reference"],
            notice_date=data["notice_date"],
            description=data["description"],
            action=data["action"],
            articles=data["articles"],
            supplier=data.get("supplier"),
            lots=data.get("lots") or [],
            serial_ranges=data.get("serial_ranges") or [],
            blocks_stock=bool(data.get("blocks_stock")),
        )


class DeviceStatusForm(Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=CampaignDevice.Status.choices,
        error_messages={"invalid_choice": _("Välj en status i listan.")},
    )
    note = forms.CharField(label=_("Anteckning"), max_length=300, required=False)


class FindDeviceForm(Form):
    nummer = forms.CharField(
        label=_("Individnummer eller serienummer"),
        max_length=60,
        help_text=_("Skanna eller skriv numret."),
    )


class CloseForm(Form):
    report = forms.CharField(
        label=_("Slutrapport"),
        max_length=8000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DeviceListForm(Form):
    status = forms.ChoiceField(
        choices=[("", _("Alla"))] + list(CampaignDevice.Status.choices), required=False
    )
    sida = forms.IntegerField(min_value=1, max_value=100_000, required=False)


class ListForm(Form):
    avslutade = forms.BooleanField(required=False)
