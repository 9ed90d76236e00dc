"""Patients and the rules around who may see them: care relationships (R32), documented need
(R32), emergency access (R50–R52), consent across providers (R40–R41), blocks and temporary
lifts (R44–R49) and protected identity with its named staff (R53–R54)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lyfta.core.models import TimestampedModel


class Patient(TimestampedModel):
    """A person who receives devices. The identity and address are shared master data; the data
    about care and devices is owned by the units (and so the providers) that record it."""

    class IdKind(models.TextChoices):
        PERSONNUMMER = "personnummer", _("Personnummer")
        SAMORDNINGSNUMMER = "samordningsnummer", _("Samordningsnummer")
        RESERVNUMMER = "reservnummer", _("Reservnummer")

    class Protection(models.TextChoices):
        NONE = "", _("Ingen")
        CONFIDENTIALITY = "sekretessmarkering", _("Sekretessmarkering")
        PROTECTED_REGISTRATION = "skyddad_folkbokforing", _("Skyddad folkbokföring")

    identifier = models.CharField(_("identitet"), max_length=12, unique=True)
    id_kind = models.CharField(_("typ av nummer"), max_length=20, choices=IdKind.choices)
    first_name = models.CharField(_("förnamn"), max_length=100)
    last_name = models.CharField(_("efternamn"), max_length=100)
    street = models.CharField(_("gatuadress"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=6, blank=True)
    city = models.CharField(_("postort"), max_length=100, blank=True)
    phone = models.CharField(_("telefon"), max_length=30, blank=True)
    home_municipality = models.ForeignKey(
        "organisations.CareProvider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name=_("hemkommun"),
        limit_choices_to={"kind": "municipality"},
    )
    protection = models.CharField(
        _("skyddad identitet"), max_length=24, choices=Protection.choices, blank=True, default=""
    )
    protection_source = models.CharField(
        _("källa för skydd"),
        max_length=20,
        blank=True,
        help_text=_("Navet-kod (01003/01020) eller manuell registrering."),
    )
    # Where devices go when the registered address is protected (R55): Skatteverket's forwarding
    # address or one agreed with the patient. Shown to named staff and used on delivery documents.
    approved_delivery_address = models.CharField(
        _("godkänd leveransadress"), max_length=300, blank=True
    )
    deceased_date = models.DateField(_("avliden"), null=True, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("patient")
        verbose_name_plural = _("patienter")
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            # The few patients with protected identity, which the log reviewer's chart and the
            # targeted check "protected" look up on every run (a partial index: a short list).
            models.Index(fields=["id"], name="patient_protected", condition=~Q(protection="")),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_protected(self) -> bool:
        return bool(self.protection)

    @property
    def display_identifier(self) -> str:
        return display_identifier(self.identifier)


def display_identifier(identifier: str) -> str:
    """A personnummer (or samordnings-, reservnummer) as shown: YYYYMMDD-NNNN."""
    return f"{identifier[:8]}-{identifier[8:]}"


class PatientCorrection(models.Model):
    """A corrected patient field: the earlier value, the new one, who and why (kept forever)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="corrections")
    field = models.CharField(_("uppgift"), max_length=40)
    old_value = models.TextField(_("tidigare värde"), blank=True)
    new_value = models.TextField(_("nytt värde"), blank=True)
    reason = models.CharField(_("skäl"), max_length=200)
    changed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("ändrad"))

    class Meta:
        ordering = ["-changed_at"]
        verbose_name = _("rättelse")
        verbose_name_plural = _("rättelser")

    def __str__(self) -> str:
        return f"{self.patient_id} {self.field}"


class ProtectedStaff(TimestampedModel):
    """A person a unit manager has named as allowed to see a protected patient (R54)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="protected_staff")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    named_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(_("avslutad"), null=True, blank=True)

    class Meta:
        verbose_name = _("namngiven personal")
        verbose_name_plural = _("namngiven personal")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "user"],
                condition=Q(ended_at__isnull=True),
                name="one_open_naming_per_staff",
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.user_id}"


class CareRelationship(TimestampedModel):
    """A unit's care relationship with a patient (vårdrelation): created when the unit orders or
    prescribes, or registered explicitly with a reason; ended explicitly or by its end date.
    The relationship itself is data of the unit's provider."""

    class Origin(models.TextChoices):
        PRESCRIPTION = "prescription", _("Förskrivning")
        ORDER = "order", _("Beställning")
        REGISTERED = "registered", _("Registrerad")
        IMPORTED = "imported", _("Importerad")

    unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.PROTECT, related_name="care_relationships"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="relationships")
    origin = models.CharField(_("uppkomst"), max_length=16, choices=Origin.choices)
    reason = models.CharField(_("skäl"), max_length=200, blank=True)
    valid_from = models.DateField(_("från"))
    valid_until = models.DateField(_("till och med"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, related_name="+"
    )
    ended_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    ended_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(_("skäl till avslut"), max_length=200, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("vårdrelation")
        verbose_name_plural = _("vårdrelationer")
        indexes = [models.Index(fields=["unit", "patient"]), models.Index(fields=["patient"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="relationship_window_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} ↔ {self.patient_id}"


class DocumentedNeed(models.Model):
    """ "Annat behov i arbetet" (R32): one patient, a reason code and text, valid until the session
    ends; every use is flagged for review."""

    class Reason(models.TextChoices):
        NEW_CONTACT = "new_contact", _("Ny kontakt med patienten, vårdrelation ej registrerad än")
        COLLEAGUE = "colleague", _("Ersätter eller hjälper kollega i patientens ärende")
        DEVICE_ISSUE = "device_issue", _("Fråga om hjälpmedel som patienten har")
        ADMINISTRATION = "administration", _("Administrativ uppgift i patientens ärende")
        OTHER = "other", _("Annat behov")

    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey(
        "accounts.Assignment", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason_code = models.CharField(_("skäl"), max_length=20, choices=Reason.choices)
    reason_text = models.CharField(_("beskrivning"), max_length=300)
    # The sign-in session it belongs to (its UserSession id, stable across new session keys).
    session_ref = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("registrerad"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("dokumenterat behov")
        verbose_name_plural = _("dokumenterade behov")
        indexes = [models.Index(fields=["patient", "session_ref"])]

    def __str__(self) -> str:
        return f"need {self.user_id} → {self.patient_id}"


class EmergencyAccess(models.Model):
    """Nödåtkomst (R50–R52): re-authenticated, reason code and text, the patient unable to
    consent, read only, one patient, a short fixed period; notified and reviewed."""

    class Reason(models.TextChoices):
        ACUTE_CARE = "acute_care", _("Akut vård där patienten inte kan ta ställning")
        DEVICE_SAFETY = "device_safety", _("Akut risk med hjälpmedel (säkerhet)")
        OTHER = "other", _("Annan nödsituation")

    class Verdict(models.TextChoices):
        JUSTIFIED = "justified", _("Befogad")
        UNJUSTIFIED = "unjustified", _("Inte befogad")
        INCONCLUSIVE = "inconclusive", _("Oklar")

    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey(
        "accounts.Assignment", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="emergencies")
    reason_code = models.CharField(_("skäl"), max_length=20, choices=Reason.choices)
    reason_text = models.CharField(_("beskrivning"), max_length=300)
    patient_cannot_consent = models.BooleanField(_("patienten kan inte samtycka"))
    started_at = models.DateTimeField(_("öppnad"))
    expires_at = models.DateTimeField(_("gäller till"))
    ended_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    end_recorded = models.BooleanField(default=False)
    verdict = models.CharField(_("bedömning"), max_length=16, choices=Verdict.choices, blank=True)
    verdict_note = models.CharField(_("kommentar"), max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("granskad"), null=True, blank=True)
    # When the overdue review was escalated (R52); set once, so the escalation is sent once.
    escalated_at = models.DateTimeField(_("eskalerad"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("nödåtkomst")
        verbose_name_plural = _("nödåtkomster")
        constraints = [
            models.CheckConstraint(
                condition=Q(patient_cannot_consent=True), name="emergency_confirmed"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("started_at")), name="emergency_window_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"emergency {self.user_id} → {self.patient_id}"


class Consent(TimestampedModel):
    """The patient's consent that a unit (or one employee) may see data documented by other care
    providers (R40; lag 2022:913). Only a currently valid, active consent passes."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Gäller")
        ENDED = "ended", _("Avslutat på patientens begäran")
        CANCELLED = "cancelled", _("Makulerat (felregistrerat)")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    grantee_unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.PROTECT, related_name="+"
    )
    grantee_user = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Tomt: all personal med uppdrag på enheten."),
    )
    representative = models.CharField(_("företrädare"), max_length=200, blank=True)
    valid_from = models.DateField(_("giltigt från"))
    valid_until = models.DateField(_("giltigt till och med"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    registered_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    status_changed_at = models.DateTimeField(_("status ändrad"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("samtycke")
        verbose_name_plural = _("samtycken")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")), name="consent_window_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"consent {self.patient_id} → {self.grantee_unit_id}"


class Block(TimestampedModel):
    """A patient's block (spärr) of information (R44–R45): inside a provider, towards every unit
    but the owning one (internal), or towards every other provider (external). It ends only by
    permanent lifting at the patient's request or by cancellation of an erroneous record."""

    class Scope(models.TextChoices):
        INTERNAL = "internal", _("Inom vårdgivaren (mot andra enheter)")
        EXTERNAL = "external", _("Mot andra vårdgivare")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Gäller")
        LIFTED = "lifted", _("Hävd på patientens begäran")
        CANCELLED = "cancelled", _("Makulerad (felregistrerad)")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="blocks")
    scope = models.CharField(_("omfattning"), max_length=10, choices=Scope.choices)
    owner_provider = models.ForeignKey(
        "organisations.CareProvider", on_delete=models.PROTECT, related_name="+"
    )
    owner_unit = models.ForeignKey(
        "organisations.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Enheten vars uppgifter spärras (tomt: hela vårdgivarens)."),
    )
    info_from = models.DateField(_("uppgifter från"), null=True, blank=True)
    info_until = models.DateField(_("uppgifter till och med"), null=True, blank=True)
    requested_at = models.DateField(_("begärd"))
    requested_by = models.CharField(_("begärd av"), max_length=200)
    reason = models.CharField(_("skäl"), max_length=300, blank=True)
    registered_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    status_changed_at = models.DateTimeField(_("status ändrad"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status_reason = models.CharField(_("skäl till ändring"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("spärr")
        verbose_name_plural = _("spärrar")

    def __str__(self) -> str:
        return f"block {self.patient_id} {self.scope}"


class BlockLift(models.Model):
    """A temporary lift of a block for one unit (optionally one employee), with the patient's
    consent or in an emergency; it expires by itself (R46). Also records the two-step reveal of
    blocks towards other providers (R48)."""

    class Basis(models.TextChoices):
        CONSENT = "consent", _("Patientens samtycke")
        EMERGENCY = "emergency", _("Nödsituation")

    class Step(models.TextChoices):
        PROVIDERS = "providers", _("Visa vilka vårdgivare")
        CONTENT = "content", _("Visa uppgifterna")

    block = models.ForeignKey(
        Block, on_delete=models.PROTECT, related_name="lifts", null=True, blank=True
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisations.Unit", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    step = models.CharField(_("steg"), max_length=10, choices=Step.choices, default=Step.CONTENT)
    basis = models.CharField(_("grund"), max_length=10, choices=Basis.choices)
    reason_text = models.CharField(_("skäl"), max_length=300)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("från"))
    ends_at = models.DateTimeField(_("till"))

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("tillfälligt hävande")
        verbose_name_plural = _("tillfälliga hävanden")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="lift_window_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"lift {self.patient_id} for {self.unit_id}"


class RegisterEvent(models.Model):
    """An event from the population register (folkbokföringshändelse) that Lyfta has received,
    kept by the register's event id: an applied event is applied once, however often the feed
    sends it again, and one about a person who is not a patient is on record as unmatched (and
    applied if it comes again once the person is). Holds no personnummer and no address; what
    the event changed is in the audit trail. Written by the import service, shown to nobody."""

    class Kind(models.TextChoices):
        DEATH = "death", _("Dödsfall")
        MOVE = "move", _("Adressändring")
        PROTECTION_SET = "protection_set", _("Skyddad identitet")
        PROTECTION_LIFTED = "protection_lifted", _("Skyddad identitet upphör")

    class Status(models.TextChoices):
        APPLIED = "applied", _("Införd")
        UNCHANGED = "unchanged", _("Redan aktuell")
        SUPERSEDED = "superseded", _("Ersatt av en senare händelse")
        UNMATCHED = "unmatched", _("Ingen känd patient")

    event_id = models.CharField(_("händelse-id"), max_length=100, unique=True)
    kind = models.CharField(_("slag"), max_length=20, choices=Kind.choices)
    event_date = models.DateField(_("händelsedatum"))
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    source = models.CharField(_("källa"), max_length=150)
    received_at = models.DateTimeField(_("mottagen"))
    # When it was last handled: applied, or found unmatched again on a repeat.
    handled_at = models.DateTimeField(_("behandlad"))
    attempts = models.PositiveIntegerField(_("antal mottagningar"), default=1)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("folkbokföringshändelse")
        verbose_name_plural = _("folkbokföringshändelser")
        indexes = [models.Index(fields=["patient", "kind", "event_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=True, status="unmatched")
                | (Q(patient__isnull=False) & ~Q(status="unmatched")),
                name="register_event_matched_or_not",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.kind}"
