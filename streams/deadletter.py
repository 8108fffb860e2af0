"""The dead-letter record written to `payments-dlq`: JSON with the original bytes (base64, and
as text when they are UTF-8), the reason, a detail message and where the record came from."""

from __future__ import annotations

import base64
import json

from streams.ingest import DeadLetter


def encode_dead_letter(dead: DeadLetter) -> bytes:
    source = dead.source
    try:
        text: str | None = dead.raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    doc = {
        "reason": dead.reason,
        "detail": dead.detail,
        "topic": source.topic,
        "partition": source.partition,
        "offset": source.offset,
        "key": None if source.key is None else base64.b64encode(source.key).decode(),
        "value_b64": base64.b64encode(dead.raw).decode(),
        "value_text": text,
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
