"""Statistics (DOMAIN.md §3.9, issue 17): summary tables kept by the nightly refresh
(`services.refresh`), the reference population per municipality, and users' subscriptions to
scheduled reports.

The summary tables hold counts only, never a patient id: a page of statistics reads them and
nothing else, so no figure can name a patient and none scans the loans on a page view."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AgeBand(models.TextChoices):
    """The age bands of the figures (age on the day counted). Unknown: a reserve number, whose
    birth date is not in the number."""

    CHILD = "0-17", _("0–17 år")
    ADULT = "18-64", _("18–64 år")
    OLD = "65-79", _("65–79 år")
    OLDEST = "80-", _("80 år och äldre")
    UNKNOWN = "?", _("Okänd ålder")


class Sex(models.TextChoices):
    """Legal sex as the personnummer states it (its second last digit). Unknown: a reserve
    number."""

    WOMAN = "K", _("Kvinnor")
    MAN = "M", _("Män")
    UNKNOWN = "?", _("Okänt kön")


class Measure(models.TextChoices):
    """What a `Fact` row counts. `n`, `hits` and `total` mean, per measure:

    - on_loan: n devices on loan at the end of the month (today for the current month);
    - new: n devices on loans that started in the month (newly prescribed);
    - delivery: n order lines delivered in the month, hits of them by the expected day,
      total the days from order to delivery;
    - reuse: n individually tracked devices lent to patients in the month (delivered or taken
      from a buffer store), hits of them had been on loan before (reconditioned units);
    - recondition: n items released from reconditioning to stock in the month, total their
      days there, hits those whose arrival there is known (the mean is total / hits);
    - pickup: n pick-up lines collected in the month, hits by the day promised, total the days
      from the pick-up order to collection;
    - workorder: n work orders registered in the month (not cancelled), hits started and total
      done by the days their service level set (in working days by kind and priority: 3 and 10
      for a repair);
    - billed: n billing lines of approved months, total their amount in öre (the provider is
      the customer billed, the unit the line's unit where it is that customer's, else none);
    - deviation: n deviations registered in the month;
    - repair: as workorder, for repairs only;
    - loss: n devices reported lost in the month, hits of them found again, total their
      residual value in öre.

    Timestamps count in the local calendar; days are calendar days between local dates."""

    ON_LOAN = "on_loan", _("Utlånade hjälpmedel")
    NEW = "new", _("Nyförskrivna hjälpmedel")
    DELIVERY = "delivery", _("Leveranser")
    REUSE = "reuse", _("Återanvändning")
    RECONDITION = "recondition", _("Rekonditionering")
    PICKUP = "pickup", _("Hämtningar")
    WORKORDER = "workorder", _("Arbetsordrar")
    BILLED = "billed", _("Fakturerat")
    DEVIATION = "deviation", _("Avvikelser")
    REPAIR = "repair", _("Reparationer")
    LOSS = "loss", _("Förluster")


class PatientDim(models.Model):
    """A patient's sex and birth date as the identifier states them, derived once so that the
    refresh can count by sex and age band without reading identities. Holds no identity."""

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    sex = models.CharField(max_length=1, choices=Sex.choices)
    born = models.DateField(null=True)
    derived_at = models.DateTimeField()

    class Meta:
        verbose_name = _("kön och födelsedag (härledd)")
        verbose_name_plural = _("kön och födelsedagar (härledda)")

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.sex}"


class Fact(models.Model):
    """One cell of a month's figures: counts of one measure for one unit, article, sex and age
    band (the last three blank where the measure has none). Rebuilt month by month by the
    refresh; never edited."""

    month = models.DateField(_("månad"))
    measure = models.CharField(_("mått"), max_length=16, choices=Measure.choices)
    provider = models.ForeignKey(
        "organisations.CareProvider", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.CASCADE, related_name="+", null=True,
        db_index=False,
    )  # fmt: skip
    article = models.ForeignKey(
        "catalogue.Article", on_delete=models.CASCADE, related_name="+", null=True,
        db_index=False,
    )  # fmt: skip
    iso_code = models.CharField(_("ISO-kod"), max_length=8, blank=True)
    sex = models.CharField(_("kön"), max_length=1, blank=True)
    age_band = models.CharField(_("åldersgrupp"), max_length=5, blank=True)
    # Billing only: the line's cost centre and kind (rent, sale, fee, ...).
    cost_centre = models.ForeignKey(
        "billing.CostCentre", on_delete=models.CASCADE, related_name="+", null=True,
        db_index=False,
    )  # fmt: skip
    category = models.CharField(_("slag"), max_length=8, blank=True, db_default="")
    n = models.BigIntegerField(default=0)
    hits = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("statistikcell")
        verbose_name_plural = _("statistikceller")
        indexes = [models.Index(fields=["measure", "month"], name="reports_fact_measure_month")]

    def __str__(self) -> str:
        return f"{self.measure} {self.month:%Y-%m}: {self.n}"


class PersonCount(models.Model):
    """Distinct persons for the Socialstyrelsen table and the per-1,000 figure, counted at each
    level the tables show (persons cannot be summed: one person may hold devices of several
    classes). Blank `iso_code`, `sex` or `age_band` means all of them; a null unit, the whole
    provider; a null provider with a municipality, the residents of that municipality."""

    class Kind(models.TextChoices):
        ON_LOAN = "on_loan", _("Personer med hjälpmedel")
        NEW = "new", _("Personer med nyförskrivna hjälpmedel")

    year = models.PositiveSmallIntegerField(_("år"))
    kind = models.CharField(max_length=8, choices=Kind.choices)
    provider = models.ForeignKey(
        "organisations.CareProvider", on_delete=models.CASCADE, related_name="+", null=True
    )
    unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.CASCADE, related_name="+", null=True,
        db_index=False,
    )  # fmt: skip
    municipality = models.ForeignKey(
        "organisations.CareProvider", on_delete=models.CASCADE, related_name="+", null=True,
        db_index=False,
    )  # fmt: skip
    iso_code = models.CharField(max_length=8, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    age_band = models.CharField(max_length=5, blank=True)
    persons = models.BigIntegerField(default=0)
    devices = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("antal personer")
        verbose_name_plural = _("antal personer")
        indexes = [models.Index(fields=["year", "kind"], name="reports_person_year_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.persons}"


class Population(models.Model):
    """Inhabitants of a municipality in a year (reference data, e.g. from SCB), for the figure
    of patients with devices per 1,000 inhabitants."""

    municipality = models.ForeignKey(
        "organisations.CareProvider",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("kommun"),
        limit_choices_to={"kind": "municipality"},
    )
    year = models.PositiveSmallIntegerField(_("år"))
    inhabitants = models.PositiveIntegerField(_("invånare"))

    class Meta:
        verbose_name = _("folkmängd")
        verbose_name_plural = _("folkmängd")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "year"], name="population_one_per_municipality_year"
            ),
            models.CheckConstraint(
                condition=models.Q(inhabitants__gt=0), name="population_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id} {self.year}: {self.inhabitants}"


class Refresh(models.Model):
    """One run of the summary refresh: which months it rebuilt, when it finished and how long
    it took. The pages say how fresh their figures are from the latest."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    first_month = models.DateField()
    last_month = models.DateField()
    seconds = models.FloatField()
    by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-finished_at"]
        verbose_name = _("uppdatering av statistiken")
        verbose_name_plural = _("uppdateringar av statistiken")

    def __str__(self) -> str:
        return (
            f"{self.first_month:%Y-%m}–{self.last_month:%Y-%m} ({self.finished_at:%Y-%m-%d %H:%M})"
        )


class Subscription(models.Model):
    """A user's standing order for a report: a figure with its filters, produced weekly or
    monthly by the background worker and delivered to the user's inbox (and e-mail, where one
    is configured) as a link that checks access again when opened."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Varje vecka")
        MONTHLY = "monthly", _("Varje månad")

    user = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="report_subscriptions"
    )
    assignment = models.ForeignKey(
        "accounts.Assignment", on_delete=models.PROTECT, related_name="+"
    )
    figure = models.CharField(_("rapport"), max_length=40)
    filters = models.JSONField(_("urval"), default=dict, blank=True)
    frequency = models.CharField(_("hur ofta"), max_length=8, choices=Frequency.choices)
    next_on = models.DateField(_("nästa leverans"))
    created_at = models.DateTimeField(_("beställd"))
    ended_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("senast levererad"), null=True, blank=True)

    class Meta:
        ordering = ["next_on", "pk"]
        verbose_name = _("prenumeration på rapport")
        verbose_name_plural = _("prenumerationer på rapporter")
        indexes = [models.Index(fields=["ended_at", "next_on"], name="reports_sub_due")]

    def __str__(self) -> str:
        return f"{self.figure} ({self.frequency})"
