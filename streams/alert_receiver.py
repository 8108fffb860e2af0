"""The local stack's alert receiver: the webhook every Alertmanager receiver of
deploy/alertmanager/alertmanager.yml points at (``/alerts/<receiver>``), so that an alert reaches
a person on a machine with no chat or mail: each alert is one line in the receiver's log, kept
in a JSON Lines file, and listed by `paywatch alerts`. It also serves deploy/runbooks.md at
``/runbooks`` (one anchor per section), the absolute address the rules' ``runbook_url`` names.

Standard library only (http.server): it holds a few thousand notifications at most."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

#: Alerts kept in memory (and read back from the file at start).
KEEP = 5000
#: Where the local stack runs the receiver (deploy/local/common.sh reads the same variable).
PORT_VARIABLE = "PAYWATCH_ALERT_RECEIVER_PORT"
DEFAULT_PORT = 5001


def configured_port() -> int:
    """The receiver's port from PAYWATCH_ALERT_RECEIVER_PORT (5001 when unset); ValueError with
    a message naming the variable when it is not a port."""
    text = os.environ.get(PORT_VARIABLE, "").strip() or str(DEFAULT_PORT)
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{PORT_VARIABLE}={text!r}: expected a port number 1-65535")
    return int(text)


class AlertBook:
    """The alerts received, newest last; appended to ``store`` (JSON Lines) when given."""

    def __init__(self, store: Path | None = None, keep: int = KEEP) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._alerts: deque[dict[str, Any]] = deque(maxlen=keep)
        if store is not None and store.exists():
            for line in store.read_text(encoding="utf-8").splitlines():
                try:
                    self._alerts.append(json.loads(line))
                except ValueError:
                    continue  # a line cut by a crash

    def add(self, receiver: str, notification: dict[str, Any]) -> list[dict[str, Any]]:
        """Keep each alert of an Alertmanager webhook notification; return them."""
        received = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        entries = [
            {
                "received": received,
                "receiver": receiver,
                "status": str(alert.get("status", notification.get("status", ""))),
                "labels": dict(alert.get("labels") or {}),
                "annotations": dict(alert.get("annotations") or {}),
                "startsAt": alert.get("startsAt"),
                "endsAt": alert.get("endsAt"),
            }
            for alert in notification.get("alerts") or []
            if isinstance(alert, dict)
        ]
        with self._lock:
            self._alerts.extend(entries)
            if self.store is not None and entries:
                with self.store.open("a", encoding="utf-8") as f:
                    for entry in entries:
                        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return entries

    def alerts(self, receiver: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self._alerts)
        return [a for a in found if receiver is None or a["receiver"] == receiver]


def describe(entry: dict[str, Any]) -> str:
    """One log line for a received alert: status, severity, name, receiver, summary, runbook."""
    labels, annotations = entry["labels"], entry["annotations"]
    where = " ".join(
        f"{k}={labels[k]}" for k in ("unit", "province", "district", "instance") if k in labels
    )
    parts = [
        entry["status"].upper(),
        labels.get("severity", "-"),
        labels.get("alertname", "?"),
        f"[{entry['receiver']}]",
        where,
        annotations.get("summary", ""),
    ]
    if "runbook_url" in annotations:
        parts.append(f"runbook: {annotations['runbook_url']}")
    return " ".join(p for p in parts if p)


def runbook_page(markdown: str) -> str:
    """The runbook as a plain HTML page: the text as it is, each heading an anchor named as
    GitHub names it (``#paywatchworkerdown``), so a ``runbook_url`` lands on its section."""
    out = ["<!doctype html><meta charset=utf-8><title>paywatch runbooks</title>"]
    out.append("<body style='font-family:monospace;white-space:pre-wrap;max-width:100ch'>")
    for line in markdown.splitlines():
        if m := re.match(r"(#{1,6}) (.*)", line):
            level, title = len(m.group(1)), m.group(2).strip()
            out.append(f"<h{level} id='{anchor(title)}'>{html.escape(title)}</h{level}>")
        else:
            out.append(html.escape(line) + "\n")
    return "".join(out)


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def make_server(host: str, port: int, book: AlertBook, runbooks: Path) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if not path.startswith("/alerts/") or len(path) <= len("/alerts/"):
                self._send(404, "text/plain", b"POST to /alerts/<receiver>\n")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                notification = json.loads(self.rfile.read(length))
                if not isinstance(notification, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                self._send(400, "text/plain", f"not an Alertmanager notification: {exc}\n".encode())
                return
            for entry in book.add(path[len("/alerts/") :], notification):
                log.warning("%s", describe(entry))
            self._send(200, "text/plain", b"ok\n")

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path in ("/alerts", "/alerts/"):
                receiver = parse_qs(parts.query).get("receiver", [None])[0]
                body = json.dumps(book.alerts(receiver), ensure_ascii=False).encode()
                self._send(200, "application/json", body)
            elif parts.path == "/runbooks":
                try:
                    page = runbook_page(runbooks.read_text(encoding="utf-8"))
                except OSError:
                    self._send(404, "text/plain", f"no runbooks at {runbooks}\n".encode())
                    return
                self._send(200, "text/html; charset=utf-8", page.encode())
            elif parts.path == "/-/ready":
                self._send(200, "text/plain", b"ok\n")
            else:
                self._send(404, "text/plain", b"GET /alerts, /runbooks or /-/ready\n")

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per alert is logged above; requests are not

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
