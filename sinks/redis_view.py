"""The Redis live view writer: coalescing, batched, absolute writes that never block the stream.

:meth:`RedisView.update` is synchronous and O(1): it records the latest counters of a (unit,
period) in a pending map (a newer update replaces an older one, so memory is bounded by the
number of distinct keys changed since the last successful flush). A background task flushes the
map every ``flush_interval_s`` seconds (longer under load: after a round that took ``t`` the
next waits at least ``load_pace * t``, by default three times, so a view in the worker's own
thread takes at most a quarter of its time, and coalesces more rows the busier the stream is;
never more than :data:`MAX_PAUSE_S`, as a round can last as long as rows keep coming),
each batch in one call of a Lua script (:data:`WRITE_SCRIPT`, EVALSHA, loaded again on
NOSCRIPT) that Redis runs atomically (no other client's command runs in between, as with
MULTI/EXEC; a failed call is retried whole, and absolute values make a second write harmless),
one command for the client to pack instead of five or more a row. When Redis is down or slow
the flush fails, is counted, and is retried with exponential backoff and jitter; the pending
map keeps only the latest values, so once Redis answers again the view converges to exactly the
current counters.

Healing: given ``owned`` (every row this worker owns now), the view notices when Redis lost
its data while the worker ran (a restart without persistence, a failover to an empty replica)
and writes every owned row again. The meta hash carries a random ``generation`` id, created
with HSETNX by whichever writer finds it missing; each view remembers the generation it last
queued all its rows under, and a different one means "write everything again". Several
workers sharing one prefix each notice on their own, because each compares with what it
remembers rather than with a shared flag. The check rides in the flush script, or is a
single round trip of its own when nothing is pending, at most once per ``heal_check_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import operator
import sys
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, TypeVar

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from models.kpi import Counters
from models.periods import VN_TZ, period_start
from sinks.backoff import Backoff
from sinks.redis_schema import (
    COUNTER_FIELDS,
    GENERATION_FIELD,
    OPTIONAL_FIELDS,
    RANKED,
    SCHEMA_VERSION,
    Keys,
    kpi_fields,
)
from sinks.unit_directory import UnitDirectory

__all__ = ["OwnedRows", "RedisView", "Row", "SinkObserver", "current_first"]

log = logging.getLogger(__name__)

SINK: Final = "redis"
_FAILURES: Final = (RedisError, OSError, asyncio.TimeoutError)
_counter_values: Final = operator.attrgetter(*COUNTER_FIELDS)

Row = tuple[str, str, Counters]
#: Every (unit, period, counters) the worker owns now, or None for "not now" (its tables are
#: being recovered: the rows would be stale); the view then asks again at the next check.
OwnedRows = Callable[[], Iterable[Row] | None]


class SinkObserver:
    """Where a sink reports its failures (the Prometheus side implements it); no-op here."""

    def sink_error(self, sink: str) -> None:
        """One failed flush of ``sink``."""

    def sink_flushed(self, sink: str, keys: int, seconds: float) -> None:
        """One successful flush batch of ``keys`` keys that took ``seconds``."""

    def sink_healed(self, sink: str, rows: int) -> None:
        """``sink`` found its data lost and queued its ``rows`` owned rows to be written again."""


#: The write of one batch, run by Redis as one script: atomic (nothing else runs between its
#: commands, as with MULTI/EXEC), and one command to pack and one reply to parse for the client
#: instead of five or more a row. ARGV: the batch (one flat msgpack array, see below), the meta
#: key, the changes key (stream and channel), the stream's MAXLEN, the schema version,
#: last_flush, the generation field, and a fresh generation id, or "" to skip the generation
#: check. The batch is: the number of unit hashes, each as its length and [key, field, value,
#: ...]; then the rows, each as: kpi key, n, n strings [field, value, ...], m, m fields to
#: delete, r, r pairs [rank key, score or "" (not a member)], periods key, unit, period,
#: updated_at, the pub/sub message. One flat array rather than nested JSON: Redis decodes it
#: with a quarter less CPU a row, and the client packs it with a third less. Every value is the
#: exact string written, made by the client: the script only moves it. Returns the generation
#: when asked to check it, else nil.
WRITE_SCRIPT: Final = """
local call, unpack = redis.call, unpack
local a = cmsgpack.unpack(ARGV[1])
local meta, changes, maxlen = ARGV[2], ARGV[3], ARGV[4]
local i = 2
for _ = 1, a[1] do
  local n = a[i]
  call('HSET', unpack(a, i + 1, i + n))
  i = i + 1 + n
end
while i <= #a do
  local kpi, n = a[i], a[i + 1]
  call('HSET', kpi, unpack(a, i + 2, i + 1 + n))
  i = i + 2 + n
  local m = a[i]
  if m > 0 then
    call('HDEL', kpi, unpack(a, i + 1, i + m))
  end
  i = i + 1 + m
  local r = a[i]
  local periods = i + 1 + 2 * r
  local unit, period, updated_at = a[periods + 1], a[periods + 2], a[periods + 3]
  for j = i + 1, periods - 1, 2 do
    if a[j + 1] == '' then
      call('ZREM', a[j], unit)
    else
      call('ZADD', a[j], a[j + 1], unit)
    end
  end
  call('ZADD', a[periods], '0', period)
  call('PUBLISH', changes, a[periods + 4])
  call('XADD', changes, 'MAXLEN', '~', maxlen, '*', 'unit', unit, 'period', period,
       'updated_at', updated_at)
  i = periods + 5
end
call('HSET', meta, 'schema_version', ARGV[5], 'last_flush', ARGV[6])
if ARGV[8] == '' then
  return false
end
call('HSETNX', meta, ARGV[7], ARGV[8])
call('HSETNX', meta, 'schema_version', ARGV[5])
return call('HGET', meta, ARGV[7])
"""
WRITE_SHA: Final = hashlib.sha1(WRITE_SCRIPT.encode()).hexdigest()
#: The batch as msgpack (what the write script decodes with cmsgpack).
_dumps: Final = msgspec.msgpack.encode


@dataclass(slots=True)
class _Pending:
    values: Sequence[int]
    updated_at_s: float  # wall clock (epoch seconds) of the latest update
    pending_since_s: float  # monotonic time of the oldest unflushed update of this key
    seq: int  # bumped by every update, so a flush knows whether it wrote the latest


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


AnyRow = TypeVar("AnyRow", bound=tuple[str, str, object])


def current_first(rows: Iterable[AnyRow], now: datetime) -> Iterator[AnyRow]:
    """``rows``, those of ``now``'s year, month and day first: what dashboards show is whole
    again first (the pending map is written in the order it was filled)."""
    today = now.astimezone(VN_TZ).date().isoformat()
    current = {today[:4], today[:7], today}
    later: list[AnyRow] = []
    for row in rows:
        if row[1] in current:
            yield row
        else:
            later.append(row)
    yield from later


#: Under load, the wait after a flush round is at least this many times the round's duration
#: (by default: a view beside a stream in one thread leaves it three quarters of the time).
LOAD_PACE: Final = 3.0
#: The longest wait between rounds: a round writes until nothing is pending, so in a backfill one
#: can last a minute, and a wait as long left the rows of the backfill's end unwritten that long.
MAX_PAUSE_S: Final = 2.0


class RedisView:
    """The live view of the counters in Redis (key schema v1, see :mod:`sinks.redis_schema`).

    Use: ``view = RedisView(url, prefix, directory)``, ``await view.start()``, then call
    ``view.update(unit, period, counters)`` from the stream for every changed counter row, and
    ``await view.stop()`` at shutdown (it makes a last flush attempt). The owner still writes
    all its rows once after an assignment (:meth:`update_many`); ``owned`` is what lets the
    view write them again by itself when Redis comes back empty.
    """

    def __init__(
        self,
        url: str,
        prefix: str,
        directory: UnitDirectory,
        *,
        flush_interval_s: float = 0.2,
        batch_size: int = 2000,
        stream_maxlen: int = 100_000,
        socket_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        observer: SinkObserver | None = None,
        owned: OwnedRows | None = None,
        heal_check_s: float = 1.0,
        load_pace: float = LOAD_PACE,
        clock: Callable[[], datetime] = _utc_now,
        client: aioredis.Redis | None = None,
    ) -> None:
        if flush_interval_s <= 0 or batch_size < 1 or heal_check_s <= 0:
            raise ValueError("flush_interval_s and heal_check_s must be > 0, batch_size >= 1")
        self.keys = Keys(prefix)
        self.directory = directory
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.stream_maxlen = stream_maxlen
        self.observer = observer or SinkObserver()
        self._clock = clock
        self._backoff = backoff or Backoff(base_s=0.1, cap_s=10.0)
        # redis-py's own retries are off: this class retries, with its own backoff.
        self._client = client or aioredis.Redis.from_url(
            url,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._unit_written: dict[str, tuple[str, ...]] = {}
        self._period_start: dict[str, date] = {}
        self._last_stamp: tuple[int, str] = (-1, "")
        self._json_cache: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._owned = owned
        self.heal_check_s = heal_check_s
        self.load_pace = load_pace
        self._next_check_s = 0.0  # monotonic time the generation is due to be checked
        self.generation: str | None = None  # the one all owned rows were last queued under
        self.heals = 0
        self.errors = 0
        self.flushes = 0
        self.last_error: str | None = None

    # -- the stream side: synchronous, never waits on Redis ---------------------------------
    def update(self, unit: str, period: str, counters: Counters) -> None:
        """Record the latest counters of (unit, period); the next flush writes them."""
        values = _counter_values(counters)
        self._put(unit, period, values, self._clock().timestamp(), time.monotonic())

    def update_many(self, rows: Iterable[Row]) -> int:
        """:meth:`update` for every row (the rows a step changed, or a resync's); returns the
        number of rows. One pass without awaiting, so no stream update can slip in between
        reading a row and queueing it (a stale value queued after a newer one would win)."""
        return self.update_values(
            (unit, period, _counter_values(counters)) for unit, period, counters in rows
        )

    def update_values(self, rows: Iterable[tuple[str, str, Sequence[int]]]) -> int:
        """:meth:`update_many` for rows given as their ten counter values (in the order of
        ``COUNTER_FIELDS``), as the worker's pipe brings them: no Counters made and taken
        apart again. The view keeps each sequence as it is (it must not change later)."""
        now_s = self._clock().timestamp()
        since_s = time.monotonic()
        count = 0
        for unit, period, values in rows:
            self._put(unit, period, values, now_s, since_s)
            count += 1
        return count

    def _put(
        self, unit: str, period: str, values: Sequence[int], now_s: float, since_s: float
    ) -> None:
        entry = self._pending.get((unit, period))
        if entry is None:
            # Interned: a backfill leaves hundreds of thousands of keys pending, each naming
            # one of a few thousand units and periods.
            self._pending[(sys.intern(unit), sys.intern(period))] = _Pending(
                values, now_s, since_s, 0
            )
        else:
            entry.values = values
            entry.updated_at_s = now_s
            entry.seq += 1

    def discard(self, units: Collection[str]) -> int:
        """Forget pending updates of ``units`` (call on partition revocation: the new owner
        writes them from now on, and a late flush here must not overwrite its newer values)."""
        gone = [key for key in self._pending if key[0] in units]
        for key in gone:
            del self._pending[key]
        return len(gone)

    @property
    def pending(self) -> int:
        """Distinct (unit, period) keys not yet written."""
        return len(self._pending)

    @property
    def lag(self) -> float:
        """Seconds since the oldest unflushed update arrived (0 when all is written). The
        pending map is in the order of ``pending_since_s`` (a key joins at its end, and a flush
        that finds a key updated meanwhile moves it there with a new time), so the oldest is
        the first: reading this costs nothing however many keys wait."""
        oldest = next(iter(self._pending.values()), None)
        return 0.0 if oldest is None else max(0.0, time.monotonic() - oldest.pending_since_s)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-view")

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Stop the flush loop after one last attempt to write what is pending."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pending:
            with contextlib.suppress(*_FAILURES):
                await asyncio.wait_for(self.flush(), drain_timeout_s)
        await self._client.aclose()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is pending (tests and shutdown); False on timeout."""
        deadline_s = time.monotonic() + timeout_s
        while self._pending:
            if time.monotonic() >= deadline_s:
                return False
            await asyncio.sleep(min(0.05, self.flush_interval_s))
        return True

    async def _run(self) -> None:
        while not self._stopping:
            started_s = time.monotonic()
            try:
                answered = await self._round()
            except Exception as exc:  # Redis down or slow (or a bug): count, back off, retry
                await asyncio.sleep(self._failed(exc))
                continue
            if answered:
                self._backoff.reset()
            await asyncio.sleep(self.pause_s(time.monotonic() - started_s))

    def pause_s(self, round_s: float) -> float:
        """The wait after a round that took ``round_s`` seconds."""
        return max(self.flush_interval_s, min(MAX_PAUSE_S, self.load_pace * round_s))

    async def _round(self) -> bool:
        """Flush what is pending, else check the generation if due; True if Redis answered."""
        if self._pending:
            await self.flush()
            return True
        if self._check_due():
            await self.check_generation()
            return True
        return False

    def _failed(self, exc: Exception) -> float:
        """Count a failed round; returns the delay before the next one."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.observer.sink_error(SINK)
        self._unit_written.clear()  # Redis may have lost them; write them again
        delay_s = self._backoff.next()
        log.warning(
            "redis view: flush failed (%s), %d keys pending, retry in %.2fs",
            self.last_error,
            len(self._pending),
            delay_s,
        )
        return delay_s

    # -- healing ----------------------------------------------------------------------------
    def _check_due(self) -> bool:
        return self.heals_itself and time.monotonic() >= self._next_check_s

    @property
    def heals_itself(self) -> bool:
        """Whether the view checks the generation (it knows how to find its owned rows)."""
        return self._owned is not None

    async def check_generation(self) -> None:
        """Read (creating it if missing) the generation, and heal if it changed."""
        meta = self.keys.meta
        pipe = self._client.pipeline(transaction=True)
        # A fresh id every time: an id used twice could name two different datasets.
        pipe.hsetnx(meta, GENERATION_FIELD, uuid.uuid4().hex)
        pipe.hsetnx(meta, "schema_version", str(SCHEMA_VERSION))
        pipe.hget(meta, GENERATION_FIELD)
        results = await pipe.execute()
        self._checked(results[-1])

    def _checked(self, raw: bytes | str | None) -> None:
        self._next_check_s = time.monotonic() + self.heal_check_s
        if raw is None:  # cannot happen after HSETNX in the same transaction
            return
        generation = raw.decode() if isinstance(raw, bytes) else raw
        if generation == self.generation or self._stopping:
            return
        if self.generation is None:  # first contact: nothing was written before it
            self.generation = generation
            return
        self._lost(generation)

    def _lost(self, generation: str) -> None:
        """Redis lost the view (its generation is now ``generation``): write every owned row
        again, or leave it to the next check when the owner cannot say which rows it owns."""
        rows = self._owned() if self._owned is not None else None
        if rows is None:
            return  # not now; the next check tries again
        self.begin_heal()
        self.end_heal(generation, self.update_many(current_first(rows, self._clock())))

    def begin_heal(self) -> None:
        """Before the owned rows are queued again: every unit hash is written again too."""
        self._unit_written.clear()

    def end_heal(self, generation: str, count: int) -> None:
        """After the ``count`` owned rows were queued again under ``generation``."""
        self.generation = generation
        self.heals += 1
        self.observer.sink_healed(SINK, count)
        log.warning(
            "redis view: Redis lost the live view (new generation); writing %d owned rows again",
            count,
        )

    # -- writing ----------------------------------------------------------------------------
    async def flush(self) -> int:
        """Write everything pending, batch by batch; returns the number of keys written.

        Raises the Redis error of a failed batch; what that batch held stays pending (unless a
        newer update replaced it meanwhile, which then stays pending instead).
        """
        written = 0
        while self._pending:
            batch = [
                (key, entry.seq, entry)
                for key, entry in itertools.islice(self._pending.items(), self.batch_size)
            ]
            started_s = time.monotonic()
            await self._write(batch)
            for key, seq, entry in batch:
                if self._pending.get(key) is entry and entry.seq == seq:
                    del self._pending[key]
                elif self._pending.get(key) is entry:  # updated while we wrote: keep it pending
                    del self._pending[key]
                    entry.pending_since_s = time.monotonic()
                    self._pending[key] = entry
            written += len(batch)
            self.flushes += 1
            self.observer.sink_flushed(SINK, len(batch), time.monotonic() - started_s)
            if self._stopping:
                break
            await asyncio.sleep(0)
        return written

    async def _write(self, batch: list[tuple[tuple[str, str], int, _Pending]]) -> None:
        """One batch in one call of the write script: all of it or nothing is applied."""
        now = self._clock()
        today = now.astimezone(VN_TZ).date()
        check = self._check_due()
        batch_args: list[object] = [0]  # the number of unit hashes, set below
        rows: list[object] = []
        new_units: dict[str, tuple[str, ...]] = {}
        written = self._unit_written
        for (unit, period), _seq, entry in batch:
            rows.extend(self._row(unit, period, entry, today))
            meta = self._unit_meta(unit, today)
            if written.get(unit) != meta and unit not in new_units:
                new_units[unit] = meta
                unit_hash = self._unit_hash(unit, meta)
                batch_args.append(len(unit_hash))
                batch_args.extend(unit_hash)
        batch_args[0] = len(new_units)
        batch_args.extend(rows)
        args = (
            _dumps(batch_args),
            self.keys.meta,
            self.keys.changes,
            str(self.stream_maxlen),
            str(SCHEMA_VERSION),
            _rfc3339(now.timestamp()),
            GENERATION_FIELD,
            # A fresh id every time: an id used twice could name two different datasets.
            uuid.uuid4().hex if check else "",
        )
        generation = await self._script(args)
        self._unit_written.update(new_units)
        if check:
            self._checked(generation)

    async def _script(self, args: tuple[str | bytes, ...]) -> bytes | str | None:
        """EVALSHA the write script, loading it first when Redis does not have it (a restart,
        a failover, SCRIPT FLUSH): NOSCRIPT means nothing of the batch was run."""
        try:
            answer = await self._client.evalsha(WRITE_SHA, 0, *args)
        except NoScriptError:
            await self._client.script_load(WRITE_SCRIPT)
            answer = await self._client.evalsha(WRITE_SHA, 0, *args)
        return answer  # type: ignore[no-any-return]

    def _row(self, unit: str, period: str, entry: _Pending, today: date) -> list[object]:
        """What the write script needs of one row (see :data:`WRITE_SCRIPT`)."""
        keys = self.keys
        start = self._period_start.get(period)
        if start is None:
            start = self._period_start[period] = period_start(period)
        info = self.directory.info(unit, start)
        target = self.directory.target(unit, start.year)
        updated_at = self._stamp(entry.updated_at_s)
        fields = kpi_fields(Counters(*entry.values), period, target, today, updated_at)
        ranks: list[str] = []
        for kpi in RANKED:
            ranks.append(keys.rank(info.level, info.rank_scope, period, kpi))
            # The ratio field is repr(float(ratio)): the very score redis-py sent before.
            ranks.append(fields.get(f"ratio_{kpi}", ""))
        # json.dumps of {unit, period, updated_at} with separators (",", ":"), byte for byte
        # (updated_at is RFC 3339: nothing in it is escaped).
        message = (
            f'{{"unit":{self._json(unit)},"period":{self._json(period)},'
            f'"updated_at":"{updated_at}"}}'
        )
        values = [*itertools.chain.from_iterable(fields.items())]
        deletes = [f for f in OPTIONAL_FIELDS if f not in fields]
        return [
            keys.kpi(unit, period), len(values), *values, len(deletes), *deletes,
            len(ranks) // 2, *ranks, keys.periods(unit), unit, period, updated_at, message,
        ]  # fmt: skip

    def _unit_hash(self, unit: str, meta: tuple[str, ...]) -> list[str]:
        name, level, division_type, parent, province = meta
        return [self.keys.unit(unit), "code", unit, "name", name, "level", level,
                "division_type", division_type, "parent", parent, "province", province]  # fmt: skip

    def _stamp(self, epoch_s: float) -> str:
        """:func:`_rfc3339`, remembered for the last millisecond seen (rows updated together
        share it)."""
        epoch_ms = int(epoch_s * 1000)
        if epoch_ms != self._last_stamp[0]:
            self._last_stamp = (epoch_ms, _rfc3339(epoch_ms / 1000))
        return self._last_stamp[1]

    def _json(self, text: str) -> str:
        """``json.dumps(text)``, cached: unit codes and periods repeat."""
        out = self._json_cache.get(text)
        if out is None:
            if len(self._json_cache) > 100_000:
                self._json_cache.clear()
            out = self._json_cache[text] = json.dumps(text)
        return out

    def _unit_meta(self, unit: str, today: date) -> tuple[str, ...]:
        """The unit hash's values: the unit as it is today (its latest version)."""
        info = self.directory.info(unit, today)
        return (info.name, info.level, info.division_type, info.parent, info.province)
