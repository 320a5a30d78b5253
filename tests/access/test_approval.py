"""Approval of ``confirm`` tools in the kernel: who decides, and that a refused tool never runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from aios.config import KernelConfig, load_config
from aios.errors import AccessDenied, ConfigError, ToolRefused
from aios.kernel.access.approvers import format_arguments
from aios.kernel.kernel import Kernel
from tests.access import approvers_for_tests as mine

APPROVERS = "python:tests.access.approvers_for_tests"


@pytest.fixture
def make_kernel() -> Iterator[Any]:
    made: list[Kernel] = []

    def make(**config: Any) -> Kernel:
        config.setdefault("tools", {"delete_*": {"confirm": True}})
        k = Kernel(KernelConfig.model_validate(config))
        made.append(k)
        return k

    mine.reset()
    yield make
    for k in made:
        k.shutdown()


class Counter:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, path: str) -> str:
        self.calls.append(path)
        return f"deleted {path}"

    async def async_(self, path: str) -> str:
        return self(path)


def test_deny_never_runs_the_tool_and_says_why(make_kernel: Any) -> None:
    k = make_kernel(approver="deny")
    tool = Counter()
    with pytest.raises(ToolRefused, match=r"^Tool call refused by aios: .*'delete_file'.*approver"):
        k.run_tool("delete_file", tool, "/etc/x", agent="a", arguments={"path": "/etc/x"})
    assert tool.calls == []
    # Tools not marked confirm are not asked about.
    assert k.run_tool("read_file", tool, "/etc/x", agent="a") == "deleted /etc/x"
    rec = {r["tool"]: r for r in k.report()["syscalls"]}
    assert rec["delete_file"]["status"] == "failed" and "ToolRefused" in rec["delete_file"]["error"]
    assert rec["read_file"]["status"] == "done"
    assert rec["delete_file"]["waiting_s"] < 1.0  # it never queued


def test_refusal_is_an_access_denial(make_kernel: Any) -> None:
    assert issubclass(ToolRefused, AccessDenied)


def test_allow_runs_it_once(make_kernel: Any) -> None:
    k = make_kernel(approver="allow")
    tool = Counter()
    assert k.run_tool("delete_file", tool, "/x", agent="a") == "deleted /x"
    assert tool.calls == ["/x"]


async def test_python_approver_approves_one_then_refuses(make_kernel: Any) -> None:
    k = make_kernel(approver=f"{APPROVERS}:first_only")
    tool = Counter()
    assert await k.arun_tool(
        "delete_file", lambda: tool.async_("/1"), agent="a", arguments={"path": "/1"}
    ) == ("deleted /1")
    with pytest.raises(ToolRefused, match="refused by the approver"):
        k.run_tool("delete_file", tool, "/2", agent="b", arguments={"path": "/2"})
    assert tool.calls == ["/1"]
    assert [(r.agent, r.tool, r.arguments) for r in mine.seen] == [
        ("a", "delete_file", {"path": "/1"}),
        ("b", "delete_file", {"path": "/2"}),
    ]


async def test_async_approver_with_decision(make_kernel: Any) -> None:
    k = make_kernel(approver=f"{APPROVERS}:async_policy")
    tool = Counter()
    assert (
        await k.arun_tool("delete_x", lambda: tool.async_("/tmp/a"), agent="a", arguments={"path": "/tmp/a"})
        == "deleted /tmp/a"
    )
    with pytest.raises(ToolRefused, match="only files under /tmp/"):
        await k.arun_tool("delete_x", lambda: tool.async_("/home"), agent="a", arguments={"path": "/home"})
    # The sync path runs an async approver too.
    with pytest.raises(ToolRefused, match="only files under /tmp/"):
        k.run_tool("delete_x", tool, "/home", agent="a", arguments={"path": "/home"})
    assert tool.calls == ["/tmp/a"]


@pytest.mark.parametrize("name", ["hangs", "ahangs"])
async def test_timeout_is_a_refusal(make_kernel: Any, name: str) -> None:
    k = make_kernel(approver=f"{APPROVERS}:{name}", approval_timeout=0.2)
    tool = Counter()
    t0 = time.monotonic()
    with pytest.raises(ToolRefused, match=r"no answer within 0.2s \(`approval_timeout`\)"):
        await k.arun_tool("delete_file", lambda: tool.async_("/x"), agent="a")
    with pytest.raises(ToolRefused, match="no answer within"):
        await asyncio.to_thread(k.run_tool, "delete_file", tool, "/x", agent="a")
    assert time.monotonic() - t0 < 5
    assert tool.calls == []


def test_failing_approver_refuses(make_kernel: Any) -> None:
    k = make_kernel(approver=f"{APPROVERS}:raises")
    tool = Counter()
    with pytest.raises(ToolRefused, match="failed: RuntimeError: the approval service is down"):
        k.run_tool("delete_file", tool, "/x", agent="a")
    assert tool.calls == []


def test_missing_approver_is_a_config_error_at_boot(make_kernel: Any) -> None:
    with pytest.raises(ConfigError, match="has no callable 'nope'"):
        make_kernel(approver="python:tests.access.approvers_for_tests:nope")
    with pytest.raises(ConfigError, match="cannot be imported"):
        make_kernel(approver="python:no_such_module_here:f")


def test_approver_from_the_environment(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match=r"`approver` = 'slack'.*terminal, deny, allow or python:"):
        load_config(environ={"AIOS_APPROVER": "slack"}, cwd=tmp_path)
    cfg = load_config(environ={"AIOS_APPROVER": "python:pkg.mod:fn"}, cwd=tmp_path)
    assert cfg.approver == "python:pkg.mod:fn"


def test_allowlist_is_checked_before_asking(make_kernel: Any) -> None:
    k = make_kernel(approver=f"{APPROVERS}:first_only", agents={"a": {"allowed_tools": ["read_*"]}})
    with pytest.raises(AccessDenied, match=r"allowed_tools"):
        k.run_tool("delete_file", Counter(), "/x", agent="a")
    assert mine.seen == []  # nobody was asked about a call that may not run anyway


def test_default_approver_is_deny_without_a_terminal(make_kernel: Any) -> None:
    k = make_kernel()  # pytest's stdin is not a TTY
    assert k.access.approver()[0] == "deny"


def test_arguments_are_pretty_and_truncated() -> None:
    assert format_arguments('{"a": 1}') == '{\n  "a": 1\n}'
    long = format_arguments({"text": "x" * 5000})
    assert len(long) < 2100 and long.endswith("… (truncated)")
    many = format_arguments({f"k{i}": i for i in range(100)})
    assert many.count("\n") <= 41


async def test_a_task_cancelled_while_waiting_for_approval_ends_cancelled(make_kernel: Any) -> None:
    k = make_kernel(approver=f"{APPROVERS}:ahangs", approval_timeout=30)
    tool = Counter()
    task = asyncio.ensure_future(k.arun_tool("delete_file", lambda: tool.async_("/x"), agent="a"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tool.calls == []
    assert [r["status"] for r in k.report()["syscalls"]] == ["cancelled"]
