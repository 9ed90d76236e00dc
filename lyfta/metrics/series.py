"""The request series, observed by the middleware in every web process.

Pure prometheus_client, no Django: a gunicorn worker with PROMETHEUS_MULTIPROC_DIR set writes
them to its own file there, and the scrape adds up every worker's files (decision 0020). The
labels are bounded by construction: the route is a URL *name* (never a path, which holds patient
ids), the method one of a fixed few, the status its class."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# One `_created` sample per series doubles the output for nothing Prometheus needs here.
disable_created_metrics()  # type: ignore[no-untyped-call]

# The process's own registry (without PROMETHEUS_MULTIPROC_DIR); the default one would add the
# client library's process and platform collectors, which describe one worker only.
REGISTRY = CollectorRegistry()

# The route of a request that matched no URL, and of the static files WhiteNoise serves.
UNMATCHED = "unmatched"
STATIC = "static"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SQL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "lyfta_http_requests",
    "Requests answered, by URL name, method and status class (2xx, 3xx, 4xx, 5xx).",
    ["route", "method", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "lyfta_http_request_duration_seconds",
    "Time from the request entering Lyfta's middleware to its response, by URL name and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SQL_TIME = Histogram(
    "lyfta_db_query_duration_seconds",
    "Time one request spent in SQL, all its queries together, by URL name.",
    ["route"],
    buckets=SQL_BUCKETS,
    registry=REGISTRY,
)
SQL_QUERIES = Counter(
    "lyfta_db_queries",
    "SQL statements executed by requests, by URL name.",
    ["route"],
    registry=REGISTRY,
)
QUEUED = Histogram(
    "lyfta_http_queue_duration_seconds",
    "Time between the proxy's X-Request-Start and Lyfta taking the request (only requests from a "
    "trusted proxy that sends the header).",
    buckets=QUEUE_BUCKETS,
    registry=REGISTRY,
)


def method_label(method: str | None) -> str:
    """A method outside the usual few is "other": a client cannot invent series."""
    return method if method in METHODS else "other"


def observe(
    *,
    route: str,
    method: str,
    status: int,
    seconds: float,
    sql_seconds: float,
    queries: int,
    queued: float | None = None,
) -> None:
    """One answered request."""
    REQUESTS.labels(route, method, f"{status // 100}xx").inc()
    DURATION.labels(route, method).observe(seconds)
    SQL_TIME.labels(route).observe(sql_seconds)
    if queries:
        SQL_QUERIES.labels(route).inc(queries)
    if queued is not None:
        QUEUED.observe(queued)
