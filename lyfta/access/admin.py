"""Lyfta's admin site: read-mostly pages for reference data, open only to actors with the admin
capability. Writes go through the services so that they are audited; nothing is deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.core.forms import ModelForm


class LyftaAdminSite(admin.AdminSite):
    site_header = _("Lyfta – administration")
    site_title = _("Lyfta")
    index_title = _("Grunddata")

    def has_permission(self, request: HttpRequest) -> bool:
        """Signed-in users without the admin capability get an audited 403 here rather than a
        redirect to a login page that would send them straight back (R38)."""
        actor = getattr(request, "actor", None)
        if actor is None or actor.user is None:
            return False
        require(actor, Cap.ADMIN_SITE)
        return True

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """One sign-in for everything: the admin has no login form of its own. A signed-in user
        without the admin capability gets an audited 403 instead of a redirect loop (R38)."""
        actor = getattr(request, "actor", None)
        if actor is not None and actor.user is not None:
            require(actor, Cap.ADMIN_SITE)
        return redirect_to_login(request.get_full_path())

    def logout(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Sign-out is Lyfta's own: audited, ending the session row (R22, R25).
        return redirect("start")

    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Django's admin form would skip the policy's audit and history (R8, R19, R22).
        return redirect("accounts:password_change")

    def password_change_done(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return redirect("start")


admin_site = LyftaAdminSite(name="admin")
# The longest search term the admin's lists and autocomplete look for.
SEARCH_MAX = 100


class CapabilityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A model admin whose permissions come from Lyfta's capabilities, not Django's model
    permissions. Subclasses name the capability that may change the model; deletion is never
    offered (nothing is deleted in Lyfta; rows are deactivated)."""

    change_capability: str = Cap.ORGANISATIONS_MANAGE
    # Lyfta's base form: no control characters in text fields (lyfta.core.forms).
    form = ModelForm

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Any], search_term: str
    ) -> tuple[models.QuerySet[Any], bool]:
        """The list's search and the autocomplete: at most SEARCH_MAX characters are searched
        for (SQLite refuses a LIKE pattern over 50 kB; nobody types a name that long)."""
        return super().get_search_results(request, queryset, search_term[:SEARCH_MAX])

    def _can(self, request: HttpRequest, capability: str) -> bool:
        actor = getattr(request, "actor", None)
        return actor is not None and actor.user is not None and can(actor, capability)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can(request, Cap.ADMIN_SITE)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._can(request, Cap.ADMIN_SITE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._can(request, self.change_capability)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._can(request, self.change_capability)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False
