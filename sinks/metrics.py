"""Prometheus metrics of a worker: wiring for the Faust app, and a standalone HTTP server.

The stream side calls :func:`install` once per worker::

    registry = CollectorRegistry()
    metrics = install(app, registry, view=owned_counters, directory=directory)
    metrics.events.labels("counted").inc()            # the pipeline metrics
    metrics.watch_sink("redis", lambda: redis_view.pending, lambda: redis_view.lag)

``view`` returns ``(unit, period, Counters)`` for the counter rows of the partitions this
worker owns now; it is read on the event loop at scrape time and the text is formatted in a
thread, so the loop is never blocked for the whole render. ``/metrics?name[]=a&name[]=b`` renders
only those samples (and reads no unit counters unless a per-unit family is among them).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiohttp.web import Response
from prometheus_client import CollectorRegistry, ProcessCollector

from sinks.exposition import CONTENT_TYPE, asked_names, render, render_async
from sinks.pipeline_metrics import PipelineMetrics
from sinks.unit_directory import UnitDirectory
from sinks.unit_metrics import CountersView, UnitCollector

__all__ = ["PipelineMetrics", "UnitCollector", "install", "register", "serve"]


def register(
    registry: CollectorRegistry,
    view: CountersView,
    directory: UnitDirectory,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PipelineMetrics:
    """Put the unit collector and the pipeline metrics on ``registry``."""
    registry.register(UnitCollector(view, directory, clock))
    return PipelineMetrics(registry)


def install(
    app: Any,
    registry: CollectorRegistry,
    view: CountersView,
    directory: UnitDirectory,
    *,
    pattern: str = "/metrics",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PipelineMetrics:
    """Serve ``registry`` (with the unit collector and the pipeline metrics) at ``pattern`` on
    the Faust app's web server; returns the pipeline metrics for the stream to update.

    Faust's own ``setup_prometheus_sensors`` is not used: it adds a second ``/metrics`` page,
    replaces ``app.monitor`` and its metric names (``*_events_runtime_ms``, counters without
    ``_total``) do not pass ``promtool check metrics``.
    """
    metrics = register(registry, view, directory, clock)
    # process_start_time_seconds and the like: a restart shows as a new start time
    # (the PaywatchWorkerRestarting alert).
    ProcessCollector(registry=registry)

    async def metrics_page(self: Any, request: Any) -> Response:
        body = await render_async(registry, asked_names(request.query.getall("name[]", [])))
        return Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app.page(pattern)(metrics_page)
    return metrics


def serve(
    registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """A standalone ``/metrics`` server in a daemon thread (fast path); ``shutdown()`` it.

    For tools and benchmarks: the view is read on the server's thread, so it must be safe to
    read from there (the Faust worker uses :func:`install` instead).
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/metrics":
                self.send_error(404)
                return
            query = urllib.parse.parse_qs(url.query)
            body = render(registry, asked_names(query.get("name[]", [])))
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
