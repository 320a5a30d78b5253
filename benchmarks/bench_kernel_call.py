"""CPU of the kernel alone per gated LLM call: what is left of an SDK call's added cost once
the adapter's own work is taken out.

One call is ``kernel.llm_syscall(...)`` and ``kernel.call(sc, perform, hold=True)`` whose
``perform`` ends the lease with usage and the rate-limit headers an SDK answer carries (as the
SDK adapters do): admission, the rate bucket's charge and settlement, learning the limits from
the headers, ending and accounting. ``--no-limits`` sends no rate-limit headers (no bucket to
learn or charge). The limit is far above what the rounds send, so no call waits. Prints the
minimum over rounds of µs of process CPU per call.

    python benchmarks/bench_kernel_call.py [--calls 3000] [--rounds 9] [--no-limits]
    python benchmarks/bench_kernel_call.py --compare BEFORE_TREE AFTER_TREE [--pairs 3]

``--compare`` runs both cases in fresh processes with each source tree first on ``PYTHONPATH``,
alternating the trees ``--pairs`` times, and prints the median of each tree and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from tree_compare import compare_trees  # this folder is first on sys.path

os.environ.setdefault("OTEL_SDK_DISABLED", "true")

HEADERS = {"x-ratelimit-limit-requests": "100000000", "x-ratelimit-remaining-requests": "99999999"}
CASES: dict[str, list[str]] = {"rate limit headers": [], "no limits": ["--no-limits"]}


def measure(calls: int, rounds: int, limits: bool) -> float:
    import aios
    from aios.kernel.failures import Usage

    aios.boot()
    kernel = aios.get_kernel()
    usage = Usage(input_tokens=5, output_tokens=2)
    headers = HEADERS if limits else None

    def perform(lease: Any) -> None:
        lease.succeed(usage=usage, headers=headers)

    def one_round() -> float:
        started = time.process_time()
        for _ in range(calls):
            sc = kernel.llm_syscall(
                api="openai.chat",
                model="gpt-4o-mini",
                base_url="http://127.0.0.1:9/v1",
                input_tokens=30,
                max_tokens=16,
                framework="openai",
            )
            kernel.call(sc, perform, hold=True)
        return (time.process_time() - started) / calls * 1e6

    one_round()
    best = min(one_round() for _ in range(rounds))
    aios.shutdown()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-limits", action="store_true")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    if args.compare:
        common = ["--calls", str(args.calls), "--rounds", str(args.rounds)]
        cases = {case: [*common, *flags] for case, flags in CASES.items()}
        compare_trees(
            __file__, cases, *args.compare, pairs=args.pairs,
            title=f"python {sys.version.split()[0]}", header="kernel alone, per call",
        )
        return
    print(f"{measure(args.calls, args.rounds, not args.no_limits):.1f}")


if __name__ == "__main__":
    main()
