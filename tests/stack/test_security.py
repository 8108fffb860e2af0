"""The stack's security on the real servers (docs/security.md): Kafka's SASL_SSL listener
(SCRAM-SHA-512 over TLS from the stack's private CA) refuses a wrong password and a client that
trusts another CA; each principal may do what deploy/kafka/acls.txt gives it and nothing else;
the Redis users of deploy/redis/*.acl may do what their rules give them; `make up`'s Redis
refuses the default user; and the whole pipeline counts exactly under SASL/TLS, the worker
logged in as paywatch-worker (Kafka and Redis), the payments sent as paywatch-portal.

ACLs for a test's own topic prefix and app id are made from the same rules file (the stack's
apply them for PAYWATCH_TOPIC_PREFIX and PAYWATCH_APP_ID) and removed afterwards."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError

from models.registry import Registry
from streams.deadletter_reader import read_letters
from streams.kafka_security import client_args
from streams.lag import CONSUMED_TOPICS, consumer_lag
from streams.preflight import security_problem
from streams.settings import Settings
from streams.simulator import SimConfig, generate
from tests.e2e.sink_checks import wait_for_redis
from tests.ports import free_port
from tests.processes import PAYWATCH
from tests.recount import recount
from tests.streams.private_servers import PrivateKafka
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    end_offsets,
    wait_for_counters,
    worker_env,
)

ROOT = Path(__file__).resolve().parents[2]
STACK = Path(os.environ.get("PAYWATCH_STACK_DIR", ROOT / ".stack"))
TEST_PORT = int(os.environ.get("PAYWATCH_TEST_BOOTSTRAP", "127.0.0.1:9092").rsplit(":", 1)[1])
SASL_PORT = int(os.environ.get("PAYWATCH_KAFKA_SASL_PORT", str(TEST_PORT + 3)))
KAFKA_SECRETS = STACK / "kafka" / "secrets"
REDIS_SECRETS = STACK / "redis" / "secrets"
CA_FILE = STACK / "kafka" / "tls" / "ca.pem"
REDIS_PASSWORD = os.environ.get("PAYWATCH_REDIS_PASSWORD", "paywatch-local")


def _as(settings: Settings, user: str, **overrides: Any) -> Settings:
    """``settings`` for a SASL_SSL client logged in as the stack's ``user``."""
    fields: dict[str, Any] = {
        "broker": f"kafka://127.0.0.1:{SASL_PORT}",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_username": user,
        "kafka_sasl_password_file": str(KAFKA_SECRETS / f"{user}.password"),
        "kafka_ca_file": str(CA_FILE),
    }
    fields.update(overrides)
    return Settings(**{**settings.model_dump(), **fields})


def _stack_security(command: str, settings: Settings) -> None:
    """deploy/kafka/StackSecurity.java ``command`` (apply/remove) of deploy/kafka/acls.txt for
    the topic prefix and app id of ``settings``, as the stack's paywatch-admin."""
    libs = next(STACK.glob("kafka-*/libs"))
    logging = f"-Dlog4j2.configurationFile={ROOT}/deploy/kafka/log4j2.properties"
    done = subprocess.run(
        ["java", "-cp", f"{libs}/*", logging,
         str(ROOT / "deploy" / "kafka" / "StackSecurity.java"), command,
         str(STACK / "kafka" / "admin.properties"), str(ROOT / "deploy" / "kafka" / "acls.txt"),
         settings.topic_prefix, settings.app_id],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture
def acl_settings(settings_factory: Callable[..., Any], kafka_bootstrap: str) -> Iterator[Settings]:
    """A test's settings (own topics, app id, Redis prefix) whose topics exist and whose ACLs
    (deploy/kafka/acls.txt for its prefix and app id) are in force until the test ends."""
    settings: Settings = settings_factory(partitions=2)
    create_topics(settings)  # as the stack's `paywatch topics` does, by an administrator
    _stack_security("apply", settings)
    yield settings
    _stack_security("remove", settings)


def _wait(coro: Any, seconds: float = 30.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, seconds))


def _can_write(settings: Settings, topic: str) -> bool:
    """Whether ``settings``'s principal gets a record acknowledged on ``topic``; the topic's end
    offsets (read by the test listener's administrator) say whether anything landed."""

    async def send() -> None:
        producer = AIOKafkaProducer(**client_args(settings), request_timeout_ms=8000)
        await producer.start()
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, b"probe", key=b"probe"), 15)
        finally:
            await producer.stop()

    before = sum(end_offsets(_plain(settings), topic).values())
    try:
        asyncio.run(send())
        acknowledged = True
    except (KafkaError, TimeoutError):
        acknowledged = False
    landed = sum(end_offsets(_plain(settings), topic).values()) - before
    assert landed == (1 if acknowledged else 0), f"{topic}: acknowledged={acknowledged}, {landed}"
    return acknowledged


def _can_read(settings: Settings, topic: str) -> bool:
    """Whether ``settings``'s principal can fetch from ``topic`` (assigned, no group)."""

    async def fetch() -> bool:
        consumer = AIOKafkaConsumer(
            **client_args(settings), auto_offset_reset="earliest", request_timeout_ms=8000
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, p) for p in range(settings.partitions)])
            await consumer.seek_to_beginning()
            await consumer.getmany(timeout_ms=3000)
            await consumer.getmany(timeout_ms=1000)
            return True
        except KafkaError:
            return False
        finally:
            await consumer.stop()

    result: bool = _wait(fetch())
    return result


def _plain(settings: Settings) -> str:
    """The test listener, where the tests' own clients (User:ANONYMOUS) look at any topic."""
    return os.environ.get("PAYWATCH_TEST_BOOTSTRAP", "127.0.0.1:9092")


def test_a_wrong_kafka_password_is_refused_with_a_short_message(
    settings_factory: Callable[..., Any], kafka_bootstrap: str
) -> None:
    wrong = _as(
        settings_factory(), "paywatch-portal", kafka_sasl_password_file="", kafka_sasl_password="x"
    )

    async def connect() -> None:
        admin = AIOKafkaAdminClient(**client_args(wrong), request_timeout_ms=5000)
        try:
            await admin.start()
        finally:
            await admin.close()

    with pytest.raises(KafkaConnectionError):
        _wait(connect())
    problem = security_problem(wrong)
    assert problem is not None
    assert "PAYWATCH_KAFKA_SASL_USERNAME=paywatch-portal" in problem
    assert "refused this user's password" in problem
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    env.update(
        PAYWATCH_BROKER=wrong.broker,
        PAYWATCH_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        PAYWATCH_KAFKA_SASL_USERNAME="paywatch-portal",
        PAYWATCH_KAFKA_SASL_PASSWORD="not-the-password",
        PAYWATCH_KAFKA_CA_FILE=str(CA_FILE),
    )
    done = subprocess.run(
        [PAYWATCH, "topics"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0
    assert "PAYWATCH_KAFKA_SASL_USERNAME=paywatch-portal" in done.stderr
    assert "Traceback" not in done.stderr and "not-the-password" not in done.stderr


def test_tls_with_a_wrong_ca_fails(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(tmp_path / "other-ca.key"), "-out", str(other_ca), "-subj", "/CN=other CA"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    untrusting = _as(settings_factory(), "paywatch-tools", kafka_ca_file=str(other_ca))

    async def connect() -> None:
        admin = AIOKafkaAdminClient(**client_args(untrusting), request_timeout_ms=5000)
        try:
            await admin.start()
        finally:
            await admin.close()

    with pytest.raises(KafkaError):
        _wait(connect())
    problem = security_problem(untrusting)
    assert problem is not None
    assert f"PAYWATCH_KAFKA_CA_FILE={other_ca}" in problem
    assert "not trusted" in problem
    trusting = _as(settings_factory(), "paywatch-tools")
    assert security_problem(trusting) is None


@pytest.mark.servers  # starts a Kafka of its own through deploy/local/kafka.sh
@pytest.mark.timeout(600)
def test_make_ups_kafka_has_no_unauthenticated_way_in(
    settings_factory: Callable[..., Any], tmp_path: Path
) -> None:
    """A broker started as `make up` starts it (no PAYWATCH_KAFKA_TEST_PLAINTEXT) listens only
    SASL_SSL and its loopback controller: nothing on the test listener's port, User:ANONYMOUS
    is no super user, a PLAINTEXT client of the SASL_SSL port is refused, the admin logs in."""
    broker = PrivateKafka(tmp_path / "kafka", test_listener=False)
    broker.start()
    try:
        conf = tmp_path / "kafka" / "kafka" / "server.properties"
        assert conf.stat().st_mode & 0o777 == 0o600  # it holds the admin's password
        properties = dict(
            line.split("=", 1) for line in conf.read_text().splitlines() if "=" in line
        )
        assert properties["listeners"] == (
            f"SECURE://127.0.0.1:{broker.sasl_port},CONTROLLER://127.0.0.1:{broker.controller_port}"
        )
        assert properties["super.users"] == "User:paywatch-admin"
        assert properties["allow.everyone.if.no.acl.found"] == "false"
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", broker.port)) != 0
        base = settings_factory(broker=f"kafka://127.0.0.1:{broker.sasl_port}")
        plain = security_problem(base)
        assert plain is not None and "PAYWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in plain
        secrets = tmp_path / "kafka" / "kafka" / "secrets"
        admin = Settings(
            **{
                **base.model_dump(),
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_username": "paywatch-admin",
                "kafka_sasl_password_file": str(secrets / "paywatch-admin.password"),
                "kafka_ca_file": str(tmp_path / "kafka" / "kafka" / "tls" / "ca.pem"),
            }
        )
        assert security_problem(admin) is None
    finally:
        broker.stop()


def test_each_kafka_principal_has_least_privilege(acl_settings: Settings) -> None:
    topic = acl_settings.topic
    portal = _as(acl_settings, "paywatch-portal")
    worker = _as(acl_settings, "paywatch-worker")
    replay = _as(acl_settings, "paywatch-replay")
    tools = _as(acl_settings, "paywatch-tools")
    assert _can_write(portal, topic("payments"))
    assert not _can_write(portal, topic("payments-dlq"))
    assert not _can_write(portal, topic("payments-bulk"))
    assert not _can_read(portal, topic("payments"))
    assert not _can_write(worker, topic("payments"))
    assert _can_write(worker, topic("payments-dlq"))
    assert _can_read(worker, topic("payments"))
    assert _can_write(replay, topic("payments-bulk"))
    assert not _can_write(replay, topic("payments"))
    assert not _can_read(replay, topic("payments-bulk"))
    assert _can_read(tools, topic("payments-dlq"))
    assert not _can_read(tools, topic("payments"))
    assert not _can_write(tools, topic("payments-dlq"))
    refused = _run_as(portal, "lag")
    assert refused.returncode == 2
    assert "PAYWATCH_KAFKA_SASL_USERNAME=paywatch-portal: the broker's ACLs do not allow this" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    allowed = _run_as(tools, "lag", "--json")
    assert allowed.returncode == 0, allowed.stderr


def _run_as(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`paywatch ARGS` with ``settings`` (a principal's) as its whole configuration."""
    return subprocess.run(
        [PAYWATCH, *args],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class _RedisUser:
    """A Redis user with the rules of deploy/redis/``rules`` for ``prefix`` (deleted by drop)."""

    def __init__(self, admin_url: str, rules: str, prefix: str) -> None:
        self.admin = redis.Redis.from_url(admin_url)
        self.name = f"sec-{uuid.uuid4().hex[:8]}"
        password = uuid.uuid4().hex
        text = (ROOT / "deploy" / "redis" / rules).read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if x and not x.startswith("#"))
        acl = line.replace("@PREFIX@", prefix).split()
        self.admin.execute_command("ACL", "SETUSER", self.name, "reset", "on", f">{password}", *acl)
        port = admin_url.rsplit(":", 1)[1].split("/")[0]
        self.url = f"redis://{self.name}:{password}@127.0.0.1:{port}/0"
        self.client = redis.Redis.from_url(self.url, decode_responses=True)

    def drop(self) -> None:
        self.client.close()
        self.admin.execute_command("ACL", "DELUSER", self.name)
        self.admin.close()


def test_the_read_only_redis_users_cannot_write(redis_server_url: str, redis_prefix: str) -> None:
    reader = _RedisUser(redis_server_url, "reader.acl", redis_prefix)
    worker = _RedisUser(redis_server_url, "worker.acl", redis_prefix)
    key = f"{redis_prefix}:v1:kpi:17:2022"
    try:
        assert worker.client.hset(key, "paid", "3") == 1
        assert worker.client.publish(f"{redis_prefix}:v1:changes", "x") == 0
        assert reader.client.hget(key, "paid") == "3"
        for refused in (
            lambda: reader.client.hset(key, "paid", "9"),
            lambda: reader.client.delete(key),
            lambda: reader.client.publish(f"{redis_prefix}:v1:changes", "x"),
            lambda: reader.client.keys("*"),
            lambda: worker.client.hset(f"{redis_prefix}:v2:kpi", "paid", "1"),
            lambda: worker.client.set(f"{redis_prefix}:v1:string", "1"),
            lambda: worker.client.delete(key),
            lambda: worker.client.publish("another-channel", "x"),
            lambda: worker.client.flushall(),
            lambda: worker.client.keys("*"),
            lambda: worker.client.execute_command("CONFIG", "GET", "requirepass"),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                refused()
        assert reader.client.hget(key, "paid") == "3"
    finally:
        reader.drop()
        worker.drop()
    # the stack's own read-only users, with their real passwords
    port = redis_server_url.rsplit(":", 1)[1].split("/")[0]
    secret = (REDIS_SECRETS / "paywatch-reader.password").read_text().strip()
    stack_reader = redis.Redis.from_url(f"redis://paywatch-reader:{secret}@127.0.0.1:{port}/0")
    try:
        assert stack_reader.ping()
        with pytest.raises(redis.exceptions.NoPermissionError):
            stack_reader.hset(f"pw:v1:never-{uuid.uuid4().hex}", "x", "1")
    finally:
        stack_reader.close()


@pytest.mark.servers  # starts a Redis of its own through deploy/local/redis.sh
def test_make_ups_redis_refuses_the_default_user(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PAYWATCH_STACK_DIR": str(tmp_path),
        "PAYWATCH_REDIS_PORT": str(port),
        "PAYWATCH_REDIS_DEFAULT_USER": "off",
    }
    script = str(ROOT / "deploy" / "local" / "redis.sh")
    started = subprocess.run(
        ["bash", script, "start"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "default user off" in started.stdout
        default = redis.Redis(port=port, password=REDIS_PASSWORD)
        with pytest.raises(redis.exceptions.AuthenticationError):
            default.ping()
        admin = redis.Redis(
            port=port, username="paywatch-admin", password=REDIS_PASSWORD, decode_responses=True
        )
        assert admin.ping()
        users = {line.split()[1] for line in admin.execute_command("ACL", "LIST")}
        assert users == {
            "default", "paywatch-admin", "paywatch-worker", "paywatch-reader", "paywatch-dashboard"
        }  # fmt: skip
        admin.close()
    finally:
        subprocess.run(["bash", script, "stop"], env=env, capture_output=True, timeout=60)


@pytest.mark.timeout(900)
def test_the_pipeline_counts_exactly_under_sasl_and_tls(
    acl_settings: Settings, redis_server_url: str, tmp_path: Path
) -> None:
    """Payments from the portal (paywatch-portal) and an export replayed with `paywatch replay
    --wait` (paywatch-replay), counted by a worker logged in as paywatch-worker in Kafka and in
    Redis: the counters and the live view equal the recount; `paywatch lag`'s and
    `dead-letters`' readers, as paywatch-tools, see no lag and every dead letter."""
    registry = Registry.load({"17"})
    config = SimConfig(count=3000, seed=16, start=date(2022, 1, 1), end=date(2022, 2, 28))
    records = [(r.key, r.value) for r in generate(config, registry)]
    exported = SimConfig(
        count=600, seed=17, start=date(2022, 3, 1), end=date(2022, 3, 31), malformed_rate=0
    )
    replayed = [r.value for r in generate(exported, registry)]
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"".join(v + b"\n" for v in replayed))
    expected = recount([v for _, v in records] + replayed, registry)
    redis_user = _RedisUser(redis_server_url, "worker.acl", acl_settings.redis_prefix)
    worker_settings = _as(acl_settings, "paywatch-worker", redis_url=redis_user.url)
    portal = _as(acl_settings, "paywatch-portal")
    tools = _as(acl_settings, "paywatch-tools")

    async def send() -> None:
        producer = AIOKafkaProducer(**client_args(portal), acks="all", linger_ms=20)
        await producer.start()
        try:
            sent = [await producer.send(portal.topic("payments"), v, key=k) for k, v in records]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    async def lag_and_letters() -> tuple[int, int]:
        topics = [acl_settings.topic(t) for t in CONSUMED_TOPICS]
        rows = await consumer_lag(client_args(tools), acl_settings.app_id, topics)
        assert {r.topic for r in rows} == set(topics)
        dlq = acl_settings.topic("payments-dlq")
        letters = [x async for x in read_letters(client_args(tools), dlq)]
        return sum(r.lag for r in rows), len(letters)

    worker = Worker(worker_settings, tmp_path / "worker.log").start()
    started_s = time.monotonic()
    try:
        asyncio.run(send())
        replay = subprocess.run(
            [PAYWATCH, "replay", str(export), "--no-progress", "--wait"],
            env=worker_env(_as(acl_settings, "paywatch-replay")),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert replay.returncode == 0, replay.stderr
        assert "have counted all" in replay.stdout
        got = wait_for_counters(_plain(acl_settings), acl_settings.app_id, expected.counters, 600)
        assert_counts(got, expected.counters)
        view = wait_for_redis(redis_server_url, acl_settings.redis_prefix, expected.counters, 120)
        assert_counts(view, expected.counters)
        print(f"{len(records) + len(replayed)} events counted exactly under SASL_SSL in "
              f"{time.monotonic() - started_s:.1f}s")  # fmt: skip
        deadline_s = time.monotonic() + 60
        while (found := asyncio.run(lag_and_letters()))[0] and time.monotonic() < deadline_s:
            time.sleep(1)
        assert found == (0, len(expected.dead_letters))
        assert worker.alive
    finally:
        worker.stop()
        redis_user.drop()
    log = (tmp_path / "worker.log").read_text(encoding="utf-8", errors="replace")
    assert (KAFKA_SECRETS / "paywatch-worker.password").read_text().strip() not in log
    assert "AuthorizationFailed" not in log and "NOPERM" not in log, log[-3000:]
