"""Servers of one test alone, for the tests that stop, kill or restart a server: a private
Kafka broker and a private Redis on free ports, in the test's own folder. The stack's servers,
which `make test` reuses and a running deployment may use, are never stopped.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import redis

from tests.ports import free_port
from tests.processes import kill_process, stop_process
from tests.tier import refuse_in_unit_tier

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = ROOT / "deploy" / "local" / "kafka.sh"


class PrivateRedis:
    """A redis-server of a test alone, on a free port: without persistence, killed, it restarts
    empty; ``persistent`` (an append-only file synced at every write), stopped and started
    again, it comes back with its data, as a restarted production Redis does."""

    def __init__(self, directory: Path, persistent: bool = False) -> None:
        self.port = free_port()
        self.directory = directory
        self.persistent = persistent
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._server: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        refuse_in_unit_tier("a private Redis")
        self._server = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.persistent else "no", "--appendfsync", "always",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline_s = time.monotonic() + 20
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    assert time.monotonic() < deadline_s, "the private redis-server did not start"
                    assert self._server.poll() is None, "the private redis-server exited"
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM)."""
        stop_process(self._server, grace_s=20)
        self._server = None

    def kill(self) -> None:
        kill_process(self._server)
        self._server = None


def _stack_dir() -> Path:
    return Path(os.environ.get("PAYWATCH_STACK_DIR", ROOT / ".stack"))


def _kafka_version() -> str:
    common = (ROOT / "deploy" / "local" / "common.sh").read_text(encoding="utf-8")
    default = re.search(r"PAYWATCH_KAFKA_VERSION:-([0-9.]+)", common)
    assert default, "deploy/local/common.sh names no default Kafka version"
    return os.environ.get("PAYWATCH_KAFKA_VERSION", default[1])


class PrivateKafka:
    """A single-node Kafka broker of a test alone, started and stopped by deploy/local/kafka.sh
    (the stack's own script) on free ports with its stack folder in ``directory``: the broker
    and controller ports, data, pid file and log are its own. The jars are the stack's (linked,
    not fetched again). Stopped and started again, it keeps its data, as a restarted broker
    does. ``test_listener=False`` starts it as `make up` does: SASL_SSL only, nothing on
    ``port``."""

    def __init__(self, directory: Path, test_listener: bool = True) -> None:
        self.port = free_port()  # the test listener (PLAINTEXT), which the tests use
        self.sasl_port = free_port()
        self.controller_port = free_port()
        self.directory = directory
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = directory / "logs" / "kafka.log"
        directory.mkdir(parents=True, exist_ok=True)
        home = f"kafka-{_kafka_version()}"
        if (_stack_dir() / home / "libs").is_dir() and not (directory / home).exists():
            (directory / home).symlink_to(_stack_dir() / home)
        self._env = {
            **os.environ,
            "PAYWATCH_STACK_DIR": str(directory),
            "PAYWATCH_KAFKA_PORT": str(self.port),
            "PAYWATCH_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "PAYWATCH_KAFKA_SASL_PORT": str(self.sasl_port),
            "PAYWATCH_KAFKA_TEST_PLAINTEXT": "1" if test_listener else "0",
        }

    def _script(self, command: str) -> None:
        done = subprocess.run(
            ["bash", str(KAFKA_SCRIPT), command],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"kafka.sh {command}: {done.stdout}{done.stderr}"

    def start(self) -> None:
        refuse_in_unit_tier("a private Kafka")
        self._script("start")

    def stop(self) -> None:
        """TERM, and KILL after 30 s (kafka.sh stop); nothing is left running or listening."""
        self._script("stop")
