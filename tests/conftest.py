"""The fixtures every test folder shares, and the two tiers.

Servers: the real local stack (Kafka, Redis), each test isolated. A running stack is reused; a
missing one is started with the same scripts as `make up` (deploy/local/). Isolation: every test
gets its own topic prefix, Faust app id and Redis key prefix, so tests never see each other's
data. A test that uses them is marked ``servers`` at collection; `pytest --unit` (`make
test-unit`) leaves those out and runs the server-free rest (tests/tier.py).

Pure data: the unit registry of Hòa Bình (province 17) and its targets.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from models.registry import Registry
from models.targets import Targets
from tests.ports import free_port
from tests.tier import enter_unit_tier, refuse_in_unit_tier

if TYPE_CHECKING:
    from tests.streams.private_servers import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent
KAFKA_BOOTSTRAP = os.environ.get("PAYWATCH_TEST_BOOTSTRAP", "127.0.0.1:9092")
REDIS_PORT = int(os.environ.get("PAYWATCH_REDIS_PORT", "6380"))
REDIS_PASSWORD = os.environ.get("PAYWATCH_REDIS_PASSWORD", "paywatch-local")


#: Fixtures that reach a server: a test using any of them (even through another fixture) is
#: marked ``servers``.
SERVER_FIXTURES = frozenset({"kafka_bootstrap", "redis_server_url"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--unit",
        action="store_true",
        help="only the fast server-free tests (no Kafka, Redis, Prometheus, worker or browser)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("unit"):
        enter_unit_tier()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)
    if config.getoption("unit"):
        left_out = [item for item in items if _not_unit(item)]
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _not_unit(item)]


def _not_unit(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in ("servers", "slow"))


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _ensure(script: str, host: str, port: int) -> None:
    if not _listening(host, port):
        # The tests use Kafka's PLAINTEXT test listener (docs/security.md): asked for here
        env = {**os.environ, "PAYWATCH_KAFKA_TEST_PLAINTEXT": "1"}
        script_path = ROOT / "deploy" / "local" / script
        subprocess.run(["bash", str(script_path), "start"], check=True, env=env)


def _port_holder(port: int) -> str:
    """The pid listening on ``port`` (as deploy/local/common.sh finds it), or "" if unknown."""
    found = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=10
    )
    pids = re.findall(r"pid=(\d+)", found.stdout)
    return pids[0] if pids else ""


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of the real Kafka broker on loopback. The broker is shared (a running stack's
    too): a test that stops one starts a private one (tests/streams/private_servers.py), and
    the session fails if this broker's process changed under it."""
    refuse_in_unit_tier("Kafka")
    host, port = KAFKA_BOOTSTRAP.rsplit(":", 1)
    _ensure("kafka.sh", host, int(port))
    before = _port_holder(int(port))
    yield KAFKA_BOOTSTRAP
    after = _port_holder(int(port))
    assert before == after, f"the shared Kafka on {KAFKA_BOOTSTRAP} was restarted by a test"


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """URL of the real Redis server on loopback (database 0). Shared like the broker: the
    session fails if a test restarted it."""
    import redis

    refuse_in_unit_tier("Redis")
    _ensure("redis.sh", "127.0.0.1", REDIS_PORT)
    # the stack's administrator (deploy/local/redis.sh), there whether the default user is or not
    url = f"redis://paywatch-admin:{REDIS_PASSWORD}@127.0.0.1:{REDIS_PORT}/0"
    before = _run_id(redis.Redis.from_url(url))
    yield url
    after = _run_id(redis.Redis.from_url(url))
    assert before == after, f"the shared Redis on port {REDIS_PORT} was restarted by a test"


def _run_id(client: Any) -> str:
    try:
        return str(client.info("server")["run_id"])
    finally:
        client.close()


@pytest.fixture
def unique() -> str:
    """A short id unique to this test, for topic names, app ids and key prefixes."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def redis_prefix(redis_server_url: str, unique: str) -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    from tests.sinks.helpers import drop_keys

    prefix = f"test-{unique}"
    yield prefix
    drop_keys(redis_server_url, prefix)


@pytest.fixture
def settings_factory(
    kafka_bootstrap: str, redis_server_url: str, redis_prefix: str, unique: str, tmp_path: Path
) -> Callable[..., Any]:
    """Build paywatch Settings isolated to this test; keyword arguments override fields."""
    from streams.settings import Settings

    def make(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "app_id": f"pwtest-{unique}",
            "broker": f"kafka://{kafka_bootstrap}",
            "topic_prefix": f"t{unique}.",
            "redis_url": redis_server_url,
            "redis_prefix": redis_prefix,  # its keys are deleted after the test
            "data_dir": tmp_path / "worker",
            "web_port": free_port(),
        }
        fields.update(overrides)
        return Settings(**fields)

    return make


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test alone on a free port, without persistence, killed afterwards:
    for the tests that stop Redis or empty it (the stack's Redis is never stopped)."""
    from tests.streams.private_servers import PrivateRedis

    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def hoa_binh() -> Registry:
    """The unit registry of Hòa Bình (province 17), the province most tests count in."""
    return Registry.load({"17"})


@pytest.fixture(scope="session")
def hoa_binh_targets(hoa_binh: Registry) -> Targets:
    """The committed targets (deploy/targets) over Hòa Bình's units."""
    return Targets.load(ROOT / "deploy" / "targets", hoa_binh)
