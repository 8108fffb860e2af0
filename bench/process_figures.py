"""What a worker's processes use, read from /proc: a worker and its live-view process
(streams/view_host.py) are counted together."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TICKS_S = os.sysconf("SC_CLK_TCK")


def _status_mib(pid: int, field: str) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a worker and its live-view process)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(current := todo.pop())
        todo += parents.get(current, [])
    return tree


def peak_rss_mib(pid: int) -> float | None:
    """The peak resident memory of ``pid`` and its descendants, summed (the sum of the peaks:
    at least the peak of the sum)."""
    peaks = [_status_mib(p, "VmHWM:") for p in process_tree(pid)]
    return sum(p for p in peaks if p is not None) if peaks[0] is not None else None


def rss_mib(pid: int) -> float | None:
    """The resident memory of ``pid`` and its descendants now, summed."""
    now = [_status_mib(p, "VmRSS:") for p in process_tree(pid)]
    return sum(p for p in now if p is not None) if now[0] is not None else None


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` alone so far (0 once it is gone)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS_S
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants so far."""
    return sum(process_cpu_s(each) for each in process_tree(pid))


def machine_busy_cpu_s() -> float:
    """CPU seconds every core of the machine spent busy so far (anything but idle and I/O
    wait; time taken by the hypervisor counts as busy)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICKS_S
