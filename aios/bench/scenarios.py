"""The benchmark scenarios: the sim each runs against and the kernel config aios gets.

Rates: the sim runs with ``--time-scale``; one simulated minute lasts ``60 / scale`` real
seconds, so its per-minute buckets hold about that many seconds of burst. The kernel is told
the same limits and window, as a user states their provider tier in ``aios.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aios.bench.workloads import CALLS_PER_AGENT, FRAMEWORK_AGENTS


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sim_args: tuple[str, ...]
    agents: int
    frameworks: tuple[str, ...]
    policy: str
    #: Kernel core limits for the sim endpoint (the base URL is filled in at run time).
    core: dict[str, Any] = field(default_factory=dict)
    modes: tuple[str, ...] = ("default", "tuned", "aios")
    #: Real-time request quota: (bucket capacity, refill per second), for the theoretical minimum.
    request_quota: tuple[float, float] | None = None
    kernel_extra: dict[str, Any] = field(default_factory=dict)
    #: Run each agent once untimed before the measured run.
    warmup: bool = False
    #: Sequential calls each agent makes, when the scenario reports a per-call figure.
    calls_per_agent: int | None = None

    def kernel_config(self, base_url: str, policy: str | None = None) -> dict[str, Any]:
        core = {"name": "sim", "api": "openai", "base_url": base_url, **self.core}
        return {"policy": policy or self.policy, "cores": [core], **self.kernel_extra}


_SCALE = 60.0
_RPM = 3  # per simulated minute = per real second at scale 60: 3 requests of burst, 3/s

SCENARIOS: dict[str, Scenario] = {
    "rate-limited": Scenario(
        name="rate-limited",
        description="An API with OpenAI-style RPM/TPM limits that the agents together exceed.",
        sim_args=(
            "--profile",
            "api",
            "--rpm",
            str(_RPM),
            "--tpm",
            "1000000",
            "--time-scale",
            str(_SCALE),
        ),
        agents=32,
        frameworks=FRAMEWORK_AGENTS,
        policy="fifo",
        core={"rpm": _RPM, "tpm": 1_000_000, "rate_window_s": 60 / _SCALE},
        request_quota=(float(_RPM), _RPM * _SCALE / 60),
    ),
    "server": Scenario(
        name="server",
        description=(
            "One inference server with few slots and a KV budget shared by all agents; each agent "
            "is a six-step session."
        ),
        sim_args=("--profile", "server", "--slots", "2", "--time-scale", "4"),
        agents=32,
        frameworks=("openai-session",),
        policy="las",
        core={"max_concurrency": 3},
    ),
    "heavy-tail": Scenario(
        name="heavy-tail",
        description=(
            "One inference server with 2 slots; agents' steps and answer lengths are heavy-tailed "
            "(lognormals fitted to published agent traces, see aios.bench.heavy_tail)."
        ),
        sim_args=("--profile", "server", "--slots", "2", "--mode", "echo", "--time-scale", "25"),
        agents=32,
        frameworks=("openai-heavy-tail",),
        policy="las",
        core={"max_concurrency": 3},
        modes=("default", "aios:fifo", "aios:las", "aios:fair"),
        # The first LAS level at about one average call (0.2 s here) rather than the default
        # 10 s, which suits sessions of minutes: at 10 s the first agents keep the slots.
        kernel_extra={"las_first_level_s": 0.25},
    ),
    "overhead": Scenario(
        name="overhead",
        description=(
            f"The instant profile: one agent makes {CALLS_PER_AGENT} sequential calls after a warm-up; "
            "the difference of the makespans is what aios adds per call."
        ),
        sim_args=("--profile", "instant"),
        agents=1,
        frameworks=("openai-calls",),
        policy="fifo",
        modes=("default", "aios"),
        warmup=True,
        calls_per_agent=CALLS_PER_AGENT,
    ),
}
