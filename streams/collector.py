"""The settings for Python's cyclic garbage collector of the worker and of its live-view process.

Every event makes a few dozen short-lived container objects (decoded structs, tuples of
changes, Faust's event and message, futures). With CPython's defaults a young-generation
collection runs every 700 of them, and a full collection, which walks every object the worker
holds (held events, pending rows, Faust's and the registry's structures), ran about once a
second at load: measured, the collector took 22% of the worker's time on a 200,000-event
backfill. The objects made before the worker starts (the unit registry, Faust's app) are
moved out of the collector's sight, young collections run every 50,000 objects, and a full
collection about once per 10 million (still often enough to reclaim reference cycles, which
asyncio and Faust do make, in bounded memory). The live-view process (streams/view_host.py)
makes the same kind of garbage for every row it is sent and holds its pending rows: with the
defaults it spent about a third of its CPU in the collector during a whole-country backfill.
"""

from __future__ import annotations

import gc

#: (young generation, middle, old): see :func:`gc.set_threshold`.
THRESHOLDS = (50_000, 20, 10)


def tune() -> None:
    """Freeze what exists now (start-up objects) and set :data:`THRESHOLDS`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
