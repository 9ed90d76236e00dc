"""The quality desk's pages under /kvalitet/ (DOMAIN.md §3.5): each part keeps its own routes."""

from django.urls import URLPattern, URLResolver

from lyfta.quality.views import campaigns, deviations, stats

app_name = "quality"

urlpatterns: list[URLPattern | URLResolver] = [
    *deviations.urlpatterns,
    *campaigns.urlpatterns,
    *stats.urlpatterns,
]
