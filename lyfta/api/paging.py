"""Lists a page at a time with stable cursors, and ETags for the resources a client may change.

A cursor is keyset pagination on the primary key: the page after `cursor` holds the rows whose
id is greater than the last one shown, ascending. Rows added meanwhile come at the end (ids only
grow) and none is shown twice or skipped, however long a client takes between pages. The cursor
is opaque to the client (base64 of the last id); a forged one only moves the start of the page,
never past what the access layer lets the query return."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import ValidationError as RequestInvalid

from lyfta.api.errors import PreconditionFailed

MAX_ID = 2**63 - 1
CURSOR_MAX_LENGTH = 40
DEFAULT_LIMIT = 50


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id after which the page starts (0 for the first page); a cursor that is not one of
    ours is refused like any other invalid parameter (422)."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad_cursor() from None
    kind, _sep, number = raw.partition(":")
    if kind != "id" or not number.isascii() or not number.isdigit() or len(number) > 19:
        raise _bad_cursor()
    value = int(number)
    if not 0 < value <= MAX_ID:
        raise _bad_cursor()
    return value


def _bad_cursor() -> RequestInvalid:
    return RequestInvalid([{"loc": ["query", "cursor"], "msg": _("Ogiltig markör (cursor).")}])


def cursor_after(cursor: str | None) -> int:
    """The id a page starts after, from the client's cursor."""
    return decode_cursor(cursor)


def next_cursor(last: int | None) -> str | None:
    return encode_cursor(last) if last is not None else None


def page_size(limit: int) -> int:
    return max(1, min(limit, settings.LYFTA_API_PAGE_MAX))


def etag_of(representation: Any) -> str:
    """A strong ETag: the SHA-256 of the resource's JSON as the API shows it, so that any change
    a client could see changes it."""
    body = orjson.dumps(representation, option=orjson.OPT_SORT_KEYS)
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def require_match(request: HttpRequest, current: str) -> None:
    """An update must name the ETag the client last read (RFC 9110 §13.1.1): 428 without
    If-Match, 412 when it names another version ("*" matches any)."""
    header = request.headers.get("If-Match", "")
    if not header.strip():
        raise PreconditionFailed(428)
    # Strong comparison: a weak tag ("W/…") never matches an If-Match.
    tags = {tag.strip() for tag in header.split(",")}
    if "*" not in tags and current not in tags:
        raise PreconditionFailed(412)
