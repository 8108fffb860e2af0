"""The dead-letter record written to `payments-dlq`: JSON with the reason, a detail message,
where the record came from, and the original bytes (base64, and as text when they are UTF-8).

A dead letter always fits in one Kafka message: a value over :data:`MAX_KEPT_BYTES` is kept
as its first :data:`PREFIX_BYTES` bytes, with its size and SHA-256, so the original can still
be found at its source topic, partition and offset. Keys are cut to 1 KiB where the record is
read (``streams.wire.MAX_SOURCE_KEY_BYTES``), with the whole key's size kept.
The worst case (a kept value that is all control characters, each escaped as six bytes of
text) stays under 600 KiB, below the broker's default limit of 1 MiB.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Final

from models.events import MAX_EVENT_BYTES
from streams.ingest import DeadLetter

#: Values up to this size are kept whole (every event the pipeline can accept fits).
MAX_KEPT_BYTES: Final = MAX_EVENT_BYTES
#: How much of a larger value is kept.
PREFIX_BYTES: Final = 4096
MAX_DETAIL_CHARS: Final = 1000


def _kept(data: bytes, limit: int) -> tuple[bytes, dict[str, Any]]:
    """``data`` itself when it is at most ``limit`` bytes, else its prefix and a description
    of the whole."""
    if len(data) <= limit:
        return data, {}
    whole = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return data[: min(limit, PREFIX_BYTES)], whole


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def encode_dead_letter(dead: DeadLetter) -> bytes:
    source = dead.source
    raw = dead.raw if dead.raw is not None else b""
    value, value_whole = _kept(raw, MAX_KEPT_BYTES)
    detail = dead.detail
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
    doc: dict[str, Any] = {
        "reason": dead.reason,
        "detail": detail,
        "topic": source.topic,
        "partition": source.partition,
        "offset": source.offset,
        "key": None,
        "value_null": dead.raw is None,
        "value_b64": base64.b64encode(value).decode(),
        "value_text": _text(value) if not value_whole else None,
        "value_size": len(raw),
        "value_sha256": hashlib.sha256(raw).hexdigest(),
        "value_truncated": bool(value_whole),
    }
    if source.key is not None:
        doc["key"] = base64.b64encode(source.key).decode()
        doc["key_size"] = source.key_size if source.key_size >= 0 else len(source.key)
        doc["key_truncated"] = source.key_size >= 0
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()


def dead_letter_key(dead: DeadLetter) -> bytes | None:
    """The dead letter's Kafka key: the source key (already cut to 1 KiB)."""
    return dead.source.key
