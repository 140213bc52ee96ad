"""The Redis key-value store (redis-py's asyncio client), selected by `TAPPASS_KV_URL`.

Imported only when a redis:// URL is configured (the `redis` extra). Check-and-add
operations are Lua scripts, so they are atomic across every worker sharing the server;
the rest are single commands or MULTI blocks. A connection failure or timeout raises
KVUnavailable (the failover layer then answers from process memory).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from tappass.errors import ConfigError
from tappass.kv.base import Counter, Delta, KVUnavailable, Reserved

T = TypeVar("T")
TIMEOUT = 1.0  # seconds for a connect, a command or a free connection: then Redis is down
MAX_CONNECTIONS = 32  # per worker; more requests at once wait for a free connection

# KEYS: counters. ARGV, four per counter: amount, ttl, cap, seed ("" = none).
RESERVE = """
local seeded = {}
for i = 1, #KEYS do
  local at = 4 * (i - 1)
  local value = redis.call('GET', KEYS[i])
  if not value then
    if ARGV[at + 4] == '' then return {2, i - 1, 0} end
    value = ARGV[at + 4]
    seeded[i] = true
  end
  value = tonumber(value)
  local cap = ARGV[at + 3]
  if cap ~= '' and value + tonumber(ARGV[at + 1]) > tonumber(cap) then
    return {1, i - 1, value}
  end
end
for i = 1, #KEYS do
  local at = 4 * (i - 1)
  if seeded[i] then redis.call('SET', KEYS[i], ARGV[at + 4]) end
  redis.call('INCRBY', KEYS[i], ARGV[at + 1])
  redis.call('EXPIRE', KEYS[i], ARGV[at + 2])
end
return {0, 0, 0}
"""

# KEYS: counters. ARGV, three per counter: delta, ttl, create ("1" or "0").
ADJUST = """
for i = 1, #KEYS do
  local at = 3 * (i - 1)
  if ARGV[at + 3] == '1' or redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], ARGV[at + 1])
    redis.call('EXPIRE', KEYS[i], ARGV[at + 2])
  end
end
return 0
"""

# KEYS[1]: the bucket. ARGV: capacity, refill rate per second. Returns the wait in seconds.
TAKE_TOKEN = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(bucket[1]) or capacity
local stamp = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'stamp', string.format('%.6f', now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return string.format('%.6f', wait)
"""


def _client(url: str) -> Any:
    try:
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError:
        raise ConfigError("TAPPASS_KV_URL is a redis:// URL but the Redis client is not "
                          "installed: pip install 'tappass[redis]'") from None
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=TIMEOUT, socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT, retry=Retry(NoBackoff(), 0), decode_responses=True)
    return Redis.from_pool(pool)  # closing the client closes the pool


class RedisKV:
    kind = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        from redis.exceptions import ConnectionError, TimeoutError

        self.prefix = prefix
        self._client = _client(url)
        self._down_errors: tuple[type[BaseException], ...] = (
            ConnectionError, TimeoutError, OSError)
        self._reserve = self._client.register_script(RESERVE)
        self._adjust = self._client.register_script(ADJUST)
        self._take = self._client.register_script(TAKE_TOKEN)

    async def _do(self, op: Callable[[], Awaitable[T]]) -> T:
        try:
            return await op()
        except self._down_errors as exc:
            raise KVUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def _k(self, key: str) -> str:
        return self.prefix + key

    async def take_token(self, key: str, per_minute: int) -> float:
        wait = await self._do(lambda: self._take(keys=[self._k(key)],
                                                 args=[per_minute, per_minute / 60.0]))
        return float(wait)

    async def reserve(self, counters: Sequence[Counter]) -> Reserved:
        args: list[Any] = []
        for counter in counters:
            args += [counter.amount, counter.ttl, "" if counter.cap is None else counter.cap,
                     "" if counter.seed is None else counter.seed]
        status, index, current = await self._do(
            lambda: self._reserve(keys=[self._k(c.key) for c in counters], args=args))
        name = ("ok", "over", "unseeded")[int(status)]
        return Reserved(name, int(index), int(current), self)  # type: ignore[arg-type]

    async def adjust(self, deltas: Sequence[Delta]) -> None:
        if not deltas:
            return
        args: list[Any] = []
        for delta in deltas:
            args += [delta.amount, delta.ttl, "1" if delta.create else "0"]
        await self._do(lambda: self._adjust(keys=[self._k(d.key) for d in deltas], args=args))

    async def get_ints(self, keys: Sequence[str]) -> list[int]:
        values = await self._do(lambda: self._client.mget([self._k(k) for k in keys]))
        return [int(v) if v is not None else 0 for v in values]

    async def _multi(self, build: Callable[[Any], object]) -> list[Any]:
        async def run() -> list[Any]:
            async with self._client.pipeline(transaction=True) as pipe:
                build(pipe)
                return list(await pipe.execute())
        return await self._do(run)

    async def hash_incr_float(self, key: str, field: str, amount: float, ttl: int) -> float:
        k = self._k(key)
        out = await self._multi(lambda p: (p.hincrbyfloat(k, field, amount), p.expire(k, ttl)))
        return float(out[0])

    async def hash_get(self, key: str) -> dict[str, str]:
        return dict(await self._do(lambda: self._client.hgetall(self._k(key))))

    async def hash_set_new(self, key: str, field: str, value: str, ttl: int) -> str:
        k = self._k(key)
        out = await self._multi(lambda p: (p.hsetnx(k, field, value), p.hget(k, field),
                                           p.expire(k, ttl)))
        return str(out[1])

    async def set_add(self, key: str, members: Sequence[str], ttl: int) -> list[bool]:
        k = self._k(key)

        def build(p: Any) -> None:
            for member in members:
                p.sadd(k, member)
            p.expire(k, ttl)
        out = await self._multi(build)
        return [bool(n) for n in out[:len(members)]]

    async def set_members(self, key: str) -> set[str]:
        return set(await self._do(lambda: self._client.smembers(self._k(key))))

    async def list_push(self, key: str, values: Sequence[str], max_len: int,
                        ttl: int) -> list[str]:
        k = self._k(key)

        def build(p: Any) -> None:
            if values:
                p.rpush(k, *values)
            p.ltrim(k, -max_len, -1)
            p.lrange(k, 0, -1)
            p.expire(k, ttl)
        out = await self._multi(build)
        return list(out[-2])

    async def list_get(self, key: str) -> list[str]:
        return list(await self._do(lambda: self._client.lrange(self._k(key), 0, -1)))

    async def ping(self) -> None:
        await self._do(lambda: self._client.ping())

    async def close(self) -> None:
        await self._client.aclose()
