"""Times every request for the /metrics series: its whole time in Lyfta, its SQL and, behind a
proxy that says when it received the request, its time in the queue before a worker took it."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from lyfta.metrics import series

logger = logging.getLogger(__name__)

# The longest wait in the proxy's queue believed; a larger one is a clock that is off.
QUEUE_LIMIT = 3600.0


class SqlClock:
    """An execute wrapper (connection.execute_wrapper) that adds up the time of each statement."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def route_of(request: HttpRequest) -> str:
    """The URL's name (`namespace:name`), never its path: the path holds patient ids. A request
    answered before the URL was resolved (a gate's redirect, a refused NUL byte) is named by
    resolving its path here; one that matches no URL is `unmatched`."""
    match = request.resolver_match
    if match is None:
        if request.path_info.startswith(settings.STATIC_URL):
            return series.STATIC
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return series.UNMATCHED
    return match.view_name or series.UNMATCHED


def queue_seconds(request: HttpRequest, now: float) -> float | None:
    """How long the request waited between the proxy and Lyfta, from the proxy's
    `X-Request-Start` (`t=` seconds as nginx's `${msec}`, milliseconds, or microseconds as
    Apache's `%t`). Believed only from a trusted proxy (LYFTA_TRUSTED_PROXIES); anyone else could
    write any number into the series."""
    raw: str = request.META.get("HTTP_X_REQUEST_START", "")
    if not raw or request.META.get("REMOTE_ADDR", "") not in settings.LYFTA_TRUSTED_PROXIES:
        return None
    try:
        stamp = float(raw.strip().removeprefix("t="))
    except ValueError:
        return None
    if not math.isfinite(stamp):
        return None
    if stamp > 1e14:
        stamp /= 1e6
    elif stamp > 1e11:
        stamp /= 1e3
    waited = now - stamp
    # A little below zero is the two hosts' clocks; more is a header to ignore.
    if not -1.0 <= waited <= QUEUE_LIMIT:
        return None
    return max(0.0, waited)


class MetricsMiddleware:
    """First in MIDDLEWARE, so that it times all the others too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.failed = False

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        queued = queue_seconds(request, time.time())
        sql = SqlClock()
        with ExitStack() as wrapped:
            # The primary's statements and a read replica's (decision 0022) alike.
            for alias in connections:
                wrapped.enter_context(connections[alias].execute_wrapper(sql))
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        try:
            series.observe(
                route=route_of(request),
                method=series.method_label(request.method),
                status=response.status_code,
                seconds=elapsed,
                sql_seconds=sql.seconds,
                queries=sql.queries,
                queued=queued,
            )
        except Exception:
            # A metric that cannot be written (the multiprocess directory full or gone) must not
            # take the page with it; say so once per process.
            if not self.failed:
                self.failed = True
                logger.exception("request metrics could not be recorded")
        return response
