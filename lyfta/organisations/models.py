"""Care providers (vårdgivare/huvudman), their units (kunder) and the centre's warehouses."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from lyfta.core.luhn import luhn_ok
from lyfta.core.models import TimestampedModel
from lyfta.core.text import refuse_non_ascii_digits


def validate_organisation_number(value: str) -> None:
    """NNNNNN-NNNN (or ten digits 0–9): third digit 2 or higher, valid Luhn check digit."""
    refuse_non_ascii_digits(value)
    if not re.fullmatch(r"[0-9]{6}-?[0-9]{4}", value):
        raise ValidationError(
            _("Organisationsnumret ska ha tio siffror, till exempel 232100-0016.")
        )
    digits = value.replace("-", "")
    if int(digits[2]) < 2:
        raise ValidationError(_("Organisationsnumrets tredje siffra ska vara 2 eller högre."))
    if not luhn_ok(digits):
        raise ValidationError(_("Organisationsnumrets kontrollsiffra stämmer inte."))


class CareProvider(TimestampedModel):
    """A care provider (vårdgivare) and data controller: the region or one municipality (R11)."""

    class Kind(models.TextChoices):
        REGION = "region", _("Region")
        MUNICIPALITY = "municipality", _("Kommun")

    name = models.CharField(_("namn"), max_length=200, unique=True)
    short_name = models.CharField(_("kortnamn"), max_length=60)
    organisation_number = models.CharField(
        _("organisationsnummer"),
        max_length=11,
        unique=True,
        validators=[validate_organisation_number],
        help_text=_("Tio siffror med bindestreck, t.ex. 232100-0016."),
    )
    kind = models.CharField(_("typ"), max_length=16, choices=Kind.choices)
    # SCB's four-digit municipality code (kommunkod, e.g. 1780 Karlstad): how the population
    # register names a patient's home municipality (folkbokföringskommun).
    municipality_code = models.CharField(
        _("kommunkod"),
        max_length=4,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{4}$", _("Kommunkoden ska ha fyra siffror."))],
        help_text=_("SCB:s kommunkod, fyra siffror (bara för kommuner)."),
    )
    active = models.BooleanField(_("aktiv"), default=True)
    # Whether staff names appear in log extracts answering a request for an official document,
    # after a secrecy review (R81); a patient's ordinary request shows unit and time only.
    extract_staff_names = models.BooleanField(
        _("personalens namn i loggutdrag (allmän handling)"), default=False
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("vårdgivare")
        verbose_name_plural = _("vårdgivare")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality_code"],
                condition=~models.Q(municipality_code=""),
                name="one_provider_per_municipality_code",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Unit(TimestampedModel):
    """A unit of a care provider (kund): a ward, a health centre, home care, a care home, or a part
    of the assistive-device centre. Orders, loans and billing are attached to units."""

    class Kind(models.TextChoices):
        WARD = "ward", _("Vårdavdelning")
        PRIMARY_CARE = "primary_care", _("Vårdcentral")
        HABILITATION = "habilitation", _("Habilitering")
        REHABILITATION = "rehabilitation", _("Rehabilitering")
        HOME_CARE = "home_care", _("Hemsjukvård")
        CARE_HOME = "care_home", _("Särskilt boende")
        CENTRE = "centre", _("Hjälpmedelscentral")
        ADMINISTRATION = "administration", _("Administration")

    provider = models.ForeignKey(
        CareProvider, on_delete=models.PROTECT, related_name="units", verbose_name=_("vårdgivare")
    )
    name = models.CharField(_("namn"), max_length=200)
    kind = models.CharField(_("typ"), max_length=20, choices=Kind.choices)
    customer_number = models.CharField(
        _("kundnummer"),
        max_length=20,
        unique=True,
        help_text=_("Kundnummer hos hjälpmedelscentralen."),
    )
    cost_centre = models.CharField(_("kostnadsställe"), max_length=20)
    phone = models.CharField(_("telefon"), max_length=30, blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["provider__name", "name"]
        verbose_name = _("enhet")
        verbose_name_plural = _("enheter")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "name"], name="unit_name_unique_per_provider"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_centre(self) -> bool:
        """Whether the unit belongs to the assistive-device centre (hjälpmedelscentralen)."""
        return self.kind == self.Kind.CENTRE


class DeliveryAddress(TimestampedModel):
    """A delivery address of a unit (the goods reception, a ward's store room)."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="addresses", verbose_name=_("enhet")
    )
    label = models.CharField(_("benämning"), max_length=100)
    street = models.CharField(_("gatuadress"), max_length=200)
    postal_code = models.CharField(_("postnummer"), max_length=6)
    city = models.CharField(_("postort"), max_length=100)
    is_default = models.BooleanField(_("förvald"), default=False)

    class Meta:
        ordering = ["unit", "-is_default", "label"]
        verbose_name = _("leveransadress")
        verbose_name_plural = _("leveransadresser")
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=models.Q(is_default=True),
                name="one_default_address_per_unit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}, {self.street}, {self.postal_code} {self.city}"


class Warehouse(TimestampedModel):
    """A warehouse of the assistive-device centre: the main warehouse and any satellite stores."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="warehouses", verbose_name=_("ansvarig enhet")
    )
    code = models.CharField(_("kod"), max_length=10, unique=True)
    name = models.CharField(_("namn"), max_length=200)
    street = models.CharField(_("gatuadress"), max_length=200)
    postal_code = models.CharField(_("postnummer"), max_length=6)
    city = models.CharField(_("postort"), max_length=100)
    is_main = models.BooleanField(_("huvudlager"), default=False)

    class Meta:
        ordering = ["-is_main", "name"]
        verbose_name = _("lager")
        verbose_name_plural = _("lager")
        constraints = [
            models.UniqueConstraint(
                fields=["is_main"], condition=models.Q(is_main=True), name="one_main_warehouse"
            )
        ]

    def __str__(self) -> str:
        return self.name
