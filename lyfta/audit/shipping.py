"""Shipping sealed audit events to a log store outside the application (R69).

The scheduler runs `ship` every few seconds, after sealing. Each run sends the sealed events that
the destination has not yet received, in seal order, to one of:

    file:///mnt/audit/lyfta.jsonl       one JSON object per line, appended and fsynced
    syslog+tcp://host:514               RFC 5424 messages, octet-counted (RFC 6587)
    syslog+tls://host:6514              the same over TLS with certificate verification (RFC 5425)

Only sealed events are shipped, each with its `seq` and `entry_hash`, so the receiver holds the
chain as it was sealed and can check it without the database. A cursor per destination remembers
the last `seq` written and moves only after a whole batch has been written: delivery is at least
once and the receiver dedupes on `seq`. Any failure raises, leaves the cursor where it was and is
retried at the next run.

Syslog over TCP has no acknowledgement. A batch counts as written when the receiver closes the
connection cleanly after reading to the end of it (a receiver that closed with data unread would
have reset the connection instead). That catches a receiver that is down or crashes while reading,
not one that loses what it has read; RELP would be needed for that."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.utils import timezone

from lyfta.audit.models import AuditEvent, AuditSeal, AuditShipCursor, Outcome

if TYPE_CHECKING:
    from lyfta.audit.actor import AuditActor

log = logging.getLogger(__name__)

APP_NAME = "lyfta"
# 32473 is the enterprise number set aside for documentation (RFC 5612); an operator with a
# registered number can change it together with the receiver's parsing rules.
SD_ID = "lyfta@32473"
FACILITY_LOG_AUDIT = 13
SEVERITY_INFO = 6
SEVERITY_WARNING = 4
# Seconds to connect, send, and wait for the receiver to close.
TIMEOUT = 10.0
# Every stored field of an event, so the receiver can recompute the chain from what it holds.
EVENT_FIELDS: tuple[str, ...] = tuple(f.attname for f in AuditEvent._meta.concrete_fields)
# Structured-data parameter → key of the shipped row.
SD_PARAMS: tuple[tuple[str, str], ...] = (
    ("seq", "seq"),
    ("event", "id"),
    ("actor", "actor_username"),
    ("unit", "actor_unit_id"),
    ("patient", "patient_id"),
    ("outcome", "outcome"),
    ("request", "request_id"),
)

# The cursor's `destination` column holds the URL.
MAX_URL_LENGTH = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")


class ShipConfigError(ValueError):
    """A shipping destination that cannot be used as written (unknown scheme, relative path...)."""


@dataclass(frozen=True)
class Destination:
    """A parsed shipping URL: `path` for file://, `host` and `port` for syslog."""

    scheme: str
    path: str = ""
    host: str = ""
    port: int = 0


def parse_destination(url: str) -> Destination:
    """The destination named by `url`, or ShipConfigError saying what is wrong with it."""
    if len(url) > MAX_URL_LENGTH:
        raise ShipConfigError(f"the audit shipping URL is too long: {url[:60]}...")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ShipConfigError(f"invalid audit shipping URL {url!r}: {error}") from error
    if parts.username or parts.password:
        # The URL is stored as the cursor's name and printed in errors, so it never carries
        # credentials (and this message does not repeat them).
        raise ShipConfigError("the audit shipping URL may not contain credentials")
    if parts.query or parts.fragment:
        raise ShipConfigError(f"the audit shipping URL {url!r} may not have a query or fragment")
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ShipConfigError(f"a file:// shipping URL needs an absolute path, not {url!r}")
        return Destination(scheme="file", path=path)
    if parts.scheme in ("syslog+tcp", "syslog+tls"):
        if not parts.hostname or port is None:
            raise ShipConfigError(f"a syslog shipping URL needs host and port, not {url!r}")
        return Destination(scheme=parts.scheme, host=parts.hostname, port=port)
    raise ShipConfigError(
        f"unsupported audit shipping URL scheme {parts.scheme!r} in {url!r} "
        "(use file://, syslog+tcp:// or syslog+tls://)"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def shipped_row(seal: AuditSeal) -> dict[str, Any]:
    """What is shipped for one sealed event: its `seq`, `entry_hash` (hex) and every field of the
    event, datetimes as UTC ISO 8601."""
    event = seal.event
    row: dict[str, Any] = {"seq": seal.seq, "entry_hash": bytes(seal.entry_hash).hex()}
    for name in EVENT_FIELDS:
        row[name] = _plain(getattr(event, name))
    return row


def _json(row: dict[str, Any]) -> str:
    # ASCII only: newlines and every other control or separator character become JSON escapes,
    # so one event is always exactly one line (R71).
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _timestamp(value: Any) -> str:
    if value is None or value == "":
        return "-"
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _header_field(value: Any, limit: int) -> str:
    # Header fields are PRINTUSASCII without spaces (RFC 5424 §6.2); anything else would shift
    # the fields that follow.
    text = _NOT_PRINTUSASCII.sub("_", str(value or ""))[:limit]
    return text or "-"


def _sd_value(value: Any) -> str:
    """A PARAM-VALUE escaped per RFC 5424 §6.3.3. Control characters are replaced first: the RFC
    has no escape for them, and a receiver that splits on newlines would otherwise see a forged
    line (R71). The exact value is still in the JSON message."""
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", "" if value is None else str(value))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_rfc5424(event_row: dict[str, Any], hostname: str) -> bytes:
    """One RFC 5424 message for a shipped row (see `shipped_row`): facility log audit, severity
    info for a granted action and warning for a denied or failed one, the action as MSGID, the
    identifying fields as structured data and the whole row as compact ASCII JSON."""
    severity = SEVERITY_INFO if event_row.get("outcome") == Outcome.GRANTED else SEVERITY_WARNING
    header = " ".join(
        (
            f"<{FACILITY_LOG_AUDIT * 8 + severity}>1",
            _timestamp(event_row.get("occurred_at")),
            _header_field(hostname, 255),
            APP_NAME,
            "-",
            _header_field(event_row.get("action"), 32),
        )
    )
    params = " ".join(f'{name}="{_sd_value(event_row.get(key))}"' for name, key in SD_PARAMS)
    return f"{header} [{SD_ID} {params}] {_json(event_row)}".encode()


def frame(message: bytes) -> bytes:
    """Octet-counting framing for syslog over TCP (RFC 6587 §3.4.1)."""
    return b"%d %s" % (len(message), message)


def _write_file(path: str, rows: Sequence[dict[str, Any]]) -> None:
    # The parent directory is not created: it is the other mount, and a missing mount must fail
    # rather than quietly fill the application's own disk.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(fd, "r+b") as handle:
        data = "".join(_json(row) + "\n" for row in rows).encode("ascii")
        size = handle.seek(0, os.SEEK_END)
        if size:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                # A run that failed half-way left a torn line; start on a line of our own.
                data = b"\n" + data
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _connect(target: Destination) -> socket.socket:
    sock = socket.create_connection((target.host, target.port), timeout=TIMEOUT)
    if target.scheme != "syslog+tls":
        return sock
    ca_file: str = settings.LYFTA_AUDIT_SHIP_CA_FILE
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        return context.wrap_socket(sock, server_hostname=target.host)
    except BaseException:
        sock.close()
        raise


def _close_confirmed(sock: socket.socket) -> None:
    """Half-close and wait for the receiver to close cleanly, which it does only after reading
    everything sent; a reset or a timeout raises."""
    if isinstance(sock, ssl.SSLSocket):
        try:
            sock = sock.unwrap()
        except ssl.SSLEOFError:
            # The receiver closed after our close_notify without sending its own: a clean end.
            return
    sock.shutdown(socket.SHUT_WR)
    # Syslog receivers send nothing back; a bound keeps a misbehaving one from holding the run.
    drained = 0
    while chunk := sock.recv(4096):
        drained += len(chunk)
        if drained > 65536:
            raise ConnectionError("the syslog receiver keeps sending instead of closing")


def _send_syslog(target: Destination, rows: Sequence[dict[str, Any]], hostname: str) -> None:
    data = b"".join(frame(format_rfc5424(row, hostname)) for row in rows)
    sock = _connect(target)
    try:
        sock.sendall(data)
        _close_confirmed(sock)
    finally:
        sock.close()


def shipped_copy_path(url: str) -> str:
    """The file that the shipping URL `url` appends to, or "" when it names no file (shipping off,
    a syslog store, or an unusable URL): that is the shipped copy verification reads by default."""
    if not url:
        return ""
    try:
        target = parse_destination(url)
    except ShipConfigError:
        return ""
    return target.path if target.scheme == "file" else ""


@dataclass(frozen=True)
class ShippedSeal:
    """What the shipped copy says about one seal."""

    seq: int
    entry_hash: str  # hex
    event_id: int


def read_shipped(path: str | Path) -> Iterator[ShippedSeal]:
    """The seals in a shipped copy, in file order (duplicates included: delivery is at least
    once). Each line is a shipped row as file:// writes it, or a line of a syslog store's archive
    whose message is that row (the JSON object from the first ' {"' on). A torn line left by a
    failed write is skipped: its batch was written again whole."""
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            text = line.strip()
            if not text.startswith("{"):
                start = text.find(' {"')
                if start < 0:
                    continue
                text = text[start + 1 :]
            try:
                row = json.loads(text)
                yield ShippedSeal(int(row["seq"]), str(row["entry_hash"]), int(row["id"]))
            except (ValueError, KeyError, TypeError):
                continue


def _pending(after: int, limit: int) -> list[dict[str, Any]]:
    seals = list(AuditSeal.objects.filter(seq__gt=after).order_by("seq")[:limit])
    if not seals:
        return []
    # The events by id within the seals' span of time: on PostgreSQL that reads the months that
    # hold them, where a join by id alone would look in every month's partition for each one.
    events = AuditEvent.objects.filter(
        id__in=[seal.event_id for seal in seals],
        occurred_at__gte=min(seal.occurred_at for seal in seals),
        occurred_at__lte=max(seal.occurred_at for seal in seals),
    )
    found = {(event.pk, event.occurred_at): event for event in events}
    for seal in seals:
        event = found.get((seal.event_id, seal.occurred_at))
        if event is not None:
            seal.event = event
    return [shipped_row(seal) for seal in seals]


def ship_audit(*, destination: str | None = None, batch: int = 1000) -> int:
    """Send every sealed event not yet shipped to `destination` (default LYFTA_AUDIT_SHIP_URL;
    empty: shipping is off) in batches of `batch`, moving the destination's cursor after each
    batch is written, until caught up. Returns how many events were shipped. Raises
    ShipConfigError for an unusable URL and OSError when the destination fails; the batch that
    failed is sent again by the next run."""
    url = settings.LYFTA_AUDIT_SHIP_URL if destination is None else destination
    if not url:
        return 0
    if batch < 1:
        raise ValueError("batch must be at least 1")
    target = parse_destination(url)
    hostname = socket.gethostname()
    cursor, _ = AuditShipCursor.objects.get_or_create(
        destination=url, defaults={"updated_at": timezone.now()}
    )
    last_seq = cursor.last_seq
    shipped = 0
    while True:
        rows = _pending(last_seq, batch)
        if not rows:
            break
        if target.scheme == "file":
            _write_file(target.path, rows)
        else:
            _send_syslog(target, rows, hostname)
        last_seq = rows[-1]["seq"]
        # Only ever forward: a slower run that overlapped this one cannot move the cursor back.
        AuditShipCursor.objects.filter(destination=url, last_seq__lt=last_seq).update(
            last_seq=last_seq, updated_at=timezone.now()
        )
        shipped += len(rows)
        if len(rows) < batch:
            break
    if shipped:
        log.info("shipped %d audit events to %s, up to seal %d", shipped, url, last_seq)
    return shipped


def ship(*, actor: AuditActor) -> None:
    """Ship newly sealed events to the outside log store (every few seconds, after sealing)."""
    ship_audit()
