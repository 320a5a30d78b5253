"""Rate limits stated in the config hold at a real provider, however late calls reach it.

A kernel (each backend) gates calls to a real ``aios sim`` that enforces the same limit. Between
admission and the request reaching the provider, a caller may be held up (its event loop busy
with other agents' work): calls admitted first can arrive last, and calls admitted seconds apart
can arrive together. The provider must still see no request it rejects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest

from aios.kernel.failures import Failure
from aios.kernel.kernel import Kernel
from aios.kernel.lease import Lease
from aios.kernel.syscall import Syscall
from aios.sim.process import SimServer

from .conftest import MakeKernel

#: 5 requests of burst, refilled at 5 a second (5 per simulated minute, a minute lasting 1 s).
RPM = 5
WINDOW_S = 1.0


class RateLimited(Exception):
    def __init__(self, headers: Mapping[str, str], retry_after: float) -> None:
        super().__init__("429")
        self.headers = dict(headers)
        self.retry_after = retry_after


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(
        "--profile", "api", "--rpm", str(RPM), "--tpm", "1000000", "--time-scale", str(60 / WINDOW_S)
    ) as server:
        yield server


def _classify(exc: BaseException) -> Failure:
    if isinstance(exc, RateLimited):
        return Failure(
            True, "rate_limit", status=429, retry_after=exc.retry_after, pause_core=True,
            headers=exc.headers,
        )
    return Failure(False, "error")


def _kernel(make_kernel: MakeKernel, sim: SimServer) -> Kernel:
    return make_kernel(
        retry={"max_retries": 5},
        cores=[
            {
                "name": "sim",
                "api": "openai",
                "base_url": sim.openai_base_url,
                "rpm": RPM,
                "tpm": 1_000_000,
                "rate_window_s": WINDOW_S,
            }
        ],
        routes=[{"match": "*", "core": "sim"}],
    )


async def _call(k: Kernel, client: httpx.AsyncClient, i: int, hold: Callable[[], float]) -> None:
    """One call; ``hold()``, asked once admitted, is how long its caller is held up before
    sending it (its loop busy elsewhere)."""
    sc: Syscall = k.llm_syscall(
        agent=f"a{i}", api="openai.chat", model="m", base_url=k.config.cores[0].base_url
    )

    async def perform(lease: Lease) -> dict[str, str]:
        await asyncio.sleep(hold())
        reply = await client.post(
            "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": f"hi {i}"}], "max_tokens": 8},
        )
        if reply.status_code == 429:
            raise RateLimited(reply.headers, float(reply.headers["retry-after-ms"]) / 1000)
        reply.raise_for_status()
        return dict(reply.headers)

    await k.acall(sc, perform, classify=_classify, outcome=lambda headers: (None, headers))


@pytest.mark.timeout(60)
async def test_calls_admitted_first_but_arriving_last_get_no_429(
    make_kernel: MakeKernel, sim: SimServer
) -> None:
    """The burst's five calls reach the provider 0.6 s after admission; later calls go at once.

    Charged at sending, the bucket would refill during those 0.6 s and admit more calls, which
    arrive first and leave no room for the burst; the provider would reject some."""
    sim.reset()
    k = _kernel(make_kernel, sim)
    async with httpx.AsyncClient(base_url=sim.openai_base_url, timeout=30) as client:
        calls = [
            _call(k, client, i, (lambda: 0.6) if i < RPM else (lambda: 0.0)) for i in range(3 * RPM)
        ]
        await asyncio.gather(*calls)
    stats = sim.stats()
    assert stats["by_status"] == {"200": 3 * RPM}, stats["by_status"]
    assert stats["rate_limited"] == 0


@pytest.mark.timeout(60)
async def test_calls_admitted_apart_but_arriving_together_get_no_429(
    make_kernel: MakeKernel, sim: SimServer
) -> None:
    """Calls admitted over 1.2 s all reach the provider at the same moment (a loop that was busy
    the whole time): the provider sees them as one burst, which must fit its bucket."""
    sim.reset()
    k = _kernel(make_kernel, sim)
    loop = asyncio.get_running_loop()
    release_at = loop.time() + 1.2

    async def one(i: int, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(i * 0.1)  # the agents start one after another
        await _call(k, client, i, lambda: max(0.0, release_at - loop.time()))

    async with httpx.AsyncClient(base_url=sim.openai_base_url, timeout=30) as client:
        await asyncio.gather(*(one(i, client) for i in range(3 * RPM)))
    stats: dict[str, Any] = sim.stats()
    assert stats["by_status"] == {"200": 3 * RPM}, stats["by_status"]
    assert stats["rate_limited"] == 0
