"""``aios run`` with small programs: the program must not notice it runs under aios."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from compat_tests.harness import aios_command, calls_by_agent, program_env, run_program

PROGRAMS = Path(__file__).parent / "programs"
REPORT_KEYS = {
    "syscalls",
    "syscalls_dropped",
    "agents",
    "cores",
    "groups",
    "by_status",
    "policy",
    "processes",
}


def both(argv: list[str], **kw: object) -> tuple:
    return run_program(None, argv, aios=False, **kw), run_program(None, argv, aios=True, **kw)  # type: ignore[arg-type]


def test_argv_name_and_cwd_are_the_programs(tmp_path: Path) -> None:
    plain, under = both([str(PROGRAMS / "show_argv.py"), "a", "--quiet", "-m", "x y"], cwd=tmp_path)
    assert plain.returncode == under.returncode == 0, under.stderr
    p, u = json.loads(plain.stdout), json.loads(under.stdout)
    assert u["name"] == "__main__"
    assert u["argv"] == ["a", "--quiet", "-m", "x y"]
    assert u["cwd"] == str(tmp_path)
    assert u["bootstrap_on_path"] is False  # the bootstrap took itself off sys.path
    assert p == u


def test_relative_imports_with_dash_m() -> None:
    plain, under = both(["-m", "pkg.main", "hello", "world"], cwd=PROGRAMS)
    assert under.returncode == 0, under.stderr
    assert under.stdout == plain.stdout == "__main__ pkg HELLO WORLD!\n"


@pytest.mark.parametrize("how, code", [("0", 0), ("3", 3), ("msg:bad input", 1)])
def test_exit_codes_pass_through(how: str, code: int) -> None:
    plain, under = both([str(PROGRAMS / "exit_with.py"), how])
    assert plain.returncode == under.returncode == code
    assert under.stdout == plain.stdout == "started\n"
    assert under.stderr == plain.stderr  # SystemExit("msg") prints msg, like python


def test_traceback_is_printed_like_plain_python() -> None:
    plain, under = both([str(PROGRAMS / "exit_with.py"), "raise"])
    assert plain.returncode == under.returncode == 1
    assert "ValueError: boom from the program" in under.stderr
    assert under.stderr == plain.stderr


def _default_sigint() -> None:
    # A child inherits an ignored SIGINT (any background job of a non-interactive shell starts
    # so), and Python then installs no KeyboardInterrupt handler: give it a terminal's default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery to a child is POSIX")
def test_ctrl_c_behaves_as_without_aios(tmp_path: Path) -> None:
    prog = str(PROGRAMS / "wait_for_sigint.py")
    report = tmp_path / "r.json"
    # Started as a background job is: with SIGINT ignored, which the children must not inherit.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        plain = _interrupt([sys.executable, prog], program_env(None))
        under = _interrupt(aios_command([prog], report), program_env(None))
    finally:
        signal.signal(signal.SIGINT, previous)
    # Python re-raises SIGINT on an unhandled KeyboardInterrupt: the shell shows 130.
    assert plain.returncode == under.returncode == -signal.SIGINT
    assert under.stderr.rstrip().endswith("KeyboardInterrupt")
    assert "Traceback (most recent call last)" in under.stderr
    assert json.loads(report.read_text())["processes"][0]["root"] is True


def test_report_written_with_schema_and_attribution() -> None:
    run = run_program(None, [str(PROGRAMS / "kernel_probe.py"), "solo", "3"], aios=True)
    assert run.returncode == 0, run.stderr
    assert run.report is not None
    assert set(run.report) >= REPORT_KEYS
    assert calls_by_agent(run.report, "tool") == {"solo": 3}
    rec = run.report["syscalls"][0]
    assert {"kind", "agent", "tool", "status", "waiting_s", "pid"} <= set(rec)
    out = json.loads(run.stdout)
    assert out["bootstrapped"] is True
    assert out["requested"] == out["installed"]  # every installed adapter was patched


def test_python_subprocesses_are_covered_and_merged() -> None:
    run = run_program(None, [str(PROGRAMS / "spawn_children.py")], aios=True)
    assert run.returncode == 0, run.stderr
    kids = [json.loads(line) for line in run.stdout.splitlines()[:2]]
    assert all(k["bootstrapped"] and k["requested"] == k["installed"] for k in kids)
    assert "os._exit child: 4" in run.stdout
    assert run.report is not None
    # kid-gone left through os._exit (no atexit): the calls it spooled as they ended still count.
    assert calls_by_agent(run.report, "tool") == {"parent": 2, "kid-a": 1, "kid-b": 3, "kid-gone": 2}
    procs = run.report["processes"]
    assert [p["root"] for p in procs].count(True) == 1
    assert len(procs) == 4
    assert sorted(p["exit_report"] for p in procs) == [False, True, True, True]
    assert len({r["pid"] for r in run.report["syscalls"]}) == 4


def test_plain_subprocess_is_not_bootstrapped() -> None:
    run = run_program(None, [str(PROGRAMS / "kernel_probe.py"), "solo", "1"], aios=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["bootstrapped"] is False


def test_calls_made_in_the_programs_atexit_are_reported() -> None:
    run = run_program(None, [str(PROGRAMS / "atexit_call.py")], aios=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "main done\natexit result 42\n"
    assert calls_by_agent(run.report, "tool") == {"late": 1}


def _wait_for(path: Path, seconds: float = 30) -> dict[str, Any]:
    """The report a watcher writes shortly after the program ended abnormally."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"no report at {path} after {seconds}s"
        time.sleep(0.05)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_os_exit_does_not_hang_and_its_calls_are_reported(tmp_path: Path) -> None:
    start = time.monotonic()
    report = tmp_path / "r.json"
    env = program_env(None, {"TMPDIR": str(tmp_path)})
    cmd = aios_command([str(PROGRAMS / "hard_exit.py")], report)
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert (run.returncode, run.stdout) == (5, "1\n"), run.stderr
    assert time.monotonic() - start < 20
    # os._exit skips atexit: the watcher merges what the program spooled and removes the spool.
    data = _wait_for(report)
    assert calls_by_agent(data, "tool") == {"quick": 1}
    assert [(p["root"], p["exit_report"]) for p in data["processes"]] == [(True, False)]
    assert set(data) >= REPORT_KEYS
    _assert_no_spool_left(tmp_path)


def _assert_no_spool_left(tmp: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while list(tmp.glob("aios-run-*")):
        assert time.monotonic() < deadline, f"spool left behind: {list(tmp.glob('aios-run-*'))}"
        time.sleep(0.05)


def test_a_killed_program_still_gets_its_report_and_no_spool_is_left(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    env = program_env(None, {"TMPDIR": str(tmp_path)})
    cmd = aios_command([str(PROGRAMS / "calls_then_waits.py"), "3"], report)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    assert list(tmp_path.glob("aios-run-*")), "the run spools under TMPDIR"
    proc.kill()
    proc.communicate(timeout=30)
    data = _wait_for(report)
    assert calls_by_agent(data, "tool") == {"worker": 3}
    assert {r["status"] for r in data["syscalls"]} == {"done"}
    _assert_no_spool_left(tmp_path)


def test_a_normal_exit_leaves_no_spool(tmp_path: Path) -> None:
    env = program_env(None, {"TMPDIR": str(tmp_path)})
    cmd = aios_command([str(PROGRAMS / "kernel_probe.py"), "solo", "1"], tmp_path / "r.json")
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert calls_by_agent(json.loads((tmp_path / "r.json").read_text()), "tool") == {"solo": 1}
    _assert_no_spool_left(tmp_path)


def test_fork_workers_that_leave_through_os_exit_are_reported(tmp_path: Path) -> None:
    run = run_program(None, [str(PROGRAMS / "fork_workers.py")], aios=True)
    assert run.returncode == 0, run.stderr
    assert run.report is not None
    # 4 pool tasks in fork workers (which end with os._exit), 2 calls of an os.fork() child
    # that ends with os._exit, 1 of the parent.
    assert calls_by_agent(run.report, "tool") == {"pool": 4, "forked": 2, "parent": 1}
    roots = [p for p in run.report["processes"] if p["root"]]
    assert len(roots) == 1 and roots[0]["exit_report"] is True


def test_summary_table_on_stderr_unless_quiet() -> None:
    env = program_env(None)
    cmd = [sys.executable, "-m", "aios", "run", str(PROGRAMS / "kernel_probe.py"), "solo", "2"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "solo" in proc.stderr and "tool" in proc.stderr
    quiet = subprocess.run(
        [*cmd[:4], "--quiet", *cmd[4:]], env=env, capture_output=True, text=True, timeout=60
    )
    assert "solo" not in quiet.stderr
    assert quiet.stdout == proc.stdout


def test_unknown_framework_is_a_clear_error() -> None:
    run = run_program(None, [str(PROGRAMS / "show_argv.py")], aios=True, aios_args=["--frameworks", "nosuch"])
    assert run.returncode == 2
    assert "'nosuch'" in run.stderr and "known:" in run.stderr and "installed here:" in run.stderr
    assert run.stdout == ""  # the program never started


def test_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "aios.toml"
    bad.write_text("policy = 'fifo'\nmax_concurency = 3\n")
    run = run_program(None, [str(PROGRAMS / "show_argv.py")], aios=True, aios_args=["--config", str(bad)])
    assert run.returncode == 2
    assert "max_concurency" in run.stderr
    unknown_policy = run_program(
        None, [str(PROGRAMS / "show_argv.py")], aios=True, aios_args=["--policy", "nope"]
    )
    assert unknown_policy.returncode == 2
    assert "nope" in unknown_policy.stderr


def test_options_reach_the_programs_kernel() -> None:
    run = run_program(
        None,
        [str(PROGRAMS / "kernel_probe.py"), "solo", "1"],
        aios=True,
        aios_args=["--policy", "fair", "--max-concurrency", "2"],
    )
    assert run.returncode == 0, run.stderr
    assert run.report is not None and run.report["policy"] == "fair"


def test_plugins_command_lists_adapters() -> None:
    env = program_env(None)
    proc = subprocess.run(
        [sys.executable, "-m", "aios", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"adapters", "errors"}
    from aios.adapters import plugins

    assert [a["name"] for a in data["adapters"]] == sorted(plugins().adapters)
    for row in data["adapters"]:
        assert {
            "name",
            "distribution",
            "installed",
            "supported",
            "in_range",
            "patched",
            "would_patch",
        } <= set(row)
    table = subprocess.run(
        [sys.executable, "-m", "aios", "plugins"], env=env, capture_output=True, text=True, timeout=60
    )
    assert table.returncode == 0
    for row in data["adapters"]:
        assert row["name"] in table.stdout


def test_frameworks_option_patches_only_those() -> None:
    argv = [str(PROGRAMS / "kernel_probe.py"), "solo", "1"]
    run = run_program(None, argv, aios=True, aios_args=["--frameworks", "openai"])
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["requested"] == ["openai"]


def test_a_dead_provider_is_retried_no_more_than_the_sdk_would() -> None:
    # The SDK retries a refused connection twice by default; aios used to retry it six times
    # with backoff, so a program took seconds longer to fail than without aios.
    run = run_program(None, [str(PROGRAMS / "dead_provider.py")], aios=True)
    assert run.returncode == 0, run.stderr
    assert run.report is not None
    [rec] = run.report["syscalls"]
    assert (rec["kind"], rec["status"], rec["retries"]) == ("llm", "failed", 2)
    assert "gave up after 2 retries (`retry.max_network_retries`)" in run.stdout


def test_calls_running_at_exit_are_reported_as_unfinished() -> None:
    from aios.runner.child import UNFINISHED
    from aios.sim.process import SimServer

    with SimServer("--profile", "api", "--latency", "ttft=10") as slow:
        run = run_program(slow, [str(PROGRAMS / "exit_while_calling.py")], aios=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "leaving\n"
    assert run.sim_stats["requests"] == 1  # the provider got it
    assert run.report is not None
    [rec] = run.report["syscalls"]
    assert (rec["kind"], rec["status"], rec["error"]) == ("llm", "cancelled", UNFINISHED)
    assert rec["model"] == "gpt-4o-mini" and rec["started_at"] is not None
    assert run.report["by_status"] == {"cancelled": 1}


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery to a child is POSIX")
@pytest.mark.parametrize("program", ["wait_for_sigint.py", "kernel_probe_then_wait"])
def test_ctrl_c_exits_by_sigint_with_the_summary_too(tmp_path: Path, program: str) -> None:
    # Printing the summary imports at exit, which used to make an interrupted program exit 1.
    if program == "kernel_probe_then_wait":
        prog = tmp_path / "probe_wait.py"
        prog.write_text(
            "import time\nfrom aios.runtime import kernel\n"
            "kernel().run_tool('one', lambda: 1, agent='early')\n"
            "print('ready', flush=True)\ntime.sleep(60)\n"
        )
    else:
        prog = PROGRAMS / program
    report = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "aios", "run", "--report", str(report), str(prog)]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        under = _interrupt(cmd, program_env(None))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert under.returncode == -signal.SIGINT, under.stderr
    assert "KeyboardInterrupt" in under.stderr
    data = json.loads(report.read_text())
    assert data["processes"][0]["root"] is True
    if program == "kernel_probe_then_wait":
        assert calls_by_agent(data, "tool") == {"early": 1}
        assert "early" in under.stderr  # the table
    else:
        assert "aios run: no LLM or tool calls (policy fifo)" in under.stderr


def test_a_root_without_frameworks_still_merges_its_childrens_calls(tmp_path: Path) -> None:
    run = run_program(None, [str(PROGRAMS / "idle_parent.py"), "2"], aios=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == []  # the root never loaded aios itself
    assert run.report is not None
    assert calls_by_agent(run.report, "tool") == {"kid": 2}
    procs = run.report["processes"]
    assert sorted(p["root"] for p in procs) == [False, True]
    assert all(p["exit_report"] for p in procs)
    env = program_env(None, {"TMPDIR": str(tmp_path)})
    table = subprocess.run(
        [sys.executable, "-m", "aios", "run", str(PROGRAMS / "idle_parent.py"), "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert table.returncode == 0, table.stderr
    assert "kid" in table.stderr and "2 processes" in table.stderr  # the summary table
    _assert_no_spool_left(tmp_path)


def test_a_run_without_calls_says_so_and_reports_every_process(tmp_path: Path) -> None:
    env = program_env(None, {"TMPDIR": str(tmp_path)})
    cmd = [sys.executable, "-m", "aios", "run", str(PROGRAMS / "idle_parent.py"), "0"]
    plain = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr == "aios run: no LLM or tool calls (policy fifo)\n"
    _assert_no_spool_left(tmp_path)
    run = run_program(None, [str(PROGRAMS / "idle_parent.py"), "0"], aios=True)
    assert run.returncode == 0, run.stderr
    data = run.report
    assert data is not None
    assert set(data) >= REPORT_KEYS and data["policy"] == "fifo" and data["syscalls"] == []
    assert sorted(p["root"] for p in data["processes"]) == [False, True]
    assert "sk-not-for-reports" not in json.dumps(data)  # the idle child's argv is redacted
