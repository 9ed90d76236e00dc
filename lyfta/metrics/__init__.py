"""Operational metrics in Prometheus' text format at /metrics (issue 20 point 3, decision 0020).

`series` holds the request series (counted in each process, or in PROMETHEUS_MULTIPROC_DIR under
gunicorn), `middleware` observes every request, `gauges` reads the database's backlogs at scrape
time, `views` serves them to the addresses and token that `access` admits. Only the URL conf and
the settings (by name) know this app."""
