"""The economy desk (DOMAIN.md §3.8): customers and cost centres, price lists with validity,
payer rules, patients' form of housing, and the monthly billing runs with their lines.

History is never rewritten: a price list applies from its start date and a newer one takes over
from its own; a payer rule and a unit's cost centre have validity dates; a billing run is a
preview until it is approved and locked, and a locked run's lines never change (database
triggers refuse it, as for the audit table). Corrections are credit and debit lines in a later
run that point at the line they correct."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lyfta.access.guard import PatientLinkedManager


def _label(choices: type[models.TextChoices], value: str) -> str:
    """The label of `value` among `choices` in the active language, or the value itself."""
    for member in choices:
        if member.value == value:
            return str(member.label)
    return value


class Customer(models.Model):
    """A care provider as the centre's customer (kund): who receives the invoice."""

    provider = models.OneToOneField(
        "organisations.CareProvider",
        on_delete=models.PROTECT,
        related_name="customer",
        verbose_name=_("vårdgivare"),
    )
    customer_number = models.CharField(_("kundnummer"), max_length=20, unique=True)
    # Peppol participant id: scheme and identifier, e.g. "0007:2321000016" (0007 = Swedish
    # organisation number) — where the e-invoice goes.
    peppol_id = models.CharField(_("Peppol-id"), max_length=60, blank=True)
    buyer_reference = models.CharField(
        _("fakturareferens"),
        max_length=60,
        blank=True,
        help_text=_("Köparens referens som ska stå på fakturan (Peppol BuyerReference)."),
    )
    invoice_street = models.CharField(_("fakturaadress"), max_length=200)
    invoice_postal_code = models.CharField(_("postnummer"), max_length=6)
    invoice_city = models.CharField(_("postort"), max_length=100)
    email = models.EmailField(_("e-post för fakturor"), blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["customer_number"]
        verbose_name = _("kund")
        verbose_name_plural = _("kunder")

    def __str__(self) -> str:
        return f"{self.customer_number} {self.provider.name}"


class CostCentre(models.Model):
    """A customer's cost centre (kostnadsställe): invoice lines are grouped by it."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="cost_centres", verbose_name=_("kund")
    )
    code = models.CharField(_("kod"), max_length=20)
    name = models.CharField(_("namn"), max_length=200)
    # The customer's cost centre for lines no unit's cost centre covers (a municipality paying
    # for a region unit's prescription, say).
    default = models.BooleanField(_("förval för kunden"), default=False)
    valid_from = models.DateField(_("giltig från"))
    valid_until = models.DateField(_("giltig till och med"), null=True, blank=True)

    class Meta:
        ordering = ["customer__customer_number", "code"]
        verbose_name = _("kostnadsställe")
        verbose_name_plural = _("kostnadsställen")
        constraints = [
            models.UniqueConstraint(fields=["customer", "code"], name="cost_centre_code_unique"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(default=True), name="one_default_cost_centre"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="cost_centre_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class UnitCostCentre(models.Model):
    """Which cost centre a unit belongs to, from a day (and until a day): a unit that moves to
    another cost centre gets a new row; the old one keeps its dates."""

    unit = models.ForeignKey(
        "organisations.Unit",
        on_delete=models.PROTECT,
        related_name="cost_centre_periods",
        verbose_name=_("enhet"),
    )
    cost_centre = models.ForeignKey(
        CostCentre, on_delete=models.PROTECT, related_name="units", verbose_name=_("kostnadsställe")
    )
    valid_from = models.DateField(_("från"))
    valid_until = models.DateField(_("till och med"), null=True, blank=True)

    class Meta:
        ordering = ["unit_id", "valid_from"]
        verbose_name = _("enhetens kostnadsställe")
        verbose_name_plural = _("enheternas kostnadsställen")
        indexes = [models.Index(fields=["unit", "valid_from"])]
        constraints = [
            models.UniqueConstraint(fields=["unit", "valid_from"], name="unit_cost_centre_once"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="unit_cost_centre_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} → {self.cost_centre_id} ({self.valid_from:%Y-%m-%d})"


class RentRule(models.TextChoices):
    """How a month's rent is counted (configured per price list)."""

    PER_DAY = "per_day", _("Per dag (månadshyran delad på månadens dagar)")
    PER_MONTH = "per_month", _("Per påbörjad månad")


class PriceList(models.Model):
    """A price list (prislista) that applies from its start date until the next list's start.
    A list whose prices have been billed in a locked run is never edited: a change is a new list
    from a later day."""

    name = models.CharField(_("namn"), max_length=120)
    valid_from = models.DateField(_("gäller från"), unique=True)
    rent_rule = models.CharField(
        _("hyresberäkning"), max_length=12, choices=RentRule.choices, default=RentRule.PER_DAY
    )
    hourly_rate = models.DecimalField(
        _("timpris (kr)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("För arbete utanför hyran."),
    )
    # Residual value of a lost device charged by decision: the acquisition value less this
    # share per full year since acquisition, never below the floor share.
    residual_yearly_writedown = models.DecimalField(
        _("avskrivning per år (%)"), max_digits=5, decimal_places=2, default=Decimal("20")
    )
    residual_floor = models.DecimalField(
        _("lägsta restvärde (%)"), max_digits=5, decimal_places=2, default=Decimal("10")
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("registrerad"), auto_now_add=True)
    note = models.CharField(_("anteckning"), max_length=300, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("prislista")
        verbose_name_plural = _("prislistor")

    def __str__(self) -> str:
        return f"{self.name} ({self.valid_from:%Y-%m-%d})"


class Price(models.Model):
    """One price of a price list: a price group's monthly rent, an article's sale price, a fee,
    a part, an inspection fee."""

    class Kind(models.TextChoices):
        RENT = "rent", _("Månadshyra per prisgrupp")
        SALE = "sale", _("Försäljningspris per artikel")
        FEE = "fee", _("Avgift")
        PART = "part", _("Reservdel")
        INSPECTION = "inspection", _("Besiktningsavgift per prisgrupp")

    class Fee(models.TextChoices):
        DELIVERY = "delivery", _("Leveransavgift")
        URGENT = "urgent", _("Akutavgift")
        FAILED_DELIVERY = "failed_delivery", _("Bomkörning")
        HANDLING = "handling", _("Hanteringsavgift")

    price_list = models.ForeignKey(
        PriceList, on_delete=models.PROTECT, related_name="prices", verbose_name=_("prislista")
    )
    kind = models.CharField(_("slag"), max_length=12, choices=Kind.choices)
    # The key: a price group (rent, inspection), an article number (sale, part) or a fee code.
    key = models.CharField(_("nyckel"), max_length=40)
    amount = models.DecimalField(
        _("belopp (kr)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )

    class Meta:
        ordering = ["price_list", "kind", "key"]
        verbose_name = _("pris")
        verbose_name_plural = _("priser")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "kind", "key"], name="one_price_per_key"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.amount}"

    @property
    def kind_label(self) -> str:
        return _label(self.Kind, self.kind)


class Housing(models.TextChoices):
    """A patient's form of housing (boendeform), which with the article's responsibility class
    decides who pays."""

    ORDINARY = "ordinary", _("Ordinärt boende")
    SPECIAL = "special", _("Särskilt boende")
    SHORT_TERM = "short_term", _("Korttidsboende")
    LSS = "lss", _("Bostad med särskild service (LSS)")


class PatientHousing(models.Model):
    """A patient's form of housing and home municipality from a day: a move or a change of
    housing is a new row from the day it happens, so the payer of every day can be derived."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    housing = models.CharField(_("boendeform"), max_length=12, choices=Housing.choices)
    municipality = models.ForeignKey(
        "organisations.CareProvider",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("kommun"),
    )
    valid_from = models.DateField(_("från"))
    registered_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    registered_at = models.DateTimeField(_("registrerad"), auto_now_add=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["PatientHousing"]()
    unscoped = models.Manager["PatientHousing"]()

    class Meta:
        ordering = ["patient_id", "valid_from"]
        verbose_name = _("boende")
        verbose_name_plural = _("boenden")
        constraints = [
            models.UniqueConstraint(fields=["patient", "valid_from"], name="one_housing_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.housing} ({self.valid_from:%Y-%m-%d})"

    @property
    def housing_label(self) -> str:
        return _label(Housing, self.housing)


class PayerRule(models.Model):
    """A payer rule (betalarregel): where every given condition holds, `payer` pays. Rules are
    tried in `priority` order and the first that matches decides; with none, the prescribing
    unit pays. A blank condition matches anything."""

    class Payer(models.TextChoices):
        PRESCRIBING_UNIT = "prescribing_unit", _("Förskrivande enhet")
        HOME_MUNICIPALITY = "home_municipality", _("Patientens hemkommun")
        REGION = "region", _("Regionen")

    region = models.ForeignKey(
        "organisations.CareProvider",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("region"),
    )
    priority = models.PositiveIntegerField(_("ordning"))
    name = models.CharField(_("namn"), max_length=120, blank=True)
    housing = models.CharField(_("boendeform"), max_length=12, choices=Housing.choices, blank=True)
    responsibility_class = models.PositiveSmallIntegerField(
        _("ansvarsklass"), null=True, blank=True
    )
    cost_class = models.CharField(_("kostnadsansvar"), max_length=16, blank=True)
    product_area = models.CharField(_("produktområde"), max_length=60, blank=True)
    habilitation = models.BooleanField(_("habilitering"), null=True, blank=True)
    age_from = models.PositiveSmallIntegerField(_("ålder från"), null=True, blank=True)
    age_until = models.PositiveSmallIntegerField(_("ålder till och med"), null=True, blank=True)
    short_term = models.BooleanField(_("korttidslån"), null=True, blank=True)
    payer = models.CharField(_("betalare"), max_length=20, choices=Payer.choices)
    valid_from = models.DateField(_("giltig från"))
    valid_until = models.DateField(_("giltig till och med"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["region_id", "priority", "valid_from"]
        verbose_name = _("betalarregel")
        verbose_name_plural = _("betalarregler")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="payer_rule_valid_range",
            ),
            models.CheckConstraint(
                condition=Q(responsibility_class__isnull=True)
                | Q(responsibility_class__gte=1, responsibility_class__lte=4),
                name="payer_rule_responsibility_1_to_4",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.priority}: {self.name or self.payer}"

    @property
    def payer_label(self) -> str:
        return _label(self.Payer, self.payer)


class BillingRun(models.Model):
    """A month's billing run (debiteringskörning): first a preview that can be recomputed and
    compared with the last month, then approved and locked. A locked run never changes."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Köad")
        RUNNING = "running", _("Beräknas")
        PREVIEW = "preview", _("Förhandsgranskning")
        LOCKED = "locked", _("Godkänd och låst")
        FAILED = "failed", _("Misslyckad")

    month = models.DateField(_("månad"))  # the first day of the month billed
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    price_list = models.ForeignKey(
        PriceList, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(_("rader"), default=0)
    total = models.DecimalField(_("summa (kr)"), max_digits=14, decimal_places=2, default=0)
    # A digest of the lines (sha-256 over their canonical form): verify_billing recomputes it.
    digest = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("skapad av")
    )
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    computed_at = models.DateTimeField(_("beräknad"), null=True, blank=True)
    approved_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("godkänd av"),
    )
    approved_at = models.DateTimeField(_("godkänd"), null=True, blank=True)
    # Who the run invoices, as they were when it was locked: the seller and every billed
    # customer's invoice details (`selectors.invoices.snapshot`), written in the same UPDATE that
    # locks the run, so that its invoice basis never changes when a customer is edited later.
    # Empty for a run that is not locked (and for one locked before the snapshot existed).
    invoice_parties = models.JSONField(
        _("fakturaparter vid låsning"), default=dict, blank=True, editable=False
    )

    class Meta:
        ordering = ["-month", "-id"]
        verbose_name = _("debiteringskörning")
        verbose_name_plural = _("debiteringskörningar")
        constraints = [
            # One locked run per month: a month is billed once; corrections go in later runs.
            models.UniqueConstraint(
                fields=["month"], condition=Q(status="locked"), name="one_locked_run_per_month"
            ),
            models.CheckConstraint(
                condition=Q(status="locked", approved_by__isnull=False, approved_at__isnull=False)
                | ~Q(status="locked"),
                name="locked_run_is_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def status_label(self) -> str:
        return _label(self.Status, self.status)

    @property
    def locked(self) -> bool:
        return self.status == self.Status.LOCKED


class BillingLine(models.Model):
    """One line of a billing run: a device's rent for a span of days with one payer, a sale, a
    fee, work outside the rent, a loss, or a correction (credit/debit) of an earlier run's line.
    `explanation` says in words why this payer and this amount."""

    class Kind(models.TextChoices):
        RENT = "rent", _("Hyra")
        SALE = "sale", _("Försäljning")
        FEE = "fee", _("Avgift")
        WORK = "work", _("Arbete utanför hyran")
        PART = "part", _("Reservdel")
        LOSS = "loss", _("Förlust")
        CREDIT = "credit", _("Kredit")
        DEBIT = "debit", _("Debet")

    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(_("slag"), max_length=8, choices=Kind.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("kund")
    )
    cost_centre = models.ForeignKey(
        CostCentre,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("kostnadsställe"),
    )
    unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    loan = models.ForeignKey(
        "orders.Loan", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    item = models.ForeignKey(
        "inventory.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    article = models.ForeignKey(
        "catalogue.Article", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        PayerRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    period_from = models.DateField(_("från"))
    period_until = models.DateField(_("till och med"))
    quantity = models.DecimalField(_("antal"), max_digits=10, decimal_places=2, default=1)
    unit_price = models.DecimalField(_("à-pris (kr)"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("belopp (kr)"), max_digits=12, decimal_places=2)
    text = models.CharField(_("text"), max_length=200)
    explanation = models.CharField(_("förklaring"), max_length=300, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["BillingLine"]()
    unscoped = models.Manager["BillingLine"]()

    class Meta:
        ordering = ["run_id", "customer_id", "cost_centre_id", "id"]
        verbose_name = _("debiteringsrad")
        verbose_name_plural = _("debiteringsrader")
        indexes = [
            models.Index(fields=["run", "customer", "cost_centre"]),
            models.Index(fields=["loan"]),
            models.Index(fields=["item"]),
            models.Index(fields=["patient"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_until__gte=models.F("period_from")),
                name="billing_line_period",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["credit", "debit"]) | Q(corrects__isnull=False),
                name="correction_names_its_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.kind} {self.amount}"

    @property
    def kind_label(self) -> str:
        return _label(self.Kind, self.kind)
