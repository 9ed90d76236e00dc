"""Reads of messages: only ever the recipient's own."""

from __future__ import annotations

from lyfta.accounts.models import User
from lyfta.core.paging import Keyset, keyset
from lyfta.messages.models import Message


def inbox_after(*, user: User, after: int, size: int) -> Keyset[Message]:
    """The user's messages with an id above `after`, oldest first (the API's pages)."""
    return keyset(Message.objects.filter(recipient=user), after, size)
