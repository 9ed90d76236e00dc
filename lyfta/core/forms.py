"""The base of every Lyfta form: what text it takes at the edge (lyfta.core.text).

Every form of Lyfta derives from `Form` or `ModelForm` here (a test walks them all). Before it
cleans (so also fields a form adds in its own `__init__`), each text field, that is every
`CharField` (so also regex, e-mail and identifier fields), gets:
- no control characters: single-line fields none at all, textareas tab and line breaks only
  (passwords take any Unicode but NUL, R14);
- something visible: a value made only of spaces, zero-width and bidi characters is refused;
- in fields that hold a person's name (`PERSON_NAME_FIELDS`, or a form's own `name_fields`), no
  bidi controls and no zero-width characters;
- in fields that hold a number (`NUMBER_FIELDS`, or a form's own `number_fields`), no digits
  but 0–9; and integer, decimal and float fields likewise (checked on the raw input, since
  Python's int() reads other scripts' digits)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from lyfta.core import text

# Dates Lyfta takes: wide enough for any birth, decision or log period, narrow enough that date
# arithmetic (a period's end plus a day, a timezone shift) never leaves Python's calendar.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
ISO_DATE_FORMATS = ["%Y-%m-%d"]


def refuse_date_out_of_range(value: dt.date) -> None:
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            _("Ange ett datum mellan %(first)s och %(last)s."),
            code="date_range",
            params={"first": EARLIEST_DATE.isoformat(), "last": LATEST_DATE.isoformat()},
        )


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's validation errors on the form, by field where the form has it."""
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
    else:
        for problem in error.messages:
            form.add_error(None, problem)


def edge_validators(field: forms.Field, *, name: bool, number: bool = False) -> list[Any]:
    """The validators a text field gets at Lyfta's edge. A password takes any Unicode (R14):
    only its NUL is refused (Django's own check, and the middleware). A date field takes dates
    within Lyfta's range only."""
    if isinstance(field, forms.DateField):
        return [refuse_date_out_of_range]
    if not isinstance(field, forms.CharField) or isinstance(field.widget, forms.PasswordInput):
        return []
    multiline = isinstance(field.widget, forms.Textarea)
    found: list[Any] = [
        text.refuse_control_characters_multiline if multiline else text.refuse_control_characters,
        text.refuse_invisible_only,
    ]
    if name:
        found.append(text.refuse_invisible_in_name)
    if number:
        found.append(text.refuse_non_ascii_digits)
    return found


class EdgeMixin(forms.BaseForm):
    """Adds the edge validators to the form's fields before it cleans them (to the instance's
    copies of the fields: the form class's declared fields stay as they are)."""

    # Fields of this form that hold a person's name, beyond the usual names.
    name_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields of this form that hold a number, beyond the usual ones: digits 0–9 only.
    number_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields that take control characters through to the service, which deals with them itself
    # (say why where a form sets this).
    edge_exempt: ClassVar[frozenset[str]] = frozenset()

    def full_clean(self) -> None:
        names = text.PERSON_NAME_FIELDS | self.name_fields
        numbers = text.NUMBER_FIELDS | self.number_fields
        for field_name, field in self.fields.items():
            if field_name in self.edge_exempt:
                continue
            if isinstance(field, forms.DateField) and not isinstance(field, forms.DateTimeField):
                # The date as a date input sends it and as the messages ask for it: Django's
                # Swedish formats would also read "12/08/2026" as 8 December.
                field.input_formats = ISO_DATE_FORMATS
            added = edge_validators(field, name=field_name in names, number=field_name in numbers)
            if added and added[0] not in field.validators:
                # Django's own NUL check would say the same a second time.
                kept = [
                    v
                    for v in field.validators
                    if not isinstance(v, ProhibitNullCharactersValidator)
                ]
                field.validators = kept + added
        super().full_clean()
        if self.is_bound:
            self._refuse_non_ascii_numbers()

    def _refuse_non_ascii_numbers(self) -> None:
        """Number and date fields take the digits 0–9 only: Python's int() and strptime would
        read Arabic-Indic or fullwidth digits as a number the user may not have meant."""
        for field_name, field in self.fields.items():
            if not isinstance(
                field, forms.IntegerField | forms.DecimalField | forms.FloatField | forms.DateField
            ):
                continue
            raw = self[field_name].data
            values = raw if isinstance(raw, list | tuple) else [raw]
            for value in values:
                if not isinstance(value, str):
                    continue
                try:
                    text.refuse_non_ascii_digits(value)
                except ValidationError as error:
                    if field_name in self.fields and not self.has_error(field_name):
                        self.add_error(field_name, error)
                    break


class Form(EdgeMixin, forms.Form):
    pass


class ModelForm(EdgeMixin, forms.ModelForm):  # type: ignore[type-arg]
    pass
