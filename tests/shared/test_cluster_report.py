"""The cluster report: every process's finished syscalls in one set of totals on the server."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import redis
from typer.testing import CliRunner

import aios
from aios.cli import app
from aios.config import KernelConfig
from aios.kernel.kernel import Kernel
from aios.runner.cluster_report import ClusterRecorder, cluster_report
from aios.runner.redis_server import LocalServer

#: A process that boots a kernel sharing ``url`` and runs tools as two agents; one tool fails.
WORKER = """
import sys, aios
url, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
k = aios.boot(redis_url=url)
for i in range(n):
    k.run_tool("lookup", lambda: i, agent=f"agent-{tag}")
    k.run_tool("lookup", lambda: i, agent="shared")
def broken():
    raise ValueError("tool failed")
try:
    k.run_tool("lookup", broken, agent="shared")
except ValueError:
    pass
"""


def _workers(url: str, counts: dict[str, int]) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, tag, str(n)], stderr=subprocess.PIPE, text=True)
        for tag, n in counts.items()
    ]
    for p in procs:
        _, err = p.communicate(timeout=90)
        assert p.returncode == 0, err


def test_totals_cover_every_process(redis_url: str) -> None:
    _workers(redis_url, {"a": 3, "b": 5})
    report = aios.cluster_report(redis_url, "aios")
    agents = report["agents"]
    assert set(agents) == {"agent-a", "agent-b", "shared"}
    assert agents["agent-a"]["tool_calls"] == 3
    assert agents["agent-b"]["tool_calls"] == 5
    assert agents["shared"]["tool_calls"] == 3 + 5 + 2
    assert agents["shared"]["errors"] == 2 and agents["agent-a"]["errors"] == 0
    assert report["syscalls"] == 3 + 5 + 3 + 5 + 2
    assert len(report["processes"]) == 2
    assert sum(c["tool_calls"] for c in report["cores"].values()) == report["syscalls"]
    assert report["percentiles_over"] == "all syscalls"
    # Another prefix is another kernel: nothing of this one shows there.
    assert aios.cluster_report(redis_url, "other")["agents"] == {}


def test_aios_report_prints_the_same_totals(redis_url: str) -> None:
    _workers(redis_url, {"a": 2, "b": 1})
    runner = CliRunner()
    as_json = runner.invoke(app, ["report", "--redis", redis_url, "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    expected = cluster_report(redis_url)
    assert data["agents"] == expected["agents"] and data["cores"] == expected["cores"]
    table = runner.invoke(app, ["report", "--redis", redis_url])
    assert table.exit_code == 0, table.output
    assert "agent-a" in table.output and "agent-b" in table.output and "2 processes" in table.output


def test_aios_report_without_a_reachable_server_is_one_line(
    redis_server_factory: Callable[[], LocalServer],
) -> None:
    server = redis_server_factory()
    server.stop()
    result = CliRunner().invoke(app, ["report", "--redis", server.url])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert server.url in result.output and "start the server" in result.output
    result = CliRunner().invoke(app, ["report"], env={"AIOS_REDIS_URL": None})
    assert result.exit_code == 2 and "--redis URL" in result.output


def test_recorder_never_holds_calls_up_when_the_server_is_gone(
    redis_server_factory: Callable[[], LocalServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server_factory()
    recorder = ClusterRecorder(redis.Redis.from_url(server.url, socket_timeout=1), "aios")
    kernel = Kernel(KernelConfig())
    kernel.add_observer(recorder)
    try:
        kernel.run_tool("t", lambda: 1, agent="before")
        assert cluster_report(server.url)["agents"]["before"]["tool_calls"] == 1
        server.stop()
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="aios.runner"):
            results = [kernel.run_tool("t", lambda: 2, agent="after") for _ in range(50)]
        elapsed = time.monotonic() - t0
    finally:
        kernel.shutdown()
        recorder.close()
    assert results == [2] * 50  # every call still got its result
    assert recorder.dropped == 50
    assert elapsed < 5.0
    # The kernel warns about an unreachable server; the report adds no warning per call.
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
