"""The Lua scripts ``RedisCachedBalances`` runs, each one atomic step on one hash slot.

Keys: ``<prefix>balances:{<digest>}`` an answer, ``<prefix>lock:{<digest>}`` the fetch under
way (its value the fetch's random token), ``<prefix>failed:{<digest>}`` how the last fetch
failed, for the workers that waited on it, ``<prefix>user:{<sha256>}`` /
``<prefix>address:{<sha256>}`` the sets of digests ``forget`` finds holders by, and beside
each its ``...:taking`` hash, the digests a forget took and has not finished dropping,
each with the id of the last forget that took it. A
digest is the SHA-256 of a holder's kind, scope and value: no key holds a token. The
braces are a Redis Cluster hash tag: a holder's three keys share one slot, and an index
set shares one with its taking hash, so each script below names every key it touches in
KEYS and all of them hash to one slot, as Redis Cluster requires; on one Redis the braces
are just characters.
"""

from __future__ import annotations

#: KEYS: the lock, the answer. ARGV: token, lock ms.
#: Takes the lock if free, or finds it this fetch's already (the token is random per
#: fetch: a resend after a lost reply). Returns {0} if another fetch holds it, else {1,
#: the answer stored now or nil} (another worker may have stored one since this one looked).
LOCK = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
    and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0}
end
return {1, redis.call('GET', KEYS[2])}
"""

#: KEYS: one index set. ARGV: ms, then digests. Adds the digests and keeps the set at
#: least ``ms`` longer (it must outlive every answer it points to).
INDEX = """
for i = 2, #ARGV do
  redis.call('SADD', KEYS[1], ARGV[i])
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
"""

#: KEYS: an index set, its taking hash. ARGV: ms, the forget's id.
#: Moves the index set's digests into the taking hash (kept ``ms``), marks every digest
#: the hash holds as taken by this forget and returns them all: run again after a lost
#: reply (the same id), or by the retry of a forget that failed part way (a new id), it
#: returns the same digests, so no digest is lost to a forget that did not finish.
TAKE = """
for _, digest in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('HSET', KEYS[2], digest, ARGV[2])
end
redis.call('DEL', KEYS[1])
local held = redis.call('HKEYS', KEYS[2])
for _, digest in ipairs(held) do
  redis.call('HSET', KEYS[2], digest, ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return held
"""

#: KEYS: a taking hash. ARGV: the forget's id, then the digests it took.
#: Removes those of the digests that no later forget took since (still marked with this
#: forget's id): a later forget has not dropped them yet, and must find them on retry.
UNTAKE = """
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 1
"""

#: KEYS: the lock, the answer. Deletes both at once, so no fetch's ``SETTLE`` can come
#: between them (find its lock still there and store an answer no longer wanted).
#: 1 if there was an answer, else 0.
DROP = """
redis.call('DEL', KEYS[1])
return redis.call('DEL', KEYS[2])
"""

#: KEYS: the lock, the answer, the failure. ARGV: token, mode, value, ms.
#: Only while the lock is still this fetch's (not expired, not forgotten): releases it
#: and, by mode, stores the answer (``keep``), drops it (``drop``), records the
#: failure for the waiting workers (``fail``) or does nothing more (``release``).
#: 1 if the lock was still held. Sent again after a lost reply, it finds the lock gone
#: but recognises its own settle by what it stored, still there: the answer (kept
#: exactly so, its time to the microsecond) or the failure (naming the fetch's token).
SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  local stored = {keep = KEYS[2], fail = KEYS[3]}
  local key = stored[ARGV[2]]
  if key and redis.call('GET', key) == ARGV[3] then
    return 1
  end
  return 0
end
redis.call('DEL', KEYS[1])
if ARGV[2] == 'keep' then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
elseif ARGV[2] == 'drop' then
  redis.call('DEL', KEYS[2])
elseif ARGV[2] == 'fail' then
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
end
return 1
"""
