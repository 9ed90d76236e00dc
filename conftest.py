"""The test harness: fast settings, the audit triggers around Django's table flush, the personas
of STYLE.md #8, and the browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.accounts.models import Assignment, User
from lyfta.accounts.tests.factories import AssignmentFactory, UserFactory
from lyfta.audit import partitions, triggers
from lyfta.billing import triggers as billing_triggers
from lyfta.inventory import triggers as ledger_triggers
from lyfta.organisations.models import CareProvider, Unit
from lyfta.organisations.tests.factories import ProviderFactory, UnitFactory

TEST_AUDIT_KEY = "test-audit-key-not-for-production"


@pytest.fixture(scope="session", autouse=True)
def _test_settings() -> Iterator[None]:
    """Plain static storage (no collectstatic in tests) and a fast password hasher; the tests that
    prove the production hasher switch it back on themselves."""
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        LYFTA_AUDIT_KEY=TEST_AUDIT_KEY,
        # The test client and the live server speak plain HTTP.
        SECURE_SSL_REDIRECT=False,
        # Tests that are about the second factor switch it on themselves; the administrative roles
        # need it whatever this says.
        LYFTA_REQUIRE_MFA=False,
    ):
        yield


@pytest.fixture(scope="session", autouse=True)
def _no_configured_replica() -> None:
    """A DATABASE_REPLICA_URL in the environment is not the tests' replica: it cannot see the
    transactions the tests run in. The tests that need one add it (lyfta/core/tests/replicas.py,
    decision 0022)."""
    from django.db import connections

    from lyfta.core.replica import REPLICA

    connections.settings.pop(REPLICA, None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """PostgreSQL keeps the audit trail in monthly partitions and refuses an event whose month has
    none (decision 0023); in production the scheduler creates the coming months ahead. Tests record
    events under frozen clocks in many months, so the test database gets a DEFAULT partition of
    each audit table, standing in for the months the scheduler would have made by then. Tests of
    the partitions make their months themselves (and detach these where the refusal is the
    point)."""
    with django_db_blocker.unblock():
        if partitions.is_partitioned():
            with connection.cursor() as cursor:
                for table in partitions.TABLES:
                    cursor.execute(
                        f"CREATE TABLE IF NOT EXISTS {table}_test_default PARTITION OF {table} "
                        "DEFAULT"
                    )
            triggers.install(connection)


@pytest.fixture(autouse=True)
def _checkpoint_file(tmp_path: Path, settings: Any) -> Path:
    """Each test keeps its audit checkpoints in a file of its own, outside the database."""
    path = tmp_path / "audit-checkpoints.jsonl"
    settings.LYFTA_AUDIT_CHECKPOINT_FILE = str(path)
    return path


@pytest.fixture(autouse=True)
def _shipped_file(tmp_path: Path, settings: Any) -> Path:
    """Each test ships its sealed audit events to a file store of its own (the default target is
    var/audit-shipped/), which verification compares the database with."""
    path = tmp_path / "audit-shipped.jsonl"
    settings.LYFTA_AUDIT_SHIP_URL = path.as_uri()
    return path


@pytest.fixture(autouse=True)
def _audit_triggers_around_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Django empties every table after a transactional test; the append-only triggers (R65, and
    the stock ledger's)
    would refuse that. They are dropped just before the flush and put back before the next test."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    triggers.install(connection)
    ledger_triggers.install(connection)
    billing_triggers.install(connection)
    yield
    triggers.uninstall(connection)
    ledger_triggers.uninstall(connection)
    billing_triggers.uninstall(connection)


# --- Personas (STYLE.md #8) ----------------------------------------------------------------------


@dataclass
class County:
    region: CareProvider
    municipality: CareProvider
    unit_a: Unit  # municipal home care: alice and bob work here
    unit_a2: Unit  # another unit of the same municipality
    unit_b: Unit  # a region health centre: charlie works here
    centre: Unit  # the assistive-device centre (part of the region)
    region_admin: Unit


@pytest.fixture
def county(db: None) -> County:
    region = ProviderFactory(
        name="Testregionen", short_name="Regionen", kind=CareProvider.Kind.REGION
    )
    municipality = ProviderFactory(name="Testköpings kommun", short_name="Testköping")
    return County(
        region=region,
        municipality=municipality,
        unit_a=UnitFactory(provider=municipality, name="Hemsjukvården Testköping"),
        unit_a2=UnitFactory(
            provider=municipality, name="Testköpings särskilda boenden", kind=Unit.Kind.CARE_HOME
        ),
        unit_b=UnitFactory(
            provider=region, name="Vårdcentralen Testby", kind=Unit.Kind.PRIMARY_CARE
        ),
        centre=UnitFactory(provider=region, name="Hjälpmedelsservice test", kind=Unit.Kind.CENTRE),
        region_admin=UnitFactory(
            provider=region, name="Regionkansliet test", kind=Unit.Kind.ADMINISTRATION
        ),
    )


@dataclass
class Persona:
    user: User
    assignment: Assignment

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user, assignment=self.assignment)


def make_persona(unit: Unit, role: str, username: str, **user_fields: Any) -> Persona:
    user = UserFactory(username=username, **user_fields)
    return Persona(user=user, assignment=AssignmentFactory(user=user, unit=unit, role=role))


@pytest.fixture
def alice(county: County) -> Persona:
    """A prescriber in unit A (municipal home care)."""
    return make_persona(
        county.unit_a, Role.PRESCRIBER, "alice", first_name="Alice", last_name="Ask"
    )


@pytest.fixture
def bob(county: County) -> Persona:
    """Alice's colleague, a prescriber in the same unit A."""
    return make_persona(county.unit_a, Role.PRESCRIBER, "bob", first_name="Bob", last_name="Bok")


@pytest.fixture
def charlie(county: County) -> Persona:
    """A prescriber in unit B, of another care provider (the region)."""
    return make_persona(
        county.unit_b, Role.PRESCRIBER, "charlie", first_name="Charlie", last_name="Cedersköld"
    )


@pytest.fixture
def tekla(county: County) -> Persona:
    """A technician at the assistive-device centre."""
    return make_persona(
        county.centre, Role.TECHNICIAN, "tekla", first_name="Tekla", last_name="Tekn"
    )


@pytest.fixture
def lena(county: County) -> Persona:
    """A log reviewer of the municipality (unit A's provider)."""
    return make_persona(
        county.unit_a2, Role.LOG_REVIEWER, "lena", first_name="Lena", last_name="Logg"
    )


@pytest.fixture
def logan(county: County) -> Persona:
    """Logistics staff at the centre."""
    return make_persona(
        county.centre, Role.LOGISTICS, "logan", first_name="Logan", last_name="Lager"
    )


@pytest.fixture
def billie(county: County) -> Persona:
    """Billing staff at the centre."""
    return make_persona(
        county.centre, Role.BILLING, "billie", first_name="Billie", last_name="Ekon"
    )


@pytest.fixture
def ulla(county: County) -> Persona:
    """The municipality's user administrator."""
    return make_persona(
        county.unit_a2, Role.USER_ADMIN, "ulla", first_name="Ulla", last_name="Admin"
    )


@pytest.fixture
def sigge(county: County) -> Persona:
    """A system administrator at the centre."""
    return make_persona(
        county.centre, Role.SYSTEM_ADMIN, "sigge", first_name="Sigge", last_name="Sys"
    )


def signed_in(client: Client, persona: Persona, *, verified: bool | None = None) -> Client:
    """`client` signed in as `persona` past every gate: agreement accepted, second factor verified
    (by default when the persona's roles require one), assignment chosen, and the session's time
    stamps set as a sign-in sets them."""
    import time

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from lyfta.accounts import sessions
    from lyfta.accounts.middleware import mfa_required
    from lyfta.accounts.services import agreement_accept

    agreement_accept(user=persona.user)
    client.force_login(persona.user)
    session = client.session
    now = time.time()
    session[sessions.AUTH_AT] = session[sessions.LAST_ACTIVITY] = session[sessions.REAUTH_AT] = now
    session["assignment_id"] = persona.assignment.pk
    if verified or (verified is None and mfa_required(persona.user)):
        device, _created = TOTPDevice.objects.get_or_create(
            user=persona.user, name="test", defaults={"confirmed": True}
        )
        session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def as_alice(client: Client, alice: Persona) -> Client:
    return signed_in(client, alice)


# --- Browser tests ------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser). Skipped with a clear
    message where it is missing, except in CI (LYFTA_REQUIRE_BROWSER=1), where that fails."""
    if not CHROMIUM.exists():
        message = "Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)"
        if os.environ.get("LYFTA_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; CI requires the browser tests to run")
        pytest.skip(message + ": browser tests skipped")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # alongside it are synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class BrowserSession:
    """A page plus helpers: every navigation through it is screenshotted under var/screenshots."""

    def __init__(self, page: Any, base_url: str, name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        self.shot(path.strip("/").replace("/", "_") or "start")
        return response

    def shot(self, label: str) -> Path:
        self.count += 1
        target = self.folder / f"{self.count:02d}-{label[:60]}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def login(self, username: str, password: str) -> None:
        self.goto("/konto/logga-in/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        self.shot("after-login")

    def axe_violations(self, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
        """Accessibility violations of the given impacts on the current page (axe-core)."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        return [v for v in results.response["violations"] if v.get("impact") in impacts]


@pytest.fixture
def browser(
    chromium: Any, live_server: Any, request: pytest.FixtureRequest
) -> Iterator[BrowserSession]:
    context = chromium.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        # A page that answers 404 on purpose (a test of "not found"), or 400 (a form refused with
        # its message, as an emergency access on a protected patient is) is not a script error;
        # a missing static file or a blocked script is.
        url = (msg.location or {}).get("url", "")
        on_purpose = "status of 404" in msg.text or "status of 400" in msg.text
        if msg.type == "error" and not (on_purpose and "/static/" not in url):
            errors.append(f"{msg.text} ({url})")

    page.on("console", on_console)
    session = BrowserSession(page, live_server.url, request.node.name)
    yield session
    context.close()
    # A Content-Security-Policy violation or a script error shows up as a console error.
    assert not errors, f"browser console errors: {errors}"
