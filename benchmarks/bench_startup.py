"""Start-up cost of ``aios run`` per Python process, against plain python, side by side.

Each round starts every variant once, in alternating order, as a fresh process (wall time of
``subprocess.run``, like hyperfine); medians over rounds after warm-up runs. Variants:

- ``plain``: ``python tiny.py``.
- ``subprocess, lazy``: the same script in a Python subprocess of a program under ``aios run``
  (the environment ``aios run`` gives its program, as a child sees it): what every further
  process pays now.
- ``subprocess, eager``: the same, with aios loaded and patched at start-up (the bootstrap's
  behaviour before it waited for a framework's import; still used when ``AIOS_RUN_TRIGGERS``
  is absent).
- ``aios run``: ``aios run tiny.py`` as typed (the CLI, then the program's own process).
- ``import openai`` plain / lazy: a process that does use a framework pays for loading aios
  and patching when it imports it.
- ``aios version``: the CLI alone (its start-up before any subcommand's own work).
- with ``--before DIR`` (a copy of an older ``aios`` tree): ``aios run`` and ``aios version``
  with that tree first on ``PYTHONPATH``, in the same rounds, for a before/after in one run.

    python benchmarks/bench_startup.py [--rounds 15] [--json out.json] [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aios.runner import env as run_env
from aios.runner.launch import RunOptions, program_env

TINY = "x = sum(range(1000))\n"
OPENAI = "import openai\n"


def _variants(tmp: Path, before: Path | None = None) -> dict[str, tuple[list[str], dict[str, str]]]:
    tiny = tmp / "tiny.py"
    tiny.write_text(TINY, encoding="utf-8")
    uses = tmp / "uses_openai.py"
    uses.write_text(OPENAI, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    child = program_env(RunOptions(quiet=True), base)
    child.pop(run_env.ROOT)  # the bootstrap removes it in the program: its subprocesses are children
    eager = {k: v for k, v in child.items() if k != run_env.TRIGGERS}
    py = sys.executable
    out = {
        "plain": ([py, str(tiny)], base),
        "subprocess, lazy": ([py, str(tiny)], child),
        "subprocess, eager": ([py, str(tiny)], eager),
        "aios run": ([py, "-m", "aios", "run", "--quiet", str(tiny)], base),
        "aios version": ([py, "-m", "aios", "version"], base),
        "import openai, plain": ([py, str(uses)], base),
        "import openai, lazy": ([py, str(uses)], child),
    }
    if before is not None:
        old = {**base, "PYTHONPATH": os.pathsep.join([str(before), *filter(None, [base.get("PYTHONPATH")])])}
        out["aios run, before"] = ([py, "-m", "aios", "run", "--quiet", str(tiny)], old)
        out["aios version, before"] = ([py, "-m", "aios", "version"], old)
    return out


def _once(cmd: list[str], environ: dict[str, str], cwd: Path) -> float:
    # Run from a scratch directory: `python -m aios` puts the working directory first on
    # sys.path, which would shadow the tree each variant names on PYTHONPATH.
    t0 = time.perf_counter()
    subprocess.run(
        cmd, env=environ, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - t0


def measure(rounds: int, warmup: int = 2, before: Path | None = None) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="aios-bench-startup-") as tmp:
        variants = _variants(Path(tmp), before)
        times: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for r in range(warmup + rounds):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                t = _once(*variants[name], Path(tmp))
                if r >= warmup:
                    times[name].append(t)
        spool = Path(variants["subprocess, lazy"][1][run_env.SPOOL])
        for path in spool.glob("*.json"):
            path.unlink()
        spool.rmdir()
    med = {n: statistics.median(v) for n, v in times.items()}
    out: dict[str, dict[str, float]] = {}
    for name, m in med.items():
        ref = med["import openai, plain"] if name.startswith("import openai") else med["plain"]
        out[name] = {"median_s": m, "added_s": m - ref, "ratio": m / ref}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None, help="an older aios tree to compare with")
    args = parser.parse_args()
    result = measure(args.rounds, before=args.before.resolve() if args.before else None)
    print(f"{'variant':24} {'median s':>9} {'added s':>9} {'ratio':>7}")
    for name, r in result.items():
        print(f"{name:24} {r['median_s']:9.3f} {r['added_s']:+9.3f} {r['ratio']:7.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rounds": args.rounds, "variants": result}, indent=2))


if __name__ == "__main__":
    main()
