"""The dashboard's Redis user (deploy/redis/dashboard.acl) reads the live view and subscribes to
its channel, and can do nothing else: no write, no other key, no other channel."""

from __future__ import annotations

import pytest
import redis

from tests.dashboard.dashboard_harness import DashboardUser


def test_the_dashboard_user_may_only_read_the_live_view(
    redis_server_url: str, redis_prefix: str
) -> None:
    admin = redis.Redis.from_url(redis_server_url, decode_responses=True)
    user = DashboardUser(redis_server_url, redis_prefix)
    reader = redis.Redis.from_url(user.url, decode_responses=True)
    try:
        admin.hset(f"{redis_prefix}:v1:kpi:17:2022", mapping={"paid": "3"})
        admin.hset(f"{redis_prefix}-other:v1:kpi:17:2022", mapping={"paid": "4"})
        admin.xadd(f"{redis_prefix}:v1:changes", {"unit": "17", "period": "2022"})
        assert reader.ping()
        assert reader.hgetall(f"{redis_prefix}:v1:kpi:17:2022") == {"paid": "3"}
        assert reader.hmget(f"{redis_prefix}:v1:kpi:17:2022", ["paid"]) == ["3"]
        assert len(reader.xrange(f"{redis_prefix}:v1:changes") or []) == 1
        pubsub = reader.pubsub()
        pubsub.subscribe(f"{redis_prefix}:v1:changes")
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        pubsub.close()
        refused = [
            lambda: reader.hset(f"{redis_prefix}:v1:kpi:17:2022", "paid", "9"),
            lambda: reader.delete(f"{redis_prefix}:v1:meta"),
            lambda: reader.hgetall(f"{redis_prefix}-other:v1:kpi:17:2022"),
            lambda: reader.publish(f"{redis_prefix}:v1:changes", "x"),
            lambda: reader.keys("*"),
            lambda: reader.flushall(),
            lambda: reader.execute_command("ACL", "LIST"),
        ]
        for command in refused:
            with pytest.raises(redis.exceptions.NoPermissionError):
                command()
        other = reader.pubsub()
        with pytest.raises(redis.exceptions.NoPermissionError):
            other.subscribe("another-channel")
            other.get_message(timeout=2)
        other.close()
        assert admin.hget(f"{redis_prefix}:v1:kpi:17:2022", "paid") == "3"
    finally:
        admin.delete(f"{redis_prefix}-other:v1:kpi:17:2022")
        reader.close()
        admin.close()
        user.drop()
