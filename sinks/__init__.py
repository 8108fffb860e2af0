"""Sinks of the counters: the Redis live view and the Prometheus metrics.

Wiring for the stream (see docs/live-view.md, "Wiring"):

* :class:`sinks.redis_view.RedisView` — ``update_many(rows)`` (a ``streams.hooks.Listener``:
  the rows of one step), ``start()``/``stop()``, ``discard(units)`` on revocation.
* :func:`sinks.metrics.install` — ``/metrics`` on the Faust web server, returns the
  :class:`sinks.pipeline_metrics.PipelineMetrics` the stream increments.
* :class:`sinks.unit_directory.UnitDirectory` — unit metadata and targets, shared by both.
"""
