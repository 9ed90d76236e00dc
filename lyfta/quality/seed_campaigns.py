"""Demo campaigns for the quality desk: one open safety campaign for a serial range of a sling,
made by the quality officer (sara.kvalitet) through the services, with some devices checked.
Idempotent: a second run finds the campaign by its notice reference and leaves it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.accounts.models import Assignment, User
from lyfta.catalogue.models import Article
from lyfta.core.serials import serial_key
from lyfta.inventory.models import Item
from lyfta.quality.models import Campaign, CampaignDevice
from lyfta.quality.services import campaigns

OFFICER = "sara.kvalitet"
REFERENCE = "FSN-DEMO-2026-01"


def _officer() -> Actor | None:
    user = User.objects.filter(username=OFFICER).first()
    if user is None:
        return None
    assignment = Assignment.objects.filter(user=user, ended_at__isnull=True).order_by("pk").first()
    return Actor(user=user, assignment=assignment) if assignment is not None else None


def seed(actor: Actor) -> None:
    """One open campaign: the first sling with individuals, its serial numbers' lower half."""
    officer = _officer()
    if officer is None or Campaign.objects.filter(notice_reference=REFERENCE).exists():
        return
    sling = (
        Article.objects.filter(tracked=True, name__startswith="Lyftsele", items__isnull=False)
        .order_by("article_number")
        .first()
    )
    if sling is None:
        return
    serials = sorted(
        (
            s
            for s in Item.objects.filter(article=sling).values_list("serial_number", flat=True)
            if s
        ),
        key=serial_key,
    )
    if not serials:
        return
    last = serials[max(0, len(serials) // 2 - 1)]
    campaign = campaigns.campaign_create(
        actor=officer,
        notice=campaigns.NoticeInput(
            title=f"{sling.name}: sömmen vid benstödet kan släppa",
            notice_reference=REFERENCE,
            notice_date=timezone.localdate() - dt.timedelta(days=7),
            description=(
                "Tillverkaren har funnit att sömmen vid benstödet kan släppa på selar ur "
                "serienummerintervallet. Kontrollera sömmen på varje sele innan den används igen."
            ),
            action=Campaign.Action.CHECK,
            articles=[sling],
            supplier=sling.supplier,
            serial_ranges=[(serials[0], last)],
        ),
    )
    rows = list(CampaignDevice.unscoped.filter(campaign=campaign).order_by("pk"))
    for row in rows[: len(rows) // 2]:
        campaigns.campaign_device_set(
            actor=officer, device=row, status=CampaignDevice.Status.CHECKED, note="Söm hel"
        )
