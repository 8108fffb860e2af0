"""A real `paywatch worker` run the way deploy/kubernetes/worker-statefulset.yaml runs it: the
settings of its ConfigMaps (the addresses, the plain test listener and the web port replaced by
this test's), the pod's name as PAYWATCH_INSTANCE_ID, its container's security context (a
read-only root file system with only /tmp writable: its emptyDir, the data volume lying under it
here; every capability dropped; no new privileges), HOME=/tmp, and the targets ConfigMap mounted
as the kubelet mounts it. It counts exactly, its probes answer, SIGTERM ends it within the grace
period, and started again on the same volume it is ready and counts on.

The pod's non-root user is left out: the test's interpreter may live in root's home (a pyenv),
which no other user can reach; without capabilities, root here has no more rights than the
owner of each file."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from streams.simulator import SimConfig, generate
from tests.deploy import kube_manifests as kube
from tests.processes import PAYWATCH
from tests.recount import recount
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    get_page,
    produce,
    wait_for_counters,
    wait_for_page,
)

#: Run as root: a private mount namespace (the machine's mounts are untouched) in which / is
#: read-only and /tmp writable, then the command with no capability and no new privileges.
POD = """\
mount -o remount,bind,ro / && mount --bind /tmp /tmp && mount -o remount,bind,rw /tmp || exit 99
exec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all env HOME=/tmp "$@"
"""
#: Settings of the ConfigMaps that name this test's servers, files or ports instead.
REPLACED = {
    "PAYWATCH_BROKER",
    "PAYWATCH_KAFKA_SECURITY_PROTOCOL",
    "PAYWATCH_KAFKA_SASL_USERNAME",
    "PAYWATCH_KAFKA_SASL_PASSWORD_FILE",
    "PAYWATCH_KAFKA_CA_FILE",
    "PAYWATCH_REDIS_URL",
    "PAYWATCH_REDIS_PASSWORD_FILE",
    "PAYWATCH_REDIS_PREFIX",
    "PAYWATCH_APP_ID",
    "PAYWATCH_DATA_DIR",
    "PAYWATCH_TARGETS_DIR",
    "PAYWATCH_WEB_PORT",
}


@pytest.fixture
def pod_root() -> Iterator[Path]:
    """A folder under /tmp that the pod's user can reach (pytest's own are root's alone)."""
    root = Path(tempfile.mkdtemp(prefix="paywatch-pod-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _mount_targets(mount: Path) -> None:
    """The targets ConfigMap as the kubelet mounts it (files behind "..data")."""
    stamped = mount / "..2026_11_29_00_00_00.000000001"
    stamped.mkdir(parents=True)
    for key, text in kube.config("paywatch-targets").items():
        (stamped / key).write_text(text, encoding="utf-8")
        (mount / key).symlink_to(Path("..data") / key)
    (mount / "..data").symlink_to(stamped.name)


@pytest.mark.timeout(600)
def test_a_worker_runs_as_the_statefulset_runs_it(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, pod_root: Path
) -> None:
    worker_spec = kube.one("StatefulSet", "paywatch-worker")
    pod = worker_spec["spec"]["template"]["spec"]
    container = kube.container(worker_spec)
    manifest = kube.settings_of(container)
    assert [v["name"] for v in container["env"] if "valueFrom" in v] == ["PAYWATCH_INSTANCE_ID"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["allowPrivilegeEscalation"] is False

    data, targets = pod_root / "data", pod_root / "targets"
    data.mkdir()
    _mount_targets(targets)
    kept = {
        k.removeprefix("PAYWATCH_").lower(): v for k, v in manifest.items() if k not in REPLACED
    }
    assert kept["web_host"] == "0.0.0.0"
    settings = settings_factory(
        **kept, data_dir=data, targets_dir=targets, instance_id="paywatch-worker-0"
    )
    script = pod_root / "pod.sh"
    script.write_text(POD, encoding="utf-8")
    command = ["unshare", "-m", "--propagation", "private", "sh", str(script), PAYWATCH, "worker"]

    registry = Registry.load({"17"})
    config = SimConfig(count=2000, seed=5, start=date(2022, 1, 1), end=date(2022, 12, 31))
    records = [(r.key, r.value) for r in generate(config, registry)]
    half = len(records) // 2
    expected_half = recount([v for _, v in records[:half]], registry)
    expected = recount([v for _, v in records], registry)
    create_topics(settings)
    log = pod_root / "worker.log"
    worker = Worker(settings, log, command=command)
    try:
        worker.start()
        assert wait_for_page(settings, "/healthz", 200)["alive"] is True
        assert wait_for_page(settings, "/readyz", 200)["ready"] is True
        produce(kafka_bootstrap, settings.topic("payments"), records[:half])
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected_half.counters, 300)
        assert_counts(got, expected_half.counters)

        # The kubelet's SIGTERM; its SIGKILL would come after the grace period.
        assert worker.proc is not None
        started_s = time.monotonic()
        worker.proc.send_signal(signal.SIGTERM)
        status = worker.proc.wait(timeout=pod["terminationGracePeriodSeconds"])
        assert status == 0 and time.monotonic() - started_s < pod["terminationGracePeriodSeconds"]

        # The pod again, on the same volume, with the same name.
        worker.start()
        assert wait_for_page(settings, "/readyz", 200)["ready"] is True
        produce(kafka_bootstrap, settings.topic("payments"), records[half:])
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 300)
        assert_counts(got, expected.counters)
        assert get_page(settings, "/healthz")[0] == 200
    finally:
        worker.stop()
    text = log.read_text(encoding="utf-8", errors="replace")
    for trouble in ("Read-only file system", "Permission denied", "Traceback"):
        assert trouble not in text, text[-3000:]
