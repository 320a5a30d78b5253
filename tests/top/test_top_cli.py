"""``aios top``: its source and view in process, and one clear line for a bad socket."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

import aios
from aios.cli import app
from aios.kernel.kernel import Kernel
from aios.kernel.syscall import Syscall
from aios.top.serve import SnapshotServer
from aios.top.source import SocketSource, SourceGone, kernel_snapshot
from aios.top.view import render


def _screen(snap: dict[str, object]) -> str:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(render(snap, width=80))
    return out.getvalue()


def test_missing_socket_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["top", "--socket", str(tmp_path / "nothing.sock")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("aios top: error: cannot connect to")
    assert "aios run --top-socket" in lines[0]


def test_no_socket_given_is_one_clear_line() -> None:
    result = CliRunner().invoke(app, ["top"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "aios top: error: give the program's socket: `aios top --socket PATH` "
        "(`aios run --top-socket` prints it), or `aios top --redis URL` for kernels sharing a state"
    )


def test_snapshot_over_a_socket_shows_the_kernels_counts(tmp_path: Path) -> None:
    k = Kernel(aios.KernelConfig(max_concurrency=3, agents={"a-very-long-agent-name-indeed": {}}))
    try:
        for agent, n in (("writer", 2), ("a-very-long-agent-name-indeed", 1)):
            for _ in range(n):
                sc = k.llm_syscall(
                    api="openai.chat", model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1", agent=agent
                )
                k.call(sc, lambda lease: None)
        k.run_tool("search", lambda: "ok", agent="writer")
        server = SnapshotServer(tmp_path / "top.sock", lambda: kernel_snapshot(k))
        source = SocketSource(tmp_path / "top.sock")
        try:
            snap = source()
            again = source()  # the connection serves one snapshot per request
            assert again["agents"] == snap["agents"] and again["now"] > snap["now"]
        finally:
            source.close()
            server.close()
    finally:
        k.shutdown()
    screen = _screen(snap)
    assert max(len(line) for line in screen.splitlines()) <= 80
    writer = next(line.split() for line in screen.splitlines() if line.split()[:1] == ["writer"])
    assert writer[1:3] == ["2", "1"]  # LLM calls, tool calls
    assert "done 4" in screen
    core = next(line for line in screen.splitlines() if "openai@" in line)
    assert "0/3" in core
    assert [r["id"] for r in snap["recent"]] == sorted((r["id"] for r in snap["recent"]), reverse=True)
    assert (tmp_path / "top.sock").exists() is False  # the server removed its socket


def test_a_closed_socket_is_reported_as_gone(tmp_path: Path) -> None:
    server = SnapshotServer(tmp_path / "s.sock", lambda: {"queued": 0})
    source = SocketSource(tmp_path / "s.sock")
    assert source() == {"queued": 0}
    server.close()
    source.close()
    try:
        source()
    except SourceGone:
        pass
    else:
        raise AssertionError("a source whose program ended must say so")


def test_top_over_a_shared_state_shows_every_kernel(redis_url: str) -> None:
    """Two kernels (as two processes would) share a state on a real Valkey server: one frame of
    `aios top --redis` shows both kernels' agents, the core's slots in use across them."""
    from aios.runner.cluster_report import recorder_for

    config = aios.KernelConfig.model_validate(
        {
            "redis_url": redis_url,
            "redis_prefix": "top-test",
            "cores": [{"name": "shared-core", "api": "openai", "max_concurrency": 2, "rpm": 600}],
            "routes": [{"match": "*", "core": "shared-core"}],
        }
    )
    kernels = [Kernel(config), Kernel(config)]
    try:
        for k in kernels:
            recorder = recorder_for(config)
            assert recorder is not None
            k.add_observer(recorder)
        def call(k: Kernel, agent: str) -> Syscall:
            return k.llm_syscall(api="openai.chat", model="m", base_url="http://127.0.0.1:9/v1", agent=agent)

        for k, agent in zip(kernels, ("planner", "coder"), strict=True):
            for _ in range(2):
                k.call(call(k, agent), lambda lease: None)
        held = kernels[1].acquire(call(kernels[1], "coder"))
        result = CliRunner().invoke(app, ["top", "--redis", redis_url, "--prefix", "top-test", "--once"])
        held.succeed()
    finally:
        for k in kernels:
            k.shutdown()
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines() if line.split()}
    assert rows["planner"][1] == "2" and rows["coder"][1] == "2"  # LLM calls, from both kernels
    core = next(line for line in result.output.splitlines() if "shared-core" in line)
    assert "1/2" in core  # the held call, as the shared state counts it
    assert "req" in core  # its request bucket


def test_unreachable_shared_state_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["top", "--redis", f"unix://{tmp_path}/none.sock"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aios top: error: cannot reach Redis/Valkey at unix://")
