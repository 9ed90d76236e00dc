"""Sending and reading messages."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from lyfta.accounts.models import User
from lyfta.messages.models import Message


def messages_send(
    *, recipients: Iterable[User], kind: str, subject: str, body: str = "", link: str = ""
) -> list[Message]:
    """Deliver one message to each recipient (in the caller's transaction)."""
    now = timezone.now()
    return Message.objects.bulk_create(
        [
            Message(
                recipient=user,
                kind=kind,
                subject=subject[:200],
                body=body,
                link=link,
                created_at=now,
            )
            for user in {u.pk: u for u in recipients}.values()
        ]
    )


def messages_send_each(
    *, letters: Iterable[tuple[list[int], str, str]], kind: str, link: str = ""
) -> int:
    """Deliver many letters at once, each (recipient ids, subject, body) to its recipients, in
    one batched INSERT (in the caller's transaction): how many messages were made."""
    now = timezone.now()
    made = [
        Message(
            recipient_id=user_id,
            kind=kind,
            subject=subject[:200],
            body=body,
            link=link,
            created_at=now,
        )
        for user_ids, subject, body in letters
        for user_id in dict.fromkeys(user_ids)
    ]
    Message.objects.bulk_create(made, batch_size=2000)
    return len(made)


def message_mark_read(*, user: User, message_id: int) -> Message | None:
    message = Message.objects.filter(pk=message_id, recipient=user).first()
    if message is not None and message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message
