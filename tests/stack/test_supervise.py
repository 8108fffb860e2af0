"""deploy/local/supervise.sh, which `make up` runs the worker under: it starts the worker again
after status 70 (a failed step) and after a death by a signal (137: `kill -9`, the out-of-memory
killer), waiting longer after each quick failure (capped, and back to the first delay after a
run that lasted long enough); it gives up on any other status, passing it on, and passes SIGTERM
on to the worker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISE = str(ROOT / "deploy" / "local" / "supervise.sh")
#: Short delays, so that the tests do not wait for the real ones (1 s, up to 30 s, reset 60 s).
FAST = {"PAYWATCH_RESTART_DELAY_S": "0.1", "PAYWATCH_RESTART_DELAY_MAX_S": "0.4"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_RESTART")}
    return {**env, **FAST, **extra}


def _supervise(*command: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """supervise.sh running ``command`` to its end, with ``extra`` variables (and FAST)."""
    return subprocess.run(
        ["bash", SUPERVISE, *command], capture_output=True, text=True, timeout=60, env=_env(**extra)
    )


def _runs(tmp_path: Path, *statuses: str) -> Path:
    """A script whose n-th run ends as ``statuses[n]`` says (a shell command), then exits 3;
    each run appends its start time (seconds) to ``starts``."""
    lines = [
        f'echo "$(date +%s.%N)" >> {tmp_path / "starts"}',
        f"n=$(wc -l < {tmp_path / 'starts'})",
    ]
    lines += [f'[ "$n" -eq {i} ] && {{ {cmd}; }}' for i, cmd in enumerate(statuses, start=1)]
    lines.append("exit 3")
    script = tmp_path / "worker.sh"
    script.write_text("\n".join(lines) + "\n")
    return script


def _delays(stderr: str) -> list[float]:
    return [float(d) for d in re.findall(r"starting it again in ([0-9.]+)s", stderr)]


def _starts(tmp_path: Path) -> list[float]:
    return [float(t) for t in (tmp_path / "starts").read_text().split()]


def test_restarts_after_status_70_and_passes_any_other_status_on(tmp_path: Path) -> None:
    script = _runs(tmp_path, "exit 70", "exit 70")
    done = _supervise("bash", str(script))
    assert done.returncode == 3
    assert len(_starts(tmp_path)) == 3
    assert done.stderr.count("exited with status 70 (a failed step)") == 2


def test_restarts_after_a_death_by_a_signal(tmp_path: Path) -> None:
    # 137: killed by SIGKILL, as by `kill -9` or the out-of-memory killer; 139: a crash.
    script = _runs(tmp_path, "kill -KILL $$", "kill -SEGV $$", "exit 0")
    done = _supervise("bash", str(script))
    assert done.returncode == 0
    assert len(_starts(tmp_path)) == 3
    assert "was killed by signal 9 (SIGKILL, status 137)" in done.stderr
    assert "out-of-memory killer" in done.stderr
    assert "was killed by signal 11 (SIGSEGV, status 139)" in done.stderr


def test_status_65_and_0_end_the_supervisor_at_once(tmp_path: Path) -> None:
    for status in (65, 0, 1):
        starts = tmp_path / "starts"
        starts.unlink(missing_ok=True)
        script = _runs(tmp_path, f"exit {status}")
        done = _supervise("bash", str(script))
        assert done.returncode == status
        assert len(_starts(tmp_path)) == 1
        assert "starting it again" not in done.stderr


def test_restarts_back_off_up_to_a_cap_and_start_over_after_a_long_run(tmp_path: Path) -> None:
    # Five quick failures (0.1, 0.2, 0.4, then capped at 0.4), a run longer than the reset time
    # (1 s), then a quick failure again: back to the first delay.
    script = _runs(
        tmp_path, "exit 70", "kill -KILL $$", "exit 70", "exit 70", "exit 70", "sleep 1.3; exit 70"
    )
    done = _supervise("bash", str(script), PAYWATCH_RESTART_RESET_S="1")
    assert done.returncode == 3
    assert _delays(done.stderr) == [0.1, 0.2, 0.4, 0.4, 0.4, 0.1]
    assert re.findall(r"\(restart (\d+)\)", done.stderr) == ["1", "2", "3", "4", "5", "6"]
    # It really waits: each run starts at least its delay after the previous one ended.
    starts = _starts(tmp_path)
    assert len(starts) == 7
    for before, after, delay in zip(starts[:-1], starts[1:], _delays(done.stderr), strict=True):
        assert after - before >= delay


def test_a_killed_child_is_started_again_and_sigterm_still_stops_everything(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "worker.sh"
    script.write_text(f"echo $$ >> {pids}\nexec sleep 300\n")
    proc = subprocess.Popen(
        ["bash", SUPERVISE, "bash", str(script)], stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        first = _wait_for_pids(pids, 1)[0]
        os.kill(first, signal.SIGKILL)  # what the out-of-memory killer does
        second = _wait_for_pids(pids, 2)[1]
        assert second != first
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143  # the child's status: ended by SIGTERM
        _, stderr = proc.communicate(timeout=30)
        assert "was killed by signal 9 (SIGKILL, status 137)" in stderr
        assert stderr.count("starting it again") == 1
        assert not _alive(second)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_reaches_the_child_and_ends_the_supervisor(tmp_path: Path) -> None:
    marker = tmp_path / "terminated"
    script = tmp_path / "worker.sh"
    script.write_text(f"trap 'touch {marker}; exit 0' TERM\nwhile :; do sleep 0.1; done\n")
    proc = subprocess.Popen(["bash", SUPERVISE, "bash", str(script)], env=_env())
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert marker.exists()


def test_sigterm_during_the_wait_before_a_restart_ends_the_supervisor_at_once(
    tmp_path: Path,
) -> None:
    script = _runs(tmp_path, "exit 70")
    proc = subprocess.Popen(
        ["bash", SUPERVISE, "bash", str(script)],
        stderr=subprocess.PIPE,
        text=True,
        env=_env(PAYWATCH_RESTART_DELAY_S="60", PAYWATCH_RESTART_DELAY_MAX_S="60"),
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "starting it again in 60s" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 70  # the status of the run that ended last
        assert len(_starts(tmp_path)) == 1
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_bad_delay_is_refused_with_the_variable_named(tmp_path: Path) -> None:
    done = _supervise("true", PAYWATCH_RESTART_DELAY_S="soon")
    assert done.returncode == 2
    assert "PAYWATCH_RESTART_DELAY_S='soon': expected seconds" in done.stderr


def test_a_delay_under_its_old_name_is_refused_with_the_new_one(tmp_path: Path) -> None:
    done = _supervise("true", PAYWATCH_RESTART_RESET="60")
    assert done.returncode == 2
    assert (
        "PAYWATCH_RESTART_RESET is now PAYWATCH_RESTART_RESET_S (the same value, in seconds)"
        in done.stderr
    )


def _wait_for_pids(path: Path, count: int, timeout_s: float = 30) -> list[int]:
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        if path.exists():
            pids = [int(p) for p in path.read_text().split()]
            if len(pids) >= count:
                return pids
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} runs started")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
