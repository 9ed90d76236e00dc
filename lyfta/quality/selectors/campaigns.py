"""Reads of safety campaigns for the quality desk's pages: the open campaigns with their
progress, one campaign with its progress per holding unit, its devices a page at a time (the
holders named only through `lyfta.access.rows`, each one named recorded), one device's row."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.audit.actions import Action
from lyfta.audit.services import record, record_many
from lyfta.quality.models import Campaign, CampaignDevice

PAGE_SIZE = 50


def may_read(actor: Actor) -> bool:
    """The quality officer, those who read recalls, the technicians and logistics."""
    return any(can(actor, cap) for cap in rows.CAMPAIGN_WORKERS)


def _readable(actor: Actor) -> None:
    """Refused before any campaign is looked up: the answer says nothing of which exist."""
    if not may_read(actor):
        raise PermissionDenied


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    total: int
    done: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (self.done * 100) // self.total


def _with_progress(actor: Actor, campaigns: list[Campaign]) -> list[CampaignRow]:
    result = []
    for campaign in campaigns:
        counts = rows.campaign_devices(actor, campaign).aggregate(
            total=Count("id"), done=Count("id", filter=Q(status__in=CampaignDevice.DONE))
        )
        result.append(CampaignRow(campaign, counts["total"] or 0, counts["done"] or 0))
    return result


def campaigns_list(*, actor: Actor, closed: bool = False, limit: int = 100) -> list[CampaignRow]:
    """The open campaigns (or the closed ones), newest first, each with its progress."""
    _readable(actor)
    status = Campaign.Status.CLOSED if closed else Campaign.Status.OPEN
    campaigns = list(
        Campaign.objects.filter(status=status).select_related("supplier", "created_by")[:limit]
    )
    return _with_progress(actor, campaigns)


def open_campaigns_queue(actor: Actor, limit: int = 8) -> list[CampaignRow]:
    """The start page's queue: open campaigns, oldest first, with their progress."""
    if not may_read(actor):
        return []
    campaigns = list(Campaign.objects.filter(status=Campaign.Status.OPEN).order_by("created_at"))
    return _with_progress(actor, campaigns[:limit])


def campaign_for(*, actor: Actor, number: str) -> Campaign:
    """One campaign by its number, or 404 (403 to those who may not read campaigns at all)."""
    _readable(actor)
    campaign = (
        Campaign.objects.filter(number=number)
        .select_related("supplier", "created_by", "closed_by")
        .prefetch_related("articles")
        .first()
    )
    if campaign is None:
        raise Http404
    return campaign


@dataclass(frozen=True)
class UnitProgress:
    unit_name: str
    total: int
    done: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (self.done * 100) // self.total


def progress_per_unit(*, actor: Actor, campaign: Campaign) -> list[UnitProgress]:
    """The campaign's progress per holding unit (by name)."""
    counts = (
        rows.campaign_devices(actor, campaign)
        .values("holding_unit__name")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status__in=CampaignDevice.DONE)))
        .order_by("holding_unit__name")
    )
    return [
        UnitProgress(row["holding_unit__name"] or "–", row["total"], row["done"]) for row in counts
    ]


def status_counts(*, actor: Actor, campaign: Campaign) -> list[tuple[str, int]]:
    """How many rows have each status, in the order of the statuses (every status shown)."""
    found = dict(
        rows.campaign_devices(actor, campaign)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return [(str(label), found.get(value, 0)) for value, label in CampaignDevice.Status.choices]


@dataclass(frozen=True)
class DeviceRow:
    device: CampaignDevice
    place: str  # "Utlånad" with the unit, or the stock location
    holder: str  # the patient where the actor may see who; "" otherwise
    # Held by a patient with protected identity: her unit's staff are told only that the centre
    # contacts her (R54, R55), so the centre's page says so instead of "contact the unit".
    protected: bool = False


def _devices(actor: Actor, campaign: Campaign, status: str) -> QuerySet[CampaignDevice]:
    found = rows.campaign_devices(actor, campaign).select_related(
        "item", "article", "location", "holding_unit", "workorder"
    )
    if status:
        found = found.filter(status=status)
    return found.order_by("holding_unit__name", "id")


def _rows(
    actor: Actor, campaign: Campaign, devices: list[CampaignDevice], session_ref: str
) -> list[DeviceRow]:
    """Each device with where it is; the holder named only where the access layer says so,
    and every named holder recorded (one insert per hundred)."""
    from django.utils.translation import gettext as _

    holders = rows.campaign_holders(
        actor, campaign, [d.loan_id for d in devices if d.loan_id], session_ref
    )
    result, named = [], []
    for device in devices:
        entry = holders.get(device.loan_id) if device.loan_id else None
        if device.loan_id:
            place = _("Utlånad via %(unit)s") % {"unit": device.holding_unit or "–"}
        else:
            place = str(device.location or "–")
        holder = ""
        if entry is not None and entry.patient_shown:
            patient = entry.loan.patient
            holder = f"{patient} ({patient.display_identifier})"
            named.append(
                {
                    "action": Action.PATIENT_LISTED,
                    "actor": actor,
                    "patient_id": patient.pk,
                    "resource_type": "orders.loan",
                    "resource_id": entry.loan.pk,
                    "legal_basis": entry.basis,
                    "legal_basis_ref": entry.basis_ref,
                    "owner_provider_id": entry.loan.unit.provider_id,
                    "owner_unit_id": entry.loan.unit_id,
                    "detail": {"list": "campaign", "campaign": campaign.number},
                }
            )
        protected = entry is not None and entry.loan.patient.is_protected
        result.append(DeviceRow(device, place, holder, protected))
    if named:
        record_many(named)
    return result


def device_page(
    *, actor: Actor, campaign: Campaign, page: int, status: str = "", session_ref: str = ""
) -> tuple[Page[CampaignDevice], list[DeviceRow]]:
    """One page of the campaign's devices (by holding unit), optionally of one status."""
    paginator = Paginator(_devices(actor, campaign, status), PAGE_SIZE)
    shown = paginator.get_page(page)
    record(
        action=Action.CAMPAIGN_VIEWED,
        actor=actor,
        target=campaign,
        detail={"page": shown.number, "status": status},
    )
    return shown, _rows(actor, campaign, list(shown.object_list), session_ref)


def device_for(
    *, actor: Actor, campaign: Campaign, device_id: int, session_ref: str = ""
) -> DeviceRow:
    """One device's row of the campaign, or 404."""
    device = _devices(actor, campaign, "").filter(pk=device_id).first()
    if device is None:
        raise Http404
    return _rows(actor, campaign, [device], session_ref)[0]


def report_rows(*, actor: Actor, campaign: Campaign) -> list[tuple[str, dict[str, int], int]]:
    """The final report's table: per holding unit, the count of each status and the total."""
    counts = (
        rows.campaign_devices(actor, campaign)
        .values("holding_unit__name", "status")
        .annotate(n=Count("id"))
        .order_by("holding_unit__name")
    )
    table: dict[str, dict[str, int]] = {}
    for row in counts:
        table.setdefault(row["holding_unit__name"] or "–", {})[row["status"]] = row["n"]
    return [(unit, by, sum(by.values())) for unit, by in table.items()]
