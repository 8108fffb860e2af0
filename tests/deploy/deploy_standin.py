"""Stand-in metrics target for the dashboard screenshots: a small real process that serves
/metrics in exactly a paywatch worker's shape, fed with counters instead of a stream.

It uses the real exporter code (sinks.metrics: the per-unit collector and the pipeline
metrics) and the real unit registry and targets of Hòa Bình (province 17), so every series,
label and value format is what a worker exposes; only the counts come from a seeded random
"portal" here instead of Kafka. The clock is pinned to 2022-06-15 (Vietnam time) so that the
2022 targets (deploy/targets/2022.yaml) apply.

Used by docs/screenshots/render.py only (through `standin_target` in
tests/deploy/deploy_stack.py), to draw docs/grafana.md's dashboard screenshots from a few minutes of
data with a simulated payment-gateway outage (`--outage`) in the middle. No test uses it: the
dashboard-query test (tests/deploy/test_dashboard_queries.py) scrapes a real `paywatch worker`
fed by a real stream (the `metrics_target` fixture in tests/deploy/conftest.py).

Run: python -m tests.deploy.deploy_standin --port 9999 [--seed 17] [--rate 40]
[--outage AFTER FOR]. Stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from models.kpi import Counters
from models.registry import Level, Registry
from models.targets import Targets
from sinks.metrics import register, serve
from sinks.unit_directory import UnitDirectory

ROOT = Path(__file__).resolve().parents[2]

DAY = date(2022, 6, 15)
PERIODS = ("2022", "2022-06", "2022-06-15")
NOW = datetime(2022, 6, 15, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
TOPICS = ("payments", "unit-deltas")
PARTITIONS = 6
DEAD_LETTER_REASONS = ("unknown_unit", "invalid_json", "conflict")


class Portal:
    """Seeded random payments over Hòa Bình's communes and departments, counted per unit
    chain and period exactly as the stream counts them (paid*, reversed*, dossiers*)."""

    def __init__(self, registry: Registry, seed: int) -> None:
        self.rng = random.Random(seed)
        self.registry = registry
        self.lock = threading.Lock()
        self.rows: dict[tuple[str, str], Counters] = {}
        leaves = registry.units(Level.COMMUNE, province="17", on=DAY) + registry.units(
            Level.DEPARTMENT, province="17", on=DAY
        )
        self.sources = [u.code for u in leaves]
        # Each unit's own online share, 5%..60%: some far below the 30% target, some above.
        self.share = {code: 0.05 + 0.55 * self.rng.random() for code in self.sources}
        # Units differ in size: a few busy towns, many small communes.
        self.weight = {code: self.rng.choice((1, 1, 2, 3, 8)) for code in self.sources}
        self.chains = {code: registry.chain(code, DAY) for code in self.sources}

    def pay(self, code: str, online: bool, amount: int, reversed_: bool = False) -> None:
        for unit in self.chains[code]:
            for period in PERIODS:
                c = self.rows.get((unit, period))
                if c is None:
                    c = self.rows[(unit, period)] = Counters()
                c.paid += 1
                c.paid_amount += amount
                c.dossiers += 1
                if online:
                    c.paid_online += 1
                    c.paid_online_amount += amount
                    c.dossiers_online += 1
                if reversed_:
                    c.reversed += 1
                    c.reversed_amount += amount
                    c.dossiers -= 1
                    if online:
                        c.reversed_online += 1
                        c.reversed_online_amount += amount
                        c.dossiers_online -= 1

    def random_payments(self, n: int, online_factor: float = 1.0) -> None:
        rng = self.rng
        codes = rng.choices(self.sources, weights=[self.weight[c] for c in self.sources], k=n)
        with self.lock:
            for code in codes:
                online = rng.random() < self.share[code] * online_factor
                amount = rng.choice((10_000, 20_000, 50_000, 100_000, 250_000))
                self.pay(code, online, amount, reversed_=rng.random() < 0.01)

    def view(self) -> list[tuple[str, str, Counters]]:
        with self.lock:
            return [(unit, period, replace(c)) for (unit, period), c in self.rows.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--rate", type=int, default=40, help="payments per second")
    parser.add_argument(
        "--outage",
        type=float,
        nargs=2,
        metavar=("AFTER", "FOR"),
        help="seconds after start and duration of a payment-gateway outage (online share / 4)",
    )
    args = parser.parse_args(argv)

    registry = Registry.load({"17"})
    targets = Targets.load(ROOT / "deploy" / "targets", registry)
    portal = Portal(registry, args.seed)
    # A history: every unit gets a year of payments before the live ones start.
    portal.random_payments(60 * len(portal.sources))

    metrics_registry = CollectorRegistry()
    metrics = register(
        metrics_registry, portal.view, UnitDirectory(registry, targets), clock=lambda: NOW
    )
    pending = [0.0]
    metrics.watch_sink("redis", lambda: pending[0], lambda: 0.4 if pending[0] else 0.0)
    metrics.rebalances.inc()
    for topic in TOPICS:
        metrics.assigned_partitions.labels(topic).set(PARTITIONS)
    metrics.sink_error("redis")  # one failed flush at start-up, retried

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = serve(metrics_registry, "127.0.0.1", args.port)
    rng = random.Random(args.seed + 1)
    tick = 0.2
    started_s = time.monotonic()
    try:
        while not stop.wait(tick):
            n = max(1, int(args.rate * tick * (0.5 + rng.random())))
            factor = 1.0
            if args.outage:
                elapsed_s = time.monotonic() - started_s
                if args.outage[0] <= elapsed_s < args.outage[0] + args.outage[1]:
                    factor = 0.25
            portal.random_payments(n, factor)
            metrics.events.labels("counted").inc(n)
            if rng.random() < 0.3:
                metrics.events.labels("duplicate").inc()
            if rng.random() < 0.3:
                metrics.events.labels("dead_letter").inc()
                metrics.dead_letters.labels(rng.choice(DEAD_LETTER_REASONS)).inc()
            for _ in range(n):
                metrics.event_time_delay.observe(rng.uniform(0.2, 8.0))
                metrics.produce_delay.observe(rng.uniform(0.005, 0.3))
            for topic in TOPICS:
                for partition in range(PARTITIONS):
                    metrics.consumer_lag.labels(topic, str(partition)).set(rng.randint(0, 40))
            pending[0] = float(rng.randint(0, 30))
            metrics.sink_flushed("redis", n, rng.uniform(0.002, 0.03))
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
