"""The ground truth: what the counters must show, from what the generator meant to produce.

It is kept from the generator's intent, record by record as the records are emitted: "this is
the first copy of payment T", "this is a valid reversal of T", "this record is bad, reason X".
It never decodes a record and never dedupes: the generator knows. The offline recount in the
tests computes the same numbers from the bytes alone; the two must agree.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.kpi import COUNTER_FIELDS

__all__ = ["FIELDS", "PaymentFacts", "Truth"]

FIELDS = COUNTER_FIELDS
_PAID, _REVERSED = 0, 4
_DOSSIERS = 8


@dataclass(slots=True)
class PaymentFacts:
    """A payment the generator emitted (its first copy), as the counters must see it."""

    transaction_id: str
    dossier_code: str
    chain: tuple[str, ...]
    periods: tuple[str, str, str]
    epoch_s: float  # event time, seconds since the Unix epoch
    amount: int
    online: bool
    reversed: bool = False


@dataclass
class Truth:
    """Counters, dead letters and tallies of what was emitted, built while emitting."""

    counters: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0] * len(FIELDS))
    )
    dead_letters: list[tuple[int, str]] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    payments: dict[str, PaymentFacts] = field(default_factory=dict)
    reversal_before_payment: set[str] = field(default_factory=set)
    records: int = 0
    finished: bool = False

    def _add(self, facts: PaymentFacts, offset: int) -> None:
        amount = facts.amount
        values = (1, int(facts.online), amount, amount if facts.online else 0)
        for unit in facts.chain:
            for period in facts.periods:
                row = self.counters[(unit, period)]
                for i, value in enumerate(values):
                    row[offset + i] += value

    def payment(self, facts: PaymentFacts) -> None:
        """The first copy of a payment went out: it counts; reversed too if its reversal did."""
        self.payments[facts.transaction_id] = facts
        self._add(facts, _PAID)
        if facts.transaction_id in self.reversal_before_payment:
            facts.reversed = True
            self._add(facts, _REVERSED)

    def reversal(self, target: str) -> None:
        """A valid first reversal of ``target`` went out (before or after ``target`` itself)."""
        facts = self.payments.get(target)
        if facts is None:
            self.reversal_before_payment.add(target)
            return
        facts.reversed = True
        self._add(facts, _REVERSED)

    def dead(self, index: int, reason: str) -> None:
        self.dead_letters.append((index, reason))

    def finish(self) -> None:
        """Book the Decision 766 dossier counts (they need every payment of a dossier)."""
        if self.finished:
            return
        self.finished = True
        live: dict[str, list[PaymentFacts]] = defaultdict(list)
        for facts in self.payments.values():
            if not facts.reversed:
                live[facts.dossier_code].append(facts)
        for payments in live.values():
            if sum(p.amount for p in payments) <= 0:
                continue
            first = min(payments, key=lambda p: (p.epoch_s, p.transaction_id))
            online = any(p.online and p.amount > 0 for p in payments)
            for unit in first.chain:
                for period in first.periods:
                    row = self.counters[(unit, period)]
                    row[_DOSSIERS] += 1
                    row[_DOSSIERS + 1] += int(online)

    def counter_dict(self) -> dict[tuple[str, str], dict[str, int]]:
        """(unit_code, period_key) -> the ten fields; entries that are all zero left out."""
        self.finish()
        return {
            key: dict(zip(FIELDS, row, strict=True))
            for key, row in sorted(self.counters.items())
            if any(row)
        }

    def to_json(self, config: dict[str, Any], scenario: str) -> dict[str, Any]:
        return {
            "format": "paywatch-simulation-truth/1",
            "config": config,
            "scenario": scenario,
            "records": self.records,
            "kinds": dict(sorted(self.kinds.items())),
            "dead_letters": [{"index": i, "reason": r} for i, r in self.dead_letters],
            "counters": [
                {"unit_code": unit, "period_key": period, **values}
                for (unit, period), values in self.counter_dict().items()
            ],
        }

    def write(self, path: Path, config: dict[str, Any], scenario: str) -> None:
        path.write_text(json.dumps(self.to_json(config, scenario), ensure_ascii=False, indent=1))


def load_truth(path: Path) -> tuple[dict[tuple[str, str], dict[str, int]], list[tuple[int, str]]]:
    """Counters and dead letters back from a truth file."""
    doc = json.loads(path.read_text())
    counters = {
        (row["unit_code"], row["period_key"]): {name: row[name] for name in FIELDS}
        for row in doc["counters"]
    }
    return counters, [(d["index"], d["reason"]) for d in doc["dead_letters"]]


__all__ += ["load_truth"]
