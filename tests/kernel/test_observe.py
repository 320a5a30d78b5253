"""Observe mode (``observe = true``): every call is recorded, none is delayed, retried or refused."""

from __future__ import annotations

import pytest

from aios.config import load_config
from aios.kernel.failures import Failure
from aios.kernel.lease import Lease
from aios.kernel.syscall import Status

from .conftest import MakeKernel

CORE = {"name": "c", "api": "openai", "max_concurrency": 1, "rpm": 1, "rate_window_s": 60.0}


class Boom(Exception):
    pass


def _rate_limited(exc: BaseException) -> Failure:
    return Failure(True, "rate_limit", status=429, retry_after=0.01, pause_core=True)


@pytest.mark.parametrize("observe", [True, False])
def test_admission_is_immediate_only_when_observing(make_kernel: MakeKernel, observe: bool) -> None:
    k = make_kernel(observe=observe, cores=[CORE])
    first = k.llm_syscall(api="openai.chat", model="m", agent="a")
    lease = k.acquire(first)
    second = k.llm_syscall(api="openai.chat", model="m", agent="b")
    waiter = k.scheduler.submit(second, _Recorder)
    # One slot and one request a minute: the second call waits, unless aios only observes.
    assert (waiter is None) is observe
    assert (second.status is Status.RUNNING) is observe
    lease.succeed()
    k._finish(second, Status.DONE if observe else Status.CANCELLED, ran=observe)
    assert len(k.report()["syscalls"]) == 2


def test_a_retryable_failure_is_not_retried_and_gets_no_note(make_kernel: MakeKernel) -> None:
    k = make_kernel(observe=True, cores=[CORE], retry={"max_retries": 5})
    sc = k.llm_syscall(api="openai.chat", model="m", agent="a")
    attempts = 0

    def perform(lease: Lease) -> None:
        nonlocal attempts
        attempts += 1
        raise Boom("429")

    with pytest.raises(Boom) as info:
        k.call(sc, perform, classify=_rate_limited)
    assert attempts == 1 and sc.retries == 0 and sc.status is Status.FAILED
    assert not getattr(info.value, "__notes__", [])
    assert k.report()["syscalls"][0]["status"] == "failed"


def test_access_rules_and_budgets_refuse_nothing(make_kernel: MakeKernel) -> None:
    agents = {"a": {"allowed_models": ["other-*"], "token_budget": 1}}
    k = make_kernel(observe=True, agents=agents)
    sc = k.llm_syscall(api="openai.chat", model="gpt-4o", agent="a")
    assert k.call(sc, lambda lease: "ok") == "ok"
    watched = make_kernel(agents=agents)
    from aios.errors import AccessDenied

    with pytest.raises(AccessDenied):
        watched.call(watched.llm_syscall(api="openai.chat", model="gpt-4o", agent="a"), lambda lease: "ok")


def test_observe_is_read_from_the_environment() -> None:
    assert load_config(environ={"AIOS_OBSERVE": "1"}).observe is True
    assert load_config(environ={}).observe is False
    # The bench's own variables are not config keys.
    assert load_config(environ={"AIOS_BENCH_COPY": "3", "AIOS_BENCH_PROBE_DIR": "/x"}).observe is False


class _Recorder:
    def __init__(self) -> None:
        self.woken: list[BaseException | None] = []

    def wake(self, error: BaseException | None) -> None:
        self.woken.append(error)
