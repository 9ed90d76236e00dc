"""The economy desk's pages under /ekonomi/ (DOMAIN.md §3.8): each part keeps its own routes."""

from django.urls import URLPattern, URLResolver

from lyfta.billing.views import exports, housing, reference, runs

app_name = "billing"

urlpatterns: list[URLPattern | URLResolver] = [
    *reference.urlpatterns,
    *housing.urlpatterns,
    # The monthly billing runs, the billed-lines search and the unbilled-loans report.
    *runs.urlpatterns,
    # The invoice basis out (issue 14 point 5): billing:invoices, billing:invoice_export
    *exports.urlpatterns,
]
