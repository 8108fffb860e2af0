"""The Redis live view on the real Redis: absolute, idempotent, coalesced, ranked, notified."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from models.kpi import Counters
from sinks.redis_view import MAX_PAUSE_S, RedisView
from sinks.unit_directory import UnitDirectory
from tests.ports import free_port
from tests.sinks.helpers import NOW, c, dump, run
from tests.tier import refuse_in_unit_tier


def view(url: str, prefix: str, directory: UnitDirectory, **kw: object) -> RedisView:
    return RedisView(url, prefix, directory, clock=lambda: NOW, **kw)  # type: ignore[arg-type]


def write(
    url: str, prefix: str, directory: UnitDirectory, *rows: tuple[str, str, Counters]
) -> None:
    async def go() -> None:
        v = view(url, prefix, directory)
        v.update_many(rows)
        await v.flush()
        await v.stop()

    run(go)


def test_kpi_hash_unit_hash_and_meta_exact(
    redis_server_url: str, redis_prefix: str, directory: UnitDirectory
) -> None:
    counters = c(10, 4, 1000, 300, reversed=2, reversed_online=1, reversed_amount=100,
                 reversed_online_amount=50, dossiers=5, dossiers_online=2)  # fmt: skip
    write(redis_server_url, redis_prefix, directory, ("04789", "2022", counters))
    state = dump(redis_server_url, redis_prefix, skip_changes=False)
    p = f"{redis_prefix}:v1"
    kpi = state[f"{p}:kpi:04789:2022"]
    assert {k: kpi[k] for k in ("paid", "paid_online", "reversed", "dossiers_online")} == {
        "paid": "10", "paid_online": "4", "reversed": "2", "dossiers_online": "2",
    }  # fmt: skip
    assert kpi["transactions"] == "8" and kpi["transactions_online"] == "3"
    assert kpi["amount"] == "900" and kpi["amount_online"] == "250"
    assert float(kpi["ratio_transactions"]) == float(Fraction(3, 8))
    assert float(kpi["ratio_amount"]) == float(Fraction(250, 900))
    assert float(kpi["ratio_dossiers"]) == 0.4
    assert kpi["target"] == "0.4"  # Phường Thái Bình's own 2022 target: 40%
    assert float(kpi["gap"]) == float(Fraction(3, 8) - Fraction(2, 5))
    assert kpi["on_track"] == "0" and kpi["on_track_dossiers"] == "1"
    assert kpi["projection_on"] == "2022-03-15"  # the current year is projected from today
    assert float(kpi["projected_total"]) == float(Fraction(8 * 365, 74))
    assert kpi["updated_at"] == "2022-03-15T03:00:00.000Z"
    assert state[f"{p}:unit:04789"] == {
        "code": "04789", "name": "Phường Thái Bình", "level": "commune",
        "division_type": "phường", "parent": "148", "province": "17",
    }  # fmt: skip
    assert state[f"{p}:periods:04789"] == [("2022", 0.0)]
    assert state[f"{p}:rank:commune:17:2022:transactions"] == [("04789", float(Fraction(3, 8)))]
    assert state[f"{p}:meta"] == {"schema_version": "1", "last_flush": "2022-03-15T03:00:00.000Z"}
    assert state[f"{p}:changes"] == [
        {"unit": "04789", "period": "2022", "updated_at": "2022-03-15T03:00:00.000Z"}
    ]


def test_same_update_twice_gives_the_same_state(
    redis_server_url: str, redis_prefix: str, directory: UnitDirectory
) -> None:
    rows = [("04789", "2022-03-15", c(3, 1, 30, 10)), ("148", "2022-03", c(0, 0)),
            ("17", "2022", c(5, 5, 50, 50, dossiers=1, dossiers_online=1))]  # fmt: skip
    write(redis_server_url, redis_prefix, directory, *rows)
    first = dump(redis_server_url, redis_prefix)
    write(redis_server_url, redis_prefix, directory, *rows)
    assert dump(redis_server_url, redis_prefix) == first
    assert len(first) > 5


def test_updates_coalesce_to_the_latest_value(
    redis_server_url: str, redis_prefix: str, directory: UnitDirectory
) -> None:
    async def go() -> RedisView:
        v = view(redis_server_url, redis_prefix, directory)
        for n in range(1, 501):
            v.update("04789", "2022-03", c(n, n // 2))
        assert v.pending == 1
        await v.flush()
        await v.stop()
        return v

    v = run(go)
    assert v.pending == 0 and v.flushes == 1
    state = dump(redis_server_url, redis_prefix, skip_changes=False)
    assert state[f"{redis_prefix}:v1:kpi:04789:2022-03"]["paid"] == "500"
    assert len(state[f"{redis_prefix}:v1:changes"]) == 1


def test_rankings_order_and_undefined_ratios_are_absent(
    redis_server_url: str, redis_prefix: str, directory: UnitDirectory
) -> None:
    rows = [
        ("04789", "2022", c(10, 9)),  # 0.9
        ("04792", "2022", c(10, 2)),  # 0.2
        ("04795", "2022", c(10, 5)),  # 0.5
        ("04798", "2022", c(0, 0)),  # undefined
        ("148", "2022", c(30, 16)),
        ("150", "2022", c(4, 1)),
        ("17", "2022", c(34, 17)),
    ]
    write(redis_server_url, redis_prefix, directory, *rows)
    client = redis.Redis.from_url(redis_server_url, decode_responses=True)
    p = f"{redis_prefix}:v1"
    try:
        assert client.zrevrange(f"{p}:rank:commune:17:2022:transactions", 0, -1) == [
            "04789", "04795", "04792",
        ]  # fmt: skip
        assert client.zrevrange(f"{p}:rank:district:17:2022:transactions", 0, -1) == ["148", "150"]
        assert client.zrange(f"{p}:rank:province:all:2022:transactions", 0, -1) == ["17"]
        assert not client.exists(f"{p}:rank:commune:17:2022:dossiers")  # no dossiers anywhere
        undefined = client.hgetall(f"{p}:kpi:04798:2022")
        assert undefined["transactions"] == "0"
        assert not {"ratio_transactions", "ratio_amount", "gap", "on_track"} & set(undefined)
        assert undefined["target"] == "0.3"  # inherited from the province
    finally:
        client.close()
    # the best commune loses every payment: its ratio becomes undefined -> out of the ranking
    write(redis_server_url, redis_prefix, directory,
          ("04789", "2022", c(10, 9, reversed=10, reversed_online=9)))  # fmt: skip
    client = redis.Redis.from_url(redis_server_url, decode_responses=True)
    try:
        assert client.zrevrange(f"{p}:rank:commune:17:2022:transactions", 0, -1) == [
            "04795", "04792",
        ]  # fmt: skip
        fields = client.hgetall(f"{p}:kpi:04789:2022")
        assert "ratio_transactions" not in fields and "gap" not in fields
        assert fields["reversed"] == "10"
    finally:
        client.close()


def test_change_stream_and_pubsub_deliver_every_change(
    redis_server_url: str, redis_prefix: str, directory: UnitDirectory
) -> None:
    channel = f"{redis_prefix}:v1:changes"
    changed = {(u, p) for u in ("04789", "148", "17") for p in ("2022", "2022-03", "2022-03-15")}

    async def go() -> list[dict[str, str]]:
        sub_client = aioredis.Redis.from_url(redis_server_url, decode_responses=True)
        pubsub = sub_client.pubsub()
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        v = view(redis_server_url, redis_prefix, directory, flush_interval_s=0.05)
        await v.start()
        for n in range(3):  # three rounds of changes; each round is flushed
            for unit, period in sorted(changed):
                v.update(unit, period, c(n + 1, n))
            assert await v.wait_idle(10)
        await v.stop()
        got: list[dict[str, str]] = []
        while True:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is None:
                break
            got.append(json.loads(msg["data"]))
        await pubsub.aclose()
        await sub_client.aclose()
        return got

    messages = run(go)
    assert {(m["unit"], m["period"]) for m in messages} == changed
    assert len(messages) == 3 * len(changed)
    stream = dump(redis_server_url, redis_prefix, skip_changes=False)[channel]
    assert stream == messages  # the stream holds the same notifications, in the same order


def test_discard_forgets_revoked_units(directory: UnitDirectory) -> None:
    async def go() -> RedisView:
        v = view("redis://127.0.0.1:1/0", "unused", directory)
        v.update("04789", "2022", c(1, 1))
        v.update("148", "2022", c(1, 1))
        assert v.discard({"04789"}) == 1
        return v

    v = run(go)
    assert v.pending == 1


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real redis-server that speaks only TLS (self-signed certificate for 127.0.0.1)."""
    refuse_in_unit_tier("a TLS Redis")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
         "--tls-auth-clients", "no", "--requirepass", "tls-secret", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline_s = time.monotonic() + 20
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline_s and server.poll() is None, "no TLS redis-server"
            time.sleep(0.1)
        yield port, cert
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.servers
def test_tls_url_writes_over_tls_to_a_real_server(
    tls_redis: tuple[int, Path], directory: UnitDirectory
) -> None:
    port, cert = tls_redis
    url = f"rediss://:tls-secret@127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    write(url, "tls", directory, ("04789", "2022", c(10, 4)))
    client = redis.Redis.from_url(url, decode_responses=True)
    assert client.hget("tls:v1:kpi:04789:2022", "transactions") == "10"
    assert client.hget("tls:v1:kpi:04789:2022", "transactions_online") == "4"
    client.close()
    plain = redis.Redis(host="127.0.0.1", port=port, password="tls-secret", socket_timeout=5)
    with pytest.raises(redis.ConnectionError):  # the server speaks nothing but TLS
        plain.ping()


def test_update_is_cheap_without_redis(directory: UnitDirectory) -> None:
    """update() never touches Redis: nothing listens on the port and it still returns at once."""

    async def go() -> float:
        v = view("redis://:x@127.0.0.1:1/0", "unused", directory)
        loop = asyncio.get_running_loop()
        start_s = loop.time()
        for n in range(20_000):
            v.update(f"{n % 100:05d}", "2022", c(n, 0))
        assert v.pending == 100
        return loop.time() - start_s

    assert run(go) < 2.0


def test_write_script_is_loaded_again_after_script_flush(
    redis_server_url: str, redis_prefix: str, directory: UnitDirectory
) -> None:
    """Redis forgot the write script (SCRIPT FLUSH, as after a restart): NOSCRIPT ran nothing,
    the view loads it again and the same flush succeeds, with no error counted."""

    async def go() -> RedisView:
        v = view(redis_server_url, redis_prefix, directory)
        v.update("04789", "2022", c(4, 1))
        await v.flush()
        admin = aioredis.Redis.from_url(redis_server_url)
        await admin.script_flush()
        await admin.aclose()
        v.update("04789", "2022", c(8, 2))
        assert await v.flush() == 1
        await v.stop()
        return v

    v = run(go)
    assert v.errors == 0 and v.pending == 0
    state = dump(redis_server_url, redis_prefix, skip_changes=False)
    assert state[f"{redis_prefix}:v1:kpi:04789:2022"]["paid"] == "8"
    assert len(state[f"{redis_prefix}:v1:changes"]) == 2


def test_the_lag_is_the_age_of_the_oldest_pending_update(directory: UnitDirectory) -> None:
    """Read from the first pending key (the map keeps arrival order): a newer value of an old
    key keeps its age, a discarded key takes its age along. No Redis is contacted."""
    v = RedisView("redis://127.0.0.1:1/0", "lag", directory)
    assert v.lag == 0.0
    v.update("148", "2022", c(1))
    time.sleep(0.2)
    v.update_values([("150", "2022", [2, 0, 0, 0, 0, 0, 0, 0, 0, 0])])
    v.update("148", "2022", c(3))
    assert v.lag >= 0.2
    v.discard({"148"})
    assert v.pending == 1 and v.lag < 0.2


def test_the_pause_after_a_round_grows_with_it_up_to_a_bound(directory: UnitDirectory) -> None:
    """Short rounds: the flush interval; longer ones: load_pace times as long; a round of a
    minute (a backfill's): never more than MAX_PAUSE_S. No Redis is contacted."""
    v = RedisView("redis://127.0.0.1:1/0", "pause", directory, flush_interval_s=0.2, load_pace=3)
    assert v.pause_s(0.01) == 0.2
    assert v.pause_s(0.5) == 1.5
    assert v.pause_s(60.0) == MAX_PAUSE_S == 2.0
