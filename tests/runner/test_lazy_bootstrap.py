"""The bootstrap waits for a framework's import: subprocesses that never use one never load aios."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aios
from aios.runner import BOOTSTRAP_DIR, env
from aios.runner.launch import RunOptions, program_env, trigger_modules

HERE = str(Path(aios.__file__).resolve().parents[1])

STATE = (
    "import sys, json\n"
    "from aios.adapters.plugins import plugins\n"
    "print(json.dumps({'patched': sorted(n for n, a in plugins().adapters.items() if a.patched),\n"
    "                  'errors': {n: a.error for n, a in plugins().adapters.items() if a.error},\n"
    "                  'finders': [type(f).__name__ for f in sys.meta_path]}))\n"
)


def _child_env(spool: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    out = program_env(RunOptions(quiet=True), base)
    out.pop(env.ROOT)  # a subprocess of the program, as the bootstrap leaves it
    out[env.SPOOL] = str(spool)
    out["PYTHONPATH"] = os.pathsep.join([str(BOOTSTRAP_DIR), HERE])
    out.update(extra)
    return out


def _run(code: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def test_triggers_are_the_adapters_frameworks_and_aios() -> None:
    assert {"aios", "openai", "anthropic", "langchain_core", "agents"} <= set(trigger_modules())
    assert trigger_modules(("openai",)) == ["aios", "openai"]


def test_a_subprocess_without_frameworks_never_loads_aios(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    proc = _run(
        "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] == 'aios'))", _child_env(spool)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    reports = [json.loads(p.read_text()) for p in spool.glob("*.json")]
    assert len(reports) == 1
    (entry,) = reports[0]["processes"]
    assert entry["root"] is False and entry["llm_calls"] == 0 and entry["argv"] == ["-c"]


def test_importing_a_framework_loads_aios_and_patches(tmp_path: Path) -> None:
    proc = _run("import openai\n" + STATE, _child_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout)
    assert "openai" in state["patched"]
    assert state["errors"] == {}
    assert "_Lazy" not in state["finders"]  # gone once it fired


def test_a_framework_importing_another_is_patched_once_complete(tmp_path: Path) -> None:
    # openai-agents imports openai half-way through its own import: patching must wait for it.
    proc = _run("import agents\n" + STATE, _child_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout)
    assert {"openai", "openai-agents"} <= set(state["patched"])
    assert state["errors"] == {}


def test_the_programs_own_process_waits_for_a_framework_too(tmp_path: Path) -> None:
    environ = _child_env(tmp_path, **{env.ROOT: "1", env.POLICY: "fifo"})
    code = "import sys; print(sorted({m.split('.')[0] for m in sys.modules} & {'aios', 'pydantic', 'rich'}))"
    proc = _run(code, environ)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert "_Lazy" in _run("import sys; print([type(f).__name__ for f in sys.meta_path])", environ).stdout
    # Importing a framework loads aios there as in any process, with the root's part.
    fired = _run("import openai\n" + STATE, environ)
    assert fired.returncode == 0, fired.stderr
    state = json.loads(fired.stdout)
    assert "openai" in state["patched"] and "_Lazy" not in state["finders"]


def test_a_root_with_a_live_view_loads_aios_at_start(tmp_path: Path) -> None:
    sock = tmp_path / "top.sock"
    environ = _child_env(tmp_path, **{env.ROOT: "1", "AIOS_RUN_TOP_SOCKET": str(sock)})
    proc = _run("import sys; print('aios.runner.child' in sys.modules)", environ)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("True")
