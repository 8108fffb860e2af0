"""The pipe between a worker and its live-view process (streams/view_process.py on the worker's
side, streams/view_host.py in the process): length-prefixed msgpack frames, each a list
``[kind, *arguments]``.

Worker to view: ``config`` (first, once), ``rows`` (changed counter rows as (unit, period,
the ten counter values)), ``drain`` (write everything pending, then answer ``drained``),
``discard`` (units whose partitions went away), the heal sequence ``begin_heal`` / ``rows`` ...
/ ``end_heal`` or ``not_now``, and ``stop``. View to worker: ``state`` (pending keys, lag),
``error``, ``flushed``, ``healed`` (the sink's figures for /metrics), ``heal`` (Redis lost the
view: send every owned row again) and ``drained`` (whether a drain wrote everything in time)."""

from __future__ import annotations

import asyncio
import struct
from typing import Any, Final

import msgspec

CONFIG: Final = "config"
ROWS: Final = "rows"
DRAIN: Final = "drain"
DISCARD: Final = "discard"
BEGIN_HEAL: Final = "begin_heal"
END_HEAL: Final = "end_heal"
NOT_NOW: Final = "not_now"
STOP: Final = "stop"
STATE: Final = "state"
ERROR: Final = "error"
FLUSHED: Final = "flushed"
HEALED: Final = "healed"
HEAL: Final = "heal"
DRAINED: Final = "drained"

_HEADER: Final = struct.Struct(">I")
_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(list[Any])


def frame(kind: str, *arguments: Any) -> bytes:
    body = _ENCODER.encode((kind, *arguments))
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> list[Any] | None:
    """The next frame, or None at the end of the pipe (the other side is gone)."""
    try:
        head = await reader.readexactly(_HEADER.size)
        return _DECODER.decode(await reader.readexactly(_HEADER.unpack(head)[0]))
    except asyncio.IncompleteReadError:
        return None
