"""Run a program plainly or under ``aios run`` against a running sim, and capture everything.

``run_program(sim, ["prog.py", "arg"], aios=True)`` runs ``python -m aios run --quiet --report
<tmp> prog.py arg`` with the sim's environment and telemetry off; ``aios=False`` runs
``python prog.py arg`` with the same environment, so the two runs differ only by aios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

#: Every framework stays offline and quiet: no tracing exports, no telemetry at exit.
TELEMETRY_OFF: dict[str, str] = {
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
}


class SimLike(Protocol):
    def env(self) -> dict[str, str]: ...

    def stats(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


@dataclass
class Run:
    """The outcome of one program run."""

    returncode: int
    stdout: str
    stderr: str
    #: The kernel report written by ``aios run --report`` (``None`` for plain runs or no report).
    report: dict[str, Any] | None
    #: ``sim.stats()`` taken after the run (requests, max_in_flight, tokens, ...).
    sim_stats: dict[str, Any] = field(default_factory=dict)

    def check(self) -> Run:
        """Raise with the program's output if it failed; return self for chaining."""
        if self.returncode != 0:
            raise AssertionError(
                f"program exited with {self.returncode}\n--- stdout ---\n{self.stdout}"
                f"\n--- stderr ---\n{self.stderr}"
            )
        return self


def program_env(sim: SimLike | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` + the sim's endpoints + telemetry off + ``env`` (later wins)."""
    out = dict(os.environ)
    # An AIOS_* left in the test process's environment must not change the program under test.
    for key in [k for k in out if k.startswith("AIOS_")]:
        del out[key]
    if sim is not None:
        out.update(sim.env())
    out.update(TELEMETRY_OFF)
    out["PYTHONUNBUFFERED"] = "1"
    if env:
        out.update(env)
    return out


def aios_command(argv: Sequence[str], report: Path | None, aios_args: Sequence[str] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "aios", "run", "--quiet"]
    if report is not None:
        cmd += ["--report", str(report)]
    return [*cmd, *aios_args, *argv]


def run_program(
    sim: SimLike | None,
    argv: Sequence[str],
    *,
    aios: bool,
    aios_args: Sequence[str] = (),
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> Run:
    """Run ``python <argv>`` (plain) or ``python -m aios run ... <argv>`` and capture the outcome.

    The sim's stats are reset before the run and read after it, so ``sim_stats`` counts only
    this run's requests. ``sim`` may be ``None`` for programs that call no provider.
    """
    if sim is not None:
        sim.reset()
    with tempfile.TemporaryDirectory(prefix="aios-run-") as tmp:
        report_path = Path(tmp) / "report.json"
        cmd = aios_command(argv, report_path, aios_args) if aios else [sys.executable, *argv]
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=program_env(sim, env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        report = _load(report_path) if aios else None
    stats = sim.stats() if sim is not None else {}
    return Run(proc.returncode, proc.stdout, proc.stderr, report, stats)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def syscalls(report: Mapping[str, Any] | None, kind: str | None = None) -> list[dict[str, Any]]:
    """The report's syscall records, optionally only one kind (``"llm"`` or ``"tool"``)."""
    if not report:
        return []
    records: list[dict[str, Any]] = report.get("syscalls", [])
    return [r for r in records if kind is None or r.get("kind") == kind]


def llm_calls(report: Mapping[str, Any] | None) -> int:
    """LLM syscalls in the report (from the per-agent totals, which count every call)."""
    if not report:
        return 0
    return sum(int(a.get("llm_calls", 0)) for a in report.get("agents", {}).values())


def tool_calls(report: Mapping[str, Any] | None) -> int:
    if not report:
        return 0
    return sum(int(a.get("tool_calls", 0)) for a in report.get("agents", {}).values())


def calls_by_agent(report: Mapping[str, Any] | None, kind: str = "llm") -> Counter[str]:
    """How many syscalls of ``kind`` (``"llm"`` or ``"tool"``) each agent made."""
    key = {"llm": "llm_calls", "tool": "tool_calls"}[kind]
    out: Counter[str] = Counter()
    if report:
        for name, tally in report.get("agents", {}).items():
            if tally.get(key):
                out[name] = int(tally[key])
    return out


def tools_by_agent(report: Mapping[str, Any] | None) -> dict[str, Counter[str]]:
    """For each agent, how many times it ran each tool (from the syscall records)."""
    out: dict[str, Counter[str]] = {}
    for rec in syscalls(report, "tool"):
        out.setdefault(rec["agent"], Counter())[rec["tool"]] += 1
    return out
