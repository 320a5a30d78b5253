"""The adapter API: held streams and their one end rule, the user's SDK retry setting, plugin
hooks through pluggy with errors reported by plugin name, and the kernel passed to ``patch``."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

openai = pytest.importorskip("openai")

import aios  # noqa: E402
from aios.adapters.api import AsyncHeldStream, HeldStream, Usage, hookimpl  # noqa: E402
from aios.adapters.plugins import Plugins, plugins  # noqa: E402
from aios.errors import AccessDenied  # noqa: E402
from aios.kernel.kernel import Kernel  # noqa: E402
from aios.kernel.syscall import Syscall  # noqa: E402
from aios.sim.process import SimServer  # noqa: E402
from tests.adapters.conftest import core_in_use, llm_records  # noqa: E402

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say something short."}]


# -- held streams: one end rule ------------------------------------------------------------------------
def _syscall(k: Kernel) -> Syscall:
    return k.llm_syscall(api="test.chat", model="m", framework="test")


def _words(fail_at: int | None = None) -> Iterator[str]:
    for i, word in enumerate(["a", "b", "c"]):
        if i == fail_at:
            raise ValueError("the provider broke mid-stream")
        yield word


def _count(usage: Usage | None, item: str) -> Usage:
    seen = usage.output_tokens or 0 if usage is not None else 0
    return Usage(input_tokens=2, output_tokens=seen + 1)


def _statuses(k: Kernel) -> list[str]:
    return [r["status"] for r in llm_records(k)]


def test_a_stream_read_to_its_end_is_done_with_its_usage(kernel: Kernel) -> None:
    stream = HeldStream(kernel, _syscall(kernel), lambda: _words(), fold=_count)
    assert list(stream) == ["a", "b", "c"]
    [rec] = llm_records(kernel)
    assert (rec["status"], rec["input_tokens"], rec["output_tokens"]) == ("done", 2, 3)
    assert core_in_use(kernel) == 0


def test_a_stream_whose_source_raises_is_failed(kernel: Kernel) -> None:
    stream = HeldStream(kernel, _syscall(kernel), lambda: _words(fail_at=2))
    with pytest.raises(ValueError, match="mid-stream"):
        list(stream)
    assert _statuses(kernel) == ["failed"]
    assert core_in_use(kernel) == 0


def test_a_stream_closed_early_is_cancelled_and_closes_its_source(kernel: Kernel) -> None:
    closed: list[bool] = []

    def source() -> Iterator[str]:
        try:
            yield from _words()
        finally:
            closed.append(True)

    with HeldStream(kernel, _syscall(kernel), source) as stream:
        assert next(stream) == "a"
        assert core_in_use(kernel) == 1
    assert closed == [True]
    assert _statuses(kernel) == ["cancelled"]
    assert core_in_use(kernel) == 0
    stream.close()  # ended exactly once
    assert _statuses(kernel) == ["cancelled"]


def test_a_stream_dropped_after_one_item_is_cancelled(kernel: Kernel) -> None:
    stream = HeldStream(kernel, _syscall(kernel), lambda: _words())
    next(stream)
    del stream
    gc.collect()
    assert _statuses(kernel) == ["cancelled"]
    assert core_in_use(kernel) == 0


def test_a_stream_never_read_is_never_submitted(kernel: Kernel) -> None:
    opened: list[bool] = []
    stream = HeldStream(kernel, _syscall(kernel), lambda: opened.append(True) or _words())
    stream.close()
    assert opened == [] and llm_records(kernel) == []
    assert list(stream) == []


async def test_async_streams_follow_the_same_rule(kernel: Kernel) -> None:
    async def source(fail: bool = False) -> AsyncIterator[str]:
        for word in _words():
            await asyncio.sleep(0)
            yield word
        if fail:
            raise ValueError("broken")

    assert [w async for w in AsyncHeldStream(kernel, _syscall(kernel), lambda: source())] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        async for _ in AsyncHeldStream(kernel, _syscall(kernel), lambda: source(fail=True)):
            pass
    async with AsyncHeldStream(kernel, _syscall(kernel), lambda: source()) as stream:
        await anext(stream)
    assert _statuses(kernel) == ["done", "failed", "cancelled"]
    assert core_in_use(kernel) == 0


async def _abandon_in_cancelled_tasks(k: Kernel, open_stream: Callable[[], Any], slots: int) -> list[Any]:
    """Tasks read one item of a stream each, then wait elsewhere; all are cancelled. Returns
    the cancellations they saw, whose tracebacks keep their frames and so the streams alive."""
    seen: list[BaseException] = []
    reading: list[bool] = []

    async def consume() -> None:
        stream = await open_stream()
        await anext(aiter(stream))
        reading.append(True)
        try:
            await asyncio.sleep(60)  # suspended outside the stream: the stream is not told
        except asyncio.CancelledError as exc:
            seen.append(exc)  # as a program logging or re-raising it later would
            raise

    tasks = [asyncio.create_task(consume()) for _ in range(slots)]
    deadline = time.monotonic() + 30
    while len(reading) < slots:
        assert time.monotonic() < deadline, "the streams never all started"
        await asyncio.sleep(0.01)
    assert core_in_use(k) == slots
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0)
    assert len(seen) == slots
    return seen


async def test_an_sdk_stream_abandoned_by_a_cancelled_task_gives_its_slot_back_at_once(
    boot: Callable[..., Kernel], slow_sim: SimServer
) -> None:
    k = boot(max_concurrency=4)
    aios.patch("openai")
    try:
        client = openai.AsyncOpenAI(base_url=slow_sim.openai_base_url, api_key="sim")

        async def open_stream() -> Any:
            return await client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, max_tokens=400
            )

        exceptions = await _abandon_in_cancelled_tasks(k, open_stream, 4)
        assert all(isinstance(e, asyncio.CancelledError) for e in exceptions)
        assert core_in_use(k) == 0  # not at garbage collection: the exceptions are still held
        assert _statuses(k) == ["cancelled"] * 4
        del exceptions
    finally:
        aios.unpatch("openai")


async def test_a_held_stream_abandoned_by_a_cancelled_task_gives_its_slot_back(
    boot: Callable[..., Kernel],
) -> None:
    k = boot(max_concurrency=3)

    async def endless() -> AsyncIterator[int]:
        n = 0
        while True:
            n += 1
            yield n
            await asyncio.sleep(0.01)

    async def open_stream() -> Any:
        return AsyncHeldStream(k, _syscall(k), endless)

    exceptions = await _abandon_in_cancelled_tasks(k, open_stream, 3)
    assert core_in_use(k) == 0
    assert _statuses(k) == ["cancelled"] * 3
    del exceptions


# -- the user's SDK retry setting wins ------------------------------------------------------------------
@pytest.fixture(scope="module")
def limited_sim() -> Iterator[SimServer]:
    """Every request gets a 429 (with a retry-after of 100 ms)."""
    with SimServer("--profile", "instant", "--faults", "429=1.0") as server:
        yield server


@pytest.mark.parametrize(("max_retries", "requests"), [(0, 1), (1, 2), (None, 3)])
def test_an_explicit_max_retries_on_the_client_bounds_the_kernels_retries(
    boot: Callable[..., Kernel], limited_sim: SimServer, max_retries: int | None, requests: int
) -> None:
    limited_sim.reset()
    k = boot(retry={"max_retries": 2})
    aios.patch("openai")
    try:
        options: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
        client = openai.OpenAI(base_url=limited_sim.openai_base_url, api_key="sim", **options)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        aios.unpatch("openai")
    # An explicit 0 is one request; the SDK's default leaves the kernel's policy (2 retries).
    assert limited_sim.stats()["requests"] == requests
    assert _statuses(k) == ["failed"]


def test_a_per_request_max_retries_wins_too(boot: Callable[..., Kernel], limited_sim: SimServer) -> None:
    limited_sim.reset()
    boot(retry={"max_retries": 3})
    aios.patch("openai")
    try:
        client = openai.OpenAI(base_url=limited_sim.openai_base_url, api_key="sim")
        with pytest.raises(openai.RateLimitError):
            client.with_options(max_retries=0).chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        aios.unpatch("openai")
    assert limited_sim.stats()["requests"] == 1


# -- plugins: hooks through pluggy, errors reported by plugin name --------------------------------------
class _BrokenObserver:
    def __init__(self) -> None:
        self.finished = 0

    def on_submit(self, syscall: Syscall) -> None:
        raise RuntimeError("observer bug")

    def on_finish(self, syscall: Syscall) -> None:
        self.finished += 1
        raise RuntimeError("observer bug at the end")


class _BrokenObserverPlugin:
    def __init__(self) -> None:
        self.observer = _BrokenObserver()

    @hookimpl
    def aios_syscall_observer(self, kernel: Kernel) -> Any:
        return self.observer


def test_an_observer_that_raises_breaks_no_call_and_is_reported_once_by_name(
    sim: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = _BrokenObserverPlugin()
    plugins().register(plugin, name="broken-observer")
    aios.shutdown()
    try:
        k = aios.boot()
        aios.patch("openai")
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="sim")
        threads = threading.active_count()
        with caplog.at_level(logging.WARNING):
            for _ in range(5):
                client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert threading.active_count() <= threads  # no kernel (or other) thread per call
        assert aios.get_kernel() is k
        assert _statuses(k) == ["done"] * 5
        assert plugin.observer.finished == 5
        reports = [r.getMessage() for r in caplog.records if "broken-observer" in r.getMessage()]
        assert len(reports) == 2  # on_submit and on_finish, once each
    finally:
        aios.unpatch("openai")
        plugins().pm.unregister(name="broken-observer")
        aios.shutdown()


class _Refusing:
    def on_submit(self, syscall: Syscall) -> None:
        raise AccessDenied(f"agent {syscall.agent!r} may not call anything")


def test_an_observer_may_still_refuse_a_call(kernel: Kernel, sim: SimServer) -> None:
    kernel.add_observer(_Refusing())
    aios.patch("openai", kernel=kernel)
    try:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="sim")
        with pytest.raises(AccessDenied):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        aios.unpatch("openai")
    assert sim.stats()["requests"] == 0
    assert _statuses(kernel) == ["failed"]


class _ObserverHookRaises:
    @hookimpl
    def aios_syscall_observer(self, kernel: Kernel) -> Any:
        raise RuntimeError("cannot observe")


def test_a_failing_observer_hook_does_not_stop_the_kernel_from_booting() -> None:
    threads = threading.active_count()
    plugins().register(_ObserverHookRaises(), name="bad-hook")
    aios.shutdown()
    try:
        k = aios.get_kernel()
        assert aios.get_kernel() is k and k.running
        assert "bad-hook" in plugins().errors
        assert threading.active_count() <= threads + 1  # this one kernel's thread
    finally:
        plugins().pm.unregister(name="bad-hook")
        aios.shutdown()


class _Misspelled:
    @hookimpl
    def aios_register_adapter(self, register: Any) -> None:  # the hook is aios_register_adapters
        pass


class _LatePolicyPlugin:
    def __init__(self) -> None:
        self.asked = 0

    @hookimpl
    def aios_register_adapters(self) -> None:  # takes none of the hook's arguments: allowed
        self.asked += 1


def test_misspelled_hooks_are_reported_and_late_plugins_are_still_asked() -> None:
    manager = Plugins(builtins=(), entry_points=False)
    manager.load()
    manager.register(_Misspelled(), name="typo")
    assert "aios_register_adapter" in manager.errors["typo"]
    assert not manager.pm.has_plugin("typo")
    late = _LatePolicyPlugin()
    manager.register(late, name="late")
    assert late.asked == 1  # the historic registration hook was replayed for it
    assert "late" not in manager.errors


# -- the kernel is passed in -------------------------------------------------------------------------
def test_patch_sends_calls_to_the_kernel_it_was_given(kernel: Kernel, sim: SimServer) -> None:
    mine = Kernel()
    try:
        aios.patch("openai", kernel=mine)
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="sim")
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        aios.unpatch("openai")
        assert len(llm_records(mine)) == 1
        assert llm_records(kernel) == []
        aios.patch("openai")  # after unpatch, the process's kernel again
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert len(llm_records(kernel)) == 1
    finally:
        aios.unpatch("openai")
        mine.shutdown()
