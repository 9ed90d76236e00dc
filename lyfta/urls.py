"""Lyfta's URL configuration. Every route must have an entry in the access table tests."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils.translation import gettext as _
from django.views.i18n import set_language

from lyfta.access.admin import admin_site
from lyfta.api.errors import problem
from lyfta.core import views as core_views
from lyfta.fhir import views as fhir_views
from lyfta.home import views as home_views
from lyfta.metrics import views as metrics_views

urlpatterns = [
    path("", home_views.start, name="start"),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("konto/", include("lyfta.accounts.urls")),
    path("organisation/", include("lyfta.organisations.urls")),
    path("sortiment/", include("lyfta.catalogue.urls")),
    path("patienter/", include("lyfta.patients.urls")),
    path("", include("lyfta.orders.urls")),
    path("logistik/", include("lyfta.orders.logistics_urls")),
    path("lager/", include("lyfta.orders.stock_urls")),
    path("teknik/", include("lyfta.workorders.urls")),
    path("kvalitet/", include("lyfta.quality.urls")),
    path("ekonomi/", include("lyfta.billing.urls")),
    path("statistik/", include("lyfta.reports.urls")),
    path("meddelanden/", include("lyfta.messages.urls")),
    path("granskning/", include("lyfta.logreview.audit_urls")),
    path("loggranskning/", include("lyfta.logreview.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin_site.urls),
    path("api/", include("lyfta.api.urls")),
    path("fhir/", include("lyfta.fhir.urls")),
]


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django refuses before any view (too many fields, a body in a charset or form it
    cannot read, a bad host): a page's 400, problem details under /api/, an OperationOutcome
    under /fhir/ — never the pages' HTML to a machine client."""
    if request.path.startswith("/api/"):
        return problem(request, 400, _("Anropet kunde inte tolkas."))
    if request.path.startswith("/fhir/"):
        return fhir_views.outcome(400, "invalid", _("Anropet kunde inte tolkas."))
    return core_views.bad_request(request, exception)


handler400 = bad_request
handler403 = "lyfta.core.views.permission_denied"
handler404 = "lyfta.core.views.page_not_found"
handler500 = "lyfta.core.views.server_error"
