"""The Quix Streams contender's own virtualenv, made on first use by bench_stream.py.

Quix Streams cannot be installed next to paywatch: every 3.x release caps pydantic and
pydantic-settings below the versions paywatch pins (3.28.1 asks for pydantic < 2.14 and
pydantic-settings < 2.16; paywatch pins 2.14.3 and 2.16.3), so pip refuses the pair
(ResolutionImpossible) and an optional extra in pyproject.toml could never be installed. The
contender runs in a process of its own anyway, so it gets a virtualenv of its own: Quix Streams
at the version pinned here, with the versions Quix itself asks for, plus the few packages that
paywatch's `models/` needs (msgspec, PyYAML, tzdata and the two unit registries, at the versions
pyproject.toml pins). Nothing of it is a paywatch dependency, and `make test` never installs it.

    .venv/bin/python -m bench.quix_env      # make (or check) it; prints its python
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK = Path(os.environ.get("PAYWATCH_STACK_DIR") or ROOT / ".stack")
VENV = STACK / "bench-quix-venv"
#: The Quix Streams release the figures are measured with.
QUIXSTREAMS = "quixstreams==3.28.1"
#: What `models/` imports beyond the standard library (pins taken from pyproject.toml).
MODELS_NEEDS = ("msgspec", "PyYAML", "tzdata", "vietnam-provinces", "vietnamadminunits")


def requirements() -> list[str]:
    """Quix Streams and the pinned packages that `models/` needs, as pip arguments."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {req.split("==")[0].strip().lower(): req for req in project["dependencies"]}
    missing = [name for name in MODELS_NEEDS if name.lower() not in pins]
    if missing:
        raise SystemExit(f"quix_env: pyproject.toml no longer pins {missing}; update MODELS_NEEDS")
    return [QUIXSTREAMS, *(pins[name.lower()] for name in MODELS_NEEDS)]


def python() -> Path:
    return VENV / "bin" / "python"


def ensure(quiet: bool = False) -> Path:
    """The contender's python, after making the virtualenv if it is missing or out of date."""
    wanted = "\n".join(requirements()) + "\n"
    stamp = VENV / ".paywatch-bench-quix"
    if python().exists() and stamp.exists() and stamp.read_text() == wanted:
        return python()
    log = STACK / "logs" / "bench-quix-pip.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"making {VENV} for the Quix Streams contender (log: {log})", flush=True)
    with log.open("w") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(VENV)],
            [str(python()), "-m", "pip", "install", "-q", *requirements()],
        ]
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=out, check=False).returncode:
                raise SystemExit(f"quix_env: {' '.join(step[:4])}... failed; see {log}")
    stamp.write_text(wanted)
    return python()


if __name__ == "__main__":
    print(ensure())
