"""The sitecustomize bootstrap in a fresh interpreter: chaining, self-removal, no aios."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aios.runner import BOOTSTRAP_DIR, env

PROBE = (
    "import sys, json; "
    "print(json.dumps({'child': 'aios.runner.child' in sys.modules, "
    "'theirs': getattr(sys.modules.get('sitecustomize'), 'THEIRS', None), "
    "'on_path': any('bootstrap' in p for p in sys.path)}))"
)


def _run(pythonpath: list[str], extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    environ.update({"PYTHONPATH": os.pathsep.join(pythonpath), env.QUIET: "1", **(extra or {})})
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def test_chains_to_the_programs_own_sitecustomize(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("THEIRS = 'ran'\n")
    proc = _run([str(BOOTSTRAP_DIR), str(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '{"child": true, "theirs": "ran", "on_path": false}'


def test_a_failing_sitecustomize_of_theirs_does_not_stop_aios(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("raise RuntimeError('their bug')\n")
    proc = _run([str(BOOTSTRAP_DIR), str(tmp_path)])
    assert proc.returncode == 0
    assert "their bug" in proc.stderr
    assert '"child": true' in proc.stdout


def test_interpreter_without_aios_runs_the_program_untouched(tmp_path: Path) -> None:
    # A package named aios that cannot be imported stands in for "aios not installed here".
    (tmp_path / "aios").mkdir()
    (tmp_path / "aios" / "__init__.py").write_text("raise ImportError('not here')\n")
    proc = _run([str(BOOTSTRAP_DIR), str(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert '"child": false' in proc.stdout


def test_unknown_framework_in_a_child_is_logged_not_fatal() -> None:
    proc = _run([str(BOOTSTRAP_DIR)], {env.FRAMEWORKS: "nosuch"})
    assert proc.returncode == 0
    assert "'nosuch'" in proc.stderr
