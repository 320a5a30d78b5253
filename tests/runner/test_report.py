"""Merging per-process reports: totals recomputed from the records, spool collected once."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aios.config import KernelConfig
from aios.kernel.accounting import Accounting
from aios.kernel.kernel import Kernel
from aios.runner.report import collect_spool, empty_report, merge, process_report, write_json
from aios.runner.spool import RecordWriter
from aios.runner.watcher import finish


def _kernel_report(agent: str, n: int) -> dict[str, Any]:
    k = Kernel(KernelConfig())
    try:
        for i in range(n):
            k.run_tool("inc", lambda x: x + 1, i, agent=agent)
    finally:
        k.shutdown()
    return k.report()


def test_empty_report_has_the_kernel_report_keys() -> None:
    rep = empty_report()
    assert set(rep) == {*Accounting().report(), "policy"}
    assert rep["agents"] == {} and rep["syscalls"] == []


def test_process_report_tags_pid_and_counts() -> None:
    rep = process_report([_kernel_report("a", 2)], pid=42, argv=["prog.py"], root=True)
    assert {r["pid"] for r in rep["syscalls"]} == {42}
    assert rep["processes"] == [
        {"pid": 42, "root": True, "argv": ["prog.py"], "llm_calls": 0, "tool_calls": 2, "exit_report": True}
    ]


def test_merge_recomputes_totals_equal_to_one_kernel() -> None:
    one = _kernel_report("a", 3)
    parts = [
        process_report([_kernel_report("a", 1)], pid=1, argv=[], root=True),
        process_report([_kernel_report("a", 2), _kernel_report("b", 1)], pid=2, argv=[], root=False),
    ]
    merged = merge(parts)
    assert merged["agents"]["a"]["tool_calls"] == one["agents"]["a"]["tool_calls"] == 3
    assert merged["agents"]["b"]["tool_calls"] == 1
    assert set(merged["agents"]["a"]) == set(one["agents"]["a"])  # same schema per agent
    assert len(merged["syscalls"]) == 4
    assert merged["by_status"] == {"done": 4}
    assert [p["pid"] for p in merged["processes"]] == [1, 2]


def test_merge_with_dropped_records_sums_counts() -> None:
    a, b = _kernel_report("a", 2), _kernel_report("a", 3)
    a["syscalls_dropped"] = 5
    merged = merge([a, b])
    assert merged["agents"]["a"]["tool_calls"] == 5
    assert merged["syscalls_dropped"] == 5


def _spooled_kernel(spool: Path, agent: str, n: int) -> dict[str, Any]:
    """A kernel that spools its records as ``aios run`` has it do; its report."""
    k = Kernel(KernelConfig())
    k.add_observer(RecordWriter(spool))
    try:
        for i in range(n):
            k.run_tool("inc", lambda x: x + 1, i, agent=agent)
    finally:
        k.shutdown()
    return k.report()


def test_collect_spool_merges_and_removes(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    write_json(spool / "11.json", process_report([_kernel_report("kid", 2)], pid=11, argv=[], root=False))
    (spool / "12.json").write_text("{half a rep")  # a child killed mid-write: no records either
    root = process_report([_kernel_report("main", 1)], pid=10, argv=[], root=True)
    merged = collect_spool(root, spool, pid=10)
    assert {n: a["tool_calls"] for n, a in merged["agents"].items()} == {"kid": 2, "main": 1}
    assert not spool.exists()
    assert collect_spool(root, spool, pid=10) is root  # nothing left to merge


def test_a_process_without_an_exit_report_counts_by_its_records(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    own = _spooled_kernel(spool, "main", 1)  # this process: the root, merging
    gone = 999_999_991
    for line in (spool / f"{os.getpid()}.jsonl").read_text().splitlines():
        rec = json.loads(line)
        rec["agent"], rec["pid"] = "gone", gone
        with (spool / f"{gone}.jsonl").open("a") as f:
            f.write(json.dumps(rec) + "\n")
    with (spool / f"{gone}.jsonl").open("a") as f:
        f.write('{"id": 7, "kind": "to')  # killed in the middle of a line
    root = process_report([own], pid=os.getpid(), argv=[], root=True)
    merged = collect_spool(root, spool, pid=os.getpid())  # its own records are in ``own``
    assert {n: a["tool_calls"] for n, a in merged["agents"].items()} == {"gone": 1, "main": 1}
    assert [(p["pid"], p["exit_report"]) for p in merged["processes"]] == [(os.getpid(), True), (gone, False)]
    assert merged["by_status"] == {"done": 2}
    assert not spool.exists()


def test_watcher_finish_writes_the_report_from_the_records(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    _spooled_kernel(spool, "main", 3)
    report = tmp_path / "r.json"
    finish(spool, report, policy="fair", root=os.getpid())
    data = json.loads(report.read_text())
    assert data["agents"]["main"]["tool_calls"] == 3 and data["policy"] == "fair"
    [proc] = data["processes"]
    assert proc == {
        "pid": os.getpid(),
        "root": True,
        "argv": None,
        "llm_calls": 0,
        "tool_calls": 3,
        "exit_report": False,
    }
    assert not spool.exists()
    finish(spool, report, policy="fair", root=os.getpid())  # the program cleaned up: nothing to do
    assert json.loads(report.read_text()) == data


def test_write_json_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "r.json"
    write_json(path, {"x": 1})
    assert json.loads(path.read_text()) == {"x": 1}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]
