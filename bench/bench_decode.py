"""Decode + validate throughput of payment events on one core.

Usage: .venv/bin/python -m bench.bench_decode [--events N] [--rounds R]

Builds N realistic schema-v1 events (Hòa Bình units, 2022 times in mixed zone forms,
about 30% online, 5% refunds/cancellations), encodes them as a producer would, then
times ``decode_event`` over them R times and prints the best rate. Also times the
per-event work the ingest agent adds (period keys and the registry chain), and the
slow path (rejected events). Writes nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta

from models.event_decode import decode_event
from models.events import EventError
from models.periods import local_date, period_keys
from models.registry import Registry

PROVIDERS = ["VNPay", "NAPAS", "Viettel Money", "MoMo", "VietinBank", "Agribank"]
OFFLINE = ["offline_counter", "offline_cash", "offline_transfer"]


def make_events(n: int, codes: list[str], seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    start = datetime(2022, 1, 1)
    out: list[bytes] = []
    for i in range(n):
        online = rng.random() < 0.3
        kind = "payment"
        roll = rng.random()
        if roll < 0.03:
            kind = "refund"
        elif roll < 0.05:
            kind = "cancellation"
        local = start + timedelta(
            seconds=rng.randrange(365 * 86400), microseconds=rng.randrange(10**6)
        )
        form = rng.randrange(3)
        if form == 0:
            stamp = local.isoformat()
        elif form == 1:
            stamp = local.isoformat() + "+07:00"
        else:
            stamp = (local - timedelta(hours=7)).isoformat() + "Z"
        doc: dict[str, object] = {
            "schema_version": 1,
            "transaction_id": f"PG{2022_000_000_000 + i}",
            "kind": kind,
            "dossier_code": f"000.00.17.H29-22{rng.randrange(1, 13):02d}01-{i:06d}",
            "procedure_code": f"1.00{rng.randrange(1000, 9999)}",
            "unit_code": rng.choice(codes),
            "channel": rng.choice(["online_portal", "online_gateway"])
            if online
            else rng.choice(OFFLINE),
            "amount": rng.choice([0, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_250_000]),
            "fee_type": rng.choice(["phi", "le_phi"]),
            "event_time": stamp,
        }
        if online:
            doc["provider"] = rng.choice(PROVIDERS)
        if kind != "payment":
            doc["reverses"] = f"PG{2022_000_000_000 + max(0, i - rng.randrange(1, 1000))}"
        out.append(json.dumps(doc, ensure_ascii=False).encode())
    return out


def best_rate(label: str, fn: object, items: list[bytes], rounds: int) -> float:
    assert callable(fn)
    best_s = float("inf")
    for _ in range(rounds):
        t0_s = time.perf_counter()
        for raw in items:
            fn(raw)
        best_s = min(best_s, time.perf_counter() - t0_s)
    rate = len(items) / best_s
    print(f"{label:<44} {rate:>12,.0f} events/s  ({best_s / len(items) * 1e6:.2f} µs/event)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    registry = Registry.load({"17"})
    codes = [u.code for u in registry.units(province="17")]
    items = make_events(args.events, codes)
    print(
        f"python {sys.version.split()[0]}, {len(items):,} events, "
        f"mean size {sum(map(len, items)) / len(items):.0f} bytes, "
        f"best of {args.rounds} rounds, one core"
    )

    best_rate("decode_event (decode + validate)", decode_event, items, args.rounds)

    def ingest_work(raw: bytes) -> None:
        event = decode_event(raw)
        period_keys(event.event_time)
        registry.chain(event.unit_code, local_date(event.event_time))

    best_rate("decode_event + period_keys + chain", ingest_work, items, args.rounds)

    bad = [
        raw.replace(b'"amount": ', b'"amount": -1', 1) for raw in items[: max(1, len(items) // 20)]
    ]

    def reject(raw: bytes) -> None:
        try:
            decode_event(raw)
        except EventError:
            return
        raise AssertionError("accepted a bad event")

    best_rate("rejected events (slow path, negative amount)", reject, bad, args.rounds)


if __name__ == "__main__":
    main()
