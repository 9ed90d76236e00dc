"""Prescriptions, orders and their lines, loans (the patient's holdings), pick-up orders and
order templates (DOMAIN.md §3.1–3.3, 3.6, 3.7, §4). Nothing is deleted: orders and lines are
cancelled with a reason; a loan ends."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lyfta.access.guard import PatientLinkedManager


class Prescription(models.Model):
    """The prescriber's decision for one patient (förskrivning): the goal, a follow-up date and,
    for a short-term loan, its end (at most six months, DOMAIN.md §3.1). Clinical: shown only to
    roles with clinical fields (R34)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    prescriber = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    goal = models.CharField(_("mål med hjälpmedlet"), max_length=500, blank=True)
    follow_up_on = models.DateField(_("uppföljning"), null=True, blank=True)
    short_term_until = models.DateField(_("korttidslån till och med"), null=True, blank=True)
    created_at = models.DateTimeField(_("registrerad"))

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["Prescription"]()
    unscoped = models.Manager["Prescription"]()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("förskrivning")
        verbose_name_plural = _("förskrivningar")

    def __str__(self) -> str:
        return f"Förskrivning {self.pk}"


class Order(models.Model):
    """A customer order (kundorder) from a unit: for a patient, or to refill the unit's buffer
    store. Lines reserve stock when it is placed; the centre picks and delivers."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registrerad")
        PICKING = "picking", _("Plockas")
        IN_TRANSIT = "in_transit", _("Under transport")
        DELIVERED = "delivered", _("Levererad")
        CANCELLED = "cancelled", _("Makulerad")

    class Delivery(models.TextChoices):
        PATIENT = "patient", _("Patientens adress")
        OTHER = "other", _("Annan adress")
        UNIT = "unit", _("Enhetens adress")
        CENTRE = "centre", _("Hämtas på Hjälpmedelsservice")

    OPEN = (Status.REGISTERED, Status.PICKING, Status.IN_TRANSIT)

    number = models.CharField(_("ordernummer"), max_length=20, unique=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    store = models.ForeignKey(
        "inventory.StockLocation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("till buffertförråd"),
    )
    prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="orders")
    payer = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    orderer = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    delivery = models.CharField(_("leverans till"), max_length=10, choices=Delivery.choices)
    street = models.CharField(_("gatuadress"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=6, blank=True)
    city = models.CharField(_("postort"), max_length=100, blank=True)
    # A protected patient's address is never printed on route or pick lists (R55).
    confidential_address = models.BooleanField(_("skyddad adress"), default=False)
    contact_name = models.CharField(_("kontaktperson"), max_length=120, blank=True)
    contact_phone = models.CharField(_("kontakttelefon"), max_length=30, blank=True)
    note = models.CharField(_("meddelande till leverantören"), max_length=300, blank=True)
    urgent = models.BooleanField(_("akut leverans (inom 24 timmar)"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    registered_at = models.DateTimeField(_("registrerad"))
    expected_on = models.DateField(_("beräknad leverans"))
    delivered_at = models.DateTimeField(_("levererad"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("makulerad"), null=True, blank=True)
    cancel_reason = models.CharField(_("skäl"), max_length=200, blank=True)
    failed_delivery = models.BooleanField(_("bomkörning"), default=False)
    # Fee markers for billing (DOMAIN.md §3.8): urgent delivery, failed delivery.
    urgent_fee = models.BooleanField(_("akutavgift"), default=False)
    failed_fee = models.BooleanField(_("avgift för bomkörning"), default=False)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["Order"]()
    unscoped = models.Manager["Order"]()

    class Meta:
        ordering = ["-registered_at"]
        verbose_name = _("order")
        verbose_name_plural = _("ordrar")
        indexes = [
            models.Index(fields=["status", "expected_on"]),
            # The statistics' monthly refresh: the orders delivered in a month.
            models.Index(
                fields=["delivered_at"], condition=Q(delivered_at__isnull=False),
                name="order_delivered_at",
            ),
        ]  # fmt: skip
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=False) | Q(store__isnull=False),
                name="order_for_a_patient_or_a_store",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def area(self) -> str:
        """The delivery area: the first three digits of the postal code (the route planner's
        unit of a delivery day)."""
        return self.postal_code.replace(" ", "")[:3]


class OrderLine(models.Model):
    """One article on an order. A tracked article's line is always one item: the reserved and,
    once picked, the picked individual."""

    class Status(models.TextChoices):
        RESERVED = "reserved", _("Reserverad")
        BACKORDERED = "backordered", _("Restnoterad")
        PICKED = "picked", _("Plockad")
        DELIVERED = "delivered", _("Levererad")
        CANCELLED = "cancelled", _("Makulerad")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("antal"))
    # The article asked for, when a substitute from its group was chosen instead.
    substitute_for = models.ForeignKey(
        "catalogue.Article", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    item = models.ForeignKey(
        "inventory.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.ForeignKey(
        "inventory.StockLocation", on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.CharField(_("skäl"), max_length=200, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["OrderLine"]()
    unscoped = models.Manager["OrderLine"]()

    class Meta:
        ordering = ["id"]
        verbose_name = _("orderrad")
        verbose_name_plural = _("orderrader")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            # No item reserved by two open lines at once.
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(status__in=["reserved", "picked"]),
                name="item_on_one_open_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.pk}"


class Loan(models.Model):
    """A row of the patient's holdings (hjälpmedelsinnehav): an item, or a quantity of a
    non-tracked article, with the patient from `started_on` (rent starts) until `ended_on`.
    The prescribing unit owns the information (R39–R43)."""

    class End(models.TextChoices):
        RETURNED = "returned", _("Återlämnad")
        LOST = "lost", _("Förkommen")
        SOLD = "sold", _("Såld (stannar hos patienten)")
        CANCELLED = "cancelled", _("Felregistrerad")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="loans")
    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(
        "inventory.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="loans"
    )
    quantity = models.PositiveIntegerField(_("antal"), default=1)
    # The lot of a non-tracked quantity (from the ledger row that took it out of stock), so
    # that a safety notice for a lot finds the patients holding it.
    lot = models.CharField(_("batch/lot"), max_length=60, blank=True, default="")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="loans"
    )
    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    prescriber = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    billing_type = models.CharField(_("debiteringstyp"), max_length=12)
    started_on = models.DateField(_("från"))
    expected_end = models.DateField(_("korttidslån till och med"), null=True, blank=True)
    # Rent stops here: three working days after a pick-up order (DOMAIN.md §3.6).
    rent_stop_on = models.DateField(_("hyran upphör"), null=True, blank=True)
    ended_on = models.DateField(_("till"), null=True, blank=True)
    end_reason = models.CharField(_("avslut"), max_length=10, choices=End.choices, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["Loan"]()
    unscoped = models.Manager["Loan"]()

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = _("utlåning")
        verbose_name_plural = _("utlåningar")
        indexes = [
            models.Index(fields=["patient", "ended_on"]),
            # The devices in use per article and unit (the failure statistics): the open loans
            # only, with their quantity, so that the index alone answers the sums.
            models.Index(
                fields=["article", "unit"],
                include=["quantity"],
                condition=Q(ended_on__isnull=True),
                name="loan_open_by_article_unit",
            ),
            models.Index(fields=["article", "lot", "ended_on"]),
            # The statistics' monthly refresh: the loans started in a month.
            models.Index(fields=["started_on"], name="loan_started_on"),
            # A unit's short-term loans running out (its start page): the few that end soon,
            # not every open loan of the unit.
            models.Index(
                fields=["unit", "expected_end"],
                condition=Q(ended_on__isnull=True, expected_end__isnull=False),
                name="loan_open_ending",
            ),
            # The devices a unit has lent out (its overdue inspections), from the index alone.
            models.Index(
                fields=["unit", "item"],
                condition=Q(ended_on__isnull=True, item__isnull=False),
                name="loan_open_item_by_unit",
            ),
        ]
        constraints = [
            # An item is on loan to at most one patient at a time (DOMAIN.md §5).
            models.UniqueConstraint(
                fields=["item"], condition=Q(ended_on__isnull=True), name="one_open_loan_per_item"
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=True) | Q(quantity=1), name="a_loaned_item_is_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} → {self.patient_id}"

    @property
    def billing_type_label(self) -> str:
        """The billing type in words (Hyra, Försäljning …), never the stored code."""
        return billing_type_label(self.billing_type)


def billing_type_label(code: str) -> str:
    """A loan's billing type in words (Hyra, Försäljning …), never the stored code."""
    from lyfta.catalogue.models import BillingType

    for member in BillingType:
        if member.value == code:
            return str(member.label)
    return code


class PickupOrder(models.Model):
    """A pick-up order (hämtorder): rent stops three working days after it is registered; the
    centre collects within seven (DOMAIN.md §3.6)."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registrerad")
        COLLECTED = "collected", _("Hämtad")
        CANCELLED = "cancelled", _("Makulerad")

    number = models.CharField(_("hämtordernummer"), max_length=20, unique=True)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    registered_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(_("registrerad"))
    rent_stop_on = models.DateField(_("hyran upphör"))
    collect_by = models.DateField(_("hämtas senast"))
    street = models.CharField(_("gatuadress"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=6, blank=True)
    city = models.CharField(_("postort"), max_length=100, blank=True)
    confidential_address = models.BooleanField(_("skyddad adress"), default=False)
    contact_phone = models.CharField(_("kontakttelefon"), max_length=30, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    collected_at = models.DateTimeField(_("hämtad"), null=True, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["PickupOrder"]()
    unscoped = models.Manager["PickupOrder"]()

    class Meta:
        ordering = ["-registered_at"]
        verbose_name = _("hämtorder")
        verbose_name_plural = _("hämtordrar")
        # The statistics' monthly refresh: the pick-ups collected in a month.
        indexes = [
            models.Index(
                fields=["collected_at"], condition=Q(collected_at__isnull=False),
                name="pickup_collected_at",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number

    @property
    def area(self) -> str:
        return self.postal_code.replace(" ", "")[:3]


class PickupLine(models.Model):
    """One loan to collect. Missing at pick-up: the line is cancelled and the loan goes on."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Ska hämtas")
        COLLECTED = "collected", _("Hämtad")
        RECEIVED = "received", _("Mottagen")
        MISSING = "missing", _("Saknades vid hämtning")
        CANCELLED = "cancelled", _("Makulerad")

    pickup = models.ForeignKey(PickupOrder, on_delete=models.PROTECT, related_name="lines")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="pickup_lines")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    cancel_reason = models.CharField(_("skäl"), max_length=200, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["PickupLine"]()
    unscoped = models.Manager["PickupLine"]()

    class Meta:
        ordering = ["id"]
        verbose_name = _("hämtorderrad")
        verbose_name_plural = _("hämtorderrader")
        constraints = [
            models.UniqueConstraint(
                fields=["loan"],
                condition=Q(status__in=["waiting", "collected"]),
                name="loan_on_one_open_pickup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pickup_id}/{self.pk}"


class OrderTemplate(models.Model):
    """A saved order template (beställningsmall) of a unit: articles and quantities."""

    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("namn"), max_length=120)
    lines = models.JSONField(_("rader"), default=list)  # [{"article": id, "quantity": n}]
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name"]
        verbose_name = _("beställningsmall")
        verbose_name_plural = _("beställningsmallar")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="one_template_name_per_unit")
        ]

    def __str__(self) -> str:
        return self.name


class LossReport(models.Model):
    """A lost device (förkommet hjälpmedel): its loan ends, the item goes to shrinkage and is
    written off unless found within three months; with negligence its residual value is charged
    to the unit or the patient (DOMAIN.md §3.7)."""

    class Charge(models.TextChoices):
        NONE = "none", _("Ingen debitering")
        UNIT = "unit", _("Enheten")
        PATIENT = "patient", _("Patienten")

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="loss")
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    reported_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("anmäld"))
    lost_on = models.DateField(_("förkommen"))
    circumstances = models.CharField(_("omständigheter"), max_length=300)
    negligence = models.BooleanField(_("vårdslöshet"), default=False)
    charge = models.CharField(_("restvärdet debiteras"), max_length=8, choices=Charge.choices)
    residual_value = models.DecimalField(_("restvärde"), max_digits=10, decimal_places=2)
    found_at = models.DateTimeField(_("återfunnen"), null=True, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["LossReport"]()
    unscoped = models.Manager["LossReport"]()

    class Meta:
        ordering = ["-reported_at"]
        verbose_name = _("förlustanmälan")
        verbose_name_plural = _("förlustanmälningar")

    def __str__(self) -> str:
        return f"{self.item_id} {self.lost_on}"


class DeliveryAttempt(models.Model):
    """A delivery that did not happen (bomkörning): why, the day it was planned for, the new
    delivery day and whether the failed-delivery fee applies (a decision, recorded). The order
    stays open and keeps what was picked for it (DOMAIN.md §3.2 point 6)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="attempts")
    failed_at = models.DateTimeField(_("registrerad"))
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("skäl"), max_length=200)
    planned_on = models.DateField(_("planerad leveransdag"))
    new_day = models.DateField(_("ny leveransdag"))
    fee = models.BooleanField(_("avgift för bomkörning"))

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["DeliveryAttempt"]()
    unscoped = models.Manager["DeliveryAttempt"]()

    class Meta:
        ordering = ["failed_at", "id"]
        verbose_name = _("misslyckad leverans")
        verbose_name_plural = _("misslyckade leveranser")

    def __str__(self) -> str:
        return f"{self.order_id} {self.planned_on}"


class Receipt(models.Model):
    """The receipt of a handover at the patient's door: who received a delivery (or handed over a
    collected device), and their signature drawn on the driver's phone, or why it is not signed.
    The signature is kept as strokes of whole-number points (validated server-side), drawn as SVG
    on the order page and on the loan agreement."""

    class Kind(models.TextChoices):
        DELIVERY = "delivery", _("Leverans")
        COLLECTION = "collection", _("Hämtning")

    class Relation(models.TextChoices):
        PATIENT = "patient", _("Patienten")
        RELATIVE = "relative", _("Anhörig")
        STAFF = "staff", _("Personal")
        OTHER = "other", _("Annan")

    kind = models.CharField(_("slag"), max_length=10, choices=Kind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="receipts"
    )
    pickup = models.ForeignKey(
        PickupOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="receipts"
    )
    name = models.CharField(_("mottagare"), max_length=120)
    relation = models.CharField(
        _("relation till patienten"), max_length=10, choices=Relation.choices
    )
    # [[x0, y0, x1, y1, …], …] in a 1000 × 400 box (lyfta.orders.signature); null: not signed.
    signature = models.JSONField(_("signatur"), null=True, blank=True)
    unsigned_reason = models.CharField(
        _("skäl till att det inte signerades"), max_length=200, blank=True
    )
    recorded_at = models.DateTimeField(_("registrerad"))
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["Receipt"]()
    unscoped = models.Manager["Receipt"]()

    class Meta:
        ordering = ["recorded_at", "id"]
        verbose_name = _("kvittens")
        verbose_name_plural = _("kvittenser")
        constraints = [
            models.CheckConstraint(
                condition=Q(order__isnull=False, pickup__isnull=True, kind="delivery")
                | Q(order__isnull=True, pickup__isnull=False, kind="collection"),
                name="receipt_of_a_delivery_or_a_collection",
            ),
            models.CheckConstraint(
                condition=Q(signature__isnull=False) | ~Q(unsigned_reason=""),
                name="receipt_signed_or_why_not",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_id or self.pickup_id}"

    @property
    def signed(self) -> bool:
        return self.signature is not None


# The points checked when a device is collected and when it is received, unless its ISO class
# (or a parent class) has its own list (issue 16 point 4).
DEFAULT_CONDITION_POINTS = [
    "Komplett",
    "Rent",
    "Synliga skador",
    "Batteri/laddare medföljer",
    "Tillbehör medföljer",
]


class ConditionChecklist(models.Model):
    """The points of the condition checklist for the devices of one ISO class (and its
    sub-classes, unless they have their own): kept by the centre, used at collection and at
    receipt. Without one, DEFAULT_CONDITION_POINTS apply."""

    iso_class = models.OneToOneField(
        "catalogue.IsoClass",
        on_delete=models.PROTECT,
        related_name="condition_checklist",
        verbose_name=_("ISO-klass"),
    )
    points = models.JSONField(_("kontrollpunkter"), default=list)  # ["Komplett", ...]

    class Meta:
        verbose_name = _("skickskontroll")
        verbose_name_plural = _("skickskontroller")

    def __str__(self) -> str:
        return f"{self.iso_class_id}: {len(self.points)}"


class ConditionReport(models.Model):
    """The condition of a returned device, checked point by point when the driver collects it
    and again when the warehouse receives it; what the reconditioning technician reads first."""

    class Stage(models.TextChoices):
        COLLECTION = "collection", _("Vid hämtning")
        RECEIPT = "receipt", _("Vid mottagning")

    line = models.ForeignKey(PickupLine, on_delete=models.PROTECT, related_name="conditions")
    stage = models.CharField(_("tillfälle"), max_length=10, choices=Stage.choices)
    # [{"point": "Komplett", "result": "yes" | "no" | "na"}]
    points = models.JSONField(_("kontrollpunkter"), default=list)
    note = models.CharField(_("anmärkning"), max_length=300, blank=True)
    checked_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField(_("kontrollerad"))

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["ConditionReport"]()
    unscoped = models.Manager["ConditionReport"]()

    class Meta:
        ordering = ["checked_at", "pk"]
        verbose_name = _("skicksrapport")
        verbose_name_plural = _("skicksrapporter")
        constraints = [
            models.UniqueConstraint(fields=["line", "stage"], name="one_condition_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.stage}"

    @property
    def remarks(self) -> list[dict[str, str]]:
        """The points that were not as they should be: 'no', except that a visible damage is
        a remark when it is 'yes'."""
        return [p for p in self.points if p.get("result") == ("yes" if _damage(p) else "no")]


def _damage(point: dict[str, str]) -> bool:
    return "skad" in str(point.get("point", "")).lower()


class ConditionPhoto(models.Model):
    """A photo taken with a condition report: content-checked (JPEG or PNG, at most 10 MB),
    stored under the var directory by a random name, served only after the access check."""

    report = models.ForeignKey(ConditionReport, on_delete=models.PROTECT, related_name="photos")
    name = models.CharField(_("filnamn"), max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("storlek"))
    sha256 = models.CharField(max_length=64)
    stored_as = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("fotograferad"))

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["ConditionPhoto"]()
    unscoped = models.Manager["ConditionPhoto"]()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("foto av skick")
        verbose_name_plural = _("foton av skick")

    def __str__(self) -> str:
        return self.name
