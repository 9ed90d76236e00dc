"""The audit trail: append-only events (R57–R58), the hash chain that seals them (R66), HMAC'd
checkpoints of the chain head (R67) and the permits that let retention cleanup delete old events
(R73). None of these tables has an update path, in code or in the database (R65)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from lyfta.audit.actions import Action


class Outcome(models.TextChoices):
    GRANTED = "granted", _("Beviljad")
    DENIED = "denied", _("Nekad")
    ERROR = "error", _("Fel")


class LegalBasis(models.TextChoices):
    """What allowed an access to patient data (R32, R40, R41, R50)."""

    RELATIONSHIP = "relationship", _("Vårdrelation")
    NEED = "need", _("Annat behov i arbetet")
    CONSENT = "consent", _("Samtycke")
    EMERGENCY = "emergency", _("Nödåtkomst")
    OPEN = "open", _("Öppen åtkomst mellan vårdgivare")
    CASE = "case", _("Ärende (order, arbetsorder)")
    ROLE = "role", _("Roll utan patientkoppling")


# What two targeted checks of the log review look for (R76). Such events are a small share of
# the log; partial indexes of just them let a check of a unit-month read what it reports instead
# of every access the unit made that month.
NEED_OR_NO_RELATIONSHIP = (
    models.Q(legal_basis=LegalBasis.NEED)
    | models.Q(action=Action.NEED_DOCUMENTED)
    | models.Q(action__in=[Action.PATIENT_ACCESS_DENIED, Action.PATIENT_SEARCH_OUTSIDE])
)
EMERGENCY = models.Q(legal_basis=LegalBasis.EMERGENCY) | models.Q(action=Action.EMERGENCY_STARTED)
# Failed sign-ins (R22), counted over the last hour for the operators' /metrics: a partial index
# of just them keeps the count from reading the log.
SIGN_IN_FAILED = models.Q(
    action__in=[
        Action.LOGIN_FAILED,
        Action.LOGIN_REFUSED,
        Action.LOCKED_OUT,
        Action.MFA_FAILED,
        Action.REAUTH_FAILED,
    ]
)


class AuditEvent(models.Model):
    """One audited action. Identifiers are stored as plain numbers, not foreign keys, with snapshots
    of names, so that an event says what it said when it was written and no later change elsewhere
    can cascade into it. Never holds passwords, tokens, clinical free text or search results
    (R60)."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("tidpunkt"))
    action = models.CharField(_("händelse"), max_length=64)
    outcome = models.CharField(_("utfall"), max_length=8, choices=Outcome.choices)
    purpose = models.CharField(_("ändamål"), max_length=32, blank=True)

    actor_id = models.BigIntegerField(_("användar-id"), null=True, blank=True)
    actor_username = models.CharField(_("användarnamn"), max_length=150, blank=True)
    actor_name = models.CharField(_("namn"), max_length=200, blank=True)
    actor_title = models.CharField(_("befattning"), max_length=100, blank=True)
    actor_role = models.CharField(_("roll"), max_length=32, blank=True)
    assignment_id = models.BigIntegerField(_("uppdrag"), null=True, blank=True)
    actor_provider_id = models.BigIntegerField(_("användarens vårdgivare"), null=True, blank=True)
    actor_provider_orgno = models.CharField(_("vårdgivarens org.nr"), max_length=11, blank=True)
    actor_unit_id = models.BigIntegerField(_("användarens enhet"), null=True, blank=True)
    actor_unit_name = models.CharField(_("enhetens namn"), max_length=200, blank=True)

    patient_id = models.BigIntegerField(_("patient"), null=True, blank=True)
    owner_provider_id = models.BigIntegerField(
        _("informationsägande vårdgivare"), null=True, blank=True
    )
    owner_unit_id = models.BigIntegerField(_("informationsägande enhet"), null=True, blank=True)
    resource_type = models.CharField(_("objekttyp"), max_length=64, blank=True)
    resource_id = models.CharField(_("objekt-id"), max_length=64, blank=True)
    legal_basis = models.CharField(_("grund för åtkomst"), max_length=16, blank=True)
    legal_basis_ref = models.CharField(_("referens till grunden"), max_length=64, blank=True)

    source_system = models.CharField(_("källsystem"), max_length=32)
    client_address = models.CharField(_("klientadress"), max_length=45, blank=True)
    session_hash = models.CharField(_("session (hash)"), max_length=64, blank=True)
    request_id = models.CharField(_("anrops-id"), max_length=64, blank=True)
    changes = models.JSONField(_("ändringar"), default=dict, blank=True)
    detail = models.JSONField(_("detaljer"), default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("logghändelse")
        verbose_name_plural = _("logghändelser")
        # Partial indexes: every insert pays for each index it enters, and most events have no
        # patient, no signed-in user or no resource; the id (insertion order) serves time ranges.
        indexes = [
            models.Index(
                fields=["patient_id", "occurred_at"],
                name="audit_patient_time",
                condition=models.Q(patient_id__isnull=False),
            ),
            models.Index(
                fields=["actor_id", "occurred_at"],
                name="audit_actor_time",
                condition=models.Q(actor_id__isnull=False),
            ),
            models.Index(
                fields=["actor_unit_id", "occurred_at"],
                name="audit_unit_time",
                condition=models.Q(actor_unit_id__isnull=False),
            ),
            models.Index(
                fields=["owner_provider_id", "occurred_at"],
                name="audit_owner_time",
                condition=models.Q(owner_provider_id__isnull=False),
            ),
            models.Index(
                fields=["resource_type", "resource_id"],
                name="audit_resource",
                condition=~models.Q(resource_type=""),
            ),
            models.Index(
                fields=["actor_unit_id", "occurred_at"],
                name="audit_need_unit_time",
                condition=NEED_OR_NO_RELATIONSHIP,
            ),
            models.Index(
                fields=["actor_unit_id", "occurred_at"],
                name="audit_emergency_unit_time",
                condition=EMERGENCY,
            ),
            models.Index(
                fields=["occurred_at"], name="audit_signin_failed_time", condition=SIGN_IN_FAILED
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    @property
    def action_label(self) -> str:
        try:
            return str(Action(self.action).label)
        except ValueError:
            return self.action

    @property
    def legal_basis_label(self) -> str:
        try:
            return str(LegalBasis(self.legal_basis).label) if self.legal_basis else ""
        except ValueError:
            return self.legal_basis


class AuditSeal(models.Model):
    """The place of one event in the hash chain: `entry_hash = SHA-256(prev_hash || canonical
    serialisation of the event)`, gap-free `seq`, and a MAC of the entry under LYFTA_AUDIT_KEY so a
    chain recomputed without the key is found at the first event it altered (R66–R67).

    On PostgreSQL the events and seals are partitioned by month of the event's time, which the
    seal keeps a copy of (`occurred_at`) so that a month of both goes at once (decision 0023).
    There the database's keys are (id, occurred_at), (seq, occurred_at) and unique (event_id,
    occurred_at), and no foreign key joins a seal to its event; Django's model keeps `id`, `seq`
    and the one-to-one field, as SQLite still has them. `verify_audit` finds a seal without its
    event, a second seal with a sequence number in use and an event row repeating a sealed id."""

    seq = models.BigIntegerField(_("förseglingsnummer"), primary_key=True)
    event = models.OneToOneField(
        AuditEvent, on_delete=models.PROTECT, related_name="seal", verbose_name=_("händelse")
    )
    occurred_at = models.DateTimeField(_("händelsens tidpunkt"))
    version = models.PositiveSmallIntegerField(_("format"))
    prev_hash = models.BinaryField(_("föregående hash"), max_length=32)
    entry_hash = models.BinaryField(_("hash"), max_length=32)
    mac = models.BinaryField(_("MAC"), max_length=32)
    key_id = models.CharField(_("nyckel-id"), max_length=16)
    sealed_at = models.DateTimeField(_("förseglad"))

    class Meta:
        ordering = ["seq"]
        verbose_name = _("försegling")
        verbose_name_plural = _("förseglingar")

    def __str__(self) -> str:
        return f"seal {self.seq} → event {self.event_id}"


class AuditDayCount(models.Model):
    """Accesses to patient data on one day (Europe/Stockholm) that concern one provider, all its
    units together (`unit_id` 0) or those one unit's users made, and how many of them a targeted
    check flags by the event alone: what the log reviewer's chart draws. Derived from the sealed
    log and kept with it in the transactions that seal and prune (lyfta/audit/daily.py)."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField(_("dag"))
    provider_id = models.BigIntegerField(_("vårdgivare"))
    unit_id = models.BigIntegerField(_("enhet (0: hela vårdgivaren)"))
    accesses = models.BigIntegerField(_("åtkomster"))
    flagged = models.BigIntegerField(_("flaggade"))

    class Meta:
        ordering = ["provider_id", "unit_id", "day"]
        verbose_name = _("åtkomster per dag")
        verbose_name_plural = _("åtkomster per dag")
        constraints = [
            models.UniqueConstraint(
                fields=["provider_id", "unit_id", "day"], name="audit_daycount_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.provider_id}/{self.unit_id}: {self.accesses} ({self.flagged})"


class AuditCheckpoint(models.Model):
    """An HMAC'd statement of the chain head at a moment (R67); also appended to a file outside
    the database. A boundary checkpoint is written before retention cleanup so that the rest of
    the chain still verifies afterwards (R74)."""

    class Kind(models.TextChoices):
        SEAL = "seal", _("Försegling")
        PRUNE_BOUNDARY = "prune-boundary", _("Gallringsgräns")
        MANUAL = "manual", _("Manuell")
        BACKFILL = "backfill", _("Efterförsegling")

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(_("typ"), max_length=16, choices=Kind.choices)
    seal_seq = models.BigIntegerField(_("förseglingsnummer"))
    # A backfill checkpoint vouches for the seals from_seq..seal_seq made by an operator's backfill.
    from_seq = models.BigIntegerField(_("från förseglingsnummer"), null=True, blank=True)
    entry_hash = models.BinaryField(_("hash"), max_length=32)
    created_at = models.DateTimeField(_("skapad"))
    key_id = models.CharField(_("nyckel-id"), max_length=16)
    mac = models.BinaryField(_("MAC"), max_length=32)

    class Meta:
        ordering = ["id"]
        verbose_name = _("kontrollpunkt")
        verbose_name_plural = _("kontrollpunkter")
        indexes = [models.Index(fields=["seal_seq"], name="audit_checkpoint_seq")]

    def __str__(self) -> str:
        return f"checkpoint {self.kind} @ seal {self.seal_seq}"


class AuditPrunePermit(models.Model):
    """Written by `prune_audit` before it deletes: the database triggers let a DELETE through only
    for events at or below the highest permitted event id and older than five years (R73)."""

    id = models.BigAutoField(primary_key=True)
    boundary_seq = models.BigIntegerField(_("gräns (förseglingsnummer)"))
    max_event_id = models.BigIntegerField(_("högsta händelse-id"))
    before = models.DateField(_("äldre än"))
    created_at = models.DateTimeField(_("skapad"))
    created_by = models.CharField(_("utförd av"), max_length=150)

    class Meta:
        ordering = ["id"]
        verbose_name = _("gallringstillstånd")
        verbose_name_plural = _("gallringstillstånd")

    def __str__(self) -> str:
        return f"prune ≤ seal {self.boundary_seq} (before {self.before})"


class AuditShipCursor(models.Model):
    """How far the sealed chain has been shipped to one outside log store (R69): every event up to
    `last_seq` has been written there. Advanced only after a batch was written, so delivery is at
    least once and the receiver dedupes on `seq`."""

    destination = models.CharField(_("mottagare"), max_length=200, unique=True)
    last_seq = models.BigIntegerField(_("senast skickade förseglingsnummer"), default=0)
    updated_at = models.DateTimeField(_("uppdaterad"))

    class Meta:
        ordering = ["destination"]
        verbose_name = _("loggleveransläge")
        verbose_name_plural = _("loggleveranslägen")

    def __str__(self) -> str:
        return f"{self.destination} @ seal {self.last_seq}"


# --- Log review (R75–R82) -----------------------------------------------------------------------


class Verdict(models.TextChoices):
    JUSTIFIED = "justified", _("Befogad")
    UNJUSTIFIED = "unjustified", _("Inte befogad")
    UNCLEAR = "unclear", _("Oklar")


class ReviewCheck(models.Model):
    """One documented check of the log (R78): a random sample per unit and period (R75), a
    targeted check (R76) or a check on suspicion (R77), with its reviewer, criteria, the entries
    drawn and, when closed, the conclusion. Kept as long as the logs."""

    class Kind(models.TextChoices):
        SAMPLE = "sample", _("Stickprov")
        TARGETED = "targeted", _("Riktad kontroll")
        SUSPICION = "suspicion", _("Kontroll vid misstanke")

    provider = models.ForeignKey(
        "organisations.CareProvider", on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "organisations.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_checks",
    )
    kind = models.CharField(_("typ"), max_length=10, choices=Kind.choices)
    criteria = models.JSONField(_("urval"), default=dict)
    period_from = models.DateField(_("period från"))
    period_until = models.DateField(_("period till och med"))
    reviewer = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("påbörjad"))
    closed_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    conclusion = models.TextField(_("slutsats och uppföljning"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("loggkontroll")
        verbose_name_plural = _("loggkontroller")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_from}–{self.period_until}"


class ReviewItem(models.Model):
    """An audit event taken into a check, why it was taken, and the reviewer's verdict."""

    review = models.ForeignKey(ReviewCheck, on_delete=models.PROTECT, related_name="items")
    event_id = models.BigIntegerField(_("logghändelse"))
    reason = models.CharField(_("varför i urvalet"), max_length=40)
    verdict = models.CharField(_("bedömning"), max_length=12, choices=Verdict.choices, blank=True)
    follow_up = models.CharField(_("uppföljning"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("bedömd"), null=True, blank=True)

    class Meta:
        ordering = ["event_id"]
        verbose_name = _("granskad logghändelse")
        verbose_name_plural = _("granskade logghändelser")
        constraints = [
            models.UniqueConstraint(fields=["review", "event_id"], name="one_item_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.review_id}:{self.event_id}"


class ReviewSchedule(models.Model):
    """How often each unit's log is checked (R79); a check is due `interval_days` after the last
    closed sample check of the unit."""

    unit = models.OneToOneField(
        "organisations.Unit", on_delete=models.PROTECT, related_name="review_schedule"
    )
    interval_days = models.PositiveIntegerField(_("intervall (dagar)"), default=90)
    updated_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("ändrad"))

    class Meta:
        verbose_name = _("granskningsschema")
        verbose_name_plural = _("granskningsscheman")

    def __str__(self) -> str:
        return f"{self.unit_id} every {self.interval_days} days"


class LogExtractRequest(models.Model):
    """A patient's request for a log extract (R80–R82): who asked, when (the one-month deadline of
    GDPR Art. 12(3) runs from then), what kind of request, and who produced and delivered it."""

    class Kind(models.TextChoices):
        PATIENT_REQUEST = "patient", _("Patientens begäran (loggutdrag)")
        OFFICIAL_DOCUMENT = "official", _("Begäran om allmän handling")

    provider = models.ForeignKey(
        "organisations.CareProvider", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("typ av begäran"), max_length=10, choices=Kind.choices)
    requested_at = models.DateField(_("begärd"))
    due_at = models.DateField(_("ska lämnas senast"))
    requester = models.CharField(_("begärd av"), max_length=200)
    period_from = models.DateField(_("period från"))
    period_until = models.DateField(_("period till och med"))
    secrecy_reviewed = models.BooleanField(_("sekretessprövning gjord"), default=False)
    received_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    produced_at = models.DateTimeField(_("framtaget"), null=True, blank=True)
    produced_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    delivered_at = models.DateField(_("lämnat"), null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("begäran om loggutdrag")
        verbose_name_plural = _("begäranden om loggutdrag")

    def __str__(self) -> str:
        return f"extract {self.patient_id} due {self.due_at}"
