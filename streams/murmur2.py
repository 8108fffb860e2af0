"""Kafka's default partitioner hash: murmur2 with Kafka's seed, as the Java client and aiokafka
compute it.

aiokafka's own ``murmur2`` reads the key a byte at a time in plain Python; ingest hashes two
unique keys per payment (its transaction id and its dossier id). The ``murmurhash2`` extension
computes the same hash about 6 times faster; a test holds it equal to aiokafka's on any bytes.
"""

from __future__ import annotations

from typing import Final

from murmurhash2 import murmurhash2

#: The seed of Kafka's murmur2 (``Utils.murmur2`` in the Java client).
KAFKA_SEED: Final = 0x9747B28C


def murmur2(data: bytes) -> int:
    """The 32-bit murmur2 hash of ``data`` with Kafka's seed."""
    return murmurhash2(data, KAFKA_SEED)
