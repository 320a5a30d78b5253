"""Many processes of real framework agents, one kernel: ``aios run --redis`` against ``aios sim``.

Each framework's program (``programs/framework_workers.py``) starts 4 worker processes with
multiprocessing (spawn), each running its agents with a tool. The sim counts what reached the
provider: requests in flight at once and the 429s it sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aios.sim.process import SimServer
from tests.shared.conftest import PROGRAMS, run_aios

#: 10 requests per simulated minute; at time scale 40 one minute lasts 1.5 real seconds.
RPM = 10
TIME_SCALE = 40
PROCESSES, AGENTS = 4, 3


@pytest.fixture(scope="module")
def paced_sim() -> Iterator[SimServer]:
    """One key at 10 requests per (time-scaled) minute; each call takes about 0.2 s, so the calls of
    different processes overlap."""
    with SimServer(
        "--profile", "api", "--rpm", str(RPM), "--tpm", "10000000",
        "--time-scale", str(TIME_SCALE), "--latency", f"ttft={0.2 * TIME_SCALE}",
    ) as s:  # fmt: skip
        yield s


def _config(directory: Path, base_url: str) -> Path:
    path = directory / "aios.toml"
    path.write_text(
        "[[cores]]\n"
        'name = "sim"\napi = "openai"\n'
        f'base_url = "{base_url}"\n'
        f"max_concurrency = 2\nrpm = {RPM}\ntpm = 10000000\nrate_window_s = {60 / TIME_SCALE}\n"
    )
    return path


def _run(
    framework: str, sim: SimServer, config: Path, url: str, processes: int, agents: int, prefix: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    sim.reset()
    proc = run_aios(
        ["run", "-q", "--config", str(config), "--redis", url,
         str(PROGRAMS / "framework_workers.py"), framework, str(processes), str(agents)],
        sim=sim,
        env={"AIOS_REDIS_PREFIX": prefix},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), sim.stats()


def _framework(name: str) -> str:
    if name == "crewai":
        # crewai is installed only in the crewai environment (it pins an older openai).
        pytest.importorskip("crewai")
    return name


@pytest.mark.slow
@pytest.mark.timeout(300)  # crewai takes about a minute on a loaded 2-core machine
@pytest.mark.parametrize("framework", ["langchain", "autogen", "openai-agents", "crewai"])
def test_framework_agents_in_four_processes_share_one_kernel(
    framework: str, tmp_path: Path, paced_sim: SimServer, redis_url: str
) -> None:
    config = _config(tmp_path, paced_sim.openai_base_url)
    split, split_stats = _run(_framework(framework), paced_sim, config, redis_url, PROCESSES, AGENTS, "split")
    total = PROCESSES * AGENTS
    assert split["exit_codes"] == [0] * PROCESSES
    assert split["errors"] == [] and split["completed"] == total, split
    # Every agent used its tool (a real tool loop, not one call).
    assert split["tool_runs"] >= total, split
    assert split_stats["requests"] >= 2 * total, split_stats
    # One concurrency limit for all four processes (four per-process limits would allow 8).
    assert split_stats["max_in_flight"] <= 2, split_stats

    # The limits are stated, so one shared rate limit lets no request reach the provider too soon:
    # not a single 429 (four per-process limits let four bursts through: 12 429s measured).
    assert split_stats["rate_limited"] == 0, split_stats
