"""The generator: a deterministic stream of raw payment records with their ground truth.

How a run goes: the date range is cut into local hours, each with an expected volume (office
hours, working days, holidays, the scenario). Each hour receives its share of dossiers; each
dossier has one or more payments (and sometimes a refund or cancellation of one of them), which
wait in a queue ordered by the moment they reach the stream. Between two such records, faults
are slipped in at their configured rates: exact re-sends, conflicting re-sends, malformed
records, unknown units, second reversals and invalid reversals. Everything comes from one
``random.Random`` seeded from the config: the same config gives the same bytes.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from models.periods import VN_TZ, period_keys
from models.registry import Registry
from models.registry_rows import Level
from streams.simulator.calendar import Slot, hour_slots
from streams.simulator.catalogue import (
    OFFLINE_CHANNELS,
    ONLINE_CHANNELS,
    PROVIDERS,
    Procedure,
    procedures_for,
)
from streams.simulator.config import SimConfig
from streams.simulator.malformed import MALFORMED_KINDS, build_malformed
from streams.simulator.population import Population, UnitProfile
from streams.simulator.records import SimRecord, encode, payload, render_time
from streams.simulator.scenarios import Scenario, make_scenario
from streams.simulator.truth import PaymentFacts, Truth

__all__ = ["Simulation", "generate"]

_PAYMENTS_PER_DOSSIER: Final = ((1, 0.75), (2, 0.2), (3, 0.05))
_MEAN_PAYMENTS: Final = sum(n * w for n, w in _PAYMENTS_PER_DOSSIER)
_POOL: Final = 4096
_UNKNOWN_CODES: Final = ("99999", "00004", "17.SKHONGCO", "160", "31999", "0478")
_FAULTS: Final = (
    "duplicate",
    "malformed",
    "conflict",
    "unknown_unit",
    "already_reversed",
    "invalid_reversal",
)


@dataclass(slots=True)
class _Pending:
    """A natural record waiting for its moment: a payment (facts set) or a first reversal."""

    doc: dict[str, Any]
    facts: PaymentFacts | None  # set for payments
    target: str | None  # set for reversals
    never_reversed: bool = False  # a payment the generator will never reverse validly


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random() * sum(w for _, w in options)
    for value, weight in options:
        roll -= weight
        if roll < 0:
            return value
    return options[-1][0]


class Simulation:
    """One run: iterate it for records; ``truth`` fills up as records are emitted."""

    def __init__(self, config: SimConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self.rng = random.Random(f"paywatch-simulate:{config.seed}")
        self.population = Population.build(
            registry, config.provinces, config.start, config.end, config.seed
        )
        self.scenario: Scenario = make_scenario(
            config.scenario, config.start, config.end, self.population, config.seed
        )
        self.truth = Truth()
        self._start_s = datetime.combine(config.start, time(), tzinfo=VN_TZ).timestamp()
        self._end_s = datetime.combine(config.end, time(23, 59, 59), tzinfo=VN_TZ).timestamp()
        self._year_ends_s = [
            datetime(y, 1, 1, tzinfo=VN_TZ).timestamp()
            for y in range(config.start.year + 1, config.end.year + 1)
        ]
        self._heap: list[tuple[float, int, _Pending]] = []
        self._seq = itertools.count()
        self._tx = itertools.count(1)
        self._dossier_no = itertools.count(1)
        self._chains: dict[tuple[str, date], tuple[str, ...]] = {}
        self._periods: dict[date, tuple[str, str, str]] = {}
        # what has gone out, for re-sends and reversals that refer to it
        self._resend: list[tuple[bytes | None, bytes]] = []
        self._paid_docs: list[dict[str, Any]] = []  # emitted payments never reversed validly
        self._reversed_docs: list[dict[str, Any]] = []  # emitted payments with emitted reversal
        self._reversal_docs: list[dict[str, Any]] = []  # emitted first reversals
        self._emitted_tx: set[str] = set()
        self._emitted_reversal_of: set[str] = set()
        payments_share = 1.0 - config.fault_share() - config.reversal_rate
        self._reverse_p = config.reversal_rate / payments_share if payments_share > 0 else 0.0
        self._fault_p = config.fault_share()
        self._fault_weights = (
            config.duplicate_rate,
            config.malformed_rate,
            config.conflict_rate,
            config.unknown_unit_rate,
            config.already_reversed_rate,
            config.invalid_reversal_rate,
        )
        target = config.count if config.count is not None else config.volume_hint
        self._dossiers_total = target * payments_share / _MEAN_PAYMENTS * 1.03
        self.exhausted = False

    # ----------------------------------------------------------------- helpers
    def _chain(self, code: str, day: date) -> tuple[str, ...]:
        key = (code, day)
        chain = self._chains.get(key)
        if chain is None:
            chain = self._chains[key] = self.registry.chain(code, day)
        return chain

    def _keys(self, day: date) -> tuple[str, str, str]:
        keys = self._periods.get(day)
        if keys is None:
            keys = self._periods[day] = period_keys(datetime.combine(day, time(12), tzinfo=VN_TZ))
        return keys

    @staticmethod
    def _day(epoch_s: float) -> date:
        return datetime.fromtimestamp(epoch_s, VN_TZ).date()

    def _push(self, release_s: float, item: _Pending) -> None:
        heapq.heappush(self._heap, (release_s, next(self._seq), item))

    def _record(self, key: bytes | None, value: bytes, kind: str) -> SimRecord:
        self.truth.records += 1
        self.truth.kinds[kind] += 1
        return SimRecord(key, value)

    def _remember(self, pool: list[Any], item: Any) -> None:
        if len(pool) < _POOL:
            pool.append(item)
        else:
            pool[self.rng.randrange(_POOL)] = item

    # ----------------------------------------------------------------- dossiers
    def _procedure(self, level: Level) -> Procedure:
        rng = self.rng
        options = procedures_for(level)
        free = rng.random() < self.config.zero_fee_share
        pool = [p for p in options if (max(p.amounts) == 0) == free] or list(options)
        roll = rng.random() * sum(p.weight for p in pool)
        for proc in pool:
            roll -= proc.weight
            if roll < 0:
                return proc
        return pool[-1]

    def _edge_time_s(self, slot: Slot) -> float | None:
        """Now and then, a time within 10 minutes of local midnight or of a year end."""
        rng = self.rng
        roll = rng.random()
        if roll < self.config.year_end_share and self._year_ends_s:
            return rng.choice(self._year_ends_s) + rng.randint(-600, 600)
        if roll < self.config.year_end_share + self.config.midnight_share:
            midnight_s = datetime.combine(slot.start.date(), time(), tzinfo=VN_TZ).timestamp()
            return midnight_s + rng.randint(-600, 600)
        return None

    def _dossier(self, slot: Slot, now_s: float) -> None:
        rng, config = self.rng, self.config
        epoch_s = slot.start.timestamp() + rng.randint(0, 3599)
        edge_s = self._edge_time_s(slot)
        counter_open = edge_s is None and rng.random() < slot.office
        if edge_s is not None:
            epoch_s = edge_s
        late = rng.random() < config.late_share
        if late:
            epoch_s -= 7 * 86400 * rng.randint(1, 17)
        if not self._start_s <= epoch_s <= self._end_s:
            return
        day = self._day(epoch_s)
        profile = self.population.pick(rng, day)
        if profile is None:
            return
        when = datetime.fromtimestamp(epoch_s, VN_TZ)
        share = profile.adoption(self.population.month_index(day))
        share = self.scenario.online_share(profile, when, share)
        if not counter_open:
            share = max(share, 0.85)
        online = rng.random() < share
        proc = self._procedure(profile.level)
        dossier = f"{profile.code}-{day:%y%m%d}-{next(self._dossier_no):06d}"
        count = int(_weighted(rng, tuple((str(n), w) for n, w in _PAYMENTS_PER_DOSSIER)))
        release_base_s = now_s if late else epoch_s
        for i in range(count):
            pay_epoch_s = (
                epoch_s if i == 0 else min(self._end_s, epoch_s + rng.randint(120, 3 * 86400))
            )
            pay_online = online if rng.random() > 0.1 else not online
            if pay_online and self.scenario.online_down(
                profile.code, datetime.fromtimestamp(pay_epoch_s, VN_TZ)
            ):
                pay_online = False
            if not counter_open and not pay_online and i == 0:
                channel = "offline_transfer"
            else:
                channel = _weighted(rng, ONLINE_CHANNELS if pay_online else OFFLINE_CHANNELS)
            fee_type = proc.fee_type if i == 0 else rng.choice(("phi", "le_phi"))
            self._payment(
                profile,
                dossier,
                proc,
                channel,
                fee_type,
                pay_epoch_s,
                release_base_s + (pay_epoch_s - epoch_s),
            )

    def _payment(
        self,
        profile: UnitProfile,
        dossier: str,
        proc: Procedure,
        channel: str,
        fee_type: str,
        epoch_s: float,
        release_s: float,
    ) -> None:
        rng = self.rng
        day = self._day(epoch_s)
        chain = self._chain(profile.code, day)
        if not chain:
            return
        online = channel.startswith("online")
        provider = _weighted(rng, PROVIDERS) if online else None
        amount = rng.choice(proc.amounts)
        tx = f"GD{day:%y%m%d}{next(self._tx):09d}"
        # What the payment and its reversal have in common.
        shared: dict[str, Any] = {
            "dossier_code": dossier,
            "procedure_code": proc.code,
            "unit_code": profile.code,
            "channel": channel,
            "amount": amount,
            "fee_type": fee_type,
            "provider": provider,
        }
        doc = payload(
            transaction_id=tx,
            kind="payment",
            event_time=render_time(epoch_s, rng),
            reverses=None,
            null_provider=not online and rng.random() < 0.05,
            **shared,
        )
        facts = PaymentFacts(tx, dossier, chain, self._keys(day), epoch_s, amount, online)
        item = _Pending(doc, facts, None)
        if rng.random() >= self._reverse_p:
            item.never_reversed = True
            self._push(release_s, item)
            return
        early = rng.random() < self.config.early_reversal_share
        gap = rng.randint(60, 1800) if early else rng.randint(300, 20 * 86400)
        r_epoch_s = min(self._end_s, epoch_s + gap)
        if not self._chain(profile.code, self._day(r_epoch_s)):
            item.never_reversed = True
            self._push(release_s, item)
            return
        kind = "cancellation" if rng.random() < self.config.cancellation_share else "refund"
        r_doc = payload(
            transaction_id=f"{'HUY' if kind == 'cancellation' else 'HT'}{tx}",
            kind=kind,
            event_time=render_time(r_epoch_s, rng),
            reverses=tx,
            **shared,
        )
        reversal = _Pending(r_doc, None, tx)
        r_release_s = release_s + (r_epoch_s - epoch_s)
        if early:  # the payment's own record is held up: the reversal reaches the stream first
            self._push(r_release_s, reversal)
            self._push(r_release_s + rng.randint(60, 2 * 86400), item)
        else:
            self._push(release_s, item)
            self._push(r_release_s, reversal)

    # ----------------------------------------------------------------- emitting
    def _emit(self, item: _Pending) -> SimRecord:
        doc = item.doc
        tx: str = doc["transaction_id"]
        value = encode(doc)
        key = tx.encode()
        if item.facts is not None:
            self.truth.payment(item.facts)
            self._emitted_tx.add(tx)
            if item.never_reversed:
                self._remember(self._paid_docs, doc)
            elif tx in self._emitted_reversal_of:
                self._remember(self._reversed_docs, doc)
            kind = "payment"
        else:
            target = item.target
            assert target is not None
            self.truth.reversal(target)
            self._emitted_reversal_of.add(target)
            self._remember(self._reversal_docs, doc)
            if target in self._emitted_tx:
                kind = "reversal"
                self._remember(self._reversed_docs, self.truth_doc(target))
            else:
                kind = "reversal_before_payment"
        self._remember(self._resend, (key, value))
        return self._record(key, value, kind)

    def truth_doc(self, tx: str) -> dict[str, Any]:
        facts = self.truth.payments[tx]
        return {
            "transaction_id": tx,
            "dossier_code": facts.dossier_code,
            "unit_code": facts.chain[0],
            "epoch_s": facts.epoch_s,
        }

    def _dead(self, value: bytes, key: bytes | None, reason: str, kind: str) -> SimRecord:
        self.truth.dead(self.truth.records, reason)
        return self._record(key, value, kind)

    def _fault(self, now_s: float) -> SimRecord | None:
        rng = self.rng
        roll = rng.random() * self._fault_p
        choice = _FAULTS[-1]
        for name, weight in zip(_FAULTS, self._fault_weights, strict=True):
            roll -= weight
            if roll < 0:
                choice = name
                break
        if choice == "duplicate":
            if not self._resend:
                return None
            key, value = rng.choice(self._resend)
            return self._record(key, value, "duplicate")
        if choice == "malformed":
            return self._malformed(now_s)
        if choice == "conflict":
            if not self._paid_docs:
                return None
            doc = dict(rng.choice(self._paid_docs))
            doc["amount"] = doc["amount"] + 1000 * rng.randint(1, 9)
            return self._dead(encode(doc), doc["transaction_id"].encode(), "conflict", "conflict")
        if choice == "unknown_unit":
            doc = self._fresh_doc(now_s)
            codes = [
                c for c in _UNKNOWN_CODES if self.registry.resolve(c, self._day(now_s)) is None
            ]
            doc["unit_code"] = rng.choice(codes)
            return self._dead(
                encode(doc), doc["transaction_id"].encode(), "unknown_unit", "unknown_unit"
            )
        if choice == "already_reversed":
            if not self._reversed_docs:
                return None
            target = rng.choice(self._reversed_docs)
            return self._second_reversal(target, target["dossier_code"], "already_reversed")
        # invalid reversal: of a reversal, or naming another dossier than the payment's
        if rng.random() < 0.5 and self._reversal_docs:
            target = rng.choice(self._reversal_docs)
            return self._second_reversal(target, target["dossier_code"], "invalid_reversal")
        if not self._paid_docs:
            return None
        target = rng.choice(self._paid_docs)
        return self._second_reversal(target, target["dossier_code"] + "-K", "invalid_reversal")

    def _second_reversal(
        self, target: dict[str, Any], dossier: str, reason: str
    ) -> SimRecord | None:
        rng = self.rng
        tx = target["transaction_id"]
        epoch_s = target.get("epoch_s")
        if epoch_s is None:
            epoch_s = self._epoch_s_of(target["event_time"])
        epoch_s = min(self._end_s, epoch_s + rng.randint(3600, 5 * 86400))
        if not self._chain(target["unit_code"], self._day(epoch_s)):
            return None
        doc = payload(
            transaction_id=f"R{next(self._tx):09d}",
            kind=rng.choice(("refund", "cancellation")),
            dossier_code=dossier,
            procedure_code="1.001612",
            unit_code=target["unit_code"],
            channel="offline_counter",
            amount=0,
            fee_type="le_phi",
            event_time=render_time(epoch_s, rng),
            provider=None,
            reverses=tx,
        )
        return self._dead(encode(doc), doc["transaction_id"].encode(), reason, reason)

    @staticmethod
    def _epoch_s_of(text: str) -> float:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=VN_TZ)
        return parsed.timestamp()

    def _fresh_doc(self, now_s: float) -> dict[str, Any]:
        """A valid offline payment that is not part of the natural stream (to break or misplace)."""
        rng = self.rng
        epoch_s = max(self._start_s, min(self._end_s, now_s - rng.randint(0, 86400)))
        day = self._day(epoch_s)
        profile = self.population.pick(rng, day) or self.population.profiles[0]
        proc = self._procedure(profile.level)
        return payload(
            transaction_id=f"GD{day:%y%m%d}{next(self._tx):09d}",
            kind="payment",
            dossier_code=f"{profile.code}-{day:%y%m%d}-{next(self._dossier_no):06d}",
            procedure_code=proc.code,
            unit_code=profile.code,
            channel="offline_cash",
            amount=max(proc.amounts),
            fee_type=proc.fee_type,
            event_time=render_time(epoch_s, rng),
            provider=None,
            reverses=None,
        )

    def _malformed(self, now_s: float) -> SimRecord:
        rng = self.rng
        kind = rng.choice(MALFORMED_KINDS)
        doc = self._fresh_doc(now_s)
        value, reason = build_malformed(kind, doc, rng)
        key = None if rng.random() < 0.3 else doc["transaction_id"].encode()
        return self._dead(value, key, reason, f"malformed:{kind}")

    def _release(self, item: _Pending, now_s: float) -> Iterator[SimRecord]:
        while self.rng.random() < self._fault_p:
            record = self._fault(now_s)
            if record is not None:
                yield record
        yield self._emit(item)

    # ----------------------------------------------------------------- the run
    def __iter__(self) -> Iterator[SimRecord]:
        records = self._run()
        if self.config.count is not None:
            return itertools.islice(records, self.config.count)
        return records

    def _slots(self) -> list[tuple[Slot, float]]:
        return [
            (slot, slot.weight * self.scenario.volume_factor(slot.start.date()))
            for slot in hour_slots(self.config.start, self.config.end)
        ]

    def _run(self) -> Iterator[SimRecord]:
        slots = self._slots()
        total = sum(w for _, w in slots) or 1.0
        wanted, made = 0.0, 0
        for slot, weight in slots:
            now_s = slot.start.timestamp()
            wanted += self._dossiers_total * weight / total
            for _ in range(int(wanted) - made):
                self._dossier(slot, now_s + self.rng.randint(0, 3599))
            made = int(wanted)
            horizon_s = now_s + 3600
            while self._heap and self._heap[0][0] < horizon_s:
                release_s, _, item = heapq.heappop(self._heap)
                yield from self._release(item, max(now_s, min(release_s, horizon_s)))
        while self._heap:
            release_s, _, item = heapq.heappop(self._heap)
            yield from self._release(item, min(release_s, self._end_s))
        # Short of the count (few dossiers had several payments): late uploads fill the rest.
        while self.config.count is not None and self.truth.records < self.config.count:
            slot, _ = slots[self.rng.randrange(len(slots))]
            self._dossier(slot, self._end_s)
            while self._heap:
                release_s, _, item = heapq.heappop(self._heap)
                yield from self._release(item, self._end_s)
        self.exhausted = True


def generate(
    config: SimConfig, registry: Registry, truth: Truth | None = None
) -> Iterator[SimRecord]:
    """The records of ``config`` (deterministic). Pass a :class:`Truth` to receive the ground
    truth as the records are produced (complete once the iterator is exhausted)."""
    sim = Simulation(config, registry)
    if truth is not None:
        sim.truth = truth
    return iter(sim)
