"""The technicians' desk (DOMAIN.md §3.4): teams, work orders (repair, adaptation, special
adaptation, trial, off-catalogue request, installation, inspection, maintenance, reconditioning)
with their parts and attachments, inspection plans, each item's inspection schedule and the
inspections done. Nothing is deleted: a work order is cancelled with a reason; a closed one never
changes again (a database trigger is not needed: every write goes through `services`, which
refuses, and the state-machine test proves it)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from lyfta.access.guard import PatientLinkedManager


class Team(models.Model):
    """A team of technicians at the centre, serving some delivery areas (the first three digits
    of the postal code)."""

    name = models.CharField(_("namn"), max_length=100, unique=True)
    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    areas = models.CharField(
        _("områden"), max_length=300, blank=True, help_text=_("Postnummerområden, t.ex. 652 653")
    )
    members = models.ManyToManyField("accounts.User", related_name="technician_teams", blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("teknikerteam")
        verbose_name_plural = _("teknikerteam")

    def __str__(self) -> str:
        return self.name

    @property
    def area_list(self) -> list[str]:
        return [a for a in self.areas.replace(",", " ").split() if a]


class InspectionPlan(models.Model):
    """A periodic inspection (förebyggande underhåll, besiktning) of an article or of every
    article in an ISO class: its interval and its protocol, a checklist of points each passed,
    failed or not applicable. An item can have several plans (a lift yearly, its sling every
    six months)."""

    name = models.CharField(_("namn"), max_length=120)
    article = models.ForeignKey(
        "catalogue.Article",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("artikel"),
    )
    iso_class = models.ForeignKey(
        "catalogue.IsoClass",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ISO-klass"),
    )
    interval_months = models.PositiveSmallIntegerField(_("intervall (månader)"))
    checklist = models.JSONField(_("protokoll"), default=list)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("besiktningsplan")
        verbose_name_plural = _("besiktningsplaner")
        constraints = [
            models.CheckConstraint(
                condition=Q(article__isnull=False) | Q(iso_class__isnull=False),
                name="plan_for_an_article_or_a_class",
            ),
            models.CheckConstraint(
                condition=Q(interval_months__gte=1) & Q(interval_months__lte=120),
                name="plan_interval_1_to_120_months",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ItemInspection(models.Model):
    """When an item is next due for one of its plans. Not linked to a patient: which patient
    holds the item is read through the access layer when a due list names him."""

    item = models.ForeignKey(
        "inventory.Item", on_delete=models.PROTECT, related_name="inspection_schedule"
    )
    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT, related_name="schedule")
    next_due = models.DateField(_("nästa besiktning"))
    last_done = models.DateField(_("senast besiktigad"), null=True, blank=True)
    reminded_on = models.DateField(_("påminnelse skickad"), null=True, blank=True)

    class Meta:
        ordering = ["next_due", "pk"]
        verbose_name = _("besiktningsschema")
        verbose_name_plural = _("besiktningsscheman")
        # The due list walks this in its own order (due date, then id) and stops after a page.
        indexes = [models.Index(fields=["next_due", "id"], name="schedule_due_in_order")]
        constraints = [
            models.UniqueConstraint(fields=["item", "plan"], name="one_schedule_per_item_plan")
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.plan_id} {self.next_due}"


def _label(choices: type[models.TextChoices], value: str) -> str:
    """The label of `value` among `choices` in the active language, or the value itself."""
    for member in choices:
        if member.value == value:
            return str(member.label)
    return value


# The open statuses as the partial indexes of the queues state them (WorkOrder.OPEN in SQL).
OPEN_STATUS = Q(
    status__in=["registered", "planned", "in_progress", "waiting_parts", "waiting_approval"]
)


def _team_ids(user: Any) -> list[int]:
    return list(Team.members.through.objects.filter(user=user).values_list("team_id", flat=True))


def assigned_count(found: QuerySet[Any], user: Any) -> int:
    """How many of `found` (open work orders, as the access layer gives them) are assigned to
    `user` or to a team he is a member of, counted as mine + my teams' − mine in my teams: each
    term a range of one partial queue index (`workorder_open_by_assignee` / `_by_team`), where
    "mine OR my teams'" made PostgreSQL build and merge both bitmaps and read every row (24 ms a
    count on a team's thousands of open orders at national size, on every technician's page)."""
    mine = found.filter(assignee=user).count()
    teams = _team_ids(user)
    if not teams:
        return mine
    both = found.filter(assignee=user, team_id__in=teams).count() if mine else 0
    return mine + found.filter(team_id__in=teams).count() - both


def assigned_head(found: QuerySet[Any], user: Any, size: int) -> list[Any]:
    """The first `size` of `found` assigned to `user` or his teams, by done-by date and id: the
    first `size` of each side read by its own index and merged (see `assigned_count`)."""
    order = ("done_due", "pk")
    head = list(found.filter(assignee=user).order_by(*order)[:size])
    teams = _team_ids(user)
    if teams:
        theirs = found.filter(team_id__in=teams).exclude(assignee=user)
        head += list(theirs.order_by(*order)[:size])
    return sorted(head, key=lambda order: (order.done_due, order.pk))[:size]


def assigned_to(user: Any) -> Q:
    """Work orders assigned to `user` or to a team he is a member of, as a filter on the work
    order's own columns: his teams as a list of ids, so no join to the members and no DISTINCT,
    and at national size each side reads its partial queue index (a join with "OR member" and
    DISTINCT took 0.25 s a count, on every technician's page; docs/performance.md)."""
    teams = _team_ids(user)
    return Q(assignee=user) | Q(team_id__in=teams) if teams else Q(assignee=user)


class WorkOrder(models.Model):
    """One piece of technical work on a device (arbetsorder): what, on which item or article,
    for which patient, asked by whom, done by whom and where, with its service-level dates and
    the technician's report."""

    class Kind(models.TextChoices):
        REPAIR = "repair", _("Reparation")
        ADAPTATION = "adaptation", _("Anpassning")
        SPECIAL_ADAPTATION = "special_adaptation", _("Specialanpassning")
        TRIAL = "trial", _("Utprovning")
        OFF_CATALOGUE = "off_catalogue", _("Förskrivning utanför sortiment")
        INSTALLATION = "installation", _("Installation")
        INSPECTION = "inspection", _("Besiktning")
        MAINTENANCE = "maintenance", _("Förebyggande underhåll")
        RECONDITIONING = "reconditioning", _("Rekonditionering")

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registrerad")
        PLANNED = "planned", _("Planerad")
        IN_PROGRESS = "in_progress", _("Pågår")
        WAITING_PARTS = "waiting_parts", _("Väntar på reservdelar")
        WAITING_APPROVAL = "waiting_approval", _("Väntar på godkännande")
        DONE = "done", _("Utförd")
        CLOSED = "closed", _("Avslutad")
        CANCELLED = "cancelled", _("Makulerad")

    OPEN = (
        Status.REGISTERED,
        Status.PLANNED,
        Status.IN_PROGRESS,
        Status.WAITING_PARTS,
        Status.WAITING_APPROVAL,
    )
    FINAL = (Status.CLOSED, Status.CANCELLED)

    class Origin(models.TextChoices):
        PRESCRIBER = "prescriber", _("Förskrivare")
        TECHNICIAN = "technician", _("Tekniker")
        CENTRE = "centre", _("Hjälpmedelscentralen")
        INSPECTION_PLAN = "inspection_plan", _("Besiktningsplan")

    class Place(models.TextChoices):
        WORKSHOP = "workshop", _("Verkstaden")
        HOME = "home", _("Patientens hem")
        UNIT = "unit", _("Enheten")

    class Priority(models.TextChoices):
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Brådskande")

    number = models.CharField(_("arbetsordernummer"), max_length=20, unique=True)
    kind = models.CharField(_("typ"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    origin = models.CharField(_("beställd av"), max_length=20, choices=Origin.choices)
    place = models.CharField(_("plats"), max_length=10, choices=Place.choices)
    priority = models.CharField(
        _("prioritet"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    item = models.ForeignKey(
        "inventory.Item",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
        verbose_name=_("individ"),
    )
    # The item's batch when the order was registered (a batch never changes): the failure
    # statistics count repairs per lot from the work orders' own index, without the items.
    lot = models.CharField(_("batch/lot"), max_length=60, blank=True, default="")
    article = models.ForeignKey(
        "catalogue.Article",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("artikel"),
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The unit the work is for (the holding or asking unit): whose information it is, who pays
    # work outside the rent, who approves a special adaptation's cost, who is told.
    unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.PROTECT, related_name="work_orders"
    )
    # Who asked; empty when an inspection plan brought the work order about.
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
        verbose_name=_("team"),
    )
    assignee = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tekniker"),
    )
    plan = models.ForeignKey(
        InspectionPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.TextField(_("beskrivning av felet eller behovet"), max_length=2000)
    # Where a home or unit visit goes (a snapshot); a protected address is never printed (R55).
    street = models.CharField(_("gatuadress"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=6, blank=True)
    city = models.CharField(_("postort"), max_length=100, blank=True)
    confidential_address = models.BooleanField(_("skyddad adress"), default=False)
    contact_phone = models.CharField(_("kontakttelefon"), max_length=30, blank=True)
    registered_at = models.DateTimeField(_("registrerad"))
    start_due = models.DateField(_("ska påbörjas senast"))
    done_due = models.DateField(_("ska vara klar senast"))
    planned_on = models.DateField(_("planerad dag"), null=True, blank=True)
    started_at = models.DateTimeField(_("påbörjad"), null=True, blank=True)
    done_at = models.DateTimeField(_("utförd"), null=True, blank=True)
    closed_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("makulerad"), null=True, blank=True)
    cancel_reason = models.CharField(_("skäl till makulering"), max_length=200, blank=True)
    waiting_note = models.CharField(_("vad som väntas på"), max_length=200, blank=True)
    # A fault within the article's warranty from acquisition: the supplier's case.
    warranty = models.BooleanField(_("garantiärende"), default=False)
    # The technician's report.
    findings = models.TextField(_("felbeskrivning efter undersökning"), max_length=2000, blank=True)
    actions = models.TextField(_("åtgärder"), max_length=2000, blank=True)
    minutes_spent = models.PositiveIntegerField(_("arbetstid (minuter)"), default=0)
    # Work outside the rent, priced by the billing run (DOMAIN.md §3.8).
    billable = models.BooleanField(_("debiteras utöver hyran"), default=False)
    # Special adaptation: instruction, risk analysis, cost estimate and the payer's approval.
    instruction = models.TextField(_("instruktion"), max_length=4000, blank=True)
    risk_analysis = models.TextField(_("riskanalys"), max_length=4000, blank=True)
    cost_estimate = models.DecimalField(
        _("kostnadsförslag"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    approved_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("godkänd"), null=True, blank=True)
    delay_notified = models.BooleanField(default=False)

    # Patient-linked rows: read through lyfta.access.rows; `unscoped` is for code that writes.
    objects = PatientLinkedManager["WorkOrder"]()
    unscoped = models.Manager["WorkOrder"]()

    class Meta:
        ordering = ["done_due", "pk"]
        verbose_name = _("arbetsorder")
        verbose_name_plural = _("arbetsordrar")
        indexes = [
            # The queues: a team's and a technician's open work, by due date.
            models.Index(
                "team",
                "done_due",
                "id",
                condition=OPEN_STATUS,
                name="workorder_open_by_team",
            ),
            models.Index(
                "assignee",
                "done_due",
                "id",
                condition=OPEN_STATUS,
                name="workorder_open_by_assignee",
            ),
            models.Index(fields=["unit", "status"]),
            models.Index(fields=["patient", "status"]),
            models.Index(fields=["status", "done_due"]),
            # The failure statistics: repairs registered in a period, counted per article, unit
            # and item from the index alone.
            models.Index(
                fields=["kind", "registered_at"],
                include=["status", "article", "item", "unit", "lot"],
                name="workorder_kind_registered",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
                name="workorder_cancelled_with_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["done", "closed"]) | Q(done_at__isnull=False),
                name="workorder_done_has_time",
            ),
            models.CheckConstraint(
                condition=Q(start_due__lte=models.F("done_due")),
                name="workorder_start_before_done",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and self.item_id is not None and not self.lot:
            from lyfta.inventory.models import Item

            found = Item.objects.filter(pk=self.item_id).values_list("batch", flat=True).first()
            self.lot = found or ""
        super().save(*args, **kwargs)

    # The labels of the choices, looked up without translating every other choice first (Django's
    # own get_FOO_display hashes each lazy label, which translates it: a list of fifty work
    # orders spent a fifth of its time there).
    def get_kind_display(self) -> str:  # type: ignore[no-redef]
        return _label(self.Kind, self.kind)

    def get_status_display(self) -> str:  # type: ignore[no-redef]
        return _label(self.Status, self.status)

    def get_place_display(self) -> str:  # type: ignore[no-redef]
        return _label(self.Place, self.place)

    def get_origin_display(self) -> str:  # type: ignore[no-redef]
        return _label(self.Origin, self.origin)

    def get_priority_display(self) -> str:  # type: ignore[no-redef]
        return _label(self.Priority, self.priority)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def area(self) -> str:
        return self.postal_code.replace(" ", "")[:3]


class WorkOrderPart(models.Model):
    """A spare part used on a work order: a catalogue article taken out of the workshop's (or
    the technician's) stock through the ledger, in the same transaction as this row."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="parts")
    article = models.ForeignKey("catalogue.Article", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("antal"))
    location = models.ForeignKey(
        "inventory.StockLocation", on_delete=models.PROTECT, related_name="+"
    )
    movement = models.OneToOneField(
        "inventory.StockMovement", on_delete=models.PROTECT, related_name="+"
    )
    used_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    used_at = models.DateTimeField(_("använd"))
    # The form's one-time key: the same form sent twice (a double tap, a resent post) is one part.
    form_key = models.CharField(max_length=32, null=True, blank=True, unique=True, editable=False)

    objects = PatientLinkedManager["WorkOrderPart"]()
    unscoped = models.Manager["WorkOrderPart"]()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("reservdel")
        verbose_name_plural = _("reservdelar")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="part_quantity")]

    def __str__(self) -> str:
        return f"{self.work_order_id}: {self.quantity} × {self.article_id}"


class Attachment(models.Model):
    """A photo or document on a work order (instruction, risk analysis, a photo of the fault):
    type- and size-checked on upload, stored under the var directory by a random name, served
    only through the work order's access check."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Foto")
        DOCUMENT = "document", _("Dokument")

    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="attachments")
    kind = models.CharField(_("typ"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("filnamn"), max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("storlek"))
    sha256 = models.CharField(max_length=64)
    stored_as = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("bifogad"))

    objects = PatientLinkedManager["Attachment"]()
    unscoped = models.Manager["Attachment"]()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("bilaga")
        verbose_name_plural = _("bilagor")

    def __str__(self) -> str:
        return self.name


class Inspection(models.Model):
    """The record of one inspection: date, serial number, inspector, the result of each point of
    the protocol, the condition and the next due date (SS-EN ISO 10535 practice)."""

    class Result(models.TextChoices):
        PASSED = "passed", _("Godkänd")
        FAILED = "failed", _("Underkänd")

    work_order = models.OneToOneField(
        WorkOrder, on_delete=models.PROTECT, related_name="inspection"
    )
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT, related_name="+")
    performed_on = models.DateField(_("besiktigad"))
    inspector = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    serial_number = models.CharField(_("serienummer"), max_length=60, blank=True)
    result = models.CharField(_("resultat"), max_length=10, choices=Result.choices)
    # [{"point": "...", "result": "pass" | "fail" | "na", "note": "..."}]
    points = models.JSONField(_("punkter"), default=list)
    condition = models.CharField(_("skick"), max_length=300, blank=True)
    next_due = models.DateField(_("nästa besiktning"), null=True, blank=True)

    objects = PatientLinkedManager["Inspection"]()
    unscoped = models.Manager["Inspection"]()

    class Meta:
        ordering = ["-performed_on", "-pk"]
        verbose_name = _("besiktning")
        verbose_name_plural = _("besiktningar")

    def __str__(self) -> str:
        return f"{self.item_id} {self.performed_on}"
