"""When tokens come out: the three performance profiles.

Every model exposes ``run(input_tokens, output_tokens)``, an async generator of the cumulative
number of output tokens produced so far; its first value arrives at time-to-first-token.
Sleeps are converted from simulated to real time by ``time_scale`` and coalesced: a sleep
shorter than a millisecond is carried over to the next one (a deadline that catches up), so
high time scales do not drown the event loop in tiny timers yet keep the average rate exact.

- ``instant``: everything at once.
- ``api``: a hosted API: ``ttft + ttft_per_input_token*input`` then ``decode_per_token`` per
  token, unlimited parallelism (rate limits are the constraint, enforced elsewhere).
- ``server``: one vLLM-style server. At most ``slots`` sequences run in a continuous batch; a
  step produces one token per running sequence and takes
  ``step_time * (1 + batch_slowdown * (batch - 1))`` plus ``prefill_per_token`` per prompt token
  admitted in that step. A sequence holds KV cache for its prompt and generated tokens; the
  server admits from its FIFO queue only while the KV budget allows, and when decoding overruns
  the budget it preempts the newest sequence, which re-queues at the front and recomputes its
  prefill on readmission (vLLM's recompute preemption).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from .config import SimConfig

_MIN_SLEEP = 0.001


class TimingModel(Protocol):
    def run(self, input_tokens: int, output_tokens: int) -> AsyncIterator[int]: ...

    def stats(self) -> dict[str, int]: ...


class _Pacer:
    """Sleeps toward a real-time deadline, skipping sleeps under a millisecond."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.deadline = self.loop.time()

    async def advance(self, real_seconds: float) -> None:
        self.deadline += real_seconds
        delay = self.deadline - self.loop.time()
        if delay >= _MIN_SLEEP:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            # Far behind (the loop was busy): do not burst to catch up more than 50 ms.
            self.deadline = self.loop.time() - 0.05


class InstantTiming:
    async def run(self, input_tokens: int, output_tokens: int) -> AsyncIterator[int]:
        yield output_tokens

    def stats(self) -> dict[str, int]:
        return {}


class ApiTiming:
    def __init__(self, config: SimConfig) -> None:
        self.config = config

    async def run(self, input_tokens: int, output_tokens: int) -> AsyncIterator[int]:
        c = self.config
        pacer = _Pacer()
        await pacer.advance((c.ttft + c.ttft_per_input_token * input_tokens) / c.time_scale)
        produced = min(1, output_tokens)
        yield produced
        step = c.decode_per_token / c.time_scale
        while produced < output_tokens:
            await pacer.advance(step)
            produced += 1
            yield produced

    def stats(self) -> dict[str, int]:
        return {}


@dataclass(slots=True, eq=False)
class _Job:
    input_tokens: int
    target: int
    produced: int = 0
    kv: int = 0
    done: bool = False
    event: asyncio.Event = field(default_factory=asyncio.Event)


class BatchServer:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.waiting: deque[_Job] = deque()
        self.running: list[_Job] = []
        self.kv_used = 0
        self.preemptions = 0
        self.max_batch = 0
        self.max_queue = 0
        self._task: asyncio.Task[None] | None = None

    def stats(self) -> dict[str, int]:
        return {
            "server_running": len(self.running),
            "server_waiting": len(self.waiting),
            "server_kv_used": self.kv_used,
            "server_preemptions": self.preemptions,
            "server_max_batch": self.max_batch,
            "server_max_queue": self.max_queue,
        }

    async def run(self, input_tokens: int, output_tokens: int) -> AsyncIterator[int]:
        job = _Job(input_tokens, max(1, output_tokens))
        self.waiting.append(job)
        self.max_queue = max(self.max_queue, len(self.waiting))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())
        last = 0
        try:
            while True:
                await job.event.wait()
                job.event.clear()
                if job.produced > last:
                    last = job.produced
                    yield min(last, output_tokens)
                if job.done:
                    return
        finally:
            if not job.done:  # the client went away: free its slot and cache
                job.done = True
                if job in self.running:
                    self.running.remove(job)
                    self.kv_used -= job.kv
                elif job in self.waiting:
                    self.waiting.remove(job)

    def _admit(self) -> int:
        prefill = 0
        budget = self.config.kv_budget
        while self.waiting and len(self.running) < self.config.slots:
            job = self.waiting[0]
            context = job.input_tokens + job.produced
            # An idle server takes even an oversized prompt, or it would wait forever.
            if self.running and self.kv_used + context + 1 > budget:
                break
            self.waiting.popleft()
            job.kv = context
            self.kv_used += context
            self.running.append(job)
            prefill += context
        return prefill

    async def _loop(self) -> None:
        c = self.config
        pacer = _Pacer()
        while self.waiting or self.running:
            prefill = self._admit()
            batch = len(self.running)
            self.max_batch = max(self.max_batch, batch)
            step = prefill * c.prefill_per_token + c.step_time * (1 + c.batch_slowdown * max(batch - 1, 0))
            await pacer.advance(step / c.time_scale)
            for job in list(self.running):
                job.produced += 1
                job.kv += 1
                self.kv_used += 1
                if job.produced >= job.target:
                    job.done = True
                    self.running.remove(job)
                    self.kv_used -= job.kv
                job.event.set()
            while self.kv_used > c.kv_budget and len(self.running) > 1:
                victim = self.running.pop()
                self.kv_used -= victim.kv
                victim.kv = 0
                self.waiting.appendleft(victim)
                self.preemptions += 1


def make_timing(config: SimConfig) -> TimingModel:
    if config.profile == "api":
        return ApiTiming(config)
    if config.profile == "server":
        return BatchServer(config)
    return InstantTiming()
