"""Sending and reading messages."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
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
    the caller's transaction: one COPY on PostgreSQL (a national safety campaign writes tens of
    thousands), batched INSERTs elsewhere. How many messages were made."""
    now = timezone.now()
    rows = [
        (user_id, kind, subject[:200], body, link, now)
        for user_ids, subject, body in letters
        for user_id in dict.fromkeys(user_ids)
    ]
    if connection.vendor == "postgresql":
        table = Message._meta.db_table
        columns = "recipient_id, kind, subject, body, link, created_at"
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return len(rows)
    Message.objects.bulk_create(
        [
            Message(
                recipient_id=user_id, kind=kind, subject=subject, body=body, link=link,
                created_at=created,
            )
            for user_id, kind, subject, body, link, created in rows
        ],
        batch_size=2000,
    )  # fmt: skip
    return len(rows)


def message_mark_read(*, user: User, message_id: int) -> Message | None:
    message = Message.objects.filter(pk=message_id, recipient=user).first()
    if message is not None and message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message
