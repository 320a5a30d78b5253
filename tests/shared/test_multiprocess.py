"""Many processes, one kernel: real programs under ``aios run --redis`` against ``aios sim``.

Each test starts real worker processes (multiprocessing, the raw ``AsyncOpenAI`` SDK) and a real
Valkey server; the sim on 127.0.0.1 counts what reached the provider.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import aios
from aios.runner.redis_server import LocalServer
from aios.sim.process import SimServer
from tests.shared.conftest import PROGRAMS, TELEMETRY_OFF, run_aios

#: 20 requests per simulated minute; at time scale 40 one minute lasts 1.5 real seconds.
RPM = 20
TIME_SCALE = 40


def write_config(directory: Path, base_url: str, core: dict[str, Any], **top: Any) -> Path:
    lines = [f"{k} = {json.dumps(v)}" for k, v in top.items()]
    lines += ["[[cores]]", 'name = "sim"', 'api = "openai"', f'base_url = "{base_url}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in core.items()]
    path = directory / "aios.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _json_line(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def limited_sim() -> Iterator[SimServer]:
    """One OpenAI-style key at 20 requests per (time-scaled) minute."""
    with SimServer(
        "--profile", "api", "--rpm", str(RPM), "--tpm", "10000000", "--time-scale", str(TIME_SCALE)
    ) as s:
        yield s


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[SimServer]:
    """No rate limit; each call takes about 0.3 s so calls of different processes overlap."""
    with SimServer("--profile", "api", "--latency", "ttft=0.3") as s:
        yield s


def _workers(
    sim: SimServer, config: Path, url: str, processes: int, agents: int, prefix: str = "aios"
) -> tuple[dict[str, Any], int]:
    sim.reset()
    proc = run_aios(
        ["run", "-q", "--frameworks", "openai", "--config", str(config), "--redis", url,
         "-m", "aios.bench.shared_workers", "--processes", str(processes), "--agents", str(agents)],
        sim=sim,
        env={"AIOS_REDIS_PREFIX": prefix},
        timeout=280,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _json_line(proc.stdout), int(sim.stats()["rate_limited"])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_four_processes_get_no_more_429s_than_one(
    tmp_path: Path, limited_sim: SimServer, redis_url: str
) -> None:
    core = {"rpm": RPM, "tpm": 10_000_000, "rate_window_s": 60 / TIME_SCALE}
    config = write_config(tmp_path, limited_sim.openai_base_url, core)
    single, rejected_single = _workers(limited_sim, config, redis_url, 1, 32)
    # A fresh prefix: the second program starts from a fresh shared state, like the first.
    split, rejected_split = _workers(limited_sim, config, redis_url, 4, 8, prefix="second")
    for out in (single, split):
        assert out["completed"] == out["agents"] == 32
        assert out["errors"] == []
    # One shared limit: no more 429s than one process (none: a call's charge holds from its
    # admission until the provider answers, however late a busy loop sends it); four
    # per-process limits would let four bursts through (dozens of 429s).
    assert rejected_split <= rejected_single, (rejected_split, rejected_single)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_max_concurrency_holds_across_processes(tmp_path: Path, slow_sim: SimServer, redis_url: str) -> None:
    config = write_config(tmp_path, slow_sim.openai_base_url, {"max_concurrency": 2})
    out, _ = _workers(slow_sim, config, redis_url, 3, 4)
    assert out["completed"] == 12 and out["errors"] == []
    stats = slow_sim.stats()
    assert stats["requests"] == 24
    assert stats["max_in_flight"] <= 2, stats


def _popen_aios(args: list[str], sim: SimServer) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    environ.update({**TELEMETRY_OFF, **sim.env()})
    return subprocess.Popen(
        [sys.executable, "-m", "aios", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_of_a_process_holding_slots_frees_them_within_10_s(
    tmp_path: Path, sim: SimServer, redis_url: str
) -> None:
    # Limits stated in full: no slow start, whose one probing call the victim would hold forever.
    config = write_config(tmp_path, sim.openai_base_url, {"max_concurrency": 2, "learn_limits": False})
    run = ["run", "-q", "--frameworks", "openai", "--config", str(config), "--redis", redis_url]
    sim.reset()
    victim = _popen_aios([*run, str(PROGRAMS / "holder.py"), "victim", "2"], sim)
    survivor = None
    try:
        assert victim.stdout is not None and victim.stdout.readline().startswith("holding"), victim.stderr
        survivor = _popen_aios([*run, str(PROGRAMS / "holder.py"), "survivor", "4"], sim)
        assert survivor.stdout is not None and survivor.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        # Both slots are the victim's: the survivor's calls wait, across processes.
        assert sim.stats()["requests"] == 2
        victim.kill()
        killed_at = time.time()
        victim.wait(10)
        out, err = survivor.communicate(timeout=120)
    finally:
        for p in (victim, survivor):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    assert survivor.returncode == 0, err[-3000:]
    results = _json_line(out)
    assert all(r["ok"] for r in results), results
    assert max(r["done_at"] for r in results) - killed_at < 10.0


def _steady(
    tmp_path: Path, sim: SimServer, server: LocalServer, behaviour: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    config = write_config(tmp_path, sim.openai_base_url, {"max_concurrency": 4}, redis_unavailable=behaviour)
    proc = _popen_aios(
        ["run", "-q", "--frameworks", "openai", "--config", str(config), "--redis", server.url,
         "--report", str(tmp_path / "report.json"),
         str(PROGRAMS / "steady.py"), "4", "60"],
        sim,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while sim.stats()["requests"] < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the program ended before the server was stopped"
    server.stop()
    stopped_at = time.monotonic()
    try:
        out, err = proc.communicate(timeout=90)  # no hang
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("the program hung after the server stopped") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), time.monotonic() - stopped_at


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_server_stopped_mid_run_falls_back_to_local_limits(
    tmp_path: Path, sim: SimServer, redis_server_factory: Callable[[], LocalServer]
) -> None:
    sim.reset()
    server = redis_server_factory()
    proc, _ = _steady(tmp_path, sim, server, "local")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _json_line(proc.stdout)
    assert out["completed"] == 4 and out["errors"] == []
    assert sim.stats()["requests"] == 4 * 60
    # One warning naming the server, not one per call.
    warnings = [line for line in proc.stderr.splitlines() if str(server.socket) in line]
    assert len(warnings) == 1, proc.stderr[-3000:]
    # ... and a count in the report.
    shared = json.loads((tmp_path / "report.json").read_text())["shared_state"]
    assert shared["degraded"] is True and shared["unavailable_errors"] >= 1, shared


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_server_stopped_mid_run_fails_calls_clearly_when_configured(
    tmp_path: Path, sim: SimServer, redis_server_factory: Callable[[], LocalServer]
) -> None:
    sim.reset()
    server = redis_server_factory()
    proc, _ = _steady(tmp_path, sim, server, "fail")
    out = _json_line(proc.stdout)
    assert out["completed"] < 4
    assert out["errors"] and all(str(server.socket) in e for e in out["errors"]), out["errors"]


def test_boot_with_an_unreachable_server_names_it(redis_server_factory: Callable[[], LocalServer]) -> None:
    server = redis_server_factory()
    server.stop()
    with pytest.raises(aios.AiosError) as info:
        aios.boot(redis_url=server.url)
    aios.shutdown()
    message = str(info.value)
    assert str(server.socket) in message
    assert "\n" not in message.strip()
