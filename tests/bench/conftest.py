"""Running ``aios bench SCRIPT`` as a user does: a subprocess with its own embedded sim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"


def bench_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIOS_", "OPENAI_", "ANTHROPIC_"))}
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *([old] if old else [])])
    env.update(OPENAI_AGENTS_DISABLE_TRACING="1", CREWAI_DISABLE_TELEMETRY="true", OTEL_SDK_DISABLED="true")
    return env


def run_bench(
    args: list[str], out: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """``python -m aios bench --out OUT ARGS``; returns results.json (fails with the output)."""
    proc = subprocess.run(
        [sys.executable, "-m", "aios", "bench", "--out", str(out), *args],
        capture_output=True,
        text=True,
        env={**bench_env(), **(env or {})},
        cwd=out.parent,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"aios bench failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads((out / "results.json").read_text())
    result["_stdout"] = proc.stdout
    return result


def assert_agrees_with_sim(result: dict[str, Any]) -> None:
    """Every batch's requests, 429s and statuses as the copies saw them = the sim's own counters."""
    for run in result["runs"]:
        for batch in run["batches"]:
            copies = batch["copies"]
            seen = sum(c["requests"] for c in copies)
            statuses: dict[str, int] = {}
            for c in copies:
                for status, n in c["by_status"].items():
                    statuses[status] = statuses.get(status, 0) + n
            where = f"{run['label']} round {run['round']} attempt {batch['attempt']}"
            assert seen == batch["sim"]["requests"], where
            assert statuses.get("429", 0) == batch["sim"]["rate_limited_429"], where
            assert statuses == batch["sim"]["by_status"], where
        assert run["requests"] == run["sim"]["requests"]
        assert run["rate_limited_429"] == run["sim"]["rate_limited_429"]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "bench-out"
