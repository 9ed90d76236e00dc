"""WSGI entry point, served by gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lyfta.settings")
application = get_wsgi_application()

# The statistics charts draw with matplotlib: each worker loads it and finds its font before
# its first request rather than during one (about 0.3-0.7 s; docs/decisions/0016-charts.md).
from lyfta.reports.charts import warm  # noqa: E402

warm()
