"""The statistics pages under /statistik/ (issue 17)."""

from lyfta.reports.views import urlpatterns

app_name = "reports"

__all__ = ["app_name", "urlpatterns"]
