"""Running a program whose agent calls a ``confirm`` tool, with each approver, and reading the result."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from compat_tests.harness import Run, SimLike, run_program, syscalls

CONFIG = Path(__file__).parent / "programs" / "aios.toml"
REFUSED = "Tool call refused by aios"


@dataclass
class Outcome:
    run: Run
    #: How many times the tool function ran (the program's own counter).
    ran: int
    #: Per agent run, the program's output lines for it.
    answers: list[str]


def run_confirm(sim: SimLike, program: Path, approver: str, runs: int = 1, config: Path = CONFIG) -> Outcome:
    run = run_program(
        sim,
        [str(program), str(runs)],
        aios=True,
        aios_args=("--config", str(config)),
        env={"AIOS_APPROVER": approver},
    ).check()
    found = re.search(r"^ran=(\d+)$", run.stdout, re.M)
    assert found, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    answers = ["\n".join(x for x in lines if x.startswith(f"run {i} ")) for i in range(runs)]
    return Outcome(run, int(found.group(1)), answers)


def tool_statuses(run: Run) -> list[str]:
    return [f"{r['status']}:{(r['error'] or '').split(':')[0]}" for r in syscalls(run.report, "tool")]


def check_deny(o: Outcome) -> None:
    assert o.ran == 0, o.run.stdout
    assert REFUSED in o.answers[0], o.run.stdout  # the model got the refusal and quoted it back
    assert tool_statuses(o.run) == ["failed:ToolRefused"]
    # The agent carried on: every LLM call ended well, after the refusal too.
    assert {r["status"] for r in syscalls(o.run.report, "llm")} == {"done"}
    assert len(syscalls(o.run.report, "llm")) >= 2


def check_allow(o: Outcome) -> None:
    assert o.ran == 1, o.run.stdout
    assert REFUSED not in o.run.stdout and "deleted " in o.answers[0]
    assert tool_statuses(o.run) == ["done:"]


def check_first_only(o: Outcome) -> None:
    assert o.ran == 1, o.run.stdout
    assert "deleted " in o.answers[0] and REFUSED not in o.answers[0]
    assert REFUSED in o.answers[1] and "deleted " not in o.answers[1]
    assert tool_statuses(o.run) == ["done:", "failed:ToolRefused"]
