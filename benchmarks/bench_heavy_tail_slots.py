"""heavy-tail: does holding every call in the kernel (max_concurrency = the server's slots) help?

With ``max_concurrency`` 3 on a 2-slot server one admitted call waits in the server's own
FIFO queue, where the kernel's order no longer applies and ``las`` counts the wait as service.
With 2 the kernel holds every call the server cannot start, at the price of a round trip
with an idle slot between one call's end and the next call's arrival. Rounds alternate the
modes on one sim; ratios are to ``default`` (no aios) of the same round.

    python benchmarks/bench_heavy_tail_slots.py [--rounds 2] [--out results.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from aios.bench.runner import run_mode
from aios.bench.scenarios import SCENARIOS
from aios.sim.process import SimServer

RUNS = (
    ("default", 3),
    ("aios:las", 3),
    ("aios:las", 2),
    ("aios:fifo", 2),
)
KEYS = ("completed", "makespan_s", "mean_completion_s", "p99_completion_s", "output_tokens_per_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    scenario = SCENARIOS["heavy-tail"]
    rows: list[dict[str, Any]] = []
    with SimServer([*scenario.sim_args, "--seed", "7"]) as sim:
        for rnd in range(args.rounds):
            for mode, limit in RUNS:
                variant = dataclasses.replace(scenario, core={**scenario.core, "max_concurrency": limit})
                res = run_mode(
                    sim, variant, mode, agents=scenario.agents, frameworks=scenario.frameworks, policy=None
                )
                row = {"round": rnd, "mode": mode, "max_concurrency": limit}
                rows.append({**row, **{k: res[k] for k in KEYS}})
    base = {r["round"]: r for r in rows if r["mode"] == "default"}
    print("| round | mode | max_concurrency | mean s | p99 s | tok/s | mean vs default | p99 vs default |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        b = base[r["round"]]
        print(
            f"| {r['round'] + 1} | {r['mode']} | {r['max_concurrency'] if r['mode'] != 'default' else '—'} "
            f"| {r['mean_completion_s']:.2f} | {r['p99_completion_s']:.2f} | {r['output_tokens_per_s']:,.0f} "
            f"| {r['mean_completion_s'] / b['mean_completion_s']:.3f} "
            f"| {r['p99_completion_s'] / b['p99_completion_s']:.3f} |"
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
