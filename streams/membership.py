"""How a worker joins its Kafka consumer group: the Faust settings that decide how fast a
restarted worker counts again and how fast the others take over a dead worker's partitions."""

from __future__ import annotations

from typing import Any

from streams.settings import Settings


def group_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``faust.App`` (group membership and session timeouts)."""
    return {}
