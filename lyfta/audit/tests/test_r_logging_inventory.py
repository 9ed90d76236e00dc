"""The logging inventory (R64) and pgaudit's place beside the audit trail (R72): documents that
must follow the code, checked against it."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from lyfta.audit.actions import Action

DOCS = Path(settings.BASE_DIR) / "docs"
INVENTORY = DOCS / "logging-inventory.md"
LAYER_COLUMNS = [
    "Layer",
    "What is logged",
    "Format",
    "Where it is stored",
    "Who may read it",
    "Kept for",
]


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line[:1] == "|"]
    return [[cell.strip() for cell in row] for row in rows if not set("".join(row)) <= set("-: ")]


def test_r64_every_action_code_is_in_the_logging_inventory() -> None:
    """Adding an action code without listing it (or leaving a removed one) fails here."""
    catalogue = _section(INVENTORY.read_text(encoding="utf-8"), "Event catalogue")
    listed = {row[0].strip("`") for row in _table_rows(catalogue) if row[0].startswith("`")}
    missing = sorted(set(Action.values) - listed)
    assert not missing, f"action codes missing from docs/logging-inventory.md: {missing}"
    stale = sorted(listed - set(Action.values))
    assert not stale, f"docs/logging-inventory.md lists codes that do not exist: {stale}"


def test_r64_each_layer_states_events_format_storage_readers_and_retention() -> None:
    rows = _table_rows(_section(INVENTORY.read_text(encoding="utf-8"), "Layers"))
    header, layers = rows[0], rows[1:]
    assert header == LAYER_COLUMNS
    for row in layers:
        assert len(row) == len(LAYER_COLUMNS), row[0]
        assert all(cell for cell in row), f"{row[0]}: every column is filled in"
    names = " ".join(row[0] for row in layers)
    for layer in ("audit trail", "Seal chain", "Shipped copy", "process log", "access log"):
        assert layer in names, layer
    assert "pgaudit" in names


def test_r64_the_inventory_matches_where_the_code_sends_its_logs() -> None:
    """The process log goes to the console only, and the audit trail's shipping schemes are the
    ones the inventory names; a new handler or scheme needs a line in the inventory first."""
    handlers = settings.LOGGING["handlers"]
    assert {h["class"] for h in handlers.values()} == {"logging.StreamHandler"}
    text = INVENTORY.read_text(encoding="utf-8")
    from lyfta.audit import shipping

    schemes = set(re.findall(r"^\s+([a-z+]+)://", shipping.__doc__ or "", re.MULTILINE))
    assert schemes == {"file", "syslog+tcp", "syslog+tls"}
    for scheme in schemes:
        assert f"`{scheme}://`" in text, scheme
    assert "LYFTA_AUDIT_RETENTION_YEARS" in text and "five years" in text


def test_r72_pgaudit_is_documented_as_not_the_patient_access_log() -> None:
    """Operations say what pgaudit is and is not; the code never takes it for the audit trail."""
    section = _section(
        (DOCS / "operations.md").read_text(encoding="utf-8"),
        "pgaudit is not the patient-access log (R72)",
    )
    flat = " ".join(section.split())
    assert "no tamper evidence" in flat
    assert "it is not possible to reliably audit superusers with pgAudit" in flat
    assert "never treated as the record of who accessed which patient" in flat
    code = [
        path
        for path in (Path(settings.BASE_DIR) / "lyfta").rglob("*.py")
        if "tests" not in path.parts and "pgaudit" in path.read_text(encoding="utf-8").lower()
    ]
    assert not code, f"code that relies on pgaudit: {code}"


def test_r60_the_web_server_log_never_holds_a_query_string(monkeypatch: Any) -> None:
    """A reviewer's search puts a personnummer in the query string; `manage.py serve` starts
    gunicorn with an access-log format that writes the path only (%(U)s, never %(r)s or %(q)s)."""
    import subprocess

    from django.core.management import call_command

    started: list[list[str]] = []

    class Child:
        def __init__(self, command: list[str], **kwargs: Any) -> None:
            started.append(command)

        def poll(self) -> int:
            return 0  # every child "stops" at once, so serve returns

        def send_signal(self, signum: int) -> None: ...

        def wait(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", Child)
    with pytest.raises(SystemExit):
        call_command("serve", stdout=io.StringIO(), stderr=io.StringIO())
    (web,) = [c for c in started if "gunicorn" in c]
    log_format = web[web.index("--access-logformat") + 1]
    assert "%(U)s" in log_format
    for with_query in ("%(r)s", "%(q)s", "%(f)s"):  # request line, query string, referrer
        assert with_query not in log_format
