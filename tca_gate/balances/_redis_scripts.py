"""The Lua scripts ``RedisCachedBalances`` runs, each one atomic step on the server.

Keys: ``{prefix}balances:{digest}`` an answer, ``{prefix}lock:{digest}`` the fetch under way
(its value the fetch's random token), ``{prefix}failed:{digest}`` how the last fetch
failed, for the workers that waited on it, and ``{prefix}user:{sha256}`` /
``{prefix}address:{sha256}`` the sets of digests ``forget`` finds holders by. A digest is
the SHA-256 of a holder's kind, scope and value: no key holds a token.
"""

from __future__ import annotations

#: KEYS: the lock, the answer, then the index sets. ARGV: token, lock ms, index ms, digest.
#: Takes the lock if free and records the digest in the index sets (before the fetch,
#: so a ``forget`` during the fetch finds it and keeps it from storing).
#: Returns {0} if the lock is taken by another, else {1, the answer stored now or nil}.
ACQUIRE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[4])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[3]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  end
end
return {1, redis.call('GET', KEYS[2])}
"""

#: KEYS: the lock, the answer, the failure. ARGV: token, mode, value, ms.
#: Only while the lock is still this fetch's (not expired, not forgotten): releases it
#: and, by mode, stores the answer (``keep``), drops it (``drop``), records the
#: failure for the waiting workers (``fail``) or does nothing more (``release``).
#: 1 if the lock was still held.
SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
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

#: KEYS: index sets. ARGV: the key prefix. Empties the sets and drops the answers and
#: locks of every digest they held. Returns {answers dropped, {digests}}.
FORGET = """
local digests, seen = {}, {}
for i = 1, #KEYS do
  for _, digest in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if not seen[digest] then
      seen[digest] = true
      digests[#digests + 1] = digest
    end
  end
  redis.call('DEL', KEYS[i])
end
local dropped = 0
for _, digest in ipairs(digests) do
  dropped = dropped + redis.call('DEL', ARGV[1] .. 'balances:' .. digest)
  redis.call('DEL', ARGV[1] .. 'lock:' .. digest)
end
return {dropped, digests}
"""
