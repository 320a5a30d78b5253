"""``aios run --approve`` and ``--audit``: checked before the program starts, passed on by env."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from aios.cli import app
from aios.runner.launch import RunOptions, program_env

runner = CliRunner()


def test_unknown_approver_exits_2_naming_the_choices() -> None:
    result = runner.invoke(app, ["run", "--approve", "slack", "x.py"])
    assert result.exit_code == 2
    assert "`approver` = 'slack'" in result.output and "terminal, deny, allow or python:" in result.output


def test_options_reach_the_program_environment(tmp_path: Path) -> None:
    env = program_env(RunOptions(approve="allow", audit=tmp_path / "a.jsonl"), base={})
    assert env["AIOS_APPROVER"] == "allow"
    assert env["AIOS_AUDIT_LOG"] == str((tmp_path / "a.jsonl").resolve())
    assert env["AIOS_RUN_ID"] and env["AIOS_RUN_ID"] != program_env(RunOptions(), base={})["AIOS_RUN_ID"]
    assert "AIOS_APPROVER" not in program_env(RunOptions(), base={})


def test_summary_shows_cost_per_agent() -> None:
    from rich.console import Console

    from aios.runner.summary import print_summary

    console = Console(width=160, record=True)
    print_summary({"policy": "fifo", "agents": {"planner": {"llm_calls": 2, "cost_usd": 0.0123}}}, console)
    text = console.export_text()
    assert "cost" in text and "$0.0123" in text
