"""Who has a live socket right now, across every backend process.

A message for a member with no live socket also writes a push job; one with a socket does not.
With Redis, each connection keeps an entry in a per-user sorted set scored by its expiry and
refreshes it while open, so a process that dies stops counting within `TTL_SECONDS`.
"""

import time
import uuid
from collections import Counter
from collections.abc import Iterable

from redis.asyncio import Redis

TTL_SECONDS = 60
REFRESH_SECONDS = 20


def _key(user_id: uuid.UUID | str) -> str:
    return f"carecircle:online:{user_id}"


class Presence:
    def __init__(self, redis: Redis | None = None) -> None:
        self._redis = redis
        self._local: Counter[str] = Counter()

    def use_redis(self, redis: Redis | None) -> None:
        self._redis = redis

    async def connected(self, user_id: uuid.UUID, connection_id: str) -> None:
        self._local[str(user_id)] += 1
        await self.refresh(user_id, connection_id)

    async def refresh(self, user_id: uuid.UUID, connection_id: str) -> None:
        if self._redis is not None:
            key = _key(user_id)
            now = time.time()
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {connection_id: now + TTL_SECONDS})
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.expire(key, TTL_SECONDS * 2)
                await pipe.execute()

    async def disconnected(self, user_id: uuid.UUID, connection_id: str) -> None:
        name = str(user_id)
        self._local[name] -= 1
        if self._local[name] <= 0:
            del self._local[name]
        if self._redis is not None:
            await self._redis.zrem(_key(user_id), connection_id)

    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        ids = list(user_ids)
        if self._redis is None:
            return {u for u in ids if self._local.get(str(u), 0) > 0}
        if not ids:
            return set()
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in ids:
                pipe.zcount(_key(user_id), now, "+inf")
            counts = await pipe.execute()
        return {u for u, count in zip(ids, counts, strict=True) if count > 0}
