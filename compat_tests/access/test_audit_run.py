"""``aios run --audit``: a multi-agent program's every syscall in the audit log, and no secrets."""

from __future__ import annotations

import json
import stat
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("langchain")

from aios.sim.process import SimServer
from compat_tests.harness import run_program, syscalls

PROGRAM = Path(__file__).parents[1] / "langchain" / "programs" / "concurrent_agents.py"
KEY = "sk-audit-test-7f3c9a1b2d4e6f80"


def test_every_syscall_is_audited_once_without_secrets(sim: SimServer, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    run = run_program(
        sim,
        [str(PROGRAM), "--api-key", KEY],  # the program ignores its arguments; the report must hide it
        aios=True,
        aios_args=("--audit", str(audit)),
        env={"OPENAI_API_KEY": KEY},
    ).check()
    assert run.report is not None
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    finished = Counter((r["pid"], r["syscall"]) for r in records if r["event"] == "finished")
    reported = {(r["pid"], r["id"]) for r in syscalls(run.report)}
    assert len(reported) == len(syscalls(run.report)) >= 16  # 4 agents x (2 LLM + 2 tool calls)
    assert set(finished) == reported and set(finished.values()) == {1}
    admitted = Counter((r["pid"], r["syscall"]) for r in records if r["event"] == "admitted")
    assert set(admitted) == reported
    agents = {r["agent"] for r in records}
    assert {"guide_lima", "guide_oslo", "guide_pune", "guide_rome"} <= agents
    assert len({r["run"] for r in records}) == 1  # one `aios run`, one run id
    assert KEY not in audit.read_text(encoding="utf-8")
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    # The report prices each agent's calls (gpt-4o-mini, from the shipped table).
    costs = {name: a["cost_usd"] for name, a in run.report["agents"].items() if name.startswith("guide_")}
    assert len(costs) == 4 and all(c > 0 for c in costs.values()), costs
    report_text = json.dumps(run.report)
    assert KEY not in report_text
    assert run.report["processes"][0]["argv"][-2:] == ["--api-key", "***"]
