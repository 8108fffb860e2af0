"""Redis stopped while updates keep coming: the stream never waits, the view converges.

The Redis stopped is a redis-server of this test alone (persistent: it comes back with what it
held, as a restarted production Redis does); the shared Redis of the other tests is never
stopped."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from models.kpi import Counters
from sinks.backoff import Backoff
from sinks.pipeline_metrics import PipelineMetrics
from sinks.redis_schema import COUNTER_FIELDS
from sinks.redis_view import RedisView
from sinks.unit_directory import UnitDirectory
from tests.sinks.helpers import NOW, c, dump, run
from tests.streams.private_servers import PrivateRedis

pytestmark = pytest.mark.servers

OUTAGE_SECONDS = 12.0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_redis_outage_converges_to_the_final_values(
    tmp_path: Path, directory: UnitDirectory
) -> None:
    server = PrivateRedis(tmp_path, persistent=True)
    server.start()
    redis_server_url, redis_prefix = server.url, "outage"
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    units = ["17", "148", "150", "04789", "04792", "04795", "04798"]
    periods = ["2022", "2022-03", "2022-03-15"]
    expected: dict[tuple[str, str], Counters] = {}
    rng = random.Random(7)
    seen: dict[str, float] = {"max_update": 0.0, "max_lag": 0.0, "max_pending": 0.0}

    def bump(unit: str, period: str, v: RedisView) -> None:
        old = expected.get((unit, period), Counters())
        paid = old.paid + rng.randint(1, 3)
        new = c(paid, rng.randint(0, paid), paid * 1000, 0)
        expected[(unit, period)] = new
        start_s = time.perf_counter()
        v.update(unit, period, new)
        seen["max_update"] = max(seen["max_update"], time.perf_counter() - start_s)

    async def go() -> RedisView:
        v = RedisView(
            redis_server_url,
            redis_prefix,
            directory,
            flush_interval_s=0.1,
            socket_timeout_s=1.0,
            backoff=Backoff(base_s=0.1, cap_s=2.0),
            observer=metrics,
            clock=lambda: NOW,
        )
        metrics.watch_sink("redis", lambda: v.pending, lambda: v.lag)
        await v.start()
        for unit in units:
            for period in periods:
                bump(unit, period, v)
        assert await v.wait_idle(10)
        await asyncio.to_thread(server.stop)
        outage_end_s = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_end_s:  # the stream keeps counting
            bump(rng.choice(units), rng.choice(periods), v)
            seen["max_pending"] = max(seen["max_pending"], v.pending)
            seen["max_lag"] = max(
                seen["max_lag"],
                registry.get_sample_value("paywatch_sink_lag_seconds", {"sink": "redis"}) or 0,
            )
            await asyncio.sleep(0.01)
        assert v.errors > 0 and v.pending > 0
        await asyncio.to_thread(server.start)
        for _ in range(20):  # and after: updates keep coming while it catches up
            bump(rng.choice(units), rng.choice(periods), v)
            await asyncio.sleep(0.01)
        assert await v.wait_idle(30), f"still {v.pending} pending: {v.last_error}"
        await v.stop()
        return v

    try:
        v = run(go, timeout_s=150)
        state = dump(redis_server_url, redis_prefix)
    finally:
        server.kill()
    assert seen["max_update"] < 0.05  # update() never waited on Redis
    assert seen["max_pending"] <= len(units) * len(periods)  # bounded: coalesced per key
    assert seen["max_lag"] > OUTAGE_SECONDS / 2  # the lag metric showed the sink behind
    errors = registry.get_sample_value("paywatch_sink_errors_total", {"sink": "redis"})
    assert errors is not None and errors == v.errors > 0
    for (unit, period), counters in expected.items():
        stored = state[f"{redis_prefix}:v1:kpi:{unit}:{period}"]
        assert {f: int(stored[f]) for f in COUNTER_FIELDS} == counters.to_dict(), (unit, period)
