"""The scale benchmark measures what it says: agents that overlap, and processes that share.

Not timed: these check that every syscall ends done, that the agents really waited for slots
(an agent that never suspends would run to its end alone and nothing would ever queue), and
that the shared mode runs its workers on one state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aios.bench.scale import _run


async def test_agents_overlap_and_queue_for_the_slots() -> None:
    result = await _run(300, 4, kernel_only=True)
    assert result["syscalls_done"] == 300 * 4 and result["syscalls_failed"] == 0
    # 300 agents on 4 slots: nearly every LLM call waited in the queue.
    assert result["queued_calls"] > 300


def test_processes_share_one_state(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[2])
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "aios.bench.scale", "200", "8", "--kernel-only", "--processes", "2"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["processes"] == 2 and result["agents"] == 200
    assert result["syscalls_done"] == 800 and result["syscalls_failed"] == 0
    assert result["state_keys"] > 0  # the workers' kernels kept their state on the server
