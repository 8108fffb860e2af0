"""Decoding one payment event (schema version 1) from the bytes a producer sent.

Hot path: one typed msgspec decode (field types, per-field constraints and the cross-field
rules in ``PaymentEvent.__post_init__``). Only when that fails does :mod:`models.event_errors`
re-read the payload to say exactly which field and value is wrong. The three modules depend one
way: events <- event_errors <- event_decode.
"""

from __future__ import annotations

from typing import Final

import msgspec

from models.event_errors import diagnose
from models.events import MAX_EVENT_BYTES, EventError, PaymentEvent, decode_hook

__all__ = ["decode_event"]

_DECODER: Final = msgspec.json.Decoder(PaymentEvent, dec_hook=decode_hook)


def decode_event(raw: bytes | None) -> PaymentEvent:
    """Decode and validate one event; raise :class:`EventError` naming field and value.

    ``raw`` is a Kafka record's value as read: None when the record has no value."""
    if raw is None:
        raise EventError("unreadable", None, None, "the record has no value (null)")
    if len(raw) > MAX_EVENT_BYTES:
        raise EventError(
            "too_large",
            None,
            None,
            f"payload size {len(raw)} bytes: over the {MAX_EVENT_BYTES}-byte limit of an event",
        )
    try:
        return _DECODER.decode(raw)
    except EventError:  # pragma: no cover - msgspec wraps __post_init__ errors
        raise
    # RecursionError: msgspec's depth limit depends on how deep the caller's stack already is.
    except (
        msgspec.DecodeError,
        msgspec.ValidationError,
        UnicodeDecodeError,
        RecursionError,
    ) as exc:
        raise diagnose(raw, exc) from None
