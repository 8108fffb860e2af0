"""Reading what the sinks show (Redis live view, /metrics) and comparing it with a recount."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from typing import cast

import redis
from prometheus_client.parser import text_string_to_metric_families

from models.kpi import Counters
from models.periods import VN_TZ, period_kind
from models.registry import Registry
from sinks.redis_schema import COUNTER_FIELDS, Keys

Counts = dict[tuple[str, str], dict[str, int]]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def redis_counters(url: str, prefix: str) -> Counts:
    """Every kpi hash of the view, as the ten counter fields."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        base = Keys(prefix).base + "kpi:"
        out: Counts = {}
        cursor: int | None = None
        while cursor != 0:
            cursor, keys = client.scan(cursor or 0, match=base + "*", count=5000)
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(key, COUNTER_FIELDS)
            for key, values in zip(cast(list[str], keys), pipe.execute(), strict=True):
                if values[0] is None:  # deleted since the scan
                    continue
                unit, period = key[len(base) :].split(":", 1)
                out[(unit, period)] = dict(zip(COUNTER_FIELDS, map(int, values), strict=True))
        return {k: v for k, v in out.items() if any(v.values())}
    finally:
        client.close()


def wait_for_redis(url: str, prefix: str, expected: Counts, timeout_s: float) -> Counts:
    deadline_s = time.monotonic() + timeout_s
    got: Counts = {}
    while time.monotonic() < deadline_s:
        got = redis_counters(url, prefix)
        if got == expected:
            return got
        time.sleep(1.0)
    return got


def check_rankings(url: str, prefix: str, expected: Counts, registry: Registry) -> int:
    """Every ranking holds exactly the units with a defined ratio, scored by that ratio.
    Returns how many rankings were checked."""
    client = redis.Redis.from_url(url, decode_responses=True)
    keys = Keys(prefix)
    want: dict[str, dict[str, float]] = defaultdict(dict)
    for (unit, period), fields in expected.items():
        counters = Counters(**fields)
        info = registry.versions(unit)[-1]
        scope = "all" if info.level.value == "province" else info.province_code
        for kpi, value in (
            ("transactions", counters.transaction_ratio),
            ("amount", counters.amount_ratio),
            ("dossiers", counters.dossier_ratio),
        ):
            if value is not None:
                want[keys.rank(info.level.value, scope, period, kpi)][unit] = float(value)
    try:
        for ranking, scores in want.items():
            got = dict(
                cast(list[tuple[str, float]], client.zrange(ranking, 0, -1, withscores=True))
            )
            assert got == scores, ranking
            best_first = cast(list[str], client.zrevrange(ranking, 0, -1))
            ordered = [scores[u] for u in best_first]
            assert ordered == sorted(ordered, reverse=True), ranking
        return len(want)
    finally:
        client.close()


class ChangeFeed:
    """Collects the (unit, period) pairs announced on the view's pub/sub channel."""

    def __init__(self, url: str, prefix: str) -> None:
        self.seen: set[tuple[str, str]] = set()
        self._client = redis.Redis.from_url(url, decode_responses=True)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(Keys(prefix).changes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import json

        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                data = json.loads(message["data"])
                self.seen.add((data["unit"], data["period"]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()
        self._client.close()


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in out, f"duplicate series {key}"
            out[key] = sample.value
    return out


def unit_totals(samples: Samples) -> dict[tuple[str, str], float]:
    """(unit, channel) -> paywatch_unit_payments_total."""
    out = {}
    for (name, labels), value in samples.items():
        if name == "paywatch_unit_payments_total":
            found = dict(labels)
            out[(found["unit"], found["channel"])] = value
    return out


def expected_totals(expected: Counts) -> dict[tuple[str, str], float]:
    """What paywatch_unit_payments_total must show: gross payments over all years."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for (unit, period), fields in expected.items():
        if period_kind(period) == "year":
            out[(unit, "online")] += fields["paid_online"]
            out[(unit, "offline")] += fields["paid"] - fields["paid_online"]
    return dict(out)


def window_gauges(samples: Samples) -> dict[tuple[str, str, str], float]:
    """(unit, window, channel) -> paywatch_unit_transactions."""
    out = {}
    for (name, labels), value in samples.items():
        if name == "paywatch_unit_transactions":
            found = dict(labels)
            out[(found["unit"], found["window"], found["channel"])] = value
    return out


def expected_windows(expected: Counts) -> dict[tuple[str, str, str], float]:
    """The window gauges as of the stream's current day (docs/event-time.md): for these inputs,
    dense to their last day and in the past, the newest day counted."""
    today = datetime.now(UTC).astimezone(VN_TZ).strftime("%Y-%m-%d")
    newest = max(p for _, p in expected if period_kind(p) == "day")
    day = min(newest, today)
    current = {"year": day[:4], "month": day[:7], "day": day}
    out = {}
    for (unit, period), fields in expected.items():
        for window, key in current.items():
            if period == key:
                counters = Counters(**fields)
                out[(unit, window, "all")] = float(counters.transactions)
                out[(unit, window, "online")] = float(counters.transactions_online)
    return out
