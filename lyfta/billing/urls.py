"""The economy desk's pages under /ekonomi/ (DOMAIN.md §3.8): each part keeps its own routes."""

from django.urls import URLPattern, URLResolver

from lyfta.billing.views import runs

app_name = "billing"

urlpatterns: list[URLPattern | URLResolver] = [
    # The monthly billing runs, the billed-lines search and the unbilled-loans report.
    *runs.urlpatterns,
]
