"""Lyfta's one settings module, driven by environment variables.

With nothing set, the demo runs on SQLite in var/lyfta.sqlite3 with a generated secret key kept in
var/. Production sets DATABASE_URL (PostgreSQL), LYFTA_SECRET_KEY, LYFTA_ALLOWED_HOSTS and
LYFTA_AUDIT_KEY. Every LYFTA_* setting is listed in the README.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LYFTA_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable; anything but a clear yes or no is an error."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else int(raw)


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def database_from_url(url: str) -> dict[str, Any]:
    """Translate a DATABASE_URL (postgres://… or sqlite:///path) into a Django DATABASES entry."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": env_int("LYFTA_DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
            "TEST": {"NAME": f"test_{unquote(parts.path.lstrip('/'))}"},
        }
    if parts.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as dj-database-url reads them.
        path = unquote(parts.path)[1:]
        return sqlite_database(Path(path) if path else VAR_DIR / "lyfta.sqlite3")
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported (postgres or sqlite)")


def sqlite_database(path: Path) -> dict[str, Any]:
    # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue (busy timeout) instead of failing with "database is locked" mid-transaction.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA busy_timeout=20000;"
            ),
        },
    }


def generated_secret(env_name: str, file_name: str) -> str:
    """The environment's value, or a random key generated once into var/ and reused after that."""
    configured = os.environ.get(env_name, "")
    if configured:
        return configured
    key_file = VAR_DIR / file_name
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place, so that two processes starting together agree.
        tmp = VAR_DIR / f".{file_name}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return key_file.read_text().strip()


# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("LYFTA_DEBUG", False)
SECRET_KEY = generated_secret("LYFTA_SECRET_KEY", "secret_key")
ALLOWED_HOSTS = env_list("LYFTA_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("LYFTA_CSRF_TRUSTED_ORIGINS", "")
# HTTPS is assumed in production; `make run` turns it off for the plain-HTTP loopback demo.
HTTPS = env_bool("LYFTA_HTTPS", True)

DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(DATABASE_URL)
    if DATABASE_URL
    else sqlite_database(VAR_DIR / "lyfta.sqlite3")
}
# A streaming replica (issue 20 point 1, decision 0022): the statistics, the log searches and
# extracts, and report generation may read their heavy tables there (lyfta.core.replica); every
# write and every other read stays on the primary. Unset: one database, as before.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    _replica = database_from_url(DATABASE_REPLICA_URL)
    if _replica["ENGINE"] == "django.db.backends.postgresql":
        # An unreachable replica must cost a page seconds, not a minute: it falls back to the
        # primary once connecting fails.
        _replica["OPTIONS"].setdefault("connect_timeout", "3")
    # Never a test database of its own: a replica of the test cluster holds the primary's. The
    # test suite itself drops the alias and adds the replicas it needs (decision 0022).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["lyfta.core.replica.ReplicaRouter"]
# Seconds a replica may lag behind the primary before the routed pages read the primary instead.
LYFTA_REPLICA_MAX_LAG = env_int("LYFTA_REPLICA_MAX_LAG", 300)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "lyfta.core",
    "lyfta.access",
    "lyfta.audit",
    "lyfta.organisations",
    "lyfta.catalogue",
    "lyfta.inventory",
    "lyfta.orders",
    "lyfta.accounts",
    "lyfta.patients",
    "lyfta.messages",
    "lyfta.workorders",
    "lyfta.quality",
    "lyfta.billing",
    "lyfta.reports",
    "lyfta.logreview",
    # Above every domain app: the start page, the menus, the serve and seed commands.
    "lyfta.home",
]

MIDDLEWARE = [
    # First, so that the request series time every other middleware too (/metrics).
    "lyfta.metrics.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "lyfta.core.middleware.ContentSecurityPolicyMiddleware",
    "lyfta.core.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lyfta.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lyfta.audit.middleware.AuditContextMiddleware",
    "lyfta.accounts.middleware.ActorMiddleware",
    # Inside the actor, the language, the messages and the CSRF cookie: its page's shell uses them.
    "lyfta.core.middleware.MethodNotAllowedPageMiddleware",
    "lyfta.audit.middleware.DenialMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lyfta.urls"
WSGI_APPLICATION = "lyfta.wsgi.application"
ASGI_APPLICATION = "lyfta.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "lyfta" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lyfta.home.context_processors.shell",
                "lyfta.core.replica.freshness",
            ],
        },
    },
]

# --- Language and time ----------------------------------------------------------------------------

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "lyfta" / "locale"]
USE_I18N = True
# Stored in UTC, shown in Swedish time (R59).
TIME_ZONE = "Europe/Stockholm"
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise looks at STATIC_ROOT at start-up; on a fresh clone it exists only after collectstatic.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "lyfta" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Authentication -------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "start"
LOGOUT_REDIRECT_URL = "accounts:login"
# Argon2id; a user whose hash was made with another hasher is upgraded at the next sign-in (R17).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "lyfta.accounts.backends.WindowedModelBackend",
]
# R13–R16: length 15–256, Swedish-aware strength, common and context words, no reuse of the last 10.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "lyfta.accounts.passwords.LengthValidator"},
    {"NAME": "lyfta.accounts.passwords.CommonPasswordSwedishValidator"},
    {"NAME": "lyfta.accounts.passwords.UserInfoValidator"},
    {"NAME": "lyfta.accounts.passwords.StrengthValidator"},
    {"NAME": "lyfta.accounts.password_history.PasswordHistoryValidator"},
]
LYFTA_PASSWORD_HISTORY = env_int("LYFTA_PASSWORD_HISTORY", 10)
# Second factor (R12): always for user admins, log reviewers and system admins; for everyone when
# this is true (the production default; `make run` turns it off for the demo).
LYFTA_REQUIRE_MFA = env_bool("LYFTA_REQUIRE_MFA", True)
OTP_TOTP_ISSUER = "Lyfta"
# Lockout (R18): 10 failures per username and address lock that pair for 15 minutes; a user
# administrator can unlock earlier. Unknown usernames are counted the same way (R21).
AXES_FAILURE_LIMIT = env_int("LYFTA_LOCKOUT_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LYFTA_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Beyond that pair: failures from one address whatever the usernames (spraying), and consecutive
# failures of one account from anywhere, which close it until a user administrator unlocks it.
LYFTA_LOCKOUT_ADDRESS_FAILURES = env_int("LYFTA_LOCKOUT_ADDRESS_FAILURES", 30)
LYFTA_LOCKOUT_ACCOUNT_FAILURES = min(100, env_int("LYFTA_LOCKOUT_ACCOUNT_FAILURES", 50))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "lyfta.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "lyfta.audit.middleware.client_address"
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Sign-in with OpenID Connect, e.g. SITHS eID through Inera's IdP (decision 0017, operations.md).
# Off while no issuer is set (the demo and CI). The IdP's user is matched to the account whose
# `hsa_id` equals the claim LYFTA_OIDC_CLAIM; an unknown identity is refused, never created.
LYFTA_OIDC_ISSUER = os.environ.get("LYFTA_OIDC_ISSUER", "").strip()
LYFTA_OIDC_DISCOVERY_URL = os.environ.get("LYFTA_OIDC_DISCOVERY_URL", "").strip() or (
    f"{LYFTA_OIDC_ISSUER.rstrip('/')}/.well-known/openid-configuration" if LYFTA_OIDC_ISSUER else ""
)
LYFTA_OIDC_CLIENT_ID = os.environ.get("LYFTA_OIDC_CLIENT_ID", "")
LYFTA_OIDC_CLIENT_SECRET = os.environ.get("LYFTA_OIDC_CLIENT_SECRET", "")
# The callback address registered at the provider; empty: derived from the request's host.
LYFTA_OIDC_REDIRECT_URI = os.environ.get("LYFTA_OIDC_REDIRECT_URI", "")
LYFTA_OIDC_SCOPES = os.environ.get("LYFTA_OIDC_SCOPES", "openid")
LYFTA_OIDC_CLAIM = os.environ.get("LYFTA_OIDC_CLAIM", "employeeHsaId")
# An OIDC sign-in counts as the second factor (R12) when the ID token's `acr` is one of these
# (Inera: LoA 3, a SITHS card) or its `amr` names one of these methods (RFC 8176).
LYFTA_OIDC_MFA_ACR = env_list("LYFTA_OIDC_MFA_ACR", "http://id.sambi.se/loa/loa3")
LYFTA_OIDC_MFA_AMR = env_list("LYFTA_OIDC_MFA_AMR", "mfa")
# Seconds to wait for the IdP's discovery, key and token endpoints.
LYFTA_OIDC_TIMEOUT = env_int("LYFTA_OIDC_TIMEOUT", 10)
# Username and password on the sign-in page; false leaves the OIDC button as the only way in.
LYFTA_LOCAL_PASSWORDS = env_bool("LYFTA_LOCAL_PASSWORDS", True)
if not LYFTA_LOCAL_PASSWORDS and not LYFTA_OIDC_ISSUER:
    raise ValueError("LYFTA_LOCAL_PASSWORDS=false needs LYFTA_OIDC_ISSUER: nobody could sign in")

# --- Sessions and cookies (R23–R27) ---------------------------------------------------------------

SESSION_COOKIE_AGE = env_int("LYFTA_SESSION_MAX_AGE", 12 * 60 * 60)
# Idle timeout (R23): the next request after this many seconds without one needs a new sign-in;
# the page warns LYFTA_IDLE_WARNING seconds before.
LYFTA_IDLE_TIMEOUT = env_int("LYFTA_IDLE_TIMEOUT", 15 * 60)
LYFTA_IDLE_WARNING = env_int("LYFTA_IDLE_WARNING", 60)
# Concurrent sessions per account (R29): signing in beyond this ends the oldest session.
LYFTA_MAX_SESSIONS = env_int("LYFTA_MAX_SESSIONS", 3)
# How recent a sign-in must be for sensitive steps before they ask again (R30), in seconds.
LYFTA_REAUTH_WINDOW = env_int("LYFTA_REAUTH_WINDOW", 5 * 60)
# Longest assignment a user administrator may decide (R4): its end at most this many months ahead.
LYFTA_ASSIGNMENT_MAX_MONTHS = env_int("LYFTA_ASSIGNMENT_MAX_MONTHS", 12)
# Suspension of accounts and assignments not used for this many days (R7).
LYFTA_DORMANT_ACCOUNT_DAYS = env_int("LYFTA_DORMANT_ACCOUNT_DAYS", 180)
LYFTA_DORMANT_ASSIGNMENT_DAYS = env_int("LYFTA_DORMANT_ASSIGNMENT_DAYS", 90)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
SESSION_COOKIE_NAME = "lyfta_session"
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "lyfta.access.refusals.csrf_failure"

# --- Security headers -----------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = HTTPS and env_bool("LYFTA_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("LYFTA_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS and env_bool("LYFTA_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
if env_bool("LYFTA_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies whose X-Forwarded-For is trusted for the audit log's client address.
LYFTA_TRUSTED_PROXIES = env_list("LYFTA_TRUSTED_PROXIES", "")
# Prometheus scrapes each web server directly, often over plain HTTP inside the network: /metrics
# holds no patient data and is refused to any address not allowed below (decision 0020).
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)

# --- Patients ------------------------------------------------------------------------------------

# Other care providers' data about a patient (R39–R43): "consent" shows it after a recorded
# consent or in an emergency; "open" for deployments whose legal basis covers shared access.
# Every access is logged with both providers either way.
LYFTA_CROSS_PROVIDER_ACCESS = os.environ.get("LYFTA_CROSS_PROVIDER_ACCESS", "consent")
if LYFTA_CROSS_PROVIDER_ACCESS not in {"consent", "open"}:
    raise ValueError("LYFTA_CROSS_PROVIDER_ACCESS must be consent or open")
# Emergency access (R50): its fixed length.
LYFTA_EMERGENCY_MINUTES = env_int("LYFTA_EMERGENCY_MINUTES", 120)
# Temporary lift of a block (R46): the longest a lift may last.
LYFTA_BLOCK_LIFT_MAX_HOURS = env_int("LYFTA_BLOCK_LIFT_MAX_HOURS", 24)
# An order that would give a patient more than this many individually marked devices of one
# ISO class (on loan plus on open orders) asks for a reason to confirm (issue 16). Two: a second
# device of a kind is an everyday need (a walker indoors and one outdoors, a wheelchair at home
# and one at the day centre); a third is rare enough that asking costs a sentence, while nine
# beds by mistake cost a delivery, a pick-up and months of rent. The order is never refused,
# only confirmed.
LYFTA_MAX_PER_ISO_CLASS = max(1, env_int("LYFTA_MAX_PER_ISO_CLASS", 2))

# --- The integration API (issue 18) ---------------------------------------------------------------

# Calls per minute a new machine client may make (each client has its own limit, set when it is
# registered); beyond it the API answers 429 with Retry-After.
LYFTA_API_RATE_LIMIT = max(1, env_int("LYFTA_API_RATE_LIMIT", 120))
# Longest page of a list the API returns (a client asks for fewer with `limit`).
LYFTA_API_PAGE_MAX = max(1, env_int("LYFTA_API_PAGE_MAX", 100))

# --- Operational metrics (issue 20 point 3, decision 0020) ---------------------------------------

# Who may read /metrics: these addresses and networks (the client address as the audit log takes
# it, so behind a proxy in LYFTA_TRUSTED_PROXIES the forwarded one), or anyone who sends
# `Authorization: Bearer <LYFTA_METRICS_TOKEN>` (empty: no token is accepted).
LYFTA_METRICS_ALLOWED_IPS = env_list("LYFTA_METRICS_ALLOWED_IPS", "127.0.0.1,::1")
for _network in LYFTA_METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ValueError(
            f"LYFTA_METRICS_ALLOWED_IPS: {_network!r} is not an address or a network"
        ) from None
LYFTA_METRICS_TOKEN = os.environ.get("LYFTA_METRICS_TOKEN", "").strip()

# --- Background work ------------------------------------------------------------------------------

# E-mail (scheduled reports): an SMTP server where LYFTA_EMAIL_HOST is set, else the console (the
# demo prints the mail). LYFTA_BASE_URL makes the links in mail absolute.
EMAIL_HOST = os.environ.get("LYFTA_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("LYFTA_EMAIL_PORT", "587"))
EMAIL_USE_TLS = os.environ.get("LYFTA_EMAIL_TLS", "true") == "true"
EMAIL_HOST_USER = os.environ.get("LYFTA_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("LYFTA_EMAIL_PASSWORD", "")
DEFAULT_FROM_EMAIL = os.environ.get("LYFTA_EMAIL_FROM", "lyfta@localhost")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
LYFTA_BASE_URL = os.environ.get("LYFTA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Audit trail (R57–R74) ------------------------------------------------------------------------

# The key that HMACs audit checkpoints; it must live outside the database (R67). The demo generates
# one into var/, like the secret key; production sets LYFTA_AUDIT_KEY from a secret store.
LYFTA_AUDIT_KEY = generated_secret("LYFTA_AUDIT_KEY", "audit_key")
# Earlier audit keys, kept for verifying what was sealed before a rotation (comma-separated).
LYFTA_AUDIT_RETIRED_KEYS = env_list("LYFTA_AUDIT_RETIRED_KEYS", "")
# Where sealed checkpoints are also appended, outside the database (R67). Empty: database only.
LYFTA_AUDIT_CHECKPOINT_FILE = os.environ.get(
    "LYFTA_AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.jsonl")
)
LYFTA_AUDIT_SEAL_INTERVAL = env_int("LYFTA_AUDIT_SEAL_INTERVAL", 5)
# Longest time, in seconds, a sealed event stays uncovered by an HMAC'd checkpoint of the chain
# head: the scheduler seals on a timer and checkpoints whenever the head has moved since the last
# checkpoint, with or without new events.
LYFTA_AUDIT_CHECKPOINT_INTERVAL = env_int("LYFTA_AUDIT_CHECKPOINT_INTERVAL", 60)
LYFTA_AUDIT_RETENTION_YEARS = env_int("LYFTA_AUDIT_RETENTION_YEARS", 5)
# An event still unsealed this long after it was recorded is not sealed by the regular job, and
# one sealed later than this is reported as inserted, unless an operator's backfill vouches for it.
LYFTA_AUDIT_SEAL_GRACE = env_int("LYFTA_AUDIT_SEAL_GRACE", 6 * 3600)
# Where sealed events are shipped in near real time (R69): syslog+tls://host:port,
# syslog+tcp://host:port or file:///path.jsonl. Unset: JSON lines in var/audit-shipped/, a local
# store that verify_audit compares the database's tail with (production names a store on another
# host). Empty: not shipped.
_local_ship_dir = VAR_DIR.resolve() / "audit-shipped"
LYFTA_AUDIT_SHIP_URL = os.environ.get(
    "LYFTA_AUDIT_SHIP_URL", (_local_ship_dir / "audit.jsonl").as_uri()
)
if "LYFTA_AUDIT_SHIP_URL" not in os.environ:
    # Shipping never creates a missing directory (that would be a missing mount); the local
    # default is the application's own, so it is made here, as var/ is for the keys.
    _local_ship_dir.mkdir(parents=True, exist_ok=True)
LYFTA_AUDIT_SHIP_CA_FILE = os.environ.get("LYFTA_AUDIT_SHIP_CA_FILE", "")
LYFTA_SOURCE_SYSTEM = os.environ.get("LYFTA_SOURCE_SYSTEM", "lyfta")

# --- Logging --------------------------------------------------------------------------------------

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LYFTA_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Lyfta audits sign-ins itself; axes' and WeasyPrint's progress lines are noise.
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
