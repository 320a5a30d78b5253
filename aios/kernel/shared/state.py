"""The connection to a shared state: one Redis/Valkey server for every process of one kernel.

Admission state that must hold across processes (slots, rate buckets, cool-downs, learned
limits, budget reservations, the waiting order) lives there and is changed only by Lua scripts,
each one atomic step. Leases are sorted-set members scored by expiry and renewed by a heartbeat,
so a process killed with SIGKILL gives back what it held once ``lease_ttl_s`` has passed.
Waiting processes are woken by pub/sub messages, and by the refill times the scripts return.

When the server goes away mid-run, ``redis_unavailable`` decides: ``local`` carries on with
per-process limits (one warning, counted in the stats), ``fail`` fails the calls that wait.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from aios.errors import ConfigError, SharedStateUnavailable
from aios.kernel.access.redact import redact_url
from aios.kernel.shared.client import is_cluster, open_client

if TYPE_CHECKING:
    from aios.kernel.shared.client import Client

log = logging.getLogger("aios")

#: The shared clock's zero: keeps the times scripts store small enough to keep sub-µs precision.
_EPOCH = 1_700_000_000.0


def _script(name: str) -> str:
    return (resources.files("aios.kernel.shared") / "lua" / name).read_text(encoding="utf-8")


def server_time(client: Client, prefix: str = "aios") -> tuple[int, int]:
    """``TIME`` of the server, or on a Redis Cluster of the node holding ``prefix``'s budget
    keys: one node's clock for every process, whichever node each one reached first."""
    if is_cluster(client):
        node = client.get_node_from_key(f"{{{prefix}:budget}}")  # type: ignore[union-attr]
        secs, micros = client.time(target_nodes=node)
    else:
        secs, micros = client.time()
    return int(secs), int(micros)


class SharedClock:
    """Seconds on the server's clock (``TIME``), read locally through the monotonic clock.

    Every process measures its offset to the server once at connect, so all processes sharing a
    state agree on "now" to within half a loopback round trip, and no script needs ``TIME``.
    """

    def __init__(self, client: Client, prefix: str = "aios") -> None:
        best: tuple[float, float] | None = None
        for _ in range(3):
            before = time.monotonic()
            secs, micros = server_time(client, prefix)
            after = time.monotonic()
            rtt = after - before
            offset = (secs + micros / 1e6 - _EPOCH) - (before + rtt / 2)
            if best is None or rtt < best[0]:
                best = (rtt, offset)
        assert best is not None
        self.offset = best[1]

    def now(self) -> float:
        return time.monotonic() + self.offset


class SharedState:
    """One process's handle on a shared state: client, scripts, wake-ups and the heartbeat."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "aios",
        lease_ttl_s: float = 6.0,
        on_unavailable: str = "local",
        clock: Any = None,
    ) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError(
                f"`redis_url` = {url!r} needs the redis client: pip install 'aios-kernel[redis]'"
            ) from exc
        self.url = url
        self.owner_pid = os.getpid()
        self.prefix = prefix
        self.ttl = lease_ttl_s
        self.on_unavailable = on_unavailable
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # A Redis Cluster that lost the node of a slot answers CLUSTERDOWN: as unreachable.
        self.errors = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterError)
        try:
            self.client: Client = open_client(
                url,
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                health_check_interval=30,
                decode_responses=True,
            )
            self.client.ping()
            self.cluster = is_cluster(self.client)
            if not self.cluster:
                self._refuse_cluster_node(url)
        except (ValueError, *self.errors) as exc:
            raise ConfigError(
                f"cannot reach the shared state at `redis_url` = {redact_url(url)!r} ({exc}); "
                "start the server, fix the URL (AIOS_REDIS_URL, aios run --redis), or unset it "
                "for per-process limits"
            ) from None
        self.clock = clock if clock is not None else SharedClock(self.client, prefix)
        common = _script("common.lua")
        self.admit_script = self.client.register_script(common + _script("admit.lua"))
        self.release_script = self.client.register_script(common + _script("release.lua"))
        self.learn_script = self.client.register_script(common + _script("learn.lua"))
        self.misc_script = self.client.register_script(common + _script("misc.lua"))
        self.ledger_script = self.client.register_script(_script("ledger.lua"))
        self.degraded = False
        self.unavailable_count = 0
        self._lock = threading.Lock()
        #: Held leases by key group: core keys -> lease ids; budget holders.
        self._leases: dict[tuple[str, ...], set[str]] = {}
        self._floors: dict[tuple[str, ...], Callable[[Any], None]] = {}
        self._holders: set[str] = set()
        self._poke: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._pubsub_thread: threading.Thread | None = None
        self._heartbeat = threading.Thread(
            target=self._beat, name="aios-shared-heartbeat", daemon=True
        )
        self._heartbeat.start()

    def _refuse_cluster_node(self, url: str) -> None:
        """A plain URL that reaches a Redis Cluster node: each key lives on one node of it, which a
        one-server client cannot follow (it would fail with MOVED errors mid-run)."""
        try:
            info = self.client.info("cluster")
        except Exception:
            return  # servers without the section (or without INFO rights) are not clusters
        if str(info.get("cluster_enabled", 0)) != "1":
            return
        scheme, _, rest = url.partition("://")
        hint = f"rediss+cluster://{rest}" if scheme == "rediss" else f"redis+cluster://{rest}"
        if scheme == "unix":
            hint = "redis+cluster://HOST:PORT (a cluster is reached over TCP)"
        raise ConfigError(
            f"`redis_url` = {redact_url(url)!r} is a node of a Redis Cluster; name the cluster with "
            f"`redis_url` = {redact_url(hint)!r} so each key reaches the node of its slot"
        )

    # -- keys ------------------------------------------------------------------------------------
    def core_keys(self, core: str) -> tuple[str, ...]:
        return core_keys(self.prefix, core)

    def wake_channel(self, core: str) -> str:
        return f"{{{self.prefix}:core:{core}}}:wake"

    def budget_keys(self) -> tuple[str, str, str]:
        tag = f"{{{self.prefix}:budget}}"
        return (f"{tag}:lines", f"{tag}:holders", f"{tag}:held")

    # -- calls -----------------------------------------------------------------------------------
    def run(
        self, script: Any, keys: Sequence[str], args: Sequence[Any], *, admission: bool = False
    ) -> Any:
        """Run a script. ``None`` when the server is lost: the caller falls back to its
        per-process state, or, for an admission with ``redis_unavailable = "fail"``,
        :class:`SharedStateUnavailable` is raised."""
        if self.degraded:
            return None
        try:
            return script(keys=list(keys), args=list(args))
        except self.errors as exc:
            self._lost(exc, admission=admission)
            return None

    def _lost(self, exc: BaseException, *, admission: bool = False) -> None:
        with self._lock:
            self.unavailable_count += 1
            if self.on_unavailable == "fail":
                if not admission:
                    return  # a call already running ends without the shared books
                raise SharedStateUnavailable(
                    f"the shared state at {redact_url(self.url)!r} is unreachable ({exc}); restart the "
                    "server, or set `redis_unavailable = \"local\"` to carry on with "
                    "per-process limits"
                ) from None
            if not self.degraded:
                self.degraded = True
                log.warning(
                    "aios: the shared state at %r is unreachable (%s); carrying on with "
                    "per-process limits (`redis_unavailable = \"local\"`)",
                    redact_url(self.url),
                    exc,
                )
        if self._poke is not None:
            # What waited on the shared state now waits on local state. Not from this thread:
            # it may hold the scheduler's lock, which ``poke`` takes.
            threading.Thread(target=self._poke, name="aios-shared-fallback", daemon=True).start()

    # -- leases and the heartbeat -------------------------------------------------------------
    def hold_lease(self, keys: tuple[str, ...], lease: str) -> None:
        with self._lock:
            self._leases.setdefault(keys, set()).add(lease)

    def drop_lease(self, keys: tuple[str, ...], lease: str) -> None:
        with self._lock:
            held = self._leases.get(keys)
            if held is not None:
                held.discard(lease)

    def watch_floor(self, keys: tuple[str, ...], on_floor: Callable[[Any], None]) -> None:
        """Have the heartbeat read where the shared order of the core at ``keys`` stands, so a
        process whose agents were idle does not rank them by a floor from long ago."""
        with self._lock:
            self._floors[keys] = on_floor

    def hold_budget(self, holder: str) -> None:
        with self._lock:
            self._holders.add(holder)

    def drop_budget(self, holder: str) -> None:
        with self._lock:
            self._holders.discard(holder)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            if self.degraded:
                continue
            with self._lock:
                leases = {keys: sorted(held) for keys, held in self._leases.items()}
                holders = sorted(self._holders)
            expiry = self.clock.now() + self.ttl
            try:
                # One round trip for all; a Redis Cluster pipelines no scripts, so there each
                # script goes to its node on its own.
                pipe: Any = None if self.cluster else self.client.pipeline(transaction=False)
                for keys, held in leases.items():
                    self.misc_script(
                        keys=list(keys), args=["renew", expiry, self.process, *held], client=pipe
                    )
                if holders:
                    self.ledger_script(
                        keys=list(self.budget_keys()),
                        args=["renew", self.clock.now(), expiry, *holders],
                        client=pipe,
                    )
                if pipe is not None:
                    pipe.execute()
                self._read_floors()
            except self.errors as exc:
                self._lost(exc)  # waiting calls see it at their next admission attempt
            except Exception as exc:
                log.debug("aios: heartbeat failed: %s", exc)

    def _read_floors(self) -> None:
        with self._lock:
            watchers = list(self._floors.items())
        if not watchers:
            return
        pipe: Any = None if self.cluster else self.client.pipeline(transaction=False)
        replies = [
            self.misc_script(keys=list(keys), args=["floor", self.process], client=pipe)
            for keys, _ in watchers
        ]
        if pipe is not None:
            replies = pipe.execute()
        for (_, on_floor), reply in zip(watchers, replies, strict=True):
            on_floor(reply)

    # -- wake-ups --------------------------------------------------------------------------------
    def subscribe(self, poke: Callable[[], None]) -> None:
        """Call ``poke`` whenever another process frees or learns something on any core."""
        self._poke = poke
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        pubsub.psubscribe(f"{{{self.prefix}:core:*}}:wake")
        self._pubsub_thread = threading.Thread(
            target=self._listen, args=(pubsub, poke), name="aios-shared-wakeups", daemon=True
        )
        self._pubsub_thread.start()

    def _listen(self, pubsub: Any, poke: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                msg = pubsub.get_message(timeout=0.5)
            except self.errors:
                if self._stop.wait(0.5):
                    break
                continue
            except Exception:
                break
            if msg is None or msg.get("data") == self.process:
                continue  # our own change: the scheduler already looked
            poke()
        try:
            pubsub.close()
        except Exception:
            pass

    def close(self) -> None:
        """Stop the threads and give back the leases still held (safe to call twice). In a forked
        child the leases are the parent's: they stay the parent's."""
        if self._stop.is_set() or os.getpid() != self.owner_pid:
            return
        self._stop.set()
        with self._lock:
            leases = {keys: sorted(held) for keys, held in self._leases.items() if held}
        if not self.degraded:
            # Leases still held belong to calls that are abandoned now: expire them at once.
            try:
                for keys, held in leases.items():
                    self.misc_script(keys=list(keys), args=["renew", 0, self.process, *held])
            except Exception:
                pass
        for t in (self._pubsub_thread, self._heartbeat):
            if t is not None and t is not threading.current_thread():
                t.join(1.0)
        try:
            self.client.close()
        except Exception:
            pass


_CORE_PARTS = ("state", "slots", "leases", "waiters", "needs", "waiter_expiry", "holds")


def core_keys(prefix: str, core: str) -> tuple[str, ...]:
    """The keys of one core. One hash tag per core: every key a core script touches lives in
    one cluster slot."""
    tag = f"{{{prefix}:core:{core}}}"
    return tuple(f"{tag}:{part}" for part in _CORE_PARTS)


def read_cores(client: Client, prefix: str) -> dict[str, list[str]]:
    """Every core's state as the ``describe`` script reports it (``aios top --redis``), by name,
    and the server's "now" on the shared clock as ``(name "", [now])``. Read-only but for
    dropping expired leases, as any admission would."""
    secs, micros = server_time(client, prefix)
    now = secs + micros / 1e6 - _EPOCH
    describe = client.register_script(_script("common.lua") + _script("misc.lua"))
    head, tail = f"{{{prefix}:core:", "}:state"
    names = sorted(
        key[len(head) : -len(tail)]
        for key in (k if isinstance(k, str) else k.decode() for k in client.scan_iter(match=f"{head}*{tail}"))
    )
    out: dict[str, list[str]] = {"": [str(now)]}
    for name in names:
        raw = describe(keys=list(core_keys(prefix, name)), args=["describe", now])
        out[name] = [x if isinstance(x, str) else x.decode() for x in raw]
    return out

