"""A ``token_budget`` shared by processes: reservations hold it across all of them.

Four worker processes of one agent make concurrent calls against a sim whose calls overlap; the
budget fits a fraction of them. Totals come from the cluster report and from the sim itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aios
from aios.sim.process import SimServer
from tests.shared.conftest import PROGRAMS, run_aios

BUDGET = 700
PROCESSES, CALLS = 4, 10


@pytest.fixture(scope="module")
def overlapping_sim() -> Iterator[SimServer]:
    """Each call takes about 0.3 s, so reservations of different processes are held at once."""
    with SimServer("--profile", "api", "--latency", "ttft=0.3") as s:
        yield s


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_shared_token_budget_is_not_overshot_by_more_than_reported_minus_estimated(
    tmp_path: Path, overlapping_sim: SimServer, redis_url: str
) -> None:
    sim = overlapping_sim
    sim.reset()
    config = tmp_path / "aios.toml"
    config.write_text(
        f'[[cores]]\nname = "sim"\napi = "openai"\nbase_url = "{sim.openai_base_url}"\n'
        f"[agents.shared]\ntoken_budget = {BUDGET}\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    proc = run_aios(
        ["run", "-q", "--frameworks", "openai", "--config", str(config), "--redis", redis_url,
         str(PROGRAMS / "budget_hammer.py"), str(out), str(PROCESSES), str(CALLS)],
        sim=sim,
        env={"AIOS_REDIS_PREFIX": "budget"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["exit_codes"] == [0] * PROCESSES

    workers = [json.loads((out / f"worker-{w}.json").read_text()) for w in range(PROCESSES)]
    calls = [c for w in workers for c in w["calls"]]
    syscalls: list[dict[str, Any]] = [s for w in workers for s in w["syscalls"]]
    assert len(calls) == PROCESSES * CALLS
    # Every call ended: it ran, or it was refused cleanly with BudgetExceeded.
    refused = [c for c in calls if c["outcome"] != "ok"]
    assert all(c["outcome"].startswith("aios.errors.BudgetExceeded: ") for c in refused), refused
    assert "token_budget" in refused[0]["outcome"]
    ran = [c for c in calls if c["outcome"] == "ok"]
    # The budget fits a fraction of the calls: some ran, the others were refused.
    assert ran and refused, (len(ran), len(refused))
    # One syscall per call, each ended (no retries: the sim has no limits and refuses nothing).
    assert len(syscalls) == len(calls)
    assert {s["status"] for s in syscalls} <= {"done", "failed"}
    assert sum(s["status"] == "done" for s in syscalls) == len(ran)

    done = [s for s in syscalls if s["status"] == "done"]
    assert all(s["usage_known"] for s in done)
    over_estimate = sum(max(0, s["reported"] - s["estimated"]) for s in done)
    report = aios.cluster_report(redis_url, "budget")
    shared = report["agents"]["shared"]
    used = shared["input_tokens"] + shared["output_tokens"]
    served = sim.stats()
    # What the cluster accounted is what the provider served, and both stay within the budget
    # plus what providers reported above the estimates.
    assert used == served["input_tokens"] + served["output_tokens"] == sum(s["reported"] for s in done)
    assert used <= BUDGET + over_estimate, (used, BUDGET, over_estimate)
    assert shared["llm_calls"] == len(calls)
