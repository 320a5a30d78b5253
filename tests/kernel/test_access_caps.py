"""Call caps and cost budgets of the access manager, on each admission-state backend.

Two kernels made in one test share their state as two processes of one run would: the caps and
the budget hold across both of them under concurrency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from aios.errors import BudgetExceeded
from aios.kernel.access.prices import shipped_prices
from aios.kernel.failures import Usage

from .conftest import MakeKernel

PRICE = shipped_prices()["gpt-4o*"]


def reported(result: Any) -> tuple[Usage | None, Mapping[str, str] | None]:
    return Usage(*result), None


def hammer(kernels: list[Any], n: int, output_tokens: int) -> tuple[int, int, list[BaseException]]:
    done = refused = 0
    other: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        nonlocal done, refused
        k = kernels[i % len(kernels)]
        sc = k.llm_syscall(
            api="openai.chat",
            model="gpt-4o",
            base_url="http://127.0.0.1:9/v1",
            agent=f"a{i % 3}",
            input_tokens=100,
            max_tokens=500,
        )
        barrier.wait()
        try:
            k.call(sc, lambda lease: (time.sleep(0.01), (100, output_tokens))[1], outcome=reported)
        except BudgetExceeded:
            with lock:
                refused += 1
            return
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            other.append(exc)
            return
        with lock:
            done += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done, refused, other


def sharing(backend: dict[str, Any]) -> int:
    """How many separate states two kernels have: one when shared, else one each."""
    return 1 if backend.get("redis_url") else 2


def test_run_cap_holds_across_two_kernels(
    make_kernel: MakeKernel, backend: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOS_RUN_ID", f"caps-{time.monotonic_ns()}")
    kernels = [make_kernel(max_llm_calls=17), make_kernel(max_llm_calls=17)]
    done, refused, other = hammer(kernels, 60, output_tokens=50)
    assert other == [] and done == 17 * sharing(backend) and done + refused == 60


def test_cost_budget_holds_across_two_kernels(make_kernel: MakeKernel, backend: dict[str, Any]) -> None:
    budget = 12 * PRICE.cost(100, 500)  # twelve estimates; each call uses its whole estimate
    kernels = [make_kernel(cost_budget_usd=budget), make_kernel(cost_budget_usd=budget)]
    done, refused, other = hammer(kernels, 60, output_tokens=500)
    assert other == [] and done == 12 * sharing(backend) and done + refused == 60
    spent = sum(a.get("cost_usd", 0.0) for k in kernels for a in k.report()["agents"].values())
    assert spent == pytest.approx(done * PRICE.cost(100, 500))
    assert spent <= budget * sharing(backend) * (1 + 1e-9)
