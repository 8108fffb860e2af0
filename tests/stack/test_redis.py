"""The real Redis: password required, round trip."""

from __future__ import annotations

import pytest
import redis


def test_round_trip(redis_server_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_server_url, decode_responses=True)
    try:
        client.hset(f"{redis_prefix}:unit:17", mapping={"name": "Hòa Bình", "level": "province"})
        assert client.hgetall(f"{redis_prefix}:unit:17") == {
            "name": "Hòa Bình",
            "level": "province",
        }
    finally:
        client.close()


def test_password_is_required(redis_server_url: str) -> None:
    anonymous = redis_server_url.replace(redis_server_url.split("@")[0] + "@", "redis://")
    client = redis.Redis.from_url(anonymous)
    try:
        with pytest.raises(redis.AuthenticationError):
            client.ping()
    finally:
        client.close()
