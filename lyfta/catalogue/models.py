"""The assortment (sortiment): ISO 9999 classes, suppliers, substitution groups and articles.

ISO 9999 codes are public; the standard's titles are copyrighted, so every class carries a short
Swedish name of our own (DOMAIN.md §6)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lyfta.core.models import TimestampedModel
from lyfta.organisations.models import validate_organisation_number

ISO_CODE_RE = re.compile(r"[0-9]{2}(?: [0-9]{2}){0,2}")


def normalise_iso_code(value: str) -> str:
    """An ISO 9999 code in its canonical form: pairs of digits separated by single spaces
    ("122203", "12-22-03" and "12 22 03" all give "12 22 03"). Input that is not two, four or
    six digits is returned stripped, for validation to reject."""
    digits = re.sub(r"[\s.\-]", "", value)
    if digits.isascii() and digits.isdigit() and len(digits) in (2, 4, 6):
        return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
    return value.strip()


def iso_parent_code(code: str) -> str | None:
    """The code of the class one level up ("12 22" for "12 22 03"), None for a top class."""
    parts = code.split(" ")
    return " ".join(parts[:-1]) if len(parts) > 1 else None


def validate_iso_code(value: str) -> None:
    if not ISO_CODE_RE.fullmatch(value):
        raise ValidationError(
            _("ISO-koden ska vara två, fyra eller sex siffror i par, till exempel 12 22 03.")
        )


validate_article_number = RegexValidator(
    r"^[0-9A-Za-z][0-9A-Za-z._/-]*\Z",
    _(
        "Artikelnumret får bara innehålla bokstäver (a–z), siffror, punkt, bindestreck och "
        "snedstreck."
    ),
)


class IsoClass(TimestampedModel):
    """A class of ISO 9999 (class, subclass or division) with our own short Swedish name.
    Articles belong to a division, the third level."""

    code = models.CharField(
        _("ISO-kod"),
        max_length=8,
        unique=True,
        validators=[validate_iso_code],
        help_text=_("Två, fyra eller sex siffror i par, till exempel 12 22 03."),
    )
    name = models.CharField(_("benämning"), max_length=120)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("överordnad klass"),
    )
    level = models.PositiveSmallIntegerField(_("nivå"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("ISO-klass")
        verbose_name_plural = _("ISO-klasser")
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1) & Q(level__lte=3), name="isoclass_level_1_to_3"
            ),
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="isoclass_parent_unless_top",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        if not ISO_CODE_RE.fullmatch(self.code or ""):
            return  # the field's own validator reports it
        level = len(self.code.split(" "))
        if self.level != level:
            raise ValidationError(
                {"level": gettext("Nivån ska vara %(level)s för koden.") % {"level": level}}
            )
        parent_code = iso_parent_code(self.code)
        parent = self.parent if self.parent_id is not None else None
        if parent_code is None and parent is not None:
            raise ValidationError(
                {"parent": gettext("En klass på första nivån har ingen överordnad klass.")}
            )
        if parent_code is not None and (parent is None or parent.code != parent_code):
            raise ValidationError(
                {"parent": gettext("Överordnad klass ska vara %(code)s.") % {"code": parent_code}}
            )

    def path(self) -> list[IsoClass]:
        """The class and its ancestors, top class first."""
        chain: list[IsoClass] = [self]
        node = self
        while node.parent is not None:
            node = node.parent
            chain.insert(0, node)
        return chain


class Supplier(TimestampedModel):
    """A supplier (leverantör) of articles in the assortment."""

    name = models.CharField(_("namn"), max_length=200, unique=True)
    organisation_number = models.CharField(
        _("organisationsnummer"),
        max_length=11,
        blank=True,
        validators=[validate_organisation_number],
        help_text=_("Tio siffror med bindestreck, t.ex. 556000-0000."),
    )
    phone = models.CharField(_("telefon"), max_length=30, blank=True)
    email = models.EmailField(_("e-post"), blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("leverantör")
        verbose_name_plural = _("leverantörer")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_number"],
                condition=~Q(organisation_number=""),
                name="supplier_orgno_unique_when_given",
                violation_error_message=_(
                    "En leverantör med detta organisationsnummer finns redan."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name


class SubstitutionGroup(TimestampedModel):
    """A group of equivalent articles (ersättningsgrupp). When an ordered article is out of stock
    an article of its group is offered instead; a fixed group replaces it automatically."""

    name = models.CharField(_("namn"), max_length=100, unique=True)
    fixed = models.BooleanField(
        _("fast ersättning"),
        default=False,
        help_text=_("Artikeln ersätts automatiskt med en likvärdig artikel i gruppen."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("ersättningsgrupp")
        verbose_name_plural = _("ersättningsgrupper")

    def __str__(self) -> str:
        return self.name


class BillingType(models.TextChoices):
    RENT = "rent", _("Hyra")
    SALE = "sale", _("Försäljning")
    SALE_RETURN = "sale_return", _("Försäljning med återtag")


class DeliveryClass(models.TextChoices):
    PRIORITY = "priority", _("Högprioriterad lagervara")
    STOCK = "stock", _("Lagervara")
    ORDER = "order", _("Beställningsvara")


class CostClass(models.TextChoices):
    REGION = "region", _("Regionen")
    MUNICIPALITY = "municipality", _("Kommunen")
    PRESCRIBER = "prescriber", _("Förskrivande enhet")


# Working days from order to delivery for stock items; order items take the supplier's time.
DEFAULT_LEAD_TIME: dict[str, int] = {DeliveryClass.PRIORITY: 1, DeliveryClass.STOCK: 3}

SOLD = (BillingType.SALE, BillingType.SALE_RETURN)


class Article(TimestampedModel):
    """An article of the assortment (artikel). Never deleted: an article that is no longer
    offered is taken out of the assortment, so that items, loans and invoices keep their article."""

    article_number = models.CharField(
        _("artikelnummer"), max_length=20, unique=True, validators=[validate_article_number]
    )
    name = models.CharField(_("benämning"), max_length=200)
    iso_class = models.ForeignKey(
        IsoClass, on_delete=models.PROTECT, related_name="articles", verbose_name=_("ISO-klass")
    )
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="articles", verbose_name=_("leverantör")
    )
    supplier_article_number = models.CharField(
        _("leverantörens artikelnummer"), max_length=40, blank=True
    )
    billing_type = models.CharField(_("debiteringstyp"), max_length=16, choices=BillingType)
    price_group = models.CharField(_("prisgrupp"), max_length=10, blank=True)
    monthly_rent = models.DecimalField(
        _("månadshyra (kr)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Krävs för hyresartiklar."),
    )
    price = models.DecimalField(
        _("pris (kr)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Krävs för försäljning; är också anskaffningsvärdet."),
    )
    tracked = models.BooleanField(
        _("individmärkt"), help_text=_("Varje exemplar har ett eget individnummer.")
    )
    delivery_class = models.CharField(_("leveransklass"), max_length=16, choices=DeliveryClass)
    lead_time_days = models.PositiveSmallIntegerField(
        _("leveranstid (arbetsdagar)"),
        validators=[MinValueValidator(1)],
        help_text=_("Högprioriterad lagervara 1, lagervara 3, beställningsvara leverantörens tid."),
    )
    substitution_group = models.ForeignKey(
        SubstitutionGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="articles",
        verbose_name=_("ersättningsgrupp"),
    )
    accessories = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="accessory_of",
        verbose_name=_("tillbehör"),
    )
    maintenance_interval_months = models.PositiveSmallIntegerField(
        _("underhållsintervall (månader)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Förebyggande underhåll och besiktning, t.ex. 12 för lyftar och selar."),
    )
    warranty_months = models.PositiveSmallIntegerField(_("garantitid (månader)"), default=24)
    cost_class = models.CharField(_("kostnadsansvar"), max_length=16, choices=CostClass)
    # The responsibility class (ansvarsklass 1–4, as in Västmanland's rules): with the patient's
    # form of housing it decides who pays (lyfta.billing's payer rules).
    responsibility_class = models.PositiveSmallIntegerField(
        _("ansvarsklass"),
        null=True,
        blank=True,
        choices=[(n, str(n)) for n in range(1, 5)],
        help_text=_("1–4: avgör med patientens boendeform vem som betalar."),
    )
    in_assortment = models.BooleanField(_("i sortimentet"), default=True)

    class Meta:
        ordering = ["article_number"]
        verbose_name = _("artikel")
        verbose_name_plural = _("artiklar")
        constraints = [
            models.CheckConstraint(
                condition=~Q(billing_type=BillingType.RENT) | Q(monthly_rent__isnull=False),
                name="article_rent_needs_monthly_rent",
            ),
            models.CheckConstraint(
                condition=Q(billing_type=BillingType.RENT) | Q(price__isnull=False),
                name="article_sale_needs_price",
            ),
            models.CheckConstraint(
                condition=(Q(monthly_rent__isnull=True) | Q(monthly_rent__gte=0))
                & (Q(price__isnull=True) | Q(price__gte=0)),
                name="article_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(lead_time_days__gte=1), name="article_lead_time_positive"
            ),
            models.CheckConstraint(
                condition=Q(billing_type__in=BillingType.values)
                & Q(delivery_class__in=DeliveryClass.values)
                & Q(cost_class__in=CostClass.values),
                name="article_known_choices",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_number} {self.name}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.billing_type == BillingType.RENT and self.monthly_rent is None:
            errors["monthly_rent"] = gettext("Ange månadshyra för en hyresartikel.")
        if self.billing_type in SOLD and self.price is None:
            errors["price"] = gettext("Ange pris för en artikel som säljs.")
        if self.iso_class_id is not None and self.iso_class.level != 3:
            errors["iso_class"] = gettext(
                "Välj en ISO-klass på tredje nivån (produkttyp), till exempel 12 06 06."
            )
        if errors:
            raise ValidationError(errors)
