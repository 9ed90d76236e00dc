"""Settings driven by the environment (issue: Foundation)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper

from lyfta import settings as lyfta_settings


def test_postgres_url_becomes_a_postgresql_database() -> None:
    db = lyfta_settings.database_from_url("postgres://lyfta:s%40cret@db.example:5433/lyfta_prod")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "lyfta_prod",
        "lyfta",
        "s@cret",
        "db.example",
        "5433",
    )


def test_sqlite_url_keeps_relative_and_absolute_paths() -> None:
    assert lyfta_settings.database_from_url("sqlite:///var/x.sqlite3")["NAME"] == "var/x.sqlite3"
    assert lyfta_settings.database_from_url("sqlite:////tmp/x.sqlite3")["NAME"] == "/tmp/x.sqlite3"


def test_unknown_database_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        lyfta_settings.database_from_url("mysql://root@localhost/lyfta")


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(
    tmp_path: Path, django_db_blocker: Any
) -> None:
    """The embedded default: WAL journal, IMMEDIATE transactions and a busy timeout."""
    config = lyfta_settings.sqlite_database(tmp_path / "demo.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    wrapper = DatabaseWrapper({**connections["default"].settings_dict, **config}, alias="probe")
    with django_db_blocker.unblock(), wrapper.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
    wrapper.close()
    assert (
        sqlite3.connect(tmp_path / "demo.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
        == "wal"
    )


def test_secret_key_is_generated_once_into_var_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lyfta_settings, "VAR_DIR", tmp_path)
    monkeypatch.delenv("LYFTA_SECRET_KEY", raising=False)
    first = lyfta_settings.generated_secret("LYFTA_SECRET_KEY", "secret_key")
    second = lyfta_settings.generated_secret("LYFTA_SECRET_KEY", "secret_key")
    assert first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("LYFTA_SECRET_KEY", "from-the-environment")
    assert (
        lyfta_settings.generated_secret("LYFTA_SECRET_KEY", "secret_key") == "from-the-environment"
    )


def test_no_fixed_secret_key_in_the_code() -> None:
    source = Path(lyfta_settings.__file__).read_text()
    assert 'SECRET_KEY = "' not in source and "SECRET_KEY = '" not in source


def test_yes_no_settings_refuse_anything_unclear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYFTA_X", "kanske")
    with pytest.raises(ValueError, match="true or false"):
        lyfta_settings.env_bool("LYFTA_X", False)


def _production_env(tmp_path: Path) -> dict[str, str]:
    """A production-like environment: no LYFTA_HTTPS or LYFTA_DEBUG override, a real secret key."""
    env = {
        **os.environ,
        "LYFTA_DEBUG": "false",
        "LYFTA_SECRET_KEY": "x" * 20 + "production-secret-key-of-enough-length-and-variety-0123",
        "LYFTA_ALLOWED_HOSTS": "lyfta.region.example",
        "LYFTA_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "lyfta.settings",
    }
    for name in (
        "LYFTA_HTTPS",
        "LYFTA_SSL_REDIRECT",
        "LYFTA_HSTS_SECONDS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(name, None)  # set by a developer's shell or other tests' harness
    return env


def test_r88_production_settings_force_tls_and_pass_the_deploy_check(tmp_path: Path) -> None:
    """With the production defaults, plain HTTP is redirected to HTTPS, browsers are told to use
    HTTPS only for a year (HSTS, subdomains too) and the session and CSRF cookies are never sent
    unencrypted; `check --deploy` (whose security warnings cover exactly these) reports nothing."""
    env = _production_env(tmp_path)
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json."
        "dumps([s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SILENCED_SYSTEM_CHECKS]))"
    )
    shown = subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(lyfta_settings.BASE_DIR),
        check=True,
    )
    redirect, hsts, subdomains, session_secure, csrf_secure, silenced = json.loads(shown.stdout)
    assert redirect is True
    assert hsts >= 365 * 24 * 3600 and subdomains is True
    assert session_secure is True and csrf_secure is True
    assert silenced == [], "no deploy check may be silenced"
    result = subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(lyfta_settings.BASE_DIR),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
