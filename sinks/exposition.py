"""Render a registry in the Prometheus text format, with a fast path for big collectors.

prometheus_client's ``generate_latest`` formats every sample through generic code (sorting and
escaping labels, formatting floats), which is too slow for the ~400,000 unit series of the
whole country. A *deferred* collector (:class:`DeferredCollector`) renders its own families
as text from cached label strings instead: while :func:`render` or :func:`render_async` run
``generate_latest``, such a collector yields nothing and registers itself, and its text is
appended afterwards. Anywhere else (``generate_latest`` called directly, prometheus_client's
own HTTP server) it yields ordinary metric families parsed from the same text, so both paths
expose exactly the same samples.

Both renders take the names a scrape asked for (``/metrics?name[]=...``, as prometheus_client's
own server does): only the samples of those names are rendered, and a collector none of whose
names is asked for is not read at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Final, Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

__all__ = [
    "CONTENT_TYPE",
    "DeferredCollector",
    "Names",
    "asked_names",
    "defer",
    "render",
    "render_async",
]

#: The classic text format (what generate_latest writes): every Prometheus version reads it.
CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4


#: The sample names a scrape asked for (None: all of them).
Names = frozenset[str] | None


def asked_names(values: Iterable[str]) -> Names:
    """The ``name[]`` values of a scrape's query (none given: every sample)."""
    return frozenset(values) or None


class DeferredCollector(Protocol):
    def prepare(self, names: Names = None) -> Callable[[], list[bytes]]:
        """Read the data now (on the caller's thread); the returned call formats it, as
        chunks of the exposition text (joined once with everything else), only the families
        whose samples are named in ``names`` if given."""
        ...


_DEFERRED: ContextVar[list[DeferredCollector] | None] = ContextVar("_DEFERRED", default=None)


def defer(collector: DeferredCollector) -> bool:
    """Called from ``collect()``: True if a fast render is running and will render it."""
    deferred = _DEFERRED.get()
    if deferred is None:
        return False
    deferred.append(collector)
    return True


def _head(registry: CollectorRegistry, names: Names) -> tuple[bytes, list[DeferredCollector]]:
    deferred: list[DeferredCollector] = []
    token = _DEFERRED.set(deferred)
    try:
        head = generate_latest(registry if names is None else registry.restricted_registry(names))
    finally:
        _DEFERRED.reset(token)
    return head, deferred


def render(registry: CollectorRegistry, names: Names = None) -> bytes:
    """The registry's exposition text (what ``generate_latest`` gives, faster)."""
    head, deferred = _head(registry, names)
    parts = [head]
    for collector in deferred:
        parts.extend(collector.prepare(names)())
    return b"".join(parts)


async def render_async(registry: CollectorRegistry, names: Names = None) -> bytes:
    """:func:`render` for an event loop: data is read on the loop (so a table the loop mutates
    is never read concurrently), formatting runs in the default executor."""
    head, deferred = _head(registry, names)
    jobs = [collector.prepare(names) for collector in deferred]
    loop = asyncio.get_running_loop()
    parts = [head]
    for job in jobs:
        parts.extend(await loop.run_in_executor(None, job))
    return b"".join(parts)
