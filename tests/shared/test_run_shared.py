"""``aios run --redis`` / ``--shared``: every Python child joins the same state; the private server's life."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from aios.runner.cluster_report import cluster_report
from aios.sim.process import SimServer
from tests.shared.conftest import PROGRAMS, TELEMETRY_OFF, run_aios

KINDS = {"root", "subprocess", "spawn", "fork", "forkserver", "os.fork"}


def _seen(out: Path) -> dict[str, dict[str, object]]:
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def test_every_child_joins_the_servers_state_and_is_in_the_cluster_report(
    tmp_path: Path, sim: SimServer, redis_url: str
) -> None:
    sim.reset()
    proc = run_aios(
        [
            "run",
            "-q",
            "--frameworks",
            "openai",
            "--redis",
            redis_url,
            str(PROGRAMS / "children.py"),
            str(tmp_path),
        ],
        sim=sim,
    )
    assert proc.returncode == 0, proc.stderr
    seen = _seen(tmp_path)
    assert set(seen) == KINDS
    for kind, s in seen.items():
        assert s["env_url"] == s["config_url"] == s["kernel_url"] == redis_url, kind
    # A forked child boots its own kernel: nothing of the parent's (threads, connections) is reused.
    assert seen["fork"]["kernel_before_call"] is False
    assert seen["os.fork"]["kernel_before_call"] is False

    report = cluster_report(redis_url)
    assert set(report["agents"]) == KINDS
    assert all(a["llm_calls"] == 1 and a["errors"] == 0 for a in report["agents"].values())
    assert report["syscalls"] == sim.stats()["requests"] == len(KINDS)
    # One entry per process, fork workers that left through os._exit included.
    assert len(report["processes"]) == len(KINDS)
    assert sum(c["llm_calls"] for c in report["cores"].values()) == len(KINDS)


def test_shared_starts_a_private_server_for_the_run_and_stops_it(tmp_path: Path, sim: SimServer) -> None:
    proc = run_aios(
        ["run", "-q", "--frameworks", "openai", "--shared", str(PROGRAMS / "children.py"), str(tmp_path)],
        sim=sim,
    )
    assert proc.returncode == 0, proc.stderr
    seen = _seen(tmp_path)
    assert set(seen) == KINDS
    urls = {s["kernel_url"] for s in seen.values()}
    assert len(urls) == 1
    url = str(urls.pop())
    assert url.startswith("unix://")
    sock = Path(url.removeprefix("unix://"))
    # Stopped at exit, and its private directory is gone with it.
    assert not sock.parent.exists()


def test_shared_server_does_not_outlive_a_killed_program(tmp_path: Path) -> None:
    prog = tmp_path / "sleeper.py"
    prog.write_text(
        "import os, sys, time\nprint(os.environ['AIOS_REDIS_URL'], flush=True)\ntime.sleep(120)\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aios", "run", "-q", "--frameworks", "openai", "--shared", str(prog)],
        stdout=subprocess.PIPE,
        text=True,
        env={**environ, **TELEMETRY_OFF},
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("unix://"), url
    conn = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    assert conn.ping()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 10
    alive = True
    while alive and time.monotonic() < deadline:
        try:
            conn.ping()
            time.sleep(0.1)
        except (redis.ConnectionError, redis.TimeoutError):
            alive = False
    conn.close()
    proc.stdout.close()
    assert not alive, "the private server outlived its killed program"
    folder = Path(url.removeprefix("unix://")).parent
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists(), "the killed program's server directory was left behind"


def test_redis_and_shared_together_is_an_error() -> None:
    proc = run_aios(["run", "--redis", "redis://127.0.0.1:6379/0", "--shared", "x.py"])
    assert proc.returncode == 2
    assert "either --redis URL" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("source", ["option", "environment"])
def test_unreachable_server_is_one_clear_line_without_the_password(tmp_path: Path, source: str) -> None:
    url = "redis://:s3cret@127.0.0.1:1/0"
    prog = tmp_path / "never.py"
    prog.write_text("raise SystemExit('the program must not start')\n")
    args = ["run", "--redis", url, str(prog)] if source == "option" else ["run", str(prog)]
    env = {"AIOS_REDIS_URL": url} if source == "environment" else {}
    proc = run_aios(args, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "redis://:***@127.0.0.1:1/0" in lines[0] and "s3cret" not in proc.stderr
    assert "--shared" in lines[0]  # the way out for someone without a server
    assert "must not start" not in proc.stderr
