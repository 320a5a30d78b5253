"""The scenarios' clock starts once the agents are built: building sends nothing, running does."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aios.bench.workloads import FRAMEWORK_AGENTS, WORKLOADS
from aios.sim.process import SimServer
from tests.bench.conftest import bench_env


@pytest.fixture
def sim_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        yield sim


# autogen warns that the sim answers with a dated model name, as OpenAI does.
@pytest.mark.filterwarnings("ignore:Resolved model mismatch")
def test_building_an_agent_of_every_framework_sends_no_request(sim_env: SimServer) -> None:
    async def build_then_run() -> list[str]:
        runs = [WORKLOADS[name](i, None) for i, name in enumerate(FRAMEWORK_AGENTS)]
        assert sim_env.stats()["requests"] == 0, "building an agent must not call the provider"
        return [await run() for run in runs]

    answers = asyncio.run(build_then_run())
    assert len(answers) == len(FRAMEWORK_AGENTS) and all(isinstance(a, str) for a in answers)
    # Each agent uses a tool, then answers: at least two requests each.
    assert sim_env.stats()["requests"] >= 2 * len(FRAMEWORK_AGENTS)


def test_the_rate_limited_makespan_starts_after_the_agents_are_built(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["rate-limited", "--agents", "4", "--modes", "aios", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "aios", "bench", *args],
        capture_output=True,
        text=True,
        env=bench_env(),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (scenario,) = json.loads((out / "results.json").read_text())
    (run,) = scenario["runs"]
    assert run["completed"] == 4 and run["rate_limited_429"] == 0
    assert run["build_s"] > 0
    # The first request leaves after the clock started, and the request span fits in the makespan.
    assert 0 <= run["before_first_request_s"] < run["makespan_s"]
    assert run["after_last_request_s"] >= 0
    span = run["makespan_s"] - run["before_first_request_s"] - run["after_last_request_s"]
    assert span == pytest.approx(run["request_span_s"], abs=1e-6)
