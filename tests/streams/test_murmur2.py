"""streams/murmur2.py gives exactly aiokafka's (Kafka's) murmur2, so ingest routes a key to the
partition every Kafka client would."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as kafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from streams.murmur2 import murmur2


@given(st.binary(max_size=200))
def test_equal_to_aiokafka_on_any_bytes(data: bytes) -> None:
    assert murmur2(data) == kafka_murmur2(data)


def test_known_keys() -> None:
    # Every tail length, and keys like the ones hashed (transaction, dossier, unit codes).
    for key in (b"", b"a", b"ab", b"abc", b"abcd", b"TX-2022-000001", "Hòa Bình".encode()):
        assert murmur2(key) == kafka_murmur2(key)
    assert murmur2(b"21") == kafka_murmur2(b"21") != 0
