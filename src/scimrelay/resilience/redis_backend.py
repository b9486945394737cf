"""Rate-limit and breaker state in Redis, shared by every relay instance.

Each integration has one hash, ``scimrelay:resilience:{id}``. Admission is
one Lua script, so checking both budgets, passing the breaker and taking the
request are atomic across instances; the script reads Redis's clock, so the
instances' clocks do not matter. When Redis cannot be reached the relay
keeps answering with per-process state (failing open, as API gateways do by
default) and tries Redis again a second later.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError

from scimrelay.resilience import breaker as breakers
from scimrelay.resilience.backends import (
    Admission,
    MemoryBackend,
    StateBackend,
    describe_state,
)
from scimrelay.resilience.policy import Policy

logger = structlog.get_logger(__name__)

KEY_PREFIX = "scimrelay:resilience:"
KEY_TTL = 2 * 86_400
REDIS_TIMEOUT = 0.5
RETRY_REDIS_AFTER = 1.0

ADMIT = """
local key = KEYS[1]
local per_second = tonumber(ARGV[1])
local per_day = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local f = redis.call('HMGET', key, 'tat', 'day', 'used', 'state', 'failures',
                     'open_until', 'probe_until')
local tat = tonumber(f[1]) or 0
local day = math.floor(now / 86400)
local used = 0
if tonumber(f[2]) == day then used = tonumber(f[3]) or 0 end
local state = f[4] or 'closed'
local failures = tonumber(f[5]) or 0
local open_until = tonumber(f[6]) or 0
local probe_until = tonumber(f[7]) or 0
if per_day > 0 and used >= per_day then
  return {0, 'per_day', tostring((day + 1) * 86400 - now), failures, 0}
end
if per_second > 0 then
  local interval = 1 / per_second
  local tolerance = interval * (math.max(1, math.ceil(per_second)) - 1)
  local base = math.max(tat, now)
  if base - now > tolerance then
    return {0, 'per_second', tostring(base - tolerance - now), failures, 0}
  end
  tat = base + interval
end
if state == 'open' and now < open_until then
  return {0, 'circuit_open', tostring(open_until - now), failures, 0}
end
if state ~= 'closed' and now < probe_until then
  return {0, 'circuit_open', tostring(probe_until - now), failures, 0}
end
local probe = 0
if state ~= 'closed' then
  probe = 1
  redis.call('HSET', key, 'state', 'half_open', 'probe_until', tostring(now + lease))
end
redis.call('HSET', key, 'tat', tostring(tat), 'day', day, 'used', used + 1)
redis.call('EXPIRE', key, tonumber(ARGV[4]))
return {1, '', '0', failures, probe}
"""

RECORD = """
local key = KEYS[1]
local ok = ARGV[1] == '1'
local probe = ARGV[2] == '1'
local threshold = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', key, 'state') or 'closed'
local changed = ''
if probe then
  if ok then
    redis.call('HSET', key, 'state', 'closed', 'failures', 0, 'probe_until', 0)
    changed = 'closed'
  else
    redis.call('HSET', key, 'state', 'open', 'probe_until', 0,
               'open_until', tostring(now + cooldown))
    changed = 'open'
  end
elseif state == 'closed' then
  if ok then
    redis.call('HSET', key, 'failures', 0)
  elseif redis.call('HINCRBY', key, 'failures', 1) >= threshold then
    redis.call('HSET', key, 'state', 'open', 'open_until', tostring(now + cooldown))
    changed = 'open'
  end
end
redis.call('EXPIRE', key, tonumber(ARGV[5]))
return changed
"""
STATES: dict[str, breakers.State] = {
    state: state for state in (breakers.CLOSED, breakers.HALF_OPEN, breakers.OPEN)
}


class RedisBackend(StateBackend):
    """State in Redis; limits and breakers hold across every relay instance."""

    name = "redis"

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            decode_responses=True,
        )
        self._admit = self._redis.register_script(ADMIT)
        self._record = self._redis.register_script(RECORD)
        self._fallback = MemoryBackend()
        self._down_until = 0.0

    async def admit(self, key: str, policy: Policy, lease: float) -> Admission:
        if self._is_down():
            return await self._fallback.admit(key, policy, lease)
        args = [policy.per_second, policy.per_day, lease, KEY_TTL]
        try:
            allowed, reason, wait, failures, probe = await self._admit(
                keys=[KEY_PREFIX + key], args=args
            )
        except (RedisError, OSError) as error:
            self._went_down(error)
            return await self._fallback.admit(key, policy, lease)
        return Admission(
            bool(allowed), reason or None, float(wait), bool(probe), int(failures)
        )

    async def record(
        self, key: str, policy: Policy, admission: Admission, ok: bool
    ) -> breakers.State | None:
        if ok and not admission.probe and not admission.failures:
            return None  # Nothing to change: the breaker is closed with no failures.
        if self._is_down():
            return await self._fallback.record(key, policy, admission, ok)
        args = [
            int(ok),
            int(admission.probe),
            policy.breaker_failures,
            policy.breaker_cooldown,
            KEY_TTL,
        ]
        try:
            changed = await self._record(keys=[KEY_PREFIX + key], args=args)
        except (RedisError, OSError) as error:
            self._went_down(error)
            return None
        return STATES.get(str(changed))

    async def describe(self, key: str, policy: Policy) -> dict[str, Any]:
        fields = ("day", "used", "state", "failures", "open_until", "probe_until")
        values = await self._redis.hmget(KEY_PREFIX + key, fields)
        seconds, micros = await self._redis.time()
        now = seconds + micros / 1_000_000
        row = {
            name: None if value is None else str(value)
            for name, value in zip(fields, values, strict=True)
        }
        breaker = breakers.Breaker(
            state=STATES.get(row["state"] or "", breakers.CLOSED),
            failures=int(row["failures"] or 0),
            open_until=float(row["open_until"] or 0),
            probe_until=float(row["probe_until"] or 0),
        )
        used = int(row["used"] or 0) if row["day"] == str(int(now // 86_400)) else 0
        return describe_state(
            self.name,
            policy,
            breakers.shown_state(breaker, now),
            breaker.failures,
            breakers.blocked_for(breaker, now),
            used,
        )

    async def close(self) -> None:
        await self._redis.aclose()

    def forget(self, key: str) -> None:
        self._fallback.forget(key)

    def _is_down(self) -> bool:
        return self._down_until > time.monotonic()

    def _went_down(self, error: Exception) -> None:
        self._down_until = time.monotonic() + RETRY_REDIS_AFTER
        logger.warning(
            "redis unreachable; rate limits and breakers are per process for now",
            error=type(error).__name__,
        )
