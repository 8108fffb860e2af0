"""How a worker joins its Kafka consumer group: the Faust settings that decide how fast a
restarted worker counts again and how fast the others take over a dead worker's partitions.

- **Static membership** (Kafka's ``group.instance.id``, KIP-345; Faust's
  ``consumer_group_instance_id``, which Faust hands to aiokafka's ``AIOKafkaConsumer`` as
  ``group_instance_id``). Each worker has a stable instance id (``PAYWATCH_INSTANCE_ID``, or
  one derived from the host name and ``PAYWATCH_DATA_DIR``). A worker that died (``kill -9``,
  exit 70, out of memory) and comes back with the same id within the session timeout takes its
  old place in the group: the broker hands it its previous partitions at once, with no
  rebalance, instead of waiting for the dead member's session to expire.
- **A short session** (``PAYWATCH_SESSION_TIMEOUT_S``, 8 s; Faust's ``broker_session_timeout``,
  60 s by default) and heartbeats every second (``broker_heartbeat_interval``, 3 s by default):
  a worker that does not come back is dropped after the session timeout and the others take its
  partitions; live workers hear of the rebalance at their next heartbeat.
- A static member does not leave the group when it stops (aiokafka sends no LeaveGroup for it,
  as Kafka's own client does not), so a restart, planned or not, costs no rebalance at all; a
  worker stopped for good is dropped after the session timeout, like a dead one.

Two live workers with the same instance id would take the id from each other at every
heartbeat (each one's member id becomes unknown to the broker when the other joins, and it
joins again). Faust also refuses a place whose previous holder had another web address (its
assignor asserts that the address matches, and the consumer then stops silently). So before a
worker joins, :func:`claim_instance` makes sure that the place it takes is its own:
one worker per data dir on a host (a lock), and a member of the group that holds the same id
under another name (client id: host name, web address) must be gone within the session timeout
or start-up stops with a message naming PAYWATCH_INSTANCE_ID.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiokafka.admin import AIOKafkaAdminClient

from streams.kafka_security import client_args
from streams.settings import Settings, SettingsError

log = logging.getLogger(__name__)

#: Seconds between heartbeats: how soon a live worker hears of a rebalance (Kafka wants it at
#: most a third of the session timeout, which is 6 s or more).
HEARTBEAT_INTERVAL_S = 1.0
#: Seconds past the session timeout that :func:`claim_instance` gives the broker to drop a
#: member that holds this worker's instance id under another name.
EXPIRY_MARGIN_S = 5.0
#: The member id the broker gives a static member: its instance id, "-" and a UUID.
_MEMBER_SUFFIX = r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: The lock file of :func:`claim_instance`, held open for the life of the process.
_LOCKS: dict[Path, IO[str]] = {}


def default_instance_id(data_dir: Path, hostname: str | None = None) -> str:
    """The instance id of a worker that sets none: its host name, the name of its data dir and
    a digest of the data dir's full path. The same worker restarted on the same host with the
    same PAYWATCH_DATA_DIR gets the same id; two workers on one host need two data dirs anyway
    (their RocksDB tables), so they get two ids."""
    host = hostname if hostname is not None else socket.gethostname()
    path = str(data_dir.expanduser().resolve())
    digest = hashlib.sha256(path.encode()).hexdigest()[:10]
    name = f"{host[:100]}-{data_dir.name[:100]}-{digest}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def instance_id(settings: Settings) -> str:
    """This worker's static member id: PAYWATCH_INSTANCE_ID, or the one derived from the host
    name and PAYWATCH_DATA_DIR."""
    return settings.instance_id or default_instance_id(settings.data_dir)


def client_id(settings: Settings) -> str:
    """The Kafka client id of this worker's consumer and producer: its instance id, host name
    and web address, which the broker shows for each group member (and which tells this worker
    from another one that uses the same instance id)."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())
    return f"paywatch/{instance_id(settings)}/{host}/{settings.web_host}:{settings.web_port}"


def group_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``faust.App`` (group membership and session timeouts).

    Called once, as the worker's app is built and before it joins the group: it first claims
    the instance id for this process (:func:`claim_instance`), which can wait up to the session
    timeout or stop start-up."""
    claim_instance(settings)
    return {
        "consumer_group_instance_id": instance_id(settings),
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": HEARTBEAT_INTERVAL_S,
        "broker_client_id": client_id(settings),
    }


@dataclass(frozen=True)
class Member:
    """A member of the consumer group, as DescribeGroups shows it."""

    member_id: str
    client_id: str
    client_host: str


def claim_instance(settings: Settings) -> None:
    """Make sure this process may take its instance id's place in the group.

    1. Lock ``PAYWATCH_DATA_DIR/worker.lock``: a second worker on the same data dir (and so
       with the same derived instance id) stops here.
    2. Describe the group. A member with this instance id and this worker's client id is this
       worker's own previous run (the lock shows it is not running): join at once, that is the
       fast restart. A member with this instance id under another client id (another host, or
       this worker with another web address) must leave within the session timeout; if it does
       not, it is alive, and start-up stops. A broker that cannot be asked is logged and the
       check skipped: the worker's own start-up reports the broker."""
    _lock_data_dir(settings)
    mine = instance_id(settings)
    deadline_s = time.monotonic() + settings.session_timeout_s + EXPIRY_MARGIN_S
    waited = False
    while True:
        try:
            holders = [m for m in _members(settings) if _holds(m.member_id, mine)]
        except Exception as error:  # any failure only skips the check
            log.warning("could not describe group %s (%s); joining", settings.app_id, error)
            return
        others = [m for m in holders if m.client_id != client_id(settings)]
        if not others:
            if waited:
                log.warning("the other holder of instance id %s is gone; joining", mine)
            return
        other = others[0]
        if time.monotonic() > deadline_s:
            raise SettingsError(
                f"paywatch: another live worker of group {settings.app_id!r} uses "
                f"PAYWATCH_INSTANCE_ID={mine!r} (client {other.client_id!r} at "
                f"{other.client_host.lstrip('/')}). Two workers with one instance id take the "
                "group membership from each other; give each worker its own "
                "PAYWATCH_INSTANCE_ID, or leave it empty for one derived from the host name and "
                "PAYWATCH_DATA_DIR."
            )
        if not waited:
            log.warning(
                "instance id %s is held in group %s by client %s at %s (another worker, or this "
                "one with another web address): waiting up to %.0f s for its session to end",
                mine,
                settings.app_id,
                other.client_id,
                other.client_host.lstrip("/"),
                settings.session_timeout_s + EXPIRY_MARGIN_S,
            )
            waited = True
        time.sleep(0.5)


def _holds(member_id: str, instance: str) -> bool:
    return re.fullmatch(re.escape(instance) + _MEMBER_SUFFIX, member_id) is not None


def _lock_data_dir(settings: Settings) -> None:
    path = settings.data_dir / "worker.lock"
    if path in _LOCKS:
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise SettingsError(
            f"paywatch: another worker (pid {holder}) runs with "
            f"PAYWATCH_DATA_DIR={str(settings.data_dir)!r}; give each worker its own "
            "PAYWATCH_DATA_DIR (and PAYWATCH_WEB_PORT)."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _LOCKS[path] = handle


def _members(settings: Settings) -> list[Member]:
    """The group's members (DescribeGroups), asked from a thread of its own so that this works
    with or without a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _describe(settings)).result()


async def _describe(settings: Settings) -> list[Member]:
    admin = AIOKafkaAdminClient(**client_args(settings), request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), 15)
        responses = await asyncio.wait_for(admin.describe_consumer_groups([settings.app_id]), 15)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    members = []
    for response in responses:
        for group in response.groups:
            # (error_code, group, state, protocol_type, protocol, members, ...)
            for member in group[5]:
                members.append(Member(member[0], member[1], member[2]))
    return members
