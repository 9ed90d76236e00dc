from django.urls import URLPattern, path  # noqa: F401 - pages are added here

from lyfta.billing.views import exports

app_name = "billing"

urlpatterns: list[URLPattern] = [
    # The invoice basis out (issue 14 point 5): billing:invoices, billing:invoice_export
    *exports.urlpatterns,
]
