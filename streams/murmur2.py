"""Kafka's default partitioner hash (murmur2, as the Java client and aiokafka compute it).

aiokafka's own ``murmur2`` reads the key a byte at a time in plain Python; ingest hashes two
unique keys per payment (its transaction id and its dossier id), where that was 4% of a
worker's time. This one reads the 32-bit words in one ``struct`` call and leaves out the
masks the arithmetic does not need; a test holds it equal to aiokafka's on random keys.
"""

from __future__ import annotations

import struct
from functools import lru_cache

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@lru_cache(maxsize=64)
def _words(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}I")


def murmur2(data: bytes) -> int:
    """The 32-bit murmur2 hash of ``data`` with Kafka's seed."""
    length = len(data)
    h = _SEED ^ length
    count = length >> 2
    if count:
        for k in _words(count).unpack_from(data):
            k = (k * _M) & _MASK
            k ^= k >> 24
            h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = length & 3
    if tail:
        end = length - tail
        if tail == 3:
            h ^= data[end + 2] << 16
        if tail >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)
