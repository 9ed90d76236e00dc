"""/api/: version 1 of the API, and a problem-details 404 for any other path under /api/ (never
the pages' HTML error page)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from lyfta.api.errors import problem
from lyfta.api.main import api


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest) -> HttpResponse:
    return problem(request, 404, _("Det finns ingen sådan resurs i API:t."))


urlpatterns = [
    path("v1/", api.urls),
    re_path(r"^", not_found, name="api_not_found"),
]
