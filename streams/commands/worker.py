"""`paywatch worker`: a stream worker."""

from __future__ import annotations


def worker() -> None:
    """Start a stream worker; workers with the same PAYWATCH_APP_ID share the partitions."""
    from streams.observe import run_worker
    from streams.settings import load_settings

    run_worker(load_settings())
