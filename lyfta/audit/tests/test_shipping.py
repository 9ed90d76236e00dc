"""Shipping sealed audit events to a separate log store (R69) without forgeable lines (R71)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.audit.models import AuditEvent, AuditSeal, AuditShipCursor, Outcome
from lyfta.audit.sealing import audit_seal
from lyfta.audit.services import record
from lyfta.audit.shipping import (
    EVENT_FIELDS,
    ShipConfigError,
    format_rfc5424,
    parse_destination,
    ship,
    ship_audit,
)

HOSTNAME = socket.gethostname()


def record_events(count: int, *, outcome: str = Outcome.GRANTED) -> list[AuditEvent]:
    return [
        record(
            action="unit.updated",
            actor=Actor.system("test"),
            outcome=outcome,
            resource_type="organisations.unit",
            resource_id=str(n),
            changes={"name": [f"old {n}", f"new {n}"]},
        )
        for n in range(count)
    ]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


def cursor_seq(url: str) -> int:
    return AuditShipCursor.objects.get(destination=url).last_seq


# --- A syslog receiver for the tests ---------------------------------------------------------


class Receiver(socketserver.ThreadingTCPServer):
    """Collects the bytes of each connection; with `tls`, speaks TLS first."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(
        self, port: int = 0, tls: ssl.SSLContext | None = None, activate: bool = True
    ) -> None:
        super().__init__(("127.0.0.1", port), ReceiverHandler, bind_and_activate=False)
        self.server_bind()
        if activate:
            self.server_activate()
        self.tls = tls
        self.received: list[bytes] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A refused TLS handshake is expected in one test; keep it off stderr.
        pass

    def frames(self) -> list[bytes]:
        with self.lock:
            return [f for data in self.received for f in split_frames(data)]


class ReceiverHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = cast(Receiver, self.server)
        conn: socket.socket = self.request
        try:
            if server.tls is not None:
                conn = server.tls.wrap_socket(conn, server_side=True)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
            # Stored before the connection closes: the sender returns as soon as it sees the close.
            with server.lock:
                server.received.append(b"".join(chunks))
            if isinstance(conn, ssl.SSLSocket):
                conn = conn.unwrap()  # answer the sender's close_notify
        except BaseException as error:
            with server.lock:
                server.errors.append(error)
            raise
        finally:
            conn.close()


def serve(port: int = 0, tls: ssl.SSLContext | None = None) -> Receiver:
    server = Receiver(port, tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: Receiver) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = serve()
    yield server
    stop(server)


def split_frames(data: bytes) -> list[bytes]:
    """Octet-counted frames (RFC 6587 §3.4.1); fails on anything left over."""
    frames = []
    while data:
        length, space, rest = data.partition(b" ")
        assert space, data[:40]
        assert length.isdigit(), data[:40]
        size = int(length)
        assert len(rest) >= size
        frames.append(rest[:size])
        data = rest[size:]
    return frames


@dataclass
class Syslog:
    pri: int
    version: str
    timestamp: str
    hostname: str
    app: str
    procid: str
    msgid: str
    sd_id: str
    params: dict[str, str]
    raw_sd: str
    msg: str


def parse_syslog(message: bytes) -> Syslog:
    """An RFC 5424 message with one SD element, parsed strictly (§6, §6.3.3 escapes)."""
    text = message.decode("utf-8")
    pri_version, timestamp, hostname, app, procid, msgid, rest = text.split(" ", 6)
    assert pri_version.startswith("<")
    pri, version = pri_version[1:].split(">")
    assert rest.startswith("[")
    sd_id, _, body = rest[1:].partition(" ")
    params: dict[str, str] = {}
    i = 0
    while True:
        name_end = body.index('="', i)
        name = body[i:name_end]
        i = name_end + 2
        value = []
        while body[i] != '"':
            if body[i] == "\\" and body[i + 1] in '"\\]':
                value.append(body[i + 1])
                i += 2
            else:
                assert body[i] != "]", "an unescaped ] inside a PARAM-VALUE"
                value.append(body[i])
                i += 1
        params[name] = "".join(value)
        i += 1
        if body[i] == "]":
            break
        assert body[i] == " "
        i += 1
    assert body[i + 1] == " "
    return Syslog(
        pri=int(pri),
        version=version,
        timestamp=timestamp,
        hostname=hostname,
        app=app,
        procid=procid,
        msgid=msgid,
        sd_id=sd_id,
        params=params,
        raw_sd=body[: i + 1],
        msg=body[i + 2 :],
    )


# --- file:// ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_r69_file_ships_every_sealed_event_once_and_no_unsealed_one(tmp_path: Path) -> None:
    """Only sealed events leave, in seal order, each once; a second run sends nothing new and a
    later run sends only what was sealed since."""
    url = f"file://{tmp_path}/audit.jsonl"
    first = record_events(3)
    audit_seal()
    unsealed = record_events(1)

    assert ship_audit(destination=url) == 3
    rows = read_jsonl(tmp_path / "audit.jsonl")
    seals = list(AuditSeal.objects.order_by("seq"))
    assert [(r["seq"], r["id"]) for r in rows] == [(s.seq, s.event_id) for s in seals]
    assert [r["id"] for r in rows] == [e.pk for e in first]
    assert cursor_seq(url) == seals[-1].seq

    assert ship_audit(destination=url) == 0
    assert len(read_jsonl(tmp_path / "audit.jsonl")) == 3

    record_events(2)
    audit_seal()
    assert ship_audit(destination=url) == 3
    rows = read_jsonl(tmp_path / "audit.jsonl")
    assert [r["seq"] for r in rows] == list(range(1, 7))
    assert len({r["id"] for r in rows}) == 6
    assert unsealed[0].pk in {r["id"] for r in rows}


@pytest.mark.django_db
def test_r69_shipped_row_holds_seq_entry_hash_and_every_event_field(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/audit.jsonl"
    (event,) = record_events(1)
    audit_seal()
    ship_audit(destination=url)

    (row,) = read_jsonl(tmp_path / "audit.jsonl")
    seal = AuditSeal.objects.get(event=event)
    assert row["seq"] == seal.seq
    assert row["entry_hash"] == bytes(seal.entry_hash).hex()
    assert set(row) == {"seq", "entry_hash", *EVENT_FIELDS}
    assert row["occurred_at"] == event.occurred_at.astimezone(dt.UTC).isoformat(
        timespec="microseconds"
    )
    assert row["occurred_at"].endswith("+00:00")
    assert row["changes"] == {"name": ["old 0", "new 0"]}
    assert row["actor_username"] == "system:test"


@pytest.mark.django_db
def test_r69_file_batches_advance_the_cursor_per_batch(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/audit.jsonl"
    record_events(5)
    audit_seal()
    assert ship_audit(destination=url, batch=2) == 5
    assert [r["seq"] for r in read_jsonl(tmp_path / "audit.jsonl")] == [1, 2, 3, 4, 5]
    assert cursor_seq(url) == 5


@pytest.mark.django_db
def test_r69_missing_mount_raises_and_a_later_run_ships_everything(tmp_path: Path) -> None:
    """The parent directory stands for the other mount: it is never created, so a missing mount
    fails instead of filling the application's own disk."""
    url = f"file://{tmp_path}/mount/audit.jsonl"
    record_events(2)
    audit_seal()
    with pytest.raises(FileNotFoundError):
        ship_audit(destination=url)
    assert cursor_seq(url) == 0

    (tmp_path / "mount").mkdir()
    assert ship_audit(destination=url) == 2
    assert len(read_jsonl(tmp_path / "mount" / "audit.jsonl")) == 2


@pytest.mark.django_db
def test_r69_torn_last_line_is_not_joined_to_the_next_event(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"seq":1,"torn')
    record_events(1)
    audit_seal()
    ship_audit(destination=f"file://{path}")
    lines = path.read_text().splitlines()
    assert lines[0] == '{"seq":1,"torn'
    assert json.loads(lines[1])["seq"] == 1


# --- syslog over TCP ------------------------------------------------------------------------


@pytest.mark.django_db
def test_r69_syslog_tcp_sends_octet_counted_rfc5424_messages(receiver: Receiver) -> None:
    url = f"syslog+tcp://127.0.0.1:{receiver.port}"
    granted, denied = record_events(1)[0], record_events(1, outcome=Outcome.DENIED)[0]
    audit_seal()

    assert ship_audit(destination=url) == 2
    first, second = (parse_syslog(f) for f in receiver.frames())

    assert (first.pri, second.pri) == (13 * 8 + 6, 13 * 8 + 4)
    assert first.version == "1"
    assert first.timestamp == granted.occurred_at.astimezone(dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    assert (first.hostname, first.app, first.procid, first.msgid) == (
        HOSTNAME,
        "lyfta",
        "-",
        "unit.updated",
    )
    assert first.sd_id == "lyfta@32473"
    seal = AuditSeal.objects.get(event=granted)
    assert first.params == {
        "seq": str(seal.seq),
        "event": str(granted.pk),
        "actor": "system:test",
        "unit": "",
        "patient": "",
        "outcome": "granted",
        "request": "",
    }
    assert second.params["outcome"] == "denied"
    assert second.params["event"] == str(denied.pk)
    body = json.loads(first.msg)
    assert body["seq"] == seal.seq
    assert body["entry_hash"] == bytes(seal.entry_hash).hex()
    assert body["id"] == granted.pk
    assert cursor_seq(url) == 2


@pytest.mark.django_db
def test_r69_closed_port_raises_and_leaves_the_cursor_so_a_later_run_ships_all() -> None:
    # Bound but not yet listening: connections are refused, and no other test can take the port.
    server = Receiver(0, activate=False)
    url = f"syslog+tcp://127.0.0.1:{server.port}"
    record_events(3)
    audit_seal()

    with pytest.raises(ConnectionRefusedError):
        ship_audit(destination=url)
    assert cursor_seq(url) == 0

    server.server_activate()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert ship_audit(destination=url) == 3
        assert [parse_syslog(f).params["seq"] for f in server.frames()] == ["1", "2", "3"]
    finally:
        stop(server)
    assert cursor_seq(url) == 3


# --- syslog over TLS ------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test's own CA), made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 (fixed arguments, no input)
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = serve(tls=context)
    yield server
    stop(server)


@pytest.mark.django_db
def test_r69_syslog_tls_verifies_the_receiver_against_the_configured_ca(
    tls_receiver: Receiver, certificate: tuple[Path, Path], settings: Any
) -> None:
    url = f"syslog+tls://127.0.0.1:{tls_receiver.port}"
    record_events(2)
    audit_seal()

    settings.LYFTA_AUDIT_SHIP_CA_FILE = ""
    with pytest.raises(ssl.SSLCertVerificationError):
        ship_audit(destination=url)
    assert cursor_seq(url) == 0

    settings.LYFTA_AUDIT_SHIP_CA_FILE = str(certificate[0])
    assert ship_audit(destination=url) == 2
    assert [parse_syslog(f).params["seq"] for f in tls_receiver.frames()] == ["1", "2"]
    assert cursor_seq(url) == 2


# --- R71: no forged lines -------------------------------------------------------------------

HOSTILE = 'mallory"] [x@1 a="b"]\\\nforged <13>1 - - - - - -'


def expected_sd(value: str) -> str:
    """`value` as a receiver reads it back from the structured data: control characters replaced
    by U+FFFD, everything else exact."""
    return value.replace("\n", "\N{REPLACEMENT CHARACTER}")


@pytest.mark.django_db
def test_r71_recorded_hostile_values_give_one_escaped_frame(receiver: Receiver) -> None:
    event = record(
        action="unit.updated",
        actor=Actor.system(HOSTILE),
        resource_id=HOSTILE,
        detail={"note": HOSTILE},
    )
    audit_seal()
    ship_audit(destination=f"syslog+tcp://127.0.0.1:{receiver.port}")

    (frame,) = receiver.frames()
    message = parse_syslog(frame)
    event.refresh_from_db()
    assert message.params["actor"] == expected_sd(event.actor_username)
    assert message.params["actor"].startswith("system:mallory")
    assert b"\n" not in frame
    assert json.loads(message.msg)["resource_id"] == event.resource_id


@pytest.mark.django_db
def test_r71_raw_newlines_quotes_and_brackets_in_a_stored_event_are_escaped(
    receiver: Receiver,
) -> None:
    """Even a value that reached the table unclean (record() already replaces control characters)
    gives exactly one frame: structured data escaped per RFC 5424 §6.3.3, the exact value in the
    JSON message, and no raw newline anywhere."""
    event = AuditEvent.objects.create(
        occurred_at=timezone.now(),
        action="unit.updated",
        outcome=Outcome.GRANTED,
        source_system="lyfta",
        actor_username=HOSTILE,
        resource_id=HOSTILE[:64],
        request_id='req]"\\\n',
    )
    audit_seal()
    ship_audit(destination=f"syslog+tcp://127.0.0.1:{receiver.port}")

    (frame,) = receiver.frames()
    assert b"\n" not in frame
    assert b"\r" not in frame
    message = parse_syslog(frame)
    assert set(message.params) == {"seq", "event", "actor", "unit", "patient", "outcome", "request"}
    assert message.params["actor"] == expected_sd(HOSTILE)
    assert message.params["request"] == expected_sd('req]"\\\n')
    assert 'actor="mallory\\"\\] [x@1 a=\\"b\\"\\]\\\\\N{REPLACEMENT CHARACTER}forged' in (
        message.raw_sd
    )
    assert message.msg.isascii()
    body = json.loads(message.msg)
    assert body["actor_username"] == HOSTILE
    assert body["resource_id"] == event.resource_id


def test_r71_format_rfc5424_keeps_header_fields_printable() -> None:
    row = {
        "seq": 1,
        "id": 7,
        "action": "bad action\n<13>",
        "outcome": "error",
        "occurred_at": "2025-01-02T03:04:05.000006+00:00",
    }
    message = parse_syslog(format_rfc5424(row, hostname="host name\n"))
    assert (message.pri, message.timestamp) == (13 * 8 + 4, "2025-01-02T03:04:05.000006Z")
    assert (message.hostname, message.msgid) == ("host_name_", "bad_action_<13>")


# --- Configuration, job and command ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/audit",
        "file://relative/audit.jsonl",
        "syslog+tcp://example.org",
        "syslog+tls://user:secret@example.org:6514",
        "syslog+tcp://example.org:notaport",
    ],
)
def test_r69_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(ShipConfigError):
        parse_destination(url)


@pytest.mark.django_db
def test_r69_empty_setting_turns_shipping_off(settings: Any) -> None:
    settings.LYFTA_AUDIT_SHIP_URL = ""
    record_events(1)
    audit_seal()
    assert ship_audit() == 0
    assert not AuditShipCursor.objects.exists()


@pytest.mark.django_db
def test_r69_job_ships_to_the_configured_url(tmp_path: Path, settings: Any) -> None:
    settings.LYFTA_AUDIT_SHIP_URL = f"file://{tmp_path}/audit.jsonl"
    record_events(2)
    audit_seal()
    ship(actor=Actor.system("scheduler"))
    assert len(read_jsonl(tmp_path / "audit.jsonl")) == 2


@pytest.mark.django_db
def test_r69_command_prints_how_many_were_shipped(tmp_path: Path) -> None:
    record_events(2)
    audit_seal()
    out = StringIO()
    call_command("ship_audit", destination=f"file://{tmp_path}/audit.jsonl", stdout=out)
    assert "shipped 2 audit events" in out.getvalue()


@pytest.mark.django_db
def test_r69_command_refuses_a_bad_scheme_with_a_clear_error() -> None:
    with pytest.raises(CommandError, match="unsupported audit shipping URL scheme 'ftp'"):
        call_command("ship_audit", destination="ftp://example.org/audit")


@pytest.mark.django_db
def test_r69_command_reports_a_failed_destination_without_a_traceback(tmp_path: Path) -> None:
    record_events(1)
    audit_seal()
    with pytest.raises(CommandError, match="will be sent again"):
        call_command("ship_audit", destination=f"file://{tmp_path}/missing/audit.jsonl")
