"""Heavy-tailed agents: how many steps each takes and how long each answer is.

Steps per agent (LLM calls) follow a lognormal fitted to the per-request statistics of coding
agent traces published by SyFI TraceLab (University of Washington, "How much work does one
coding session, and one request, contain?", tracelab.cs.washington.edu, table
``session_internal_counts``: tool-initiated steps per request average 7.8 with p50 1, p90 20,
p99 86, over 357,161 agent steps of Claude and Codex sessions). With the user-initiated first
step an agent makes ``1 + tool-initiated`` calls: median 2 and p90 21, so
``steps ~ lognormal(mu=ln 2, sigma=ln(21/2)/z_0.9)`` (sigma ≈ 1.83), rounded, at least 1,
capped at the published p99 (87 calls).

Output tokens per call follow a lognormal with the mean response length of LMSYS-Chat-1M
(Zheng et al., ICLR 2024, Table 1: 214.5 tokens per response) and sigma 1.0 (our choice; the
paper gives no spread), capped at 1024 tokens. Each call asks for exactly that many tokens
(``max_tokens``) from a sim in ``echo`` mode, which answers the prompt back cut at
``max_tokens``, so the server decodes exactly the planned length.

Every draw comes from ``random.Random`` seeded with the seed and the agent's index, so an
agent's plan is the same in every mode and every process.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from statistics import NormalDist
from typing import Any

#: Fitted to the published per-request quantiles (see the module docstring).
STEPS_MEDIAN = 2.0
STEPS_P90 = 21.0
STEPS_CAP = 87
#: LMSYS-Chat-1M mean response length, and our spread.
OUTPUT_MEAN = 214.5
OUTPUT_SIGMA = 1.0
OUTPUT_CAP = 1024
SEED = 7

_Z90 = NormalDist().inv_cdf(0.9)
STEPS_MU = math.log(STEPS_MEDIAN)
STEPS_SIGMA = math.log(STEPS_P90 / STEPS_MEDIAN) / _Z90
# A lognormal's mean is exp(mu + sigma^2 / 2).
OUTPUT_MU = math.log(OUTPUT_MEAN) - OUTPUT_SIGMA**2 / 2


def plan(i: int, seed: int = SEED) -> list[int]:
    """Output tokens of each of agent ``i``'s calls (its length is the number of steps)."""
    rng = random.Random(f"aios-heavy-tail/{seed}/{i}")
    steps = min(STEPS_CAP, max(1, round(rng.lognormvariate(STEPS_MU, STEPS_SIGMA))))
    return [min(OUTPUT_CAP, max(1, round(rng.lognormvariate(OUTPUT_MU, OUTPUT_SIGMA)))) for _ in range(steps)]


def top_share(values: list[float], fraction: float = 0.1) -> float:
    """The share of the total held by the largest ``fraction`` of values (heavy tails: large)."""
    ordered = sorted(values, reverse=True)
    k = max(1, round(len(ordered) * fraction))
    total = sum(ordered)
    return sum(ordered[:k]) / total if total else 0.0


def heavy_tail_agent(i: int, max_retries: int | None) -> Callable[[], Awaitable[str]]:
    """The raw openai SDK: one call per planned step, each asking for that step's answer length.

    Each step sends only its own prompt (no growing history), so the cost of a step is its
    output length and the scenario measures scheduling, not context growth.
    """
    from openai import AsyncOpenAI

    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    client = AsyncOpenAI(**kwargs)

    async def run() -> str:
        text = ""
        try:
            for step, tokens in enumerate(plan(i)):
                prompt = f"agent {i} step {step}: " + " w" * (tokens + 4)
                reply = await client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=tokens,
                )
                text = reply.choices[0].message.content or ""
            return text
        finally:
            await client.close()

    return run


def model_completions(
    agents: int, slots: int, order: str, seed: int = SEED, load: float | None = None
) -> list[float]:
    """Agent completion times (in output tokens) on an idealised server, for a bound on scheduling.

    ``slots`` calls run at once, each taking its output length; an agent's next call is ready
    when its previous one ends. ``order`` picks the next call among ready agents: ``"fifo"``
    (the call ready first: what the server does with every call sent at once), ``"las"``
    (least tokens served so far), ``"las-calls"`` (fewest calls served so far) or ``"srpt"``
    (least tokens left in the whole agent: an oracle that knows every agent's future, the best
    order for the mean).

    With every agent ready at 0 and one call in flight per agent, ``"fifo"`` serves the agents
    in rounds of one call each, which is ``"las-calls"``: the server alone already runs
    least-attained-service counted in calls.

    ``load`` makes the agents arrive one by one instead (Poisson, at that fraction of the
    slots' capacity); a completion is then counted from the agent's arrival.
    """
    import heapq

    plans = [plan(i, seed) for i in range(agents)]
    left = [sum(p) for p in plans]
    served = [0] * agents
    arrive = [0.0] * agents
    if load is not None:
        rng = random.Random(f"aios-heavy-tail-arrivals/{seed}")
        rate = load * slots * agents / sum(left)  # agents per token of service
        for i in range(1, agents):
            arrive[i] = arrive[i - 1] + rng.expovariate(rate)
    ready_at: dict[int, float] = {}
    coming = 0  # agents arrive in index order
    step = [0] * agents
    keys: dict[str, Any] = {
        "fifo": lambda a: (ready_at[a], a),
        "las": lambda a: (served[a], ready_at[a], a),
        "las-calls": lambda a: (step[a], ready_at[a], a),
        "srpt": lambda a: (left[a], a),
    }
    key = keys[order]
    running: list[tuple[float, int]] = []
    done: list[float] = []
    now = 0.0
    while len(done) < agents:
        while coming < agents and arrive[coming] <= now:
            ready_at[coming] = arrive[coming]
            coming += 1
        while len(running) < slots and ready_at:
            a = min(ready_at, key=key)
            del ready_at[a]
            heapq.heappush(running, (now + plans[a][step[a]], a))
        if not running or (coming < agents and arrive[coming] < running[0][0]):
            now = arrive[coming]  # the server is idle or someone arrives before the next end
            continue
        now, a = heapq.heappop(running)
        tokens = plans[a][step[a]]
        served[a] += tokens
        left[a] -= tokens
        step[a] += 1
        if step[a] == len(plans[a]):
            done.append(now - arrive[a])
        else:
            ready_at[a] = now
    return sorted(done)


def steps_hazard(samples: int = 20000, seed: int = SEED, upto: int = 6) -> list[float]:
    """P(an agent stops after call k | it made k calls), k = 1..``upto``, from ``plan``.

    Decreasing: the more calls an agent has made, the less likely it is to stop at the next.
    For such a distribution the best order that does not know the lengths (the Gittins index)
    is least attained service, so nothing non-clairvoyant beats serving the agents in rounds.
    """
    counts = [0] * (STEPS_CAP + 2)
    for i in range(samples):
        counts[len(plan(i, seed))] += 1
    hazards, alive = [], samples
    for k in range(1, upto + 1):
        hazards.append(counts[k] / alive if alive else 0.0)
        alive -= counts[k]
    return hazards


def order_ratios(
    agents: int = 32, slots: int = 2, seeds: tuple[int, ...] = (SEED,), load: float | None = None
) -> dict[str, tuple[float, float]]:
    """Per order: (mean, p99) agent completion over the ``"fifo"`` model, averaged over seeds."""
    from statistics import mean

    from aios.kernel.accounting import percentile

    sums: dict[str, list[float]] = {}
    for seed in seeds:
        base = model_completions(agents, slots, "fifo", seed, load)
        for name in ("fifo", "las", "las-calls", "srpt"):
            times = model_completions(agents, slots, name, seed, load)
            acc = sums.setdefault(name, [0.0, 0.0])
            acc[0] += mean(times) / mean(base)
            acc[1] += percentile(times, 99) / percentile(base, 99)
    return {name: (m / len(seeds), p / len(seeds)) for name, (m, p) in sums.items()}


if __name__ == "__main__":
    print("P(stop after call k | reached k):", " ".join(f"{h:.2f}" for h in steps_hazard()))
    runs: list[tuple[str, int, tuple[int, ...], float | None]] = [
        ("all at once, seed 7 (the bench)", 32, (SEED,), None),
        ("all at once, seeds 1-50", 32, tuple(range(1, 51)), None),
        ("Poisson arrivals at load 0.9, seeds 1-20", 128, tuple(range(1, 21)), 0.9),
    ]
    for label, agents, seeds, load in runs:
        print(f"{agents} agents, 2 slots, {label}; ratios to the server's own order (fifo):")
        for name, (m, p) in order_ratios(agents, 2, seeds, load).items():
            print(f"  {name:9} mean {m:.3f} x  p99 {p:.3f} x")
