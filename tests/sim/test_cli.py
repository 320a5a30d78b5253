"""The ``python -m aios.sim`` command and the SimServer process wrapper."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest
import typer
from typer.testing import CliRunner

from aios.sim import SimServer
from aios.sim.cli import sim
from aios.sim.process import SimServerError


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aios.sim", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--profile", "fast"), ("--profile", "instant, api, server")),
        (("--mode", "random"), ("--mode", "auto, echo, scripted")),
        (("--faults", "404=0.5"), ("--faults", "429, 500, 529")),
        (("--rpm", "0"), ("--rpm",)),
        (("--latency", "warp=1"), ("--latency", "ttft")),
        (("--mode", "scripted"), ("--script",)),
        (("--host", "0.0.0.0"), ("--host", "--allow-remote")),
    ],
)
def test_bad_options_name_the_option(args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    # In process: the option checks run before anything is bound or started.
    app = typer.Typer()
    app.command()(sim)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2
    text = " ".join(result.output.split())  # rich wraps long messages in a box
    for needle in needles:
        assert needle in text.replace("│", " ").replace("  ", " ")


def test_bad_option_from_the_real_command() -> None:
    result = run_cli("--profile", "fast")
    assert result.returncode == 2 and result.stdout == ""
    assert "--profile" in result.stderr and "instant, api, server" in result.stderr


def test_first_line_then_clean_stop_on_sigterm_and_sigint() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [sys.executable, "-m", "aios.sim", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert httpx.get(url + "/v1/models").status_code == 200
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()


def test_sim_server_wrapper(sim_server: SimServer) -> None:
    assert sim_server.openai_base_url == sim_server.url + "/v1"
    assert sim_server.anthropic_base_url == sim_server.url
    env = sim_server.env()
    assert env["OPENAI_BASE_URL"] == sim_server.openai_base_url
    assert env["OPENAI_API_KEY"] == "sim-key" and env["ANTHROPIC_API_KEY"]
    sim_server.reset()
    httpx.post(
        sim_server.openai_base_url + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
    )
    stats = sim_server.stats()
    for key in (
        "requests",
        "in_flight",
        "max_in_flight",
        "rate_limited",
        "by_status",
        "by_endpoint",
        "input_tokens",
        "output_tokens",
    ):
        assert key in stats
    assert stats["requests"] == 1 and stats["by_status"] == {"200": 1}
    sim_server.reset()
    assert sim_server.stats()["requests"] == 0


def test_sim_server_reports_startup_failure() -> None:
    started = time.monotonic()
    with pytest.raises(SimServerError, match="--profile"):
        SimServer("--profile", "nope").start()
    assert time.monotonic() - started < 20
