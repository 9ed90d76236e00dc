"""The failure statistics' one write (issue 15 point 5): the count of devices in use per article
and unit, taken anew when the latest is older than an hour. Summing every open loan takes about a
second at national size; the page reads the count instead (a few thousand rows). The count is a
derived figure, not a change to anyone's data: it is not audited."""

from __future__ import annotations

import datetime as dt

from django.db import models, transaction
from django.utils import timezone

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.quality.models import InUseCount

FRESH = dt.timedelta(hours=1)


def in_use_counted_at(*, actor: Actor) -> dt.datetime | None:
    """When the devices in use were last counted, counting them now when that is over an hour
    ago (or never). None when there is nothing on loan."""
    latest: dt.datetime | None = InUseCount.objects.aggregate(at=models.Max("taken_at"))["at"]
    now = timezone.now()
    if latest is not None and now - latest < FRESH:
        return latest
    counts = rows.open_loans_per_article_and_unit(actor)
    if not counts:
        return latest
    with transaction.atomic():
        InUseCount.objects.bulk_create(
            [InUseCount(taken_at=now, article_id=a, unit_id=u, quantity=q) for a, u, q in counts],
            batch_size=2000,
        )
        InUseCount.objects.filter(taken_at__lt=now).delete()
    return now
