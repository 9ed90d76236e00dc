"""Forms of the centre's logistics pages. They parse input; the services hold the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from lyfta.core.forms import Form
from lyfta.inventory.models import StockLocation
from lyfta.orders.models import PickupLine, Receipt
from lyfta.orders.services import ReceiptInput
from lyfta.orders.signature import MAX_CHARS, parse


class PicklistForm(Form):
    dag = forms.DateField(
        label=_("Leveransdag"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Ange dagen som åååå-mm-dd, till exempel 2026-03-02.")},
    )
    omrade = forms.RegexField(
        label=_("Område (postnumrets tre första siffror)"),
        regex=r"^[0-9]{3}$",
        max_length=3,
        required=False,
        error_messages={
            "invalid": _("Ange området som postnumrets tre första siffror, till exempel 652.")
        },
    )


class DayForm(Form):
    dag = forms.DateField(
        label=_("Hämtas senast"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Ange dagen som åååå-mm-dd, till exempel 2026-03-02.")},
    )


class PickForm(Form):
    individual_number = forms.CharField(
        label=_("Skannat individnummer"),
        max_length=20,
        required=False,
        help_text=_("Tomt: den reserverade individen."),
    )


class ReasonForm(Form):
    reason = forms.CharField(
        label=_("Skäl"),
        max_length=200,
        error_messages={"required": _("Ange ett skäl.")},
    )


class CollectForm(Form):
    """The driver's report of a pick-up: each line collected unless marked missing, with why."""

    def __init__(self, *args: Any, lines: list[PickupLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"missing_{line.pk}"] = forms.BooleanField(
                label=_("Saknades"), required=False
            )
            self.fields[f"reason_{line.pk}"] = forms.CharField(
                label=_("Skäl"), max_length=200, required=False
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for line in self.lines:
            if data.get(f"missing_{line.pk}") and not data.get(f"reason_{line.pk}"):
                self.add_error(f"reason_{line.pk}", _("Ange varför hjälpmedlet saknades."))
        return data

    def missing(self) -> dict[int, str]:
        return {
            line.pk: self.cleaned_data[f"reason_{line.pk}"]
            for line in self.lines
            if self.cleaned_data.get(f"missing_{line.pk}")
        }


class ReconditionedForm(Form):
    to = forms.ModelChoiceField(
        label=_("Till lager"),
        queryset=StockLocation.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Välj ett lager i listan.")},
    )

    def __init__(self, *args: Any, locations: QuerySet[StockLocation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = locations


class FailedDeliveryForm(Form):
    """Nobody home (bomkörning): why, the new delivery day and the fee decision."""

    reason = forms.CharField(
        label=_("Skäl"),
        max_length=200,
        error_messages={"required": _("Ange ett skäl.")},
    )
    new_day = forms.DateField(
        label=_("Ny leveransdag"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Välj en ny leveransdag."),
            "invalid": _("Ange dagen som åååå-mm-dd, till exempel 2026-03-02."),
        },
    )
    fee = forms.TypedChoiceField(
        label=_("Avgift för bomkörning"),
        choices=[("1", _("Ja, avgiften debiteras")), ("0", _("Nej, ingen avgift"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="1",
        help_text=_("Ingen avgift när det inte var mottagarens fel, till exempel fel adress."),
        error_messages={
            "required": _("Välj om avgiften för bomkörning ska debiteras."),
            "invalid_choice": _("Välj om avgiften för bomkörning ska debiteras."),
        },
    )


class ReceiptForm(Form):
    """Who received the devices at the door: their name and relation to the patient, and the
    signature drawn on the screen, or "ej signerat" with the reason."""

    receiver_name = forms.CharField(
        label=_("Mottagarens namn"),
        max_length=120,
        error_messages={"required": _("Ange vem som tog emot.")},
    )
    relation = forms.ChoiceField(
        label=_("Relation till patienten"),
        choices=Receipt.Relation.choices,
        error_messages={
            "required": _("Välj mottagarens relation till patienten."),
            "invalid_choice": _("Välj mottagarens relation till patienten i listan."),
        },
    )
    signature = forms.CharField(required=False, max_length=MAX_CHARS, widget=forms.HiddenInput)
    unsigned = forms.BooleanField(label=_("Ej signerat"), required=False)
    unsigned_reason = forms.CharField(
        label=_("Skäl till att det inte signerades"), max_length=200, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("unsigned"):
            if not (data.get("unsigned_reason") or "").strip():
                self.add_error("unsigned_reason", _("Ange varför mottagaren inte signerade."))
            data["strokes"] = None
            return data
        raw = data.get("signature") or ""
        if not raw:
            self.add_error(
                "signature",
                _(
                    "Mottagaren har inte signerat: låt mottagaren signera, eller välj ej signerat "
                    "och ange varför."
                ),
            )
            return data
        try:
            data["strokes"] = parse(raw)
        except ValidationError as error:
            self.add_error("signature", error)
        return data

    def receipt(self) -> ReceiptInput:
        data = self.cleaned_data
        return ReceiptInput(
            name=data["receiver_name"],
            relation=data["relation"],
            signature=data.get("strokes"),
            unsigned_reason=data.get("unsigned_reason", "") if data.get("unsigned") else "",
        )


RESULT_CHOICES = [("yes", _("Ja")), ("no", _("Nej")), ("na", _("Ej aktuellt"))]


class ConditionForm(Form):
    """The condition checklist of a returned device: an answer for each point, a remark and up
    to three photos (taken with the phone's camera)."""

    note = forms.CharField(label=_("Anmärkning"), max_length=300, required=False)

    def __init__(self, *args: Any, points: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.points = points
        for index, point in enumerate(points):
            self.fields[f"point_{index}"] = forms.ChoiceField(
                label=point,
                choices=RESULT_CHOICES,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Svara på punkten."),
                    "invalid_choice": _("Välj Ja, Nej eller Ej aktuellt."),
                },
            )
        for number in range(1, 4):
            self.fields[f"photo_{number}"] = forms.FileField(
                label=_("Foto %(n)s") % {"n": number},
                required=False,
                widget=forms.ClearableFileInput(
                    attrs={"accept": "image/jpeg,image/png", "capture": "environment"}
                ),
            )

    @property
    def point_fields(self) -> list[Any]:
        return [self[f"point_{index}"] for index in range(len(self.points))]

    @property
    def photo_fields(self) -> list[Any]:
        return [self[f"photo_{number}"] for number in range(1, 4)]

    def results(self) -> dict[str, str]:
        return {
            point: self.cleaned_data[f"point_{index}"] for index, point in enumerate(self.points)
        }
