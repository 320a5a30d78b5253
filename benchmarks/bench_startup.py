"""Start-up cost of ``aios run`` per Python process, against plain python, side by side.

Each round starts every variant once, in alternating order, as a fresh process (wall time of
``subprocess.run``, like hyperfine); medians over rounds after warm-up runs, and the median of
each round's difference to its reference (``paired``: plain python, or plain ``import openai``).
Variants:

- ``plain``: ``python tiny.py``.
- ``subprocess, lazy``: the same script in a Python subprocess of a program under ``aios run``
  (the environment ``aios run`` gives its program, as a child sees it): what every further
  process pays now.
- ``subprocess, eager``: the same, with aios loaded and patched at start-up (the bootstrap's
  behaviour before it waited for a framework's import; still used when ``AIOS_RUN_TRIGGERS``
  is absent).
- ``aios run``: ``aios run --quiet tiny.py`` (the CLI, then the program's own process);
  ``aios run, summary``: ``aios run tiny.py`` as typed, with its one-line summary at exit.
  These start the CLI as ``python -m aios``; ``aios command run`` starts it as the installed
  ``aios`` script does (the tree's ``[project.scripts]`` entry point, a script like the one
  uv writes), which skips ``runpy``.
- ``import openai`` plain / lazy: a process that does use a framework pays for loading aios
  and patching when it imports it.
- ``aios version``: the CLI alone (its start-up before any subcommand's own work).
- with ``--before DIR`` (a copy of an older ``aios`` tree): the subprocess, ``aios run``,
  ``aios command run``, ``aios version`` and ``import openai`` variants with that tree first on
  ``PYTHONPATH``, in the same rounds, for a before/after in one run.

The ``aios`` command keeps a small cache of the adapters' modules (rebuilt after a package is
installed or removed); the warm-up rounds fill it, so the figures are those of a warm cache.

    python benchmarks/bench_startup.py [--rounds 15] [--json out.json] [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from aios.runner import env as run_env

TINY = "x = sum(range(1000))\n"
#: The tree of the aios this benchmark runs (its pyproject names the installed script's entry point).
_TREE = Path(run_env.__file__).resolve().parents[2]
OPENAI = "import openai\n"


_CHILD_ENV = """
import json, os, sys
from aios.runner import env
from aios.runner.launch import RunOptions, program_env
base = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
child = program_env(RunOptions(quiet=True), base)
child.pop(env.ROOT)  # the bootstrap removes it in the program: its subprocesses are children
print(json.dumps(child))
"""


def _child_env(base: dict[str, str], tree: Path | None) -> dict[str, str]:
    """The environment a subprocess of a program under ``aios run`` gets, from ``tree``'s aios."""
    environ = dict(base)
    if tree is not None:
        environ["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [base.get("PYTHONPATH")])])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_ENV], env=environ, check=True, capture_output=True, text=True
    )
    child: dict[str, str] = json.loads(out.stdout)
    return child


def _command_script(tmp: Path, tree: Path, name: str) -> Path:
    """The installed ``aios`` script of ``tree``: its pyproject's entry point, as uv writes it."""
    try:
        with open(tree / "pyproject.toml", "rb") as f:
            entry = tomllib.load(f)["project"]["scripts"]["aios"]
    except (OSError, KeyError):
        entry = "aios.cli:main"  # a bare aios/ tree: the entry point of the trees before it moved
    module, function = entry.split(":")
    script = tmp / name
    lines = ["import sys", f"from {module} import {function}", "if __name__ == '__main__':"]
    script.write_text("\n".join([*lines, f"    sys.exit({function}())", ""]), encoding="utf-8")
    return script


def _variants(tmp: Path, before: Path | None = None) -> dict[str, tuple[list[str], dict[str, str]]]:
    tiny = tmp / "tiny.py"
    tiny.write_text(TINY, encoding="utf-8")
    uses = tmp / "uses_openai.py"
    uses.write_text(OPENAI, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    child = _child_env(base, None)
    eager = {k: v for k, v in child.items() if k != run_env.TRIGGERS}
    py = sys.executable
    out = {
        "plain": ([py, str(tiny)], base),
        "subprocess, lazy": ([py, str(tiny)], child),
        "subprocess, eager": ([py, str(tiny)], eager),
        "aios run": ([py, "-m", "aios", "run", "--quiet", str(tiny)], base),
        "aios run, summary": ([py, "-m", "aios", "run", str(tiny)], base),
        "aios command run, summary": (
            [py, str(_command_script(tmp, _TREE, "aios-now")), "run", str(tiny)],
            base,
        ),
        "aios version": ([py, "-m", "aios", "version"], base),
        "import openai, plain": ([py, str(uses)], base),
        "import openai, lazy": ([py, str(uses)], child),
    }
    if before is not None:
        old = {**base, "PYTHONPATH": os.pathsep.join([str(before), *filter(None, [base.get("PYTHONPATH")])])}
        old_child = _child_env(base, before)
        out["subprocess, lazy, before"] = ([py, str(tiny)], old_child)
        out["aios run, before"] = ([py, "-m", "aios", "run", "--quiet", str(tiny)], old)
        out["aios run, summary, before"] = ([py, "-m", "aios", "run", str(tiny)], old)
        old_script = _command_script(tmp, before, "aios-before")
        out["aios command run, summary, before"] = ([py, str(old_script), "run", str(tiny)], old)
        out["aios version, before"] = ([py, "-m", "aios", "version"], old)
        out["import openai, lazy, before"] = ([py, str(uses)], old_child)
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
        for name in ("subprocess, lazy", "subprocess, lazy, before"):
            if name in variants:
                shutil.rmtree(variants[name][1][run_env.SPOOL], ignore_errors=True)
    med = {n: statistics.median(v) for n, v in times.items()}
    out: dict[str, dict[str, float]] = {}
    for name, m in med.items():
        ref = "import openai, plain" if name.startswith("import openai") else "plain"
        # Paired: each round's difference to its own reference run (started next to it), whose
        # median moves less with the machine's load than the difference of two medians.
        paired = statistics.median(t - r for t, r in zip(times[name], times[ref], strict=True))
        out[name] = {"median_s": m, "added_s": m - med[ref], "added_paired_s": paired, "ratio": m / med[ref]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None, help="an older aios tree to compare with")
    args = parser.parse_args()
    load_start = os.getloadavg()
    result = measure(args.rounds, before=args.before.resolve() if args.before else None)
    load_end = os.getloadavg()
    print(f"load average (1, 5, 15 min) at start {load_start}, at end {load_end}")
    print(f"{'variant':34} {'median s':>9} {'added s':>9} {'paired':>9} {'ratio':>7}")
    for name, r in result.items():
        added = f"{r['added_s']:+9.3f} {r['added_paired_s']:+9.3f}"
        print(f"{name:34} {r['median_s']:9.3f} {added} {r['ratio']:7.2f}")
    if args.json:
        data = {"rounds": args.rounds, "load": [load_start, load_end], "variants": result}
        args.json.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
