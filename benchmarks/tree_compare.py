"""Run a benchmark script's cases in fresh processes for two source trees, alternating them.

Each case prints one figure (µs of CPU per call); the table gives the median of each tree and
their ratio. Used by the ``--compare`` option of the per-call CPU benchmarks.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def compare_trees(
    script: str,
    cases: Mapping[str, Sequence[str]],
    before: Path,
    after: Path,
    *,
    pairs: int,
    title: str,
    header: str,
) -> None:
    """``cases``: name -> the script's arguments for it. Prints a markdown table."""
    here = str(Path(script).resolve().parent)
    seen: dict[str, dict[str, list[float]]] = {c: {"before": [], "after": []} for c in cases}
    for _ in range(pairs):
        for case, argv in cases.items():
            for side, tree in (("before", before), ("after", after)):
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree.resolve()), here])}
                out = subprocess.run(
                    [sys.executable, script, *argv], env=env, capture_output=True, text=True, check=True
                )
                seen[case][side].append(float(out.stdout.strip()))
    print(f"{title}; {pairs} alternating runs per tree")
    print(f"| {header} | before µs | after µs | after / before |")
    print("|---|---:|---:|---:|")
    for case, sides in seen.items():
        b, a = statistics.median(sides["before"]), statistics.median(sides["after"])
        print(f"| {case} | {b:.1f} | {a:.1f} | {a / b:.2f} |")
