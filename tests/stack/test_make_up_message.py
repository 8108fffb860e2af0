"""The docs show what `make up` prints: the "Where to look" block of README.md and
docs/operations.md is deploy/local/stack.sh's message with the default settings."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", ROOT / "docs" / "operations.md")

_ASSIGNMENT = re.compile(r"^(?!ROOT=)[A-Z_]+=.*$", re.M)
_MESSAGE = re.compile(r"^    cat <<MSG\n(.*?)^MSG$", re.M | re.S)


def printed_message() -> str:
    """stack.sh's message as `make up` prints it with no PAYWATCH_* variable set, paths made
    relative to the project (as a reader's shell in the project sees them)."""
    stack = (ROOT / "deploy/local/stack.sh").read_text(encoding="utf-8")
    common = (ROOT / "deploy/local/common.sh").read_text(encoding="utf-8")
    found = _MESSAGE.search(stack)
    assert found, "deploy/local/stack.sh: no 'cat <<MSG' message"
    script = "\n".join(
        [
            f'ROOT="{ROOT}"',
            *_ASSIGNMENT.findall(common),
            *_ASSIGNMENT.findall(stack),
            "cat <<MSG",
            found.group(1) + "MSG",
        ]
    )
    done = subprocess.run(
        ["bash", "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.replace(f"{ROOT}/", "").strip("\n")


def shown_message(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    found = re.search(r"^```\n(paywatch is running\. Where to look:\n.*?)^```$", text, re.M | re.S)
    assert found, f"{page.relative_to(ROOT)}: no block of what `make up` prints"
    return found.group(1).strip("\n")


def test_the_docs_show_what_make_up_prints() -> None:
    printed = printed_message()
    assert printed.startswith("paywatch is running. Where to look:")
    assert "http://127.0.0.1:6070/" in printed and "{" not in printed.split("Logs")[0]
    for page in DOCS:
        assert shown_message(page) == printed, (
            f"{page.relative_to(ROOT)} shows another message than deploy/local/stack.sh prints:"
            f"\n{printed}"
        )
