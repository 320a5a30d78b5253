"""The access manager as the kernel's metering: budget lines, estimates and actuals, prices."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from aios.config import KernelConfig
from aios.errors import AdmissionError
from aios.kernel.access import AccessManager
from aios.kernel.access.prices import Price, PriceTable, shipped_prices
from aios.kernel.context import agent
from aios.kernel.ledger import LocalLedger
from aios.kernel.syscall import Kind, Syscall


def manager(**config: Any) -> AccessManager:
    return AccessManager(KernelConfig.model_validate(config))


def llm(
    name: str = "a", model: str | None = "gpt-4o-mini", est_in: int = 1000, est_out: int = 500
) -> Syscall:
    return Syscall(Kind.LLM, name, 0.0, model=model, est_input_tokens=est_in, est_output_tokens=est_out)


def tool(name: str = "a", tool: str = "search") -> Syscall:
    return Syscall(Kind.TOOL, name, 0.0, tool=tool)


def test_no_budgets_no_charges() -> None:
    m = manager()
    assert m.charges(llm()) == () and m.charges(tool()) == ()


def test_every_line_with_its_key_setting_and_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_RUN_ID", "r1")
    m = manager(
        cost_budget_usd=10,
        max_llm_calls=50,
        max_tool_calls=20,
        agents={"a": {"token_budget": 9000, "cost_budget_usd": 1.5, "max_llm_calls": 5, "max_tool_calls": 3}},
    )
    sc = llm()
    m.admit(sc)
    got = {c.key: c for c in m.charges(sc)}
    assert set(got) == {
        "agent:a:tokens",
        "agent:a:usd",
        "global:usd",
        "agent:a:llm_calls",
        "run:r1:llm_calls",
    }
    assert got["agent:a:tokens"].amount == 1500 and got["agent:a:tokens"].setting == "agents.a.token_budget"
    est = (1000 * 0.15 + 500 * 0.6) / 1e6  # gpt-4o-mini, shipped prices
    assert got["agent:a:usd"].amount == pytest.approx(est) and got["agent:a:usd"].unit == "USD"
    assert got["agent:a:usd"].limit == 1.5 and got["agent:a:usd"].setting == "agents.a.cost_budget_usd"
    assert got["global:usd"].setting == "cost_budget_usd"
    assert (
        got["agent:a:llm_calls"].setting == "agents.a.max_llm_calls"
        and got["agent:a:llm_calls"].unit == "LLM calls"
    )
    assert got["run:r1:llm_calls"].limit == 50 and got["run:r1:llm_calls"].setting == "max_llm_calls"
    t = {c.key: c for c in m.charges(tool())}
    assert set(t) == {"agent:a:tool_calls", "run:r1:tool_calls"}
    assert t["agent:a:tool_calls"].unit == "tool calls" and t["agent:a:tool_calls"].amount == 1


def test_actuals_come_from_reported_usage() -> None:
    m = manager(cost_budget_usd=10, agents={"a": {"token_budget": 9000, "max_llm_calls": 5}})
    sc = llm()
    charges = {c.key: c for c in m.charges(sc)}
    # Usage unknown: the provider may have billed the whole estimate.
    assert m.actual(sc, charges["agent:a:tokens"]) == 1500
    assert m.actual(sc, charges["global:usd"]) == charges["global:usd"].amount
    sc.input_tokens, sc.output_tokens, sc.usage_known = 800, 20, True
    assert m.actual(sc, charges["agent:a:tokens"]) == 820
    assert m.actual(sc, charges["global:usd"]) == pytest.approx((800 * 0.15 + 20 * 0.6) / 1e6)
    assert m.actual(sc, charges["agent:a:llm_calls"]) == 1


def test_an_agent_scope_is_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIOS_RUN_ID", raising=False)
    m = manager(max_tool_calls=2)

    def run_key() -> str:
        sc = tool()
        m.admit(sc)
        return m.charges(sc)[0].key

    outside = run_key()
    with agent("x"):
        first = run_key()
        with agent("inner"):  # nested scopes stay in the outer run
            assert run_key() == first
    with agent("x"):
        second = run_key()
    assert len({outside, first, second}) == 3


def test_unknown_model_with_a_cost_budget_is_refused_at_admission() -> None:
    m = manager(agents={"a": {"cost_budget_usd": 1}})
    with pytest.raises(AdmissionError, match=r"model 'my-local-llama'.*`agents.a.cost_budget_usd`.*prices"):
        m.admit(llm(model="my-local-llama"))
    m.admit(llm("b", model="my-local-llama"))  # no budget, no price needed
    g = manager(cost_budget_usd=1, prices={"my-*": {"input": 0.1, "output": 0.2}})
    g.admit(llm(model="my-local-llama"))
    with pytest.raises(AdmissionError, match=r"model 'other'.*`cost_budget_usd`"):
        g.admit(llm(model="other"))


def test_prices_longest_glob_and_overrides_win() -> None:
    t = PriceTable({"gpt-4o*": Price(1.0, 2.0)})
    assert t.lookup("gpt-4o-mini") == Price(1.0, 2.0)  # the user's entry wins over the shipped one
    shipped = PriceTable({})
    assert shipped.lookup("gpt-4o-mini-2024-07-18") == shipped_prices()["gpt-4o-mini*"]
    assert shipped.lookup("gpt-4o-2024-08-06") == shipped_prices()["gpt-4o*"]
    assert shipped.lookup("openai/gpt-4o") == shipped_prices()["gpt-4o*"]
    assert shipped.lookup("claude-sonnet-4-5-20250929") is not None
    assert shipped.lookup("nobody-knows") is None
    p = Price(2.0, 8.0, cached_input=0.5)
    assert p.cost(1_000_000, 0, cached_tokens=400_000) == pytest.approx(1.2 + 0.2)


def test_cost_budget_with_a_ledger_under_100_concurrent_calls() -> None:
    """Reserve-then-settle keeps spending within the budget plus what usage beat the estimates by."""
    m = manager(cost_budget_usd=0.05, max_llm_calls=80)
    ledger, lock = LocalLedger(), threading.Lock()
    rng = random.Random(7)
    over_estimate = 0.0
    ran = refused = 0
    barrier = threading.Barrier(100)

    def one(i: int) -> None:
        nonlocal over_estimate, ran, refused
        sc = llm(model="gpt-4o", est_in=1000 + i, est_out=1000)  # ~$0.0125 each
        charges = m.charges(sc)
        barrier.wait()
        with lock:
            short = ledger.reserve(charges)
        if short is not None:
            with lock:
                refused += 1
            assert short.charge.setting in ("cost_budget_usd", "max_llm_calls")
            return
        sc.input_tokens, sc.output_tokens = 1000 + i, rng.randint(0, 1100)
        sc.usage_known = True
        actual = [m.actual(sc, c) for c in charges]
        with lock:
            ran += 1
            over_estimate += max(0.0, actual[0] - charges[0].amount)
            ledger.settle(charges, actual)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    used, reserved = ledger.line("global:usd")
    assert reserved == pytest.approx(0.0, abs=1e-12)
    assert used <= 0.05 + over_estimate + 1e-12
    assert ran + refused == 100 and ran >= 3 and refused > 0
