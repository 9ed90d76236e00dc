"""Users (one identified person each, R1) and their assignments (medarbetaruppdrag, R2)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lyfta.access.roles import Purpose, Role
from lyfta.core.models import TimestampedModel


class User(AbstractUser):
    """A person who uses Lyfta. The account is valid from `valid_from` through `valid_until`
    (inclusive); outside that window sign-in is refused and open sessions end (R3)."""

    personnummer = models.CharField(
        _("personnummer"), max_length=12, unique=True, null=True, blank=True
    )
    # The person's HSA id (the national catalogue's employeeHsaId): what an OpenID Connect
    # sign-in is matched on (decision 0017). Set by a user administrator; never by a sign-in.
    hsa_id = models.CharField(
        _("HSA-id"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text=_(
            "Personens HSA-id, t.ex. SE2321000016-1234. Krävs för inloggning med SITHS eID."
        ),
    )
    title = models.CharField(_("befattning"), max_length=100, blank=True)
    workplace = models.CharField(_("arbetsplats"), max_length=200, blank=True)
    phone = models.CharField(_("telefon"), max_length=30, blank=True)
    valid_from = models.DateField(_("konto giltigt från"), default=dt.date.today)
    valid_until = models.DateField(_("konto giltigt till och med"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("lösenord bytt"), null=True, blank=True)
    must_change_password = models.BooleanField(_("måste byta lösenord"), default=False)
    suspended_at = models.DateTimeField(_("avstängt"), null=True, blank=True)
    suspension_reason = models.CharField(_("skäl till avstängning"), max_length=200, blank=True)
    # The account of a machine client of the API (ApiClient): it acts only through its token and
    # can never sign in on the pages (the authentication backend refuses it).
    is_service = models.BooleanField(_("tjänstekonto"), default=False)
    provider = models.ForeignKey(
        "organisations.CareProvider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("vårdgivare"),
        help_text=_("Vårdgivaren vars användaradministratörer förvaltar kontot."),
    )
    # Raised by database triggers on every change to the user, their assignments, agreement
    # acceptances and second-factor devices, and their units and providers (lyfta/accounts/
    # triggers.py): the session gates' cached answers hold only while it stands still (decision
    # 0018). Never written by the application.
    access_version = models.PositiveBigIntegerField(
        _("behörighetsversion"), default=0, editable=False
    )

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        verbose_name = _("användare")
        verbose_name_plural = _("användare")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="user_validity_window_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.username

    def account_valid_on(self, day: dt.date) -> bool:
        """Whether the account's validity window covers `day` (and the account is not suspended)."""
        if not self.is_active or self.suspended_at is not None:
            return False
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def active_on(self, day: dt.date) -> AssignmentQuerySet:
        """Assignments in force on `day`: inside their window, not ended and not suspended."""
        return self.filter(
            valid_from__lte=day,
            valid_until__gte=day,
            ended_at__isnull=True,
            suspended_at__isnull=True,
        )

    def active(self) -> AssignmentQuerySet:
        return self.active_on(timezone.localdate())


class Assignment(TimestampedModel):
    """A medarbetaruppdrag: the user may act in `role` at `unit` for `purpose` from `valid_from`
    through `valid_until` (inclusive; always set, R4). An extension is a new assignment with its
    own decision, never an edit of this one."""

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("användare")
    )
    unit = models.ForeignKey(
        "organisations.Unit",
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("enhet"),
    )
    role = models.CharField(_("roll"), max_length=32, choices=Role.choices)
    purpose = models.CharField(_("ändamål"), max_length=32, choices=Purpose.choices)
    valid_from = models.DateField(_("giltigt från"))
    valid_until = models.DateField(_("giltigt till och med"))
    decided_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("beslutat av"),
    )
    decision_reference = models.CharField(_("beslutsreferens"), max_length=100)
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("förlänger uppdrag"),
    )
    last_used_at = models.DateTimeField(_("senast använt"), null=True, blank=True)
    ended_at = models.DateTimeField(_("avslutat"), null=True, blank=True)
    ended_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("avslutat av"),
    )
    end_reason = models.CharField(_("skäl till avslut"), max_length=200, blank=True)
    suspended_at = models.DateTimeField(_("vilande sedan"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["user", "-valid_until"]
        verbose_name = _("medarbetaruppdrag")
        verbose_name_plural = _("medarbetaruppdrag")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="assignment_window_ordered",
            ),
        ]
        indexes = [models.Index(fields=["unit", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()}, {self.unit}"

    def active_on(self, day: dt.date) -> bool:
        return (
            self.valid_from <= day <= self.valid_until
            and self.ended_at is None
            and self.suspended_at is None
        )


class AgreementAcceptance(models.Model):
    """That the user accepted one version of the user agreement, and when (R10). The text's
    digest is what counts: any change to the text asks everyone again, even without a new
    version number."""

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("användare")
    )
    version = models.CharField(_("version"), max_length=20)
    digest = models.CharField(_("textens kontrollsumma"), max_length=64)
    accepted_at = models.DateTimeField(_("godkänt"))

    class Meta:
        ordering = ["-accepted_at"]
        verbose_name = _("godkänt användaravtal")
        verbose_name_plural = _("godkända användaravtal")
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="one_acceptance_per_text")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.version}"


class PasswordHistory(models.Model):
    """Earlier password hashes of a user, so that the last ten cannot be reused (R16 defaults)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="password_history", verbose_name=_("användare")
    )
    password = models.CharField(_("lösenordshash"), max_length=256)
    created_at = models.DateTimeField(_("skapad"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("tidigare lösenord")
        verbose_name_plural = _("tidigare lösenord")

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d}"


class PasswordResetCode(models.Model):
    """A one-time code a user administrator hands over so that the person can set a password
    (R19): random, stored only as a hash, valid 24 hours, used once."""

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="reset_codes", verbose_name=_("användare")
    )
    code_hash = models.CharField(_("kodens hash"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, verbose_name=_("skapad av")
    )
    created_at = models.DateTimeField(_("skapad"))
    expires_at = models.DateTimeField(_("gäller till"))
    used_at = models.DateTimeField(_("använd"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("engångskod för lösenord")
        verbose_name_plural = _("engångskoder för lösenord")

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """A signed-in session of a user, so that sessions can be listed and ended (R28) and their
    number limited (R29). The session itself lives in Django's session store."""

    class EndReason(models.TextChoices):
        LOGOUT = "logout", _("Utloggning")
        IDLE = "idle", _("Inaktivitet")
        EXPIRED = "expired", _("Längsta livstid nådd")
        ENDED_BY_USER = "user", _("Avslutad av användaren")
        ENDED_BY_ADMIN = "admin", _("Avslutad av administratör")
        LIMIT = "limit", _("För många samtidiga sessioner")
        DEACTIVATED = "deactivated", _("Kontot avaktiverat")
        PASSWORD = "password", _("Lösenordet byttes")
        REFUSED = "refused", _("Kontot eller uppdraget gäller inte")

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("användare")
    )
    session_key = models.CharField(_("sessionsnyckel"), max_length=40, unique=True, null=True)
    created_at = models.DateTimeField(_("inloggad"))
    last_seen_at = models.DateTimeField(_("senast aktiv"))
    client_address = models.CharField(_("adress"), max_length=45, blank=True)
    user_agent = models.CharField(_("webbläsare"), max_length=200, blank=True)
    ended_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    end_reason = models.CharField(_("skäl"), max_length=16, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("session")
        verbose_name_plural = _("sessioner")
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class RecertificationDecision(models.Model):
    """A manager's decision about one assignment at the periodic follow-up of access rights
    (R6)."""

    class Outcome(models.TextChoices):
        KEEP = "keep", _("Behålls")
        CHANGE = "change", _("Ska ändras")
        REMOVE = "remove", _("Tas bort")

    assignment = models.ForeignKey(
        Assignment, on_delete=models.PROTECT, related_name="recertifications"
    )
    outcome = models.CharField(_("beslut"), max_length=8, choices=Outcome.choices)
    note = models.CharField(_("kommentar"), max_length=300, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("beslutat"))

    class Meta:
        ordering = ["-decided_at"]
        verbose_name = _("uppföljningsbeslut")
        verbose_name_plural = _("uppföljningsbeslut")

    def __str__(self) -> str:
        return f"{self.assignment} {self.outcome}"


class FailedSignIn(models.Model):
    """A failed password check (sign-in, re-authentication or password change). Besides
    django-axes' lock per username and address, these rows limit password spraying from one
    address and close an account after too many consecutive failures from anywhere (R18)."""

    username = models.CharField(_("användarnamn"), max_length=150)
    client_address = models.CharField(_("adress"), max_length=45, blank=True)
    at = models.DateTimeField(_("tidpunkt"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("misslyckad inloggning")
        verbose_name_plural = _("misslyckade inloggningar")
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["client_address", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.at:%Y-%m-%d %H:%M}"


class PrivilegeRequest(models.Model):
    """A change to privileged rights that one person asks for and another approves (R91):
    granting or ending an assignment whose role is system administrator, user administrator or log
    reviewer, or resetting the password or second factor, deactivating or reactivating an account
    that holds one; and registering an API client that reaches patient data (its token is shown
    to the approver alone). Nothing changes until the approval; the request lapses after
    `expires_at` and the requester may withdraw it while it waits."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Nytt uppdrag")
        API_CLIENT = "api_client", _("Ny API-klient med tillgång till patientuppgifter")
        END = "end", _("Avsluta uppdrag")
        PASSWORD_RESET = "password_reset", _("Engångskod för nytt lösenord")
        MFA_RESET = "mfa_reset", _("Återställ tvåfaktorsinloggning")
        DEACTIVATE = "deactivate", _("Avaktivera kontot")
        REACTIVATE = "reactivate", _("Återaktivera kontot")

    class Status(models.TextChoices):
        PENDING = "pending", _("Väntar på godkännande")
        APPROVED = "approved", _("Godkänd")
        REJECTED = "rejected", _("Avslagen")
        CANCELLED = "cancelled", _("Återkallad")

    kind = models.CharField(_("ändring"), max_length=16, choices=Kind.choices)
    # The account the change is about; none for a new API client (API_CLIENT), whose service
    # account is made on approval.
    subject = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="privilege_requests",
        null=True,
        blank=True,
        verbose_name=_("gäller"),
    )
    # A new assignment (GRANT): its unit, role, purpose, window and decision; `replaces` for an
    # extension.
    unit = models.ForeignKey(
        "organisations.Unit",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("enhet"),
    )
    role = models.CharField(_("roll"), max_length=32, choices=Role.choices, blank=True)
    purpose = models.CharField(_("ändamål"), max_length=32, choices=Purpose.choices, blank=True)
    valid_from = models.DateField(_("giltigt från"), null=True, blank=True)
    valid_until = models.DateField(_("giltigt till och med"), null=True, blank=True)
    decision_reference = models.CharField(_("beslutsreferens"), max_length=100, blank=True)
    replaces = models.ForeignKey(
        Assignment,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("förlänger uppdrag"),
    )
    # The assignment to end (END), or the one the approval created (GRANT). DEACTIVATE and
    # REACTIVATE concern the whole account (`subject`) and carry only a `reason`.
    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.PROTECT,
        related_name="privilege_requests",
        null=True,
        blank=True,
        verbose_name=_("uppdrag"),
    )
    reason = models.CharField(_("skäl"), max_length=200, blank=True)
    # A new API client (API_CLIENT): with `unit`, `role`, `purpose`, `valid_until` (its last day)
    # and `decision_reference` above, what the approval registers; `api_client` is the client
    # the approval created.
    client_name = models.CharField(_("klientens namn"), max_length=100, blank=True)
    client_description = models.CharField(_("klientens beskrivning"), max_length=300, blank=True)
    scopes = models.JSONField(_("behörigheter"), default=list, blank=True)
    rate_limit = models.PositiveIntegerField(_("anrop per minut"), null=True, blank=True)
    api_client = models.ForeignKey(
        "ApiClient",
        on_delete=models.PROTECT,
        related_name="privilege_requests",
        null=True,
        blank=True,
        verbose_name=_("API-klient"),
    )
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("begärd av")
    )
    requested_at = models.DateTimeField(_("begärd"))
    expires_at = models.DateTimeField(_("gäller till"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("beslutad av"),
    )
    decided_at = models.DateTimeField(_("beslutad"), null=True, blank=True)
    decision_note = models.CharField(_("kommentar"), max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("begäran om ändrad behörighet")
        verbose_name_plural = _("begäranden om ändrad behörighet")
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(requested_by=models.F("decided_by")),
                name="privilege_request_not_decided_by_requester",
            ),
            models.CheckConstraint(
                condition=~Q(subject=models.F("decided_by")),
                name="privilege_request_not_decided_by_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or self.client_name}"

    @property
    def expired(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at <= timezone.now()

    @property
    def state_display(self) -> str:
        return str(_("Förfallen")) if self.expired else str(self.get_status_display())

    @property
    def scope_labels(self) -> list[str]:
        """A new API client's scopes in words, for the pages."""
        return [str(ApiScope(s).label) for s in self.scopes if s in ApiScope.values]


class ApiScope(models.TextChoices):
    """What a machine client's token may be used for (issue 18). Each API operation needs one;
    the client's role and the access layer decide the rest, as for a person."""

    CATALOGUE_READ = "catalogue:read", _("Läsa sortimentet och lagertillgången")
    HOLDINGS_READ = "holdings:read", _("Läsa patienters hjälpmedelsinnehav")
    ORDERS_READ = "orders:read", _("Läsa enhetens ordrar")
    ORDERS_WRITE = "orders:write", _("Lägga och makulera ordrar")
    PICKUPS_READ = "pickups:read", _("Läsa enhetens hämtordrar")
    PICKUPS_WRITE = "pickups:write", _("Lägga hämtordrar")
    MESSAGES_READ = "messages:read", _("Läsa och kvittera klientens meddelanden")
    REGISTER_EVENTS = "register:write", _("Lämna folkbokföringshändelser")
    WORKORDERS_READ = "workorders:read", _("Läsa enhetens arbetsordrar")
    WORKORDERS_WRITE = "workorders:write", _("Felanmäla hjälpmedel (arbetsordrar)")
    DEVIATIONS_READ = "deviations:read", _("Läsa enhetens avvikelser")
    DEVIATIONS_WRITE = "deviations:write", _("Registrera avvikelser")
    BILLING_READ = "billing:read", _("Läsa debiteringskörningar (ekonomi)")


class ApiClient(TimestampedModel):
    """A machine client of the API (issue 18; docs/decisions/0015-api-clients.md): a named
    system that acts as its own service account `user` in its own `assignment` (unit, role,
    purpose), through the same access layer and audit as a person. Its token is shown once at
    registration and stored only as a SHA-256 hash; `key_id` is the token's public part, by which
    it is looked up. Registered, and revoked, by a system administrator; one that reaches patient
    data only on another person's approval of a request (R91, `PrivilegeRequest.Kind.API_CLIENT`).
    """

    name = models.CharField(_("namn"), max_length=100, unique=True)
    description = models.CharField(_("beskrivning"), max_length=300, blank=True)
    user = models.OneToOneField(
        User, on_delete=models.PROTECT, related_name="api_client", verbose_name=_("tjänstekonto")
    )
    assignment = models.OneToOneField(
        Assignment, on_delete=models.PROTECT, related_name="api_client", verbose_name=_("uppdrag")
    )
    key_id = models.CharField(_("nyckel-id"), max_length=16, unique=True)
    token_hash = models.CharField(_("nyckelns hash"), max_length=64)
    scopes = models.JSONField(_("behörigheter"), default=list)
    expires_at = models.DateTimeField(_("gäller till"))
    rate_limit = models.PositiveIntegerField(_("anrop per minut"))
    registered_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("registrerad av"),
    )
    revoked_at = models.DateTimeField(_("återkallad"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("återkallad av"),
    )
    revoke_reason = models.CharField(_("skäl till återkallelse"), max_length=200, blank=True)
    last_used_at = models.DateTimeField(_("senast använd"), null=True, blank=True)
    # The rate limit's fixed window: its start (a whole minute) and the calls made in it.
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)
    # When a call with this client's key id was last refused and recorded: a refusal is recorded
    # at most once a minute, so that calls with a revoked or wrong token cannot flood the log.
    refused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("API-klient")
        verbose_name_plural = _("API-klienter")
        constraints = [
            models.CheckConstraint(condition=Q(rate_limit__gte=1), name="api_client_rate_positive")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def scope_labels(self) -> list[str]:
        """The scopes in words, for the pages."""
        return [str(ApiScope(s).label) for s in self.scopes if s in ApiScope.values]

    def in_force(self, now: dt.datetime) -> bool:
        """Not revoked, not expired."""
        return self.revoked_at is None and now < self.expires_at
