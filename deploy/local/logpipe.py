"""logpipe.py FILE: what a local stack process writes (on stdin), into FILE, rotated.

The local stack (deploy/local/common.sh, ``start_logged``) sends each server's and the worker's
output through this: FILE is kept under PAYWATCH_LOG_MAX_MB (10) megabytes, with
PAYWATCH_LOG_BACKUPS (3) older files beside it (FILE.1 the newest), and terminal escape codes
(colours, cursor moves) and other control characters are left out, so the files read as text.
Python's standard library only: it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import signal
import sys

#: CSI and OSC escape sequences, lone escapes, and control characters other than tab.
_UNPRINTABLE = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.?|[\x00-\x08\x0b-\x1f\x7f]"
)


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit() or int(value) < 1:
        sys.exit(f"logpipe.py: {name}={value!r}: expected a whole number of 1 or more")
    return int(value)


def clean(line: bytes) -> str:
    """One line as text: escape codes and control characters out, undecodable bytes marked."""
    return _UNPRINTABLE.sub(b"", line.rstrip(b"\r\n")).decode("utf-8", errors="replace")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: logpipe.py FILE")
    # It ends when the process it serves closes its output, never on the terminal's signals
    # (the process it serves runs under nohup).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handler = logging.handlers.RotatingFileHandler(
        sys.argv[1],
        maxBytes=_number("PAYWATCH_LOG_MAX_MB", 10) * 1024 * 1024,
        backupCount=_number("PAYWATCH_LOG_BACKUPS", 3),
        encoding="utf-8",
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    for line in sys.stdin.buffer:
        text = clean(line)
        handler.emit(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))
    handler.close()


if __name__ == "__main__":
    main()
