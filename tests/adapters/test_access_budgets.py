"""Cost budgets and call caps under concurrency: real openai clients, real HTTP, a real sim."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

openai = pytest.importorskip("openai")

import aios  # noqa: E402
from aios.errors import BudgetExceeded  # noqa: E402
from aios.kernel import Kernel  # noqa: E402
from aios.kernel.access.prices import shipped_prices  # noqa: E402
from aios.sim.process import SimServer  # noqa: E402

MODEL = "gpt-4o-mini"
PRICE = shipped_prices()["gpt-4o-mini*"]


@pytest.fixture
def patch_openai() -> Iterator[None]:
    aios.patch("openai")
    try:
        yield
    finally:
        aios.unpatch("openai")


async def hundred_calls(sim: SimServer, n: int = 100, agents: int = 1) -> list[Any]:
    client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim-key", max_retries=0)

    async def one(i: int) -> Any:
        async with aios.agent(f"agent{i % agents}"):
            return await client.chat.completions.create(
                model=MODEL, max_tokens=200, messages=[{"role": "user", "content": f"Say a few words, {i}."}]
            )

    try:
        return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    finally:
        await client.close()


async def test_cost_budget_under_100_concurrent_calls(
    boot: Callable[..., Kernel], slow_sim: SimServer, patch_openai: None
) -> None:
    # Ten calls' estimates fit at once (each reserves its prompt + 200 output tokens); replies
    # are shorter, so settled calls give part back and more get in, but not all 100.
    budget = 10 * PRICE.cost(15, 200)
    k = boot(cost_budget_usd=budget)
    results = await hundred_calls(slow_sim)
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(refused) + len(done) == 100, [r for r in results if isinstance(r, BaseException)][:3]
    assert refused and done and "`cost_budget_usd`" in str(refused[0])
    records = [r for r in k.report()["syscalls"] if r["kind"] == "llm" and r["status"] == "done"]
    spent = sum(r["cost_usd"] for r in records)
    # What the provider reported above the estimates is the only way past the budget.
    beyond = sum(
        max(0.0, PRICE.cost(r["input_tokens"], r["output_tokens"]) - PRICE.cost(r["input_tokens"], 200))
        for r in records
    )
    assert spent <= budget + beyond + 1e-12
    assert len(records) == len(done) == slow_sim.stats()["requests"]
    assert k.report()["agents"]["agent0"]["cost_usd"] == pytest.approx(spent)


async def test_run_and_agent_caps_hold_under_concurrency(
    boot: Callable[..., Kernel], slow_sim: SimServer, patch_openai: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOS_RUN_ID", "cap-test")  # one run, as under `aios run`
    k = boot(max_llm_calls=25, agents={"agent1": {"max_llm_calls": 5}})
    results = await hundred_calls(slow_sim, agents=4)
    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(done) == 25 and len(refused) == 75
    assert slow_sim.stats()["requests"] == 25
    assert any("`max_llm_calls`" in str(r) for r in refused)
    report = k.report()["agents"]
    assert report["agent1"]["llm_calls"] - report["agent1"]["errors"] <= 5
    assert any("`agents.agent1.max_llm_calls`" in str(r) for r in refused)


async def test_tool_cap_holds_under_concurrency(
    boot: Callable[..., Kernel], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOS_RUN_ID", "tool-cap")
    k = boot(max_tool_calls=20)
    ran: list[int] = []

    async def tool(i: int) -> int:
        await asyncio.sleep(0.01)
        ran.append(i)
        return i

    results = await asyncio.gather(
        *(k.arun_tool("search", lambda i=i: tool(i), agent=f"a{i % 3}") for i in range(50)),
        return_exceptions=True,
    )
    assert len(ran) == 20
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(refused) == 30 and "`max_tool_calls`" in str(refused[0])
