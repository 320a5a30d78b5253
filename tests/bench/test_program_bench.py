"""``aios bench SCRIPT``: observe mode, programs that fail on their own, copies and their
arguments, and the confirmation before spending with ``--provider env``."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aios.sim.process import SimServer

from .conftest import PROGRAMS, assert_agrees_with_sim, bench_env, run_bench


def test_observe_mode_changes_no_outcome_and_adds_no_request(out: Path, tmp_path: Path) -> None:
    # Every request fails with 500: the SDK retries it twice by itself (3 requests a call). Plain
    # and observe mode must both send exactly that; aios proper retries in the kernel instead,
    # here once (2 requests a call), so the count tells the three apart.
    config = tmp_path / "aios.toml"
    config.write_text("[retry]\nmax_retries = 1\nbase_delay = 0.01\nmax_delay = 0.05\n")
    result = run_bench(
        [
            *("--copies", "3", "--profile", "instant", "--faults", "500=1", "--reruns", "0"),
            *("--plain", "--config", str(config), str(PROGRAMS / "sdk_calls.py")),
        ],
        out,
    )
    assert_agrees_with_sim(result)
    runs = {r["mode"]: r for r in result["runs"]}
    assert runs["plain"]["requests"] == runs["without"]["requests"] == 3 * 3
    assert runs["with"]["requests"] == 3 * 2
    for run in runs.values():
        assert run["succeeded"] == 0 and run["failed_llm"] == 3
        assert run["errors"] == ["InternalServerError"]
    # Observe mode recorded the calls it did not touch.
    assert runs["without"]["llm_calls"] == 3 and runs["plain"]["llm_calls"] is None
    assert result["observe_overhead"]["requests_vs_plain"] == 1.0


def test_observe_mode_with_a_healthy_provider(out: Path, tmp_path: Path) -> None:
    fair = tmp_path / "fair.toml"
    fair.write_text('policy = "fair"\n')
    result = run_bench(
        [
            *("--copies", "3", "--profile", "instant", "--plain", "--mode", f"fair={fair}"),
            str(PROGRAMS / "sdk_calls.py"),
        ],
        out,
    )
    assert_agrees_with_sim(result)
    runs = {r["mode"]: r for r in result["runs"]}
    assert list(runs) == ["without", "with", "fair", "plain"]
    assert runs["fair"]["label"] == "fair" and "fair_vs_without" in result["ratios"]
    assert {r["policy"] for r in _reports(out, "fair")} == {"fair"}
    assert {r["policy"] for r in _reports(out, "with")} == {"fifo"}
    # A config that names no core gets the sim's, as the default with-aios config does.
    assert {tuple(r["cores"]) for r in _reports(out, "fair")} == {("sim",)}
    assert {tuple(r["cores"]) for r in _reports(out, "with")} == {("sim",)}
    for run in runs.values():
        assert run["succeeded"] == 3 and run["requests"] == 6 and run["all_done_s"] == run["makespan_s"]
    assert runs["without"]["llm_calls"] == runs["with"]["llm_calls"] == 6
    assert (
        runs["without"]["tokens"]
        == runs["without"]["sim"]["input_tokens"] + runs["without"]["sim"]["output_tokens"]
    )
    overhead = result["observe_overhead"]
    assert overhead["startup_s_per_process"] is not None and overhead["startup_s_per_process"] > 0
    assert overhead["mean_completion_vs_plain"] is not None
    assert "all 3 copies succeeded" in result["verdict"]
    assert (out / "successes-over-time.png").stat().st_size > 0 and (out / "completion-cdf.png").exists()
    md = (out / "results.md").read_text()
    assert "| without aios | 1 | 100 |" in md and "| with aios | 1 | 100 |" in md


def _reports(out: Path, mode: str) -> list[dict[str, Any]]:
    folder = out / "runs" / f"{mode}-round1-attempt0"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("copy*/report.json"))]


def test_a_program_failing_on_its_own_is_not_blamed_on_the_provider(out: Path) -> None:
    result = run_bench(["--copies", "2", "--profile", "instant", str(PROGRAMS / "fails_alone.py")], out)
    assert_agrees_with_sim(result)
    for run in result["runs"]:
        assert run["succeeded"] == 0 and run["failed_program"] == 2 and run["failed_llm"] == 0
        assert run["rerun_rounds"] == 0 and run["all_done_s"] is None
        assert run["rate_limited_429"] == 0 and run["requests"] == 2
        for copy in run["batches"][0]["copies"]:
            assert copy["exit_code"] == 1 and copy["cause"] == "program"
            assert copy["error"] == "could not parse the input file"
    assert "failed on their own" in result["verdict"] and "not the provider" in result["verdict"]
    assert "failed on an LLM call" not in result["verdict"]


def test_copies_get_their_index_and_arguments_in_order(out: Path) -> None:
    run_bench(
        ["--copies", "3", "--profile", "instant", str(PROGRAMS / "show_copy.py"), "--name", "x{copy}", "-v"],
        out,
    )
    for mode in ("without", "with"):
        for i in range(3):
            printed = (out / "runs" / f"{mode}-round1-attempt0" / f"copy{i}" / "stdout.txt").read_text()
            assert printed.split() == [str(i), "--name", f"x{i}", "-v"]
    # -m MODULE; after `--` every argument is the program's, bench options included.
    module = ["-m", "tests.bench.programs.show_copy", "--", "{copy}", "--copies"]
    run_bench(["--copies", "2", "--profile", "instant", *module], out)
    for i in range(2):
        printed = (out / "runs" / "with-round1-attempt0" / f"copy{i}" / "stdout.txt").read_text()
        assert printed.split() == [str(i), str(i), "--copies"]


def test_provider_env_with_yes_counts_the_programs_own_provider(out: Path) -> None:
    # The program's own provider here is a sim the bench does not know about: requests are
    # counted by their generation endpoint, and every one the provider saw is in results.json.
    with SimServer("--profile", "instant") as provider:
        result = run_bench(
            ["--provider", "env", "--yes", "--copies", "2", str(PROGRAMS / "sdk_calls.py")],
            out,
            env=provider.env(),
        )
        served = provider.stats()
    assert result["config"]["provider"] == "env"
    runs = {r["mode"]: r for r in result["runs"]}
    assert runs["without"]["sim"] is None
    assert runs["without"]["requests"] == runs["with"]["requests"] == 4
    assert runs["without"]["requests"] + runs["with"]["requests"] == served["requests"]
    assert runs["with"]["succeeded"] == runs["without"]["succeeded"] == 2


def _bench(args: list[str], tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aios", "bench", "--out", str(tmp_path / "o"), *args],
        capture_output=True,
        text=True,
        env=bench_env(),
        timeout=60,
        **kw,  # type: ignore[call-overload]
    )


def test_provider_env_without_a_terminal_refuses_in_one_line(tmp_path: Path) -> None:
    proc = _bench(
        ["--provider", "env", "--copies", "5", str(PROGRAMS / "sdk_calls.py")],
        tmp_path,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "5 copies" in lines[0] and "1 round" in lines[0] and "--yes" in lines[0]
    assert not (tmp_path / "o").exists()


def test_provider_env_asks_on_a_terminal(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aios",
            "bench",
            "--out",
            str(tmp_path / "o"),
            "--provider",
            "env",
            "--copies",
            "4",
            "--repeat",
            "2",
            str(PROGRAMS / "sdk_calls.py"),
        ],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=bench_env(),
        close_fds=True,
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    while b"Continue?" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1)
        if ready:
            try:
                seen += os.read(primary, 4096)
            except OSError:
                break
    assert b"Continue?" in seen, seen
    assert b"4 copies" in seen and b"2 round" in seen
    os.write(primary, b"n\n")
    assert proc.wait(30) == 1
    try:
        while select.select([primary], [], [], 0.5)[0]:
            seen += os.read(primary, 4096)
    except OSError:
        pass
    os.close(primary)
    assert b"nothing was run" in seen
    assert not (tmp_path / "o").exists()


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    cases = [
        ([], "give the program"),
        (["nosuch.py"], "'nosuch.py' is neither a file nor a scenario"),
        (["--mode", "fair", str(PROGRAMS / "show_copy.py")], "expected NAME=CONFIG.toml"),
        (["--mode", "with=x.toml", str(PROGRAMS / "show_copy.py")], "is taken"),
        (["--provider", "env", "--rpm", "5", "--yes", str(PROGRAMS / "show_copy.py")], "--rpm"),
        (["--policy", "lottery", str(PROGRAMS / "show_copy.py")], "lottery"),
        (["--faults", "500=2", str(PROGRAMS / "show_copy.py")], "--faults"),
    ]
    for args, expected in cases:
        proc = _bench(args, tmp_path, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2, (args, proc.stderr)
        assert expected in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.stderr.startswith("aios bench: error:"), proc.stderr
