"""The client's own messages in the API (issue 18): what Lyfta tells the orderer of an order
(a line cancelled by the centre, a failed delivery), which for an order a client placed is the
client's service account. No patient data: a message names an order, not a person."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.params.functions import Path, Query

from lyfta.accounts.models import ApiScope
from lyfta.api.auth import acting
from lyfta.api.paging import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, cursor_after, next_cursor, page_size
from lyfta.api.schema import MAX_ID
from lyfta.messages import selectors
from lyfta.messages.models import Message
from lyfta.messages.services import message_mark_read

router = Router(tags=["Meddelanden"])


class MessageOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


def message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.pk,
        kind=message.kind,
        subject=message.subject,
        body=message.body,
        created_at=message.created_at,
        read_at=message.read_at,
    )


@router.get("/messages", response=MessagePage, url_name="messages", summary="Klientens meddelanden")
def messages(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=100),
) -> MessagePage:
    """Oldest first; follow `next_cursor` for newer ones."""
    actor = acting(request, ApiScope.MESSAGES_READ)
    assert actor.user is not None  # noqa: S101 - a client always acts as its service account
    page = selectors.inbox_after(user=actor.user, after=cursor_after(cursor), size=page_size(limit))
    return MessagePage(
        items=[message_out(m) for m in page.rows], next_cursor=next_cursor(page.last)
    )


@router.post(
    "/messages/{message_id}/read",
    response=MessageOut,
    url_name="message_read",
    summary="Markera ett meddelande som läst",
)
def message_read(request: HttpRequest, message_id: int = Path(..., ge=1, le=MAX_ID)) -> MessageOut:
    actor = acting(request, ApiScope.MESSAGES_READ)
    assert actor.user is not None  # noqa: S101 - a client always acts as its service account
    message = message_mark_read(user=actor.user, message_id=message_id)
    if message is None:
        raise Http404
    return message_out(message)
