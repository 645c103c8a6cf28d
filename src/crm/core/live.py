"""Live updates: publish small change notices on Redis pub/sub; each web process fans them out to its streams.

Notices carry ids only (reference, entity, queue, assignee). A stream decides whether the change concerns its
user and re-renders its fragment through the same scoped queries as the page, so a pushed fragment can never
show what the page would not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import redis.asyncio as redis

log = logging.getLogger("crm.live")

_publishers: dict[tuple[str, int], redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    """One publishing client per Redis URL and event loop (a client's connections belong to one loop)."""
    key = (url, id(asyncio.get_running_loop()))
    client = _publishers.get(key)
    if client is None:
        client = _publishers[key] = redis.Redis.from_url(url)
    return client


async def publish(url: str, channel: str, message: dict) -> None:
    await _client(url).publish(channel, json.dumps(message))


class LiveHub:
    """One Redis subscription per process and channel, fanned out to an asyncio.Queue per open stream."""

    def __init__(self, url: str):
        self.url = url
        self._listeners: dict[str, set[asyncio.Queue]] = {}
        self._tasks: dict[str, asyncio.Task] = {}

    async def _pump(self, channel: str) -> None:
        while True:  # reconnect after Redis restarts; streams resync on their own reconnection
            try:
                pubsub = redis.Redis.from_url(self.url).pubsub()
                await pubsub.subscribe(channel)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = json.loads(message["data"])
                    for queue in list(self._listeners.get(channel, ())):
                        queue.put_nowait(data)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live channel %s lost; reconnecting", channel)
                await asyncio.sleep(1)

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self._listeners.setdefault(channel, set()).add(queue)
        if channel not in self._tasks or self._tasks[channel].done():
            self._tasks[channel] = asyncio.create_task(self._pump(channel))
            await asyncio.sleep(0.05)  # let the subscription start before the first render
        try:
            yield queue
        finally:
            self._listeners[channel].discard(queue)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()


def drain(queue: asyncio.Queue) -> list[dict]:
    """Everything already waiting, so a burst of changes costs one re-render."""
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
