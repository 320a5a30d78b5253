"""A third-party plugin adds an access rule through the ``aios_access_rule`` hook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import aios
from aios.adapters.hookspecs import hookimpl
from aios.adapters.plugins import plugins
from aios.errors import AccessDenied
from aios.kernel.syscall import Kind, Syscall


class NoDeletesForInterns:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    @hookimpl
    def aios_access_rule(self, syscall: Syscall) -> str | None:
        self.seen.append((syscall.kind.value, syscall.tool or syscall.model))
        if (
            syscall.kind is Kind.TOOL
            and syscall.agent == "intern"
            and (syscall.tool or "").startswith("delete")
        ):
            return "interns may not delete (rule of the plugin no-intern-deletes)"
        return None


@pytest.fixture
def rule() -> Iterator[NoDeletesForInterns]:
    plugin = NoDeletesForInterns()
    plugins().register(plugin, name="no-intern-deletes")
    aios.shutdown()
    try:
        yield plugin
    finally:
        aios.shutdown()
        plugins().pm.unregister(plugin)


def test_a_plugin_rule_refuses_at_admission(rule: NoDeletesForInterns) -> None:
    k = aios.boot()
    ran: list[Any] = []
    with pytest.raises(
        AccessDenied, match=r"^interns may not delete \(rule of the plugin no-intern-deletes\)$"
    ):
        k.run_tool("delete_db", lambda: ran.append(1), agent="intern")
    assert k.run_tool("delete_db", lambda: "ok", agent="admin") == "ok"
    assert ran == []
    assert rule.seen == [("tool", "delete_db"), ("tool", "delete_db")]  # once per syscall
    failed = [r for r in k.report()["syscalls"] if r["status"] == "failed"]
    assert len(failed) == 1 and "interns may not delete" in failed[0]["error"]


class BrokenRule:
    @hookimpl
    def aios_access_rule(self, syscall: Syscall) -> str | None:
        raise KeyError("policy service unreachable")


def test_a_failing_rule_refuses_with_its_error() -> None:
    plugin = BrokenRule()
    plugins().register(plugin, name="broken-rule")
    aios.shutdown()
    try:
        k = aios.boot()
        with pytest.raises(
            AccessDenied, match=r"an access rule failed: KeyError: 'policy service unreachable'"
        ):
            k.run_tool("search", lambda: "never", agent="a")
        assert [r["status"] for r in k.report()["syscalls"]] == ["failed"]
    finally:
        aios.shutdown()
        plugins().pm.unregister(plugin)
