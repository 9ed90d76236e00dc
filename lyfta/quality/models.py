"""The quality desk (DOMAIN.md §3.5): deviations and incidents (avvikelser) with their reports
out to the manufacturer and Läkemedelsverket, supplier complaints (reklamationer), and field
safety notices carried out as campaigns device by device. Nothing is deleted: a deviation is
closed, a complaint gets an outcome, a campaign closes with a report; every change goes through
`services` and is audited."""

from __future__ import annotations

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


class Deviation(models.Model):
    """Something that went wrong with a device or the service around it (avvikelse): what
    happened, to whom and with which device, how serious, what was done at once, and the
    investigation that follows (registered → investigated → decided → closed)."""

    class Kind(models.TextChoices):
        ADVERSE_EVENT = "adverse_event", _("Negativ händelse (olycka)")
        NEAR_MISS = "near_miss", _("Tillbud")
        PRODUCT_FAULT = "product_fault", _("Produktfel")
        DELIVERY_ERROR = "delivery_error", _("Leveransfel")
        SERVICE_ERROR = "service_error", _("Servicefel")
        INFORMATION_ERROR = "information_error", _("Informationsfel")

    class Severity(models.TextChoices):
        NONE = "none", _("Ingen skada")
        MINOR = "minor", _("Lindrig skada")
        MODERATE = "moderate", _("Måttlig skada")
        SERIOUS = "serious", _("Allvarlig skada")
        DEATH = "death", _("Dödsfall")

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registrerad")
        INVESTIGATING = "investigating", _("Under utredning")
        DECIDED = "decided", _("Beslutad")
        CLOSED = "closed", _("Avslutad")

    OPEN = (Status.REGISTERED, Status.INVESTIGATING, Status.DECIDED)

    class Source(models.TextChoices):
        HOLDINGS = "holdings", _("Patientens innehav")
        ITEM = "item", _("Individkort")
        WORKORDER = "workorder", _("Arbetsorder")
        DELIVERY = "delivery", _("Leverans")
        PICKUP = "pickup", _("Hämtning")
        QUALITY = "quality", _("Kvalitetsenheten")

    number = models.CharField(_("avvikelsenummer"), max_length=20, unique=True)
    kind = models.CharField(_("typ"), max_length=20, choices=Kind.choices)
    severity = models.CharField(
        _("allvarlighetsgrad"), max_length=10, choices=Severity.choices, default=Severity.NONE
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REGISTERED
    )
    source = models.CharField(_("registrerad från"), max_length=12, choices=Source.choices)
    occurred_on = models.DateField(_("inträffade"))
    description = models.TextField(_("vad hände"), max_length=4000)
    consequence = models.TextField(_("konsekvens för patienten"), max_length=2000, blank=True)
    immediate_action = models.TextField(_("omedelbar åtgärd"), max_length=2000, blank=True)
    wish = models.CharField(_("önskemål"), max_length=300, blank=True)
    # What it concerns: the device (an individual item, or an article and its lot) ...
    item = models.ForeignKey(
        "inventory.Item",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("individ"),
    )
    article = models.ForeignKey(
        "catalogue.Article",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("artikel"),
    )
    lot = models.CharField(_("batch/lot"), max_length=60, blank=True)
    # ... the patient where relevant (read only through lyfta.access.rows) ...
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # ... and where it was found: an order (a delivery), a pick-up or a work order.
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pickup = models.ForeignKey(
        "orders.PickupOrder", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    workorder = models.ForeignKey(
        "workorders.WorkOrder", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit = models.ForeignKey(
        "organisations.Unit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("rapporterande enhet"),
    )
    reported_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("registrerad"))
    # Taken out of use at once: picking and delivery refuse the item (Item.out_of_use_since).
    quarantined_at = models.DateTimeField(_("spärrad"), null=True, blank=True)
    # A reportable incident (HSLF-FS 2021:52 ch. 5): reports out to the manufacturer and
    # Läkemedelsverket with deadlines (IncidentReport).
    is_incident = models.BooleanField(_("allvarlig händelse (anmälningspliktig)"), default=False)
    # A serious public health threat shortens the deadline of the reports out to 2 days
    # (EU MDR art. 87.4); whether the device is kept for the manufacturer's investigation is
    # what both report forms ask.
    serious_threat = models.BooleanField(_("allvarligt hot mot folkhälsan"), default=False)
    device_kept = models.BooleanField(_("produkten sparas för utredning"), default=False)
    # The quality role sees the patient pseudonymised; when the case needs identity, the reason
    # is recorded here and every opening of the identity is audited.
    identity_reason = models.CharField(_("skäl att se identitet"), max_length=300, blank=True)
    analysis = models.TextField(_("utredning och analys"), max_length=8000, blank=True)
    measures = models.TextField(_("åtgärder"), max_length=4000, blank=True)
    decision = models.TextField(_("beslut"), max_length=4000, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("beslutad"), null=True, blank=True)
    closed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("avslutad"), null=True, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["Deviation"]()
    unscoped = models.Manager["Deviation"]()

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("avvikelse")
        verbose_name_plural = _("avvikelser")
        indexes = [
            models.Index(fields=["status", "reported_at"]),
            models.Index(fields=["article", "reported_at"]),
            models.Index(fields=["unit", "reported_at"]),
            # The failure statistics: deviations registered in a period, counted per kind,
            # article, lot, item and unit from the index alone.
            models.Index(
                fields=["reported_at"],
                include=["kind", "article", "item", "unit", "lot"],
                name="deviation_stats",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def kind_label(self) -> str:
        return _label(self.Kind, self.kind)

    @property
    def severity_label(self) -> str:
        return _label(self.Severity, self.severity)

    @property
    def status_label(self) -> str:
        return _label(self.Status, self.status)


class IncidentReport(models.Model):
    """A report out for an incident (to the manufacturer, to Läkemedelsverket): when it is due,
    when Lyfta produced it and when the centre says it was sent. Lyfta does not send it."""

    class Recipient(models.TextChoices):
        MANUFACTURER = "manufacturer", _("Tillverkaren")
        MPA = "mpa", _("Läkemedelsverket")

    deviation = models.ForeignKey(Deviation, on_delete=models.PROTECT, related_name="reports")
    recipient = models.CharField(_("mottagare"), max_length=12, choices=Recipient.choices)
    due_on = models.DateField(_("ska anmälas senast"))
    produced_at = models.DateTimeField(_("framtagen"), null=True, blank=True)
    produced_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_on = models.DateField(_("skickad"), null=True, blank=True)
    reference = models.CharField(_("mottagarens referens"), max_length=60, blank=True)

    # Linked to patient-linked rows: read through lyfta.access.rows; `unscoped` is for writes.
    objects = PatientLinkedManager["IncidentReport"]()
    unscoped = models.Manager["IncidentReport"]()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("anmälan")
        verbose_name_plural = _("anmälningar")
        constraints = [
            models.UniqueConstraint(
                fields=["deviation", "recipient"], name="one_report_per_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deviation_id} {self.recipient}"

    @property
    def recipient_label(self) -> str:
        return _label(self.Recipient, self.recipient)


class Complaint(models.Model):
    """A complaint to the supplier (reklamation) within its window: 3 months for rented and 12
    for sold devices (DOMAIN.md §3.5), with the supplier's answer, the outcome, and any credit
    for billing to use."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registrerad")
        SENT = "sent", _("Skickad till leverantören")
        ANSWERED = "answered", _("Besvarad")
        CLOSED = "closed", _("Avslutad")

    class Outcome(models.TextChoices):
        REPAIRED = "repaired", _("Reparerad")
        REPLACED = "replaced", _("Ersatt")
        CREDITED = "credited", _("Krediterad")
        REJECTED = "rejected", _("Avslagen")

    number = models.CharField(_("reklamationsnummer"), max_length=20, unique=True)
    deviation = models.ForeignKey(
        Deviation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("avvikelse"),
    )
    supplier = models.ForeignKey(
        "catalogue.Supplier",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("leverantör"),
    )
    article = models.ForeignKey(
        "catalogue.Article", on_delete=models.PROTECT, related_name="+", verbose_name=_("artikel")
    )
    item = models.ForeignKey(
        "inventory.Item",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("individ"),
    )
    lot = models.CharField(_("batch/lot"), max_length=60, blank=True)
    billing_type = models.CharField(_("debiteringstyp"), max_length=16)
    delivered_on = models.DateField(_("levererad"), null=True, blank=True)
    window_ends_on = models.DateField(_("reklamationstiden går ut"), null=True, blank=True)
    description = models.TextField(_("beskrivning"), max_length=4000)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REGISTERED
    )
    sent_on = models.DateField(_("skickad"), null=True, blank=True)
    supplier_reference = models.CharField(_("leverantörens referens"), max_length=60, blank=True)
    answer = models.TextField(_("leverantörens svar"), max_length=4000, blank=True)
    answered_on = models.DateField(_("besvarad"), null=True, blank=True)
    outcome = models.CharField(_("utfall"), max_length=10, choices=Outcome.choices, blank=True)
    credit_amount = models.DecimalField(
        _("kreditering (kr)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("registrerad"))
    closed_at = models.DateTimeField(_("avslutad"), null=True, blank=True)

    # Linked to patient-linked rows: read through lyfta.access.rows; `unscoped` is for writes.
    objects = PatientLinkedManager["Complaint"]()
    unscoped = models.Manager["Complaint"]()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reklamation")
        verbose_name_plural = _("reklamationer")
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_amount__isnull=True) | Q(credit_amount__gte=0),
                name="complaint_credit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def status_label(self) -> str:
        return _label(self.Status, self.status)

    @property
    def outcome_label(self) -> str:
        return _label(self.Outcome, self.outcome)


class Campaign(models.Model):
    """A field safety notice (FSN) carried out as a campaign: which articles, lots and serial
    ranges it concerns, what is to be done with each device, and its progress device by device
    until it closes with a report."""

    class Action(models.TextChoices):
        CHECK = "check", _("Kontroll")
        REPAIR = "repair", _("Åtgärd (reparation)")
        EXCHANGE = "exchange", _("Byte")
        INFORM = "inform", _("Information till brukaren")

    class Status(models.TextChoices):
        OPEN = "open", _("Pågår")
        CLOSED = "closed", _("Avslutad")

    number = models.CharField(_("kampanjnummer"), max_length=20, unique=True)
    title = models.CharField(_("rubrik"), max_length=200)
    notice_reference = models.CharField(_("tillverkarens referens (FSN)"), max_length=60)
    notice_date = models.DateField(_("säkerhetsmeddelandets datum"))
    supplier = models.ForeignKey(
        "catalogue.Supplier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("leverantör"),
    )
    description = models.TextField(_("vad meddelandet säger"), max_length=8000)
    action = models.CharField(_("åtgärd"), max_length=10, choices=Action.choices)
    articles = models.ManyToManyField(
        "catalogue.Article", related_name="+", verbose_name=_("artiklar")
    )
    # Lot numbers (a list of strings) and serial-number ranges (a list of [first, last] pairs,
    # compared naturally: a prefix and a number compare by the number).
    lots = models.JSONField(_("batch/lot"), default=list, blank=True)
    serial_ranges = models.JSONField(_("serienummerintervall"), default=list, blank=True)
    blocks_stock = models.BooleanField(_("spärra berört lager tills kontrollerat"), default=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("skapad"))
    closed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    report = models.TextField(_("slutrapport"), max_length=8000, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("säkerhetskampanj")
        verbose_name_plural = _("säkerhetskampanjer")

    def __str__(self) -> str:
        return self.number

    @property
    def action_label(self) -> str:
        return _label(self.Action, self.action)

    @property
    def status_label(self) -> str:
        return _label(self.Status, self.status)


class CampaignDevice(models.Model):
    """One affected device of a campaign, wherever it was when the campaign was built (on loan,
    in a buffer store, in stock, in the workshop), and what was done with it. An untracked lot is
    one row per place it is in (a loan, or a stock location) with its quantity."""

    class Status(models.TextChoices):
        TO_CHECK = "to_check", _("Att kontrollera")
        CHECKED = "checked", _("Kontrollerad")
        FIXED = "fixed", _("Åtgärdad")
        REPLACED = "replaced", _("Utbytt")
        NOT_FOUND = "not_found", _("Ej hittad")
        NOT_AFFECTED = "not_affected", _("Ej berörd")

    DONE = (
        Status.CHECKED,
        Status.FIXED,
        Status.REPLACED,
        Status.NOT_FOUND,
        Status.NOT_AFFECTED,
    )

    # Every read names the campaign first, so the indexes are the three below and the unique
    # one: a single-column index per key would only slow the build's 20,000-row insert (issue
    # 15; the keys it would serve, PROTECT checks on deleting an article, a loan, a place or a
    # user, do not happen: those are ended, never deleted).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="devices", db_index=False
    )
    article = models.ForeignKey(
        "catalogue.Article", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    item = models.ForeignKey(
        "inventory.Item",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    lot = models.CharField(_("batch/lot"), max_length=60, blank=True)
    quantity = models.PositiveIntegerField(_("antal"), default=1)
    # Where it was: with a patient (the loan; the holder is named only through the access
    # layer), or in a stock location (a warehouse, a buffer store, the workshop).
    loan = models.ForeignKey(
        "orders.Loan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    location = models.ForeignKey(
        "inventory.StockLocation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    holding_unit = models.ForeignKey(
        "organisations.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.TO_CHECK
    )
    workorder = models.ForeignKey(
        "workorders.WorkOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    handled_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    handled_at = models.DateTimeField(_("hanterad"), null=True, blank=True)
    note = models.CharField(_("anteckning"), max_length=300, blank=True)

    # Linked to patient-linked rows: read through lyfta.access.rows; `unscoped` is for writes.
    objects = PatientLinkedManager["CampaignDevice"]()
    unscoped = models.Manager["CampaignDevice"]()

    class Meta:
        ordering = ["campaign", "id"]
        verbose_name = _("berörd produkt")
        verbose_name_plural = _("berörda produkter")
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["item", "status"]),
            models.Index(fields=["campaign", "holding_unit"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "item"],
                condition=Q(item__isnull=False),
                name="one_row_per_item_per_campaign",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="campaign_row_has_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.item_id or self.lot}"

    @property
    def status_label(self) -> str:
        return _label(self.Status, self.status)


class InUseCount(models.Model):
    """How many devices were on open loans per article and unit at `taken_at`: the failure
    statistics' devices in use, counted anew at most once an hour (summing every open loan takes
    a second at national size). A count: no loan, no patient."""

    taken_at = models.DateTimeField(_("räknat"), db_index=True)
    article = models.ForeignKey("catalogue.Article", on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("organisations.Unit", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("antal i bruk"))

    class Meta:
        verbose_name = _("antal i bruk")
        verbose_name_plural = _("antal i bruk")

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M} {self.article_id} {self.unit_id} {self.quantity}"
