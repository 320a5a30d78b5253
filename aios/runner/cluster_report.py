"""One report for every process that shares a kernel's state on Redis/Valkey.

:class:`ClusterRecorder` is a kernel observer: each finished syscall adds to per-agent and
per-core totals (``HINCRBY``/``HINCRBYFLOAT`` in one pipelined round trip) and to a capped stream
of recent syscalls, so the totals cover every process, including fork workers that leave through
``os._exit`` and processes killed later. :func:`cluster_report` reads them back
(``aios report --redis URL``).

Keys (one hash tag, so a pipeline stays in one slot of a Redis Cluster)::

    {PREFIX:report}:agents          set of agent names      {PREFIX:report}:agent:NAME  hash
    {PREFIX:report}:cores           set of core names       {PREFIX:report}:core:NAME   hash
    {PREFIX:report}:processes       hash host:pid -> syscalls
    {PREFIX:report}:recent          stream, one JSON record per syscall, capped
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aios.kernel.access.redact import redact_url
from aios.kernel.accounting import percentile
from aios.runner import redis_link

if TYPE_CHECKING:
    import redis

    from aios.config import KernelConfig
    from aios.kernel.syscall import Syscall

log = logging.getLogger("aios.runner")

#: Recent syscalls kept in the stream (the totals always count all of them).
RECENT = 10_000
#: Seconds the recorder stops trying after the server failed, so calls never wait on a dead server.
RETRY_AFTER_S = 1.0
_INT_FIELDS = ("llm_calls", "tool_calls", "input_tokens", "output_tokens", "retries", "errors", "cancelled")
_FLOAT_FIELDS = ("waiting_s", "turnaround_s")


def keys(prefix: str) -> dict[str, str]:
    tag = f"{{{prefix}:report}}"
    return {
        "agents": f"{tag}:agents",
        "agent": f"{tag}:agent:",
        "cores": f"{tag}:cores",
        "core": f"{tag}:core:",
        "processes": f"{tag}:processes",
        "recent": f"{tag}:recent",
    }


def _increments(rec: Mapping[str, Any]) -> dict[str, int | float]:
    return {
        "llm_calls": int(rec["kind"] == "llm"),
        "tool_calls": int(rec["kind"] == "tool"),
        "input_tokens": int(rec.get("input_tokens") or 0),
        "output_tokens": int(rec.get("output_tokens") or 0),
        "retries": int(rec.get("retries") or 0),
        "errors": int(rec.get("status") == "failed"),
        "cancelled": int(rec.get("status") == "cancelled"),
        "waiting_s": float(rec.get("waiting_s") or 0.0),
        "turnaround_s": float(rec.get("turnaround_s") or 0.0),
    }


class ClusterRecorder:
    """Records each finished syscall into the shared report. Never raises into the kernel."""

    def __init__(self, conn: redis.Redis, prefix: str, *, recent: int = RECENT) -> None:
        self.conn = conn
        self.keys = keys(prefix)
        self.recent = recent
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        #: Syscalls that could not be recorded because the server did not answer.
        self.dropped = 0
        self._retry_at = 0.0
        self._warned = False
        self._lock = threading.Lock()

    def on_finish(self, syscall: Syscall) -> None:
        if time.monotonic() < self._retry_at:
            with self._lock:
                self.dropped += 1
            return
        self.record(syscall.to_record())

    def record(self, rec: Mapping[str, Any]) -> bool:
        """Add one syscall record; False (and counted in ``dropped``) when the server failed."""
        import redis

        k = self.keys
        incs = _increments(rec)
        pipe = self.conn.pipeline(transaction=False)
        targets = [(k["agents"], k["agent"], str(rec["agent"]))]
        if rec.get("core") is not None:
            targets.append((k["cores"], k["core"], str(rec["core"])))
        for index, base, name in targets:
            pipe.sadd(index, name)
            for field, value in incs.items():
                if isinstance(value, float):
                    if value:
                        pipe.hincrbyfloat(base + name, field, value)
                elif value or field in ("llm_calls", "tool_calls"):
                    pipe.hincrby(base + name, field, value)
        pipe.hincrby(k["processes"], self.process, 1)
        entry = {**rec, "process": self.process}
        pipe.xadd(k["recent"], {"r": json.dumps(entry, default=str)}, maxlen=self.recent, approximate=True)
        try:
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self._failed(exc)
            return False
        self._retry_at = 0.0
        return True

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self.dropped += 1
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            first, self._warned = not self._warned, True
        if first:
            # Debug only: the kernel itself warns once that the shared state is unreachable.
            log.debug("cluster report not recorded: %s", redis_link.unreachable(self.url, exc))

    @property
    def url(self) -> str:
        pool = getattr(self.conn, "connection_pool", None)
        if pool is None:  # a Redis Cluster: one pool per node
            return "the Redis Cluster"
        kw = pool.connection_kwargs
        if "path" in kw:
            return f"unix://{kw['path']}"
        return f"redis://{kw.get('host', '?')}:{kw.get('port', '?')}/{kw.get('db', 0)}"

    def close(self) -> None:
        self.conn.close()


def recorder_for(config: KernelConfig) -> ClusterRecorder | None:
    """The recorder of a kernel whose state is shared; ``None`` when it is not or cannot be."""
    if not config.redis_url:
        return None
    try:
        conn = redis_link.client(config.redis_url, decode=False)
    except Exception as exc:  # the kernel's own boot reports a bad URL; the report just stays off
        log.warning("aios: no cluster report: %s", exc)
        return None
    return ClusterRecorder(conn, config.redis_prefix)


# -- reading -------------------------------------------------------------------------------------
def _tally(raw: Mapping[str, str], waits: list[float], turnarounds: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {f: int(raw.get(f, 0)) for f in _INT_FIELDS}
    for f in _FLOAT_FIELDS:
        out[f] = float(raw.get(f, 0.0))
    # Percentiles come from the recent syscalls (all of them unless more than RECENT finished).
    for what, values in (("waiting", waits), ("turnaround", turnarounds)):
        out[f"{what}_p50_s"] = percentile(values, 50)
        out[f"{what}_p95_s"] = percentile(values, 95)
        out[f"{what}_p99_s"] = percentile(values, 99)
    return out


def read_report(conn: redis.Redis, prefix: str) -> dict[str, Any]:
    """The cluster report from an open (``decode_responses=True``) connection."""
    k = keys(prefix)
    agents = sorted(str(n) for n in conn.smembers(k["agents"]))
    cores = sorted(str(n) for n in conn.smembers(k["cores"]))
    pipe = conn.pipeline(transaction=False)
    for name in agents:
        pipe.hgetall(k["agent"] + name)
    for name in cores:
        pipe.hgetall(k["core"] + name)
    pipe.hgetall(k["processes"])
    pipe.xlen(k["recent"])
    pipe.xrange(k["recent"])
    *hashes, processes, recent_len, entries = pipe.execute()
    records = [json.loads(fields["r"]) for _id, fields in entries]
    samples: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for rec in records:
        groups = [("agent", str(rec["agent"]))]
        if rec.get("core") is not None:
            groups.append(("core", str(rec["core"])))
        for group in groups:
            waits, turns = samples[group]
            waits.append(float(rec.get("waiting_s") or 0.0))
            if rec.get("turnaround_s") is not None:
                turns.append(float(rec["turnaround_s"]))
    agent_tallies = {
        name: _tally(raw, *samples[("agent", name)])
        for name, raw in zip(agents, hashes[: len(agents)], strict=True)
    }
    core_tallies = {
        name: _tally(raw, *samples[("core", name)])
        for name, raw in zip(cores, hashes[len(agents) :], strict=True)
    }
    total = sum(int(n) for n in processes.values())
    return {
        "prefix": prefix,
        "syscalls": total,
        "agents": agent_tallies,
        "cores": core_tallies,
        "processes": {p: int(n) for p, n in sorted(processes.items())},
        "recent": records,
        "recent_kept": int(recent_len),
        "percentiles_over": "all syscalls" if int(recent_len) >= total else f"the last {recent_len} syscalls",
    }


def cluster_report(url: str, prefix: str = "aios", *, timeout: float = 2.0) -> dict[str, Any]:
    """Per-agent and per-core totals of every process that shared the state at ``url``/``prefix``.

    Raises ``ConnectionError`` with a one-line message naming the URL when the server does not
    answer.
    """
    import redis

    try:
        conn = redis_link.client(url, timeout=timeout)  # a cluster client connects at once
    except (redis.RedisError, OSError) as exc:
        raise ConnectionError(redis_link.unreachable(url, exc)) from None
    try:
        report = read_report(conn, prefix)
    except (redis.RedisError, OSError) as exc:
        raise ConnectionError(redis_link.unreachable(url, exc)) from None
    finally:
        conn.close()
    report["url"] = redact_url(url)
    return report
