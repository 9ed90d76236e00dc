"""Stock: where devices are (locations), each individually tracked device (Item), quantities of
the others (StockLevel) and the append-only ledger of every movement (StockMovement), from which
every quantity can be recomputed (DOMAIN.md §4, §5)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from lyfta.access.guard import PatientLinkedManager


class StockLocation(models.Model):
    """A place devices are kept: the centre's central warehouse, a unit's buffer store
    (owned by the centre, kept by the unit), reconditioning, the workshop or shrinkage (svinn)."""

    class Kind(models.TextChoices):
        CENTRAL = "central", _("Centrallager")
        BUFFER = "buffer", _("Buffertförråd")
        RECONDITIONING = "reconditioning", _("Rekonditionering")
        WORKSHOP = "workshop", _("Verkstad")
        SHRINKAGE = "shrinkage", _("Svinn")

    code = models.CharField(_("kod"), max_length=20, unique=True)
    name = models.CharField(_("namn"), max_length=200)
    kind = models.CharField(_("typ"), max_length=16, choices=Kind.choices)
    # The unit that keeps the place: the centre for its own stores, the unit for a buffer store.
    unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.PROTECT, related_name="stock_locations"
    )
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("lagerplats")
        verbose_name_plural = _("lagerplatser")

    def __str__(self) -> str:
        return self.name


class BufferLevel(models.Model):
    """How many of an article a buffer store should hold: refilled up to this at the next
    delivery (DOMAIN.md §3.3)."""

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="levels")
    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="+")
    safety_level = models.PositiveIntegerField(_("säkerhetsnivå"))

    class Meta:
        verbose_name = _("säkerhetsnivå i buffertförråd")
        verbose_name_plural = _("säkerhetsnivåer i buffertförråd")
        constraints = [
            models.UniqueConstraint(fields=["location", "article"], name="one_level_per_article")
        ]

    def __str__(self) -> str:
        return f"{self.location} {self.article_id}: {self.safety_level}"


class Item(models.Model):
    """One individually tracked device (individ) with its unique individual number. It is in one
    place or with one patient: never both, never two patients (DOMAIN.md §5)."""

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", _("I lager")
        RESERVED = "reserved", _("Reserverad")
        IN_TRANSIT = "in_transit", _("Under transport")
        ON_LOAN = "on_loan", _("Utlånad")
        AWAITING_PICKUP = "awaiting_pickup", _("Väntar på hämtning")
        RECONDITIONING = "reconditioning", _("Under rekonditionering")
        IN_REPAIR = "in_repair", _("På reparation")
        LOST = "lost", _("Förkommen")
        SCRAPPED = "scrapped", _("Skrotad")

    WITH_PATIENT = (Status.ON_LOAN, Status.AWAITING_PICKUP)

    individual_number = models.CharField(_("individnummer"), max_length=20, unique=True)
    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="items")
    serial_number = models.CharField(_("serienummer"), max_length=60, blank=True)
    batch = models.CharField(_("batch/lot"), max_length=60, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    location = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )
    holder = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )
    acquired_on = models.DateField(_("anskaffad"))
    acquisition_value = models.DecimalField(_("anskaffningsvärde"), max_digits=10, decimal_places=2)
    residual_value = models.DecimalField(
        _("restvärde"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    # Lent before and reconditioned since: such units go out first (DOMAIN.md §3.2).
    times_lent = models.PositiveIntegerField(_("antal utlåningar"), default=0)
    lost_on = models.DateField(_("förkommen"), null=True, blank=True)
    scrap_reason = models.CharField(_("skäl till skrotning"), max_length=200, blank=True)
    # Taken out of use (a failed inspection, a fault reported): picking refuses it and the
    # holdings and the item card say so, until a repair or inspection puts it back.
    out_of_use_since = models.DateField(_("ur bruk sedan"), null=True, blank=True)
    out_of_use_reason = models.CharField(_("skäl till ur bruk"), max_length=200, blank=True)
    # A special adaptation: the manufacturer's CE marking no longer covers the device.
    adaptation_note = models.CharField(_("specialanpassning"), max_length=300, blank=True)

    class Meta:
        ordering = ["individual_number"]
        verbose_name = _("individ")
        verbose_name_plural = _("individer")
        indexes = [
            models.Index(fields=["article", "status"]),
            # The free items of an article at a location in the order reserve_item takes them:
            # counting and choosing read this small index, not every item the article ever had.
            models.Index(
                "article",
                "location",
                F("times_lent").desc(),
                "acquired_on",
                "id",
                # Only what may be picked: in stock and not taken out of use (a failed
                # inspection), so that the index alone answers "which one goes out next".
                condition=Q(status="in_stock", out_of_use_since__isnull=True),
                name="item_free_in_pick_order",
            ),
            # The items of a lot and where they are (the failure statistics' devices in use per
            # lot); items without a lot are left out.
            models.Index(fields=["batch", "status"], condition=~Q(batch=""), name="item_by_batch"),
        ]
        constraints = [
            # With a patient exactly when on loan or waiting to be picked up; then nowhere else.
            models.CheckConstraint(
                condition=(
                    Q(status__in=["on_loan", "awaiting_pickup"], holder__isnull=False)
                    & Q(location__isnull=True)
                )
                | (~Q(status__in=["on_loan", "awaiting_pickup"]) & Q(holder__isnull=True)),
                name="item_holder_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scrapped", "on_loan", "awaiting_pickup"])
                | Q(location__isnull=False),
                name="item_in_a_place_unless_out",
            ),
        ]

    def __str__(self) -> str:
        return self.individual_number


class StockLevel(models.Model):
    """The quantity of a non-tracked article at a location, and how much of it open orders
    have reserved. Never negative; never more reserved than there is (DOMAIN.md §5)."""

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="stock")
    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="stock")
    quantity = models.IntegerField(_("antal"), default=0)
    reserved = models.IntegerField(_("reserverat"), default=0)

    class Meta:
        verbose_name = _("lagersaldo")
        verbose_name_plural = _("lagersaldon")
        constraints = [
            models.UniqueConstraint(fields=["location", "article"], name="one_level_per_place"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_never_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=F("quantity")),
                name="reserved_within_stock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location} {self.article_id}: {self.quantity}"

    @property
    def available(self) -> int:
        return self.quantity - self.reserved


class StockMovement(models.Model):
    """One row of the append-only ledger: `quantity` of `article` (or the one `item`) moved from
    `from_location` to `to_location`; an empty side is outside stock: the supplier, a patient, or
    the scrap heap. Database triggers refuse UPDATE and DELETE."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Inleverans")
        DELIVERY = "delivery", _("Leverans till patient")
        STORE_DELIVERY = "store_delivery", _("Leverans till buffertförråd")
        WITHDRAWAL = "withdrawal", _("Uttag ur buffertförråd")
        RETURN = "return", _("Retur från patient")
        RECONDITIONED = "reconditioned", _("Rekonditionerad till lager")
        SCRAPPED = "scrapped", _("Skrotad")
        LOST = "lost", _("Förkommen (svinn)")
        FOUND = "found", _("Återfunnen")
        STOCKTAKE = "stocktake", _("Inventeringsdifferens")
        TRANSFER = "transfer", _("Omflyttning")
        REPAIR_PART = "repair_part", _("Reservdel till arbetsorder")

    occurred_at = models.DateTimeField(_("tid"))
    kind = models.CharField(_("typ"), max_length=16, choices=Kind.choices)
    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    quantity = models.PositiveIntegerField(_("antal"))
    from_location = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_location = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What caused it: an order line, a pick-up line, a stock-take (plain ids: the ledger sits
    # below the apps that use it).
    reference = models.CharField(_("referens"), max_length=40, blank=True)
    # The lot (batch) of a non-tracked article's quantity: set on goods receipt and carried by
    # every movement out of a place (oldest lot first), so that a sold lot traces to the
    # patients holding it (a tracked item's lot is `Item.batch`).
    lot = models.CharField(_("batch/lot"), max_length=60, blank=True, default="")
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("anteckning"), max_length=200, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["StockMovement"]()
    unscoped = models.Manager["StockMovement"]()

    class Meta:
        ordering = ["id"]
        verbose_name = _("lagerrörelse")
        verbose_name_plural = _("lagerrörelser")
        indexes = [
            models.Index(fields=["article", "from_location"]),
            models.Index(fields=["article", "to_location"]),
            models.Index(fields=["article", "lot"]),
            # The statistics' monthly refresh: the reconditionings finished in a month.
            models.Index(
                fields=["occurred_at"], condition=Q(kind="reconditioned"),
                name="movement_reconditioned_at",
            ),
        ]  # fmt: skip
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="movement_moves_something"),
            models.CheckConstraint(
                condition=Q(from_location__isnull=False) | Q(to_location__isnull=False),
                name="movement_touches_stock",
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=True) | Q(quantity=1), name="an_item_is_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} × {self.article_id}"


class StockTake(models.Model):
    """A count of one location: the differences against the books are recorded as ledger rows."""

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    counted_at = models.DateTimeField(_("inventerad"))
    counted_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    differences = models.JSONField(_("differenser"), default=list)

    class Meta:
        ordering = ["-counted_at"]
        verbose_name = _("inventering")
        verbose_name_plural = _("inventeringar")

    def __str__(self) -> str:
        return f"{self.location} {self.counted_at:%Y-%m-%d}"


class Counter(models.Model):
    """A gap-free number series (order, pick-up and individual numbers), advanced under a row
    lock so that two transactions never draw the same number."""

    name = models.CharField(max_length=20, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("nummerserie")
        verbose_name_plural = _("nummerserier")

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class Reservation(models.Model):
    """A device held back for a patient or for a unit's planned need until a day (issue 16 point
    5): while it is in force (not ended and `until` not passed) picking and allocation offer the
    item to nobody else, and take it for the matching order first. It ends by itself: the query
    treats a passed `until` as not in force at once, and the daily job closes the row."""

    class End(models.TextChoices):
        USED = "used", _("Lämnad ut till den reserverade")
        CANCELLED = "cancelled", _("Avbruten")
        EXPIRED = "expired", _("Utgången")

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="reservations")
    # For a patient (then the unit is the one whose patient it is) or a unit's planned need.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    until = models.DateField(_("reserverad till och med"))
    note = models.CharField(_("anteckning"), max_length=200, blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("reserverad"))
    ended_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    end_reason = models.CharField(_("avslut"), max_length=10, choices=End.choices, blank=True)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["Reservation"]()
    unscoped = models.Manager["Reservation"]()

    class Meta:
        ordering = ["until", "pk"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservationer")
        constraints = [
            # An item is held for one patient or need at a time.
            models.UniqueConstraint(
                fields=["item"], condition=Q(ended_at__isnull=True), name="one_open_reservation"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | ~Q(end_reason=""),
                name="ended_reservation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} → {self.until}"

    @property
    def in_force(self) -> bool:
        """Holding the item now: not ended, its day not passed and its patient, if any, alive
        (the job that closes the others may not have run)."""
        from django.utils import timezone

        if self.patient is not None and self.patient.deceased_date is not None:
            return False
        return self.ended_at is None and self.until >= timezone.localdate()


class LotBlock(models.Model):
    """A lot of a non-tracked article that may not be picked (a safety notice until the lot is
    checked): picking, reservations and withdrawals skip its quantity while the block is in
    force. `reference` names what blocked it (a campaign number); nothing is deleted, a block
    ends."""

    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(_("batch/lot"), max_length=60)
    reason = models.CharField(_("skäl"), max_length=200)
    reference = models.CharField(_("referens"), max_length=40)
    created_at = models.DateTimeField(_("spärrad"))
    ended_at = models.DateTimeField(_("hävd"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("spärrad batch")
        verbose_name_plural = _("spärrade batcher")
        indexes = [models.Index(fields=["article", "ended_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "lot", "reference"],
                condition=Q(ended_at__isnull=True),
                name="one_open_block_per_lot_and_reference",
            ),
            models.CheckConstraint(condition=~Q(lot=""), name="a_block_names_a_lot"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {self.lot}"
