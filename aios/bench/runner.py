"""Runs a scenario: one sim, the compared modes alternating in one invocation, same seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from aios.bench.metrics import ratio, summarize
from aios.bench.scenarios import Scenario
from aios.bench.worker import PROGRESS_PREFIX
from aios.sim.process import SimServer

TELEMETRY_OFF = {
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
}
#: What each mode sets: the framework defaults, SDK retries turned up, or aios.
MODE_RETRIES: dict[str, int | None] = {"default": None, "tuned": 10, "aios": None, "litellm": None}
MAX_RERUN_ROUNDS = 30


AgentDone = Callable[[bool], None]


def _worker(
    sim: SimServer,
    spec: dict[str, Any],
    timeout: float,
    on_agent: AgentDone | None = None,
    provider_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = {**os.environ, **(provider_env or sim.env()), **TELEMETRY_OFF}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aios.bench.worker", json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    errors: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith(PROGRESS_PREFIX):
                if on_agent is not None:
                    on_agent(line.split()[1] == "ok")
            else:
                errors.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    assert proc.stdout is not None
    try:
        # Not communicate(): it would read stderr too, racing the progress reader.
        out = proc.stdout.read()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"benchmark worker ran past {timeout:g}s and was stopped") from None
    reader.join(5)
    if proc.returncode != 0:
        tail = "".join(errors)[-3000:]
        raise RuntimeError(f"benchmark worker failed ({proc.returncode}):\n{tail}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_mode(
    sim: SimServer,
    scenario: Scenario,
    mode: str,
    *,
    agents: int,
    frameworks: tuple[str, ...],
    policy: str | None,
    timeout: float = 900,
    on_agent: AgentDone | None = None,
    rerun_failed: bool = True,
) -> dict[str, Any]:
    # "aios:las" is aios with that policy; "litellm" is the default agents behind a LiteLLM proxy.
    base, _, mode_policy = mode.partition(":")
    if base == "litellm":
        from aios.bench.litellm_peer import LiteLLMProxy, proxy_config
        from aios.bench.workloads import MODEL

        with LiteLLMProxy(proxy_config(sim.openai_base_url, MODEL, scenario.core)) as proxy:
            return _run_mode(
                sim, scenario, mode, agents, frameworks, policy, timeout, on_agent, rerun_failed, proxy
            )
    return _run_mode(
        sim, scenario, mode, agents, frameworks, mode_policy or policy, timeout, on_agent, rerun_failed
    )


def _run_mode(
    sim: SimServer,
    scenario: Scenario,
    mode: str,
    agents: int,
    frameworks: tuple[str, ...],
    policy: str | None,
    timeout: float,
    on_agent: AgentDone | None,
    rerun_failed: bool,
    proxy: Any = None,
) -> dict[str, Any]:
    base = mode.partition(":")[0]
    provider_env = proxy.env() if proxy is not None else None
    spec: dict[str, Any] = {
        "mode": "aios" if base == "aios" else "plain",
        "frameworks": list(frameworks),
        "max_retries": MODE_RETRIES[base],
        "indices": list(range(agents)),
        "kernel": scenario.kernel_config(sim.openai_base_url, policy),
        "warmup": scenario.warmup,
    }
    sim.reset()
    run = _worker(sim, spec, timeout, on_agent, provider_env)
    run["mode"] = mode
    result = summarize(run, sim.stats())
    result["agent_429s"] = _agent_429s(base, result, run, proxy)
    # A user re-runs the agents that failed, from scratch, until every one has succeeded.
    all_done = run["makespan_s"]
    failed = [a["agent"] for a in run["agents"] if not a["ok"]]
    rounds = 0
    rerun_times: list[float] = []  # successes of the reruns, on the same clock as the first run
    while rerun_failed and failed and rounds < MAX_RERUN_ROUNDS:
        rounds += 1
        sim.reset()
        if proxy is not None:
            proxy.mark()
        rerun = _worker(sim, {**spec, "indices": failed}, timeout, provider_env=provider_env)
        rerun_times += [all_done + a["completion_s"] for a in rerun["agents"] if a["ok"]]
        all_done += rerun["makespan_s"]
        failed = [a["agent"] for a in rerun["agents"] if not a["ok"]]
    result["rerun_completion_times"] = sorted(rerun_times)
    # When reruns did not get every agent through, the time so far is a lower bound.
    result["all_done_s"] = all_done
    result["all_done_complete"] = not failed
    result["rerun_rounds"] = rounds
    if scenario.request_quota is not None and base == "aios":
        capacity, rate = scenario.request_quota
        minimum = max(0.0, result["useful_requests"] - capacity) / rate
        result["quota_minimum_s"] = minimum
        result["makespan_vs_quota_minimum"] = ratio(result["makespan_s"], minimum)
        result["span_vs_quota_minimum"] = ratio(result["request_span_s"], minimum)
    return result


def _agent_429s(base: str, result: dict[str, Any], run: dict[str, Any], proxy: Any) -> int:
    """Rate-limit responses the agents' own clients received (their SDKs then retry or fail)."""
    if proxy is not None:
        return int(proxy.responses().get("429", 0))
    if base == "aios":
        # The kernel retries 429s itself; one reaches an agent only as the error it fails with.
        return sum(1 for a in run["agents"] if a["error"] and "RateLimit" in a["error"])
    return int(result["rate_limited_429"])


def run_scenario(
    scenario: Scenario,
    *,
    agents: int | None = None,
    frameworks: tuple[str, ...] | None = None,
    policy: str | None = None,
    repeat: int = 1,
    progress: Callable[[str], None] | None = None,
    modes: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    modes = modes or scenario.modes
    agents = agents or scenario.agents
    frameworks = frameworks or scenario.frameworks
    runs: list[dict[str, Any]] = []
    with SimServer([*scenario.sim_args, "--seed", "7"]) as sim:
        for rep in range(repeat):
            for mode in modes:
                if progress:
                    progress(f"{scenario.name}: {mode} (round {rep + 1}/{repeat})")
                result = run_mode(sim, scenario, mode, agents=agents, frameworks=frameworks, policy=policy)
                result["round"] = rep
                runs.append(result)
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "config": {
            "agents": agents,
            "frameworks": list(frameworks),
            "policy": policy or scenario.policy,
            "sim_args": list(scenario.sim_args),
            "core": scenario.core,
            "repeat": repeat,
            "modes": list(modes),
        },
        "runs": runs,
        "ratios": {
            **ratios(runs),
            **(per_call(runs, scenario.calls_per_agent) if scenario.calls_per_agent else {}),
        },
    }


def _median(runs: list[dict[str, Any]], mode: str, key: str) -> float | None:
    values = [r[key] for r in runs if r["mode"] == mode and r.get(key) is not None]
    return sorted(values)[len(values) // 2] if values else None


def ratios(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """aios against each baseline (medians over rounds). Below 1 is better for times."""
    out: dict[str, float | None] = {}
    for base in ("default", "tuned"):
        if not any(r["mode"] == base for r in runs):
            continue
        out[f"makespan_vs_{base}"] = ratio(
            _median(runs, "aios", "makespan_s"), _median(runs, base, "makespan_s")
        )
        out[f"mean_completion_vs_{base}"] = ratio(
            _median(runs, "aios", "mean_completion_s"), _median(runs, base, "mean_completion_s")
        )
        out[f"p99_completion_vs_{base}"] = ratio(
            _median(runs, "aios", "p99_completion_s"), _median(runs, base, "p99_completion_s")
        )
        out[f"throughput_vs_{base}"] = ratio(
            _median(runs, "aios", "output_tokens_per_s"), _median(runs, base, "output_tokens_per_s")
        )
        # A lower bound when the baseline never got every agent through (see all_done_complete).
        out[f"all_done_speedup_{base}"] = ratio(
            _median(runs, base, "all_done_s"), _median(runs, "aios", "all_done_s")
        )
    out["makespan_vs_quota_minimum"] = _median(runs, "aios", "makespan_vs_quota_minimum")
    out["span_vs_quota_minimum"] = _median(runs, "aios", "span_vs_quota_minimum")
    for mode in sorted({r["mode"] for r in runs}):
        # The peer and per-policy aios runs, each against the frameworks' defaults.
        if mode == "litellm" or mode.startswith("aios:"):
            for key in ("makespan_s", "mean_completion_s", "p99_completion_s", "all_done_s"):
                out[f"{mode}_{key.removesuffix('_s')}_vs_default"] = ratio(
                    _median(runs, mode, key), _median(runs, "default", key)
                )
    return out


def per_call(runs: list[dict[str, Any]], calls: int) -> dict[str, float | None]:
    """Added milliseconds per call: the makespan difference spread over the sequential calls."""
    plain, through = _median(runs, "default", "makespan_s"), _median(runs, "aios", "makespan_s")
    if plain is None or through is None:
        return {}
    out: dict[str, float | None] = {
        "plain_ms_per_call": 1000 * plain / calls,
        "aios_ms_per_call": 1000 * through / calls,
        "added_ms_per_call": 1000 * (through - plain) / calls,
    }
    hop = _median(runs, "litellm", "makespan_s")
    if hop is not None:
        out["litellm_ms_per_call"] = 1000 * hop / calls
        out["litellm_added_ms_per_call"] = 1000 * (hop - plain) / calls
    return out
