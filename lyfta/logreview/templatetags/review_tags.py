"""Small template helpers of the log review pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lyfta.access.roles import Purpose, Role

register = template.Library()


@register.filter
def lookup(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """`{{ labels|lookup:e.patient_id }}`: the value for `key`, or "" when there is none."""
    if not mapping or key is None:
        return ""
    return mapping.get(key, "")


@register.filter
def purpose_label(code: str) -> str:
    """An event's snapshot purpose in words ('Vård och behandling'), never the stored code."""
    try:
        return str(Purpose(code).label) if code else ""
    except ValueError:
        return code


@register.filter
def role_label(code: str) -> str:
    """An event's snapshot role in words ('Förskrivare'), never the stored code."""
    try:
        return str(Role(code).label) if code else ""
    except ValueError:
        return code


@register.simple_tag
def event_rows(events: list[Any], labels: dict[int, str] | None) -> SafeString:
    """The rows of the events table (audit/review/_events.html), made in Python: a patient-year
    is a couple of hundred rows and the template engine's per-row lookups, URL reversals and date
    filters cost the log-search page more than its queries (issue 19). Every value is escaped."""
    entry = reverse("review:entry", args=[0])[:-2]  # ".../handelse/" + pk + "/"
    denied = format_html('<span class="badge badge--danger">{}</span>', _("Nekad"))
    rows = []
    for e in events:
        label = (labels or {}).get(e.patient_id, "") if e.patient_id is not None else ""
        outcome = denied if e.outcome == "denied" else escape(e.get_outcome_display())
        rows.append(
            format_html(
                '<tr>\n    <td><a href="{}{}/">{}</a></td>\n    <td>{}</td>\n    <td>{}</td>\n'
                "    <td>{}</td>\n    <td>{}</td>\n    <td>{}</td>\n    <td>{}</td>\n  </tr>\n",
                entry,
                e.pk,
                timezone.localtime(e.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor_name or e.actor_username,
                e.actor_unit_name or "–",
                e.action_label,
                label or "–",
                e.legal_basis_label or "–",
                outcome,
            )
        )
    if not rows:
        return format_html('<tr><td colspan="7">{}</td></tr>', _("Inga logghändelser."))
    return mark_safe("".join(rows))  # noqa: S308 - each row made by format_html


@register.filter
def reviewer_patient(patient: Any) -> str:
    """A patient as the log review pages and extracts name her: name and number, except a
    protected patient, who is shown by internal id only (R53, R54), as `patient_labels` does:
    a reviewer who types a number never learns a protected patient's name from it."""
    if patient is None:
        return ""
    if patient.protection:
        return _("Skyddad identitet (nr %(id)s)") % {"id": patient.pk}
    return str(patient)


@register.filter
def extract_patient(patient: Any) -> str:
    """The patient line of a log extract's printout: a protected patient's name is left for the
    reviewer to fill in by hand when she hands it over (R54), as on the loan agreement."""
    if patient is None:
        return ""
    if patient.protection:
        return _("Skyddad identitet – fylls i för hand")
    return f"{patient.first_name} {patient.last_name}, {patient.display_identifier}"
