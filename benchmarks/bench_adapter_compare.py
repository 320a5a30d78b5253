"""The adapter overhead of two aios source trees, side by side in one run (before/after a change).

Runs ``bench_adapter_overhead.py --json`` alternately with each tree first on ``PYTHONPATH``
(``--pairs`` times each), then prints, per case, the median added CPU µs per call of each tree
and their ratio. The benchmark script itself is taken from this tree, so both are timed alike.

    git worktree add /tmp/aios-before <rev>
    python benchmarks/bench_adapter_compare.py /tmp/aios-before . [--pairs 3] [--calls 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).with_name("bench_adapter_overhead.py")


def run(tree: Path, calls: int, rounds: int) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    out = subprocess.run(
        [sys.executable, str(BENCH), "--json", "--calls", str(calls), "--rounds", str(rounds)],
        env=env, capture_output=True, text=True, check=True,
    )
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the aios source tree before the change")
    parser.add_argument("after", type=Path, help="the aios source tree after the change")
    parser.add_argument("--pairs", type=int, default=3, help="alternating runs of each tree")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    added: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.pairs):
        for side, tree in (("before", args.before), ("after", args.after)):
            for row in run(tree, args.calls, args.rounds):
                added.setdefault(row["case"], {"before": [], "after": []})[side].append(row["added_cpu_us"])
    print(f"{args.pairs} alternating runs per tree, {args.calls} calls x {args.rounds} rounds each")
    print("| case | added CPU µs before | added CPU µs after | after / before |")
    print("|---|---:|---:|---:|")
    for case, sides in added.items():
        b, a = statistics.median(sides["before"]), statistics.median(sides["after"])
        ratio = f"{a / b:.2f}" if b > 0 else "n/a"
        print(f"| {case} | {b:.1f} | {a:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
