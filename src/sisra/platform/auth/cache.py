"""Who a bearer token is, remembered for a few seconds by this process (decision 188).

Every API request authenticates its access token. The answer (the professional as an
:class:`~sisra.platform.context.Actor`, its device, the token's expiry) is kept in memory,
keyed by the token's SHA-256, and used again while all of these hold:

- it is younger than ``auth_cache_s`` (10 s by default; 0 turns the cache off);
- the token has not expired (checked on every use);
- no revocation was written since it was read: neither by this process
  (:func:`revocation.local_generation`, moved as soon as a revocation is written) nor by any
  other (the database's revocation generation, :class:`revocation.RevocationWatch`, read at
  most once per ``events_revocation_check_s``, 1 s).

Every revocation (logout, a device revoked, an account disabled, a password changed, a refresh
token replayed) bumps the generation, so a revoked token is refused by this process at once
and by every other within ``events_revocation_check_s``, as event streams already are. What
is not a revocation (a professional's name changed) shows within ``auth_cache_s``.

A hit costs no database round trip and no thread-pool hop; a miss runs the one
authentication query (:func:`service.authenticate_until`) in the thread pool, in a short
transaction of its own that ends in that worker thread: a request must never hold a pooled
connection while it waits for a worker thread, or a burst of new tokens (every MonSisra
reconnecting its event stream after a restart) lets the waiting requests hold every connection
while the worker threads wait for one (docs/decisions.md 206). Failures are never remembered.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from sisra.platform.auth import revocation
from sisra.platform.auth import service as auth
from sisra.platform.auth.tokens import hash_token
from sisra.platform.context import Actor
from sisra.platform.models import utcnow

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    actor: Actor
    expires_at: datetime
    read_at: float  # time.monotonic()
    generation: int  # the database's, as this process last read it
    local: int  # revocation.local_generation()


class AuthCache:
    def __init__(
        self, watch: revocation.RevocationWatch, ttl_s: float, factory: sessionmaker[Session]
    ) -> None:
        self._watch = watch
        self._factory = factory
        self._ttl = ttl_s
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _read(self, token: str) -> tuple[Actor, datetime]:
        """The authentication query, in a worker thread, on a connection given back before
        the thread is (see the module)."""
        with self._factory() as session:
            pro, device, expires_at = auth.authenticate_until(session, token)
            return Actor.of(pro, device.id), expires_at

    async def actor(self, token: str) -> Actor:
        """The actor behind ``token``; raises ``NotAuthenticated`` as the query would."""
        if self._ttl <= 0:
            actor, _expires_at = await run_in_threadpool(self._read, token)
            return actor
        key = hash_token(token)
        # both generations before the query: a revocation committed while it runs moves
        # one of them, and the entry written below is then never used
        local = revocation.local_generation()
        generation = await self._watch.generation()
        hit = self._entries.get(key)
        if (
            hit is not None
            and hit.local == local
            and hit.generation == generation
            and time.monotonic() - hit.read_at < self._ttl
            and hit.expires_at > utcnow()
        ):
            return hit.actor
        actor, expires_at = await run_in_threadpool(self._read, token)
        entry = _Entry(actor, expires_at, time.monotonic(), generation, local)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return actor
