"""The audit log: one valid JSON line per decision, from many threads and processes, no secrets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aios.config import KernelConfig
from aios.errors import AccessDenied, BudgetExceeded, ToolRefused
from aios.kernel.access.audit import AuditLog
from aios.kernel.access.redact import Scrubber, redact_argv
from aios.kernel.kernel import Kernel
from aios.kernel.syscall import Kind, Syscall

KEY = "sk-test-AUDIT-0123456789abcdef"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class Boom(Exception):
    pass


def test_a_multi_agent_run_is_audited_once_per_syscall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    path = tmp_path / "audit" / "log.jsonl"
    k = Kernel(
        KernelConfig.model_validate(
            {
                "audit_log": str(path),
                "approver": "deny",
                "tools": {"delete_*": {"confirm": True}},
                "agents": {"intern": {"allowed_models": ["gpt-4o-mini"]}},
            }
        )
    )

    def agent_work(name: str) -> None:
        for _ in range(5):
            sc = k.llm_syscall(api="openai.chat", model="gpt-4o-mini", agent=name)
            assert k.call(sc, lambda lease: "ok") == "ok"
            assert k.run_tool("search", lambda: "hit", agent=name) == "hit"

    try:
        threads = [threading.Thread(target=agent_work, args=(f"agent{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with pytest.raises(AccessDenied):
            k.call(k.llm_syscall(api="openai.chat", model="gpt-4o", agent="intern"), lambda lease: "x")
        with pytest.raises(ToolRefused):
            k.run_tool("delete_all", lambda: "never", agent="intern", arguments={"confirm": KEY})
        failing = k.llm_syscall(api="openai.chat", model="gpt-4o-mini", agent="intern")
        with pytest.raises(Boom):
            k.call(failing, lambda lease: (_ for _ in ()).throw(Boom(f"Incorrect API key provided: {KEY}")))
    finally:
        k.shutdown()
    records = lines(path)
    finished = Counter(r["syscall"] for r in records if r["event"] == "finished")
    report = k.report()
    assert len(finished) == len(report["syscalls"]) == 4 * 10 + 3
    assert set(finished.values()) == {1}  # each syscall finished exactly once
    events = Counter(r["event"] for r in records)
    assert events["admitted"] == 41 and events["denied"] == 1 and events["refused"] == 1
    refused = next(r for r in records if r["event"] == "refused")
    assert refused["by"] == "deny" and refused["tool"] == "delete_all" and refused["agent"] == "intern"
    assert "arguments" not in refused  # audit_arguments is off
    denied = next(r for r in records if r["event"] == "denied")
    assert "allowed_models" in denied["reason"] and denied["model"] == "gpt-4o"
    for r in records:
        assert {"time", "agent", "group", "tool", "model", "core", "kind", "pid"} <= set(r)
    done = [r for r in records if r["event"] == "finished" and r["kind"] == "llm" and r["status"] == "done"]
    assert all(r["core"] for r in done)
    text = path.read_text(encoding="utf-8")
    assert KEY not in text and "Incorrect API key provided: ***" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_arguments_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    k = Kernel(
        KernelConfig.model_validate(
            {
                "audit_log": str(path),
                "audit_arguments": True,
                "approver": "allow",
                "tools": {"shell": {"confirm": True}},
            }
        )
    )
    try:
        assert k.run_tool("shell", lambda: "ok", agent="ops", arguments={"cmd": "ls"}) == "ok"
    finally:
        k.shutdown()
    approved = [r for r in lines(path) if r["event"] == "approved"]
    assert (
        approved == [approved[0]]
        and approved[0]["arguments"] == {"cmd": "ls"}
        and approved[0]["by"] == "allow"
    )


WRITER = """
import sys, threading
from aios.kernel.access.audit import AuditLog
from aios.kernel.syscall import Kind, Syscall
log = AuditLog(sys.argv[1])
def work(t):
    for i in range(200):
        log.write("finished", Syscall(Kind.TOOL, f"p{sys.argv[2]}t{t}", 0.0, tool="x" * (i % 50) * 40), n=i)
ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


def test_lines_never_interleave_across_threads_and_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]),
    }
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(p)], env=env) for p in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    records = lines(path)  # every line parses: none was torn or interleaved
    assert len(records) == 4 * 4 * 200
    per_writer = Counter(r["agent"] for r in records)
    assert set(per_writer.values()) == {200} and len(per_writer) == 16


def test_scrubber_and_argv() -> None:
    scrub = Scrubber({"MY_SERVICE_TOKEN": "tok-1234567890", "HOME": "/home/me"})
    assert scrub("auth tok-1234567890 in /home/me") == "auth *** in /home/me"
    assert scrub("Authorization: Bearer abcdefghijkl") == "Authorization: ***"
    assert scrub("key sk-proj-abcdefgh1234") == "key ***"
    argv = [
        "app.py",
        "--api-key",
        "sk-1",
        "--token=t0k",
        "--model",
        "gpt-4o",
        "-p",
        "x",
        "--db-password",
        "pw",
    ]
    assert redact_argv(argv) == [
        "app.py",
        "--api-key",
        "***",
        "--token=***",
        "--model",
        "gpt-4o",
        "-p",
        "x",
        "--db-password",
        "***",
    ]


def test_audit_file_is_created_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        log = AuditLog(tmp_path / "x.jsonl")
        log.write("admitted", Syscall(Kind.LLM, "a", 0.0, model="m"))
        log.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.jsonl").stat().st_mode) == 0o600


def test_budget_refusals_are_audited_as_denials(tmp_path: Path) -> None:
    path = tmp_path / "caps.jsonl"
    k = Kernel(KernelConfig.model_validate({"audit_log": str(path), "max_llm_calls": 1}))
    try:
        k.call(k.llm_syscall(api="openai.chat", model="gpt-4o-mini", agent="a"), lambda lease: "ok")
        with pytest.raises(BudgetExceeded, match="max_llm_calls"):
            k.call(k.llm_syscall(api="openai.chat", model="gpt-4o-mini", agent="a"), lambda lease: "no")
    finally:
        k.shutdown()
    events = [(r["event"], r.get("status")) for r in lines(path)]
    assert events == [("admitted", None), ("finished", "done"), ("denied", None), ("finished", "failed")]
    denied = lines(path)[2]
    assert "`max_llm_calls`" in denied["reason"] and denied["run"] and denied["model"] == "gpt-4o-mini"
