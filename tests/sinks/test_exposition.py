"""The exposition's fast path (sinks/exposition.py): a deferred collector's own text comes after
the registry's, read once, and only while a fast render runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

from sinks.exposition import Names, defer, render, render_async

TEXT = b"# HELP demo_rows Rows.\n# TYPE demo_rows gauge\ndemo_rows 3.0\n"


class Deferred:
    """Renders itself as text on the fast path, as metric families anywhere else."""

    def __init__(self) -> None:
        self.prepared = 0
        self.deferred: list[bool] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self.deferred.append(defer(self))
        if self.deferred[-1]:
            return iter(())
        return iter([GaugeMetricFamily("demo_rows", "Rows.", value=3.0)])

    def prepare(self, names: Names = None) -> Callable[[], list[bytes]]:
        self.prepared += 1
        return lambda: [TEXT]


def registry_with(collector: Deferred) -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("demo_events", "Events.", registry=registry).inc(2)
    registry.register(collector)
    return registry


def test_the_fast_path_appends_the_deferred_text_to_the_rest() -> None:
    collector = Deferred()
    registry = registry_with(collector)
    collector.deferred.clear()  # register() collects once to learn the names
    body = render(registry)
    assert body.endswith(TEXT) and b"demo_events_total 2.0" in body
    assert (collector.deferred, collector.prepared) == ([True], 1)


def test_both_paths_expose_the_same_samples() -> None:
    collector = Deferred()
    registry = registry_with(collector)
    slow = generate_latest(registry)
    assert not collector.deferred[-1]  # outside a fast render it yields its families
    assert sorted(render(registry).splitlines()) == sorted(slow.splitlines())
    assert asyncio.run(render_async(registry)) == render(registry)


def test_defer_is_false_outside_a_render() -> None:
    assert not defer(Deferred())
