"""The LiteLLM peer: its generated config, and a short real run through the proxy in front of the sim."""

from __future__ import annotations

import pytest

from aios.bench.litellm_peer import (
    NUM_RETRIES,
    LiteLLMMissing,
    find_executable,
    peer_table,
    proxy_config,
)
from aios.bench.runner import run_mode
from aios.bench.scenarios import SCENARIOS
from aios.bench.workloads import MODEL
from aios.sim.process import SimServer


def test_config_carries_the_providers_limits_per_real_minute() -> None:
    core = SCENARIOS["rate-limited"].core  # 3 requests per 1 s window
    cfg = proxy_config("http://127.0.0.1:9/v1", MODEL, core)
    (deployment,) = cfg["model_list"]
    assert deployment["model_name"] == MODEL
    params = deployment["litellm_params"]
    assert params["rpm"] == 180 and params["tpm"] == 60_000_000
    assert params["api_base"] == "http://127.0.0.1:9/v1"
    assert cfg["router_settings"]["num_retries"] == NUM_RETRIES
    assert cfg["litellm_settings"]["callbacks"] == []
    server = proxy_config("http://127.0.0.1:9/v1", MODEL, SCENARIOS["server"].core)
    assert server["model_list"][0]["litellm_params"]["max_parallel_requests"] == 3
    assert "rpm" not in server["model_list"][0]["litellm_params"]


@pytest.mark.timeout(600)  # the proxy itself takes tens of seconds to start on a busy machine
def test_a_short_litellm_run_completes_and_fills_the_table() -> None:
    try:
        find_executable()
    except LiteLLMMissing as e:
        pytest.skip(f"LiteLLM's proxy is not installed here: {e}")
    sc = SCENARIOS["rate-limited"]
    with SimServer([*sc.sim_args, "--seed", "7"]) as sim:
        result = run_mode(sim, sc, "litellm", agents=4, frameworks=("openai",), policy=None)
        stats = sim.stats()
    assert result["mode"] == "litellm"
    assert result["completed"] == 4
    assert stats["by_status"].get("200", 0) >= 4  # the calls really went through to the sim
    for key in ("agent_429s", "wasted_requests", "makespan_s", "all_done_s"):
        assert isinstance(result[key], int | float), key
    table = peer_table({"scenario": sc.name, "runs": [result], "ratios": {}})
    assert "| litellm | 4 / 4 |" in table
    assert "per-minute windows" in table  # what LiteLLM cannot express is said in the row
