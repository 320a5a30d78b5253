"""What ``aios run`` imports before it becomes the program, and what ``import aios`` costs.

Every module the ``aios`` command loads before its ``exec`` is start-up time the user pays on
each run. These tests watch the real command in a fresh interpreter: its ``os.execve`` is
wrapped to write down ``sys.modules`` at that moment, then the real ``exec`` runs the program.
They check which modules are loaded, not how long it takes (timing is the benchmark's job:
``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

_OBSERVE = """
import os, sys
out, program, entry = sys.argv[1], sys.argv[2], sys.argv[3]
real = os.execve

def observe(path, argv, env):
    with open(out, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))  # not json: the command must not need it
    real(path, argv, env)

os.execve = observe
sys.argv = ["aios", "run", "--quiet", program]
module, name = entry.split(":")
main = getattr(__import__(module, fromlist=[name]), name)
main()
"""

#: What the installed ``aios`` command runs (what users type), as pyproject declares it.
with open(Path(__file__).resolve().parents[2] / "pyproject.toml", "rb") as _f:
    ENTRY_POINT: str = tomllib.load(_f)["project"]["scripts"]["aios"]

#: Modules the run path must not load: other subcommands, the live view, servers, telemetry.
_HEAVY = (
    "aios.sim",
    "aios.bench",
    "aios.demo",
    "aios.top",
    "aios.telemetry",
    "aios.runner.summary",
    "rich",
    "starlette",
    "uvicorn",
    "httpx",
    "opentelemetry",
    "openai",
    # The kernel, the config models and the plugin registry: the program's process loads them
    # if it uses a framework; the command itself needs none of them in the usual run.
    "pydantic",
    "aios.config",
    "aios.kernel",
    "aios.adapters",
    "wrapt",
    "pluggy",
    "importlib.metadata",
)

#: What a plain ``aios run PROGRAM`` must not load either (the typer app parses only the rest):
#: typer and click, and the standard library's heavier modules, ≈ 50 ms before the program.
_NOT_ON_THE_PLAIN_PATH = (
    "typer",
    "click",
    "json",
    "re",
    "enum",
    "aios.cli",
    "aios.runner.cli",
    "pathlib",
    "dataclasses",
    "inspect",
    "typing",
    "tempfile",
    "subprocess",
    "shutil",
    "uuid",
)

#: What the program's own process must not have loaded at its first line, before it imports a
#: framework: all of aios (the bootstrap is plain standard library) and what aios would load.
_NOT_BEFORE_A_FRAMEWORK = ("aios", "pydantic", "rich", "wrapt", "pluggy", "typer")

_FIRST_LINE = (
    "import json, sys\n"
    "print(json.dumps(sorted(sys.modules)))\n"
    "import openai\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def _child_env(cache: Path | None = None) -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    old = os.environ.get("PYTHONPATH")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    environ["PYTHONPATH"] = os.pathsep.join([root, *([old] if old else [])])
    if cache is not None:
        environ["XDG_CACHE_HOME"] = str(cache)
    return environ


def _loaded(names: list[str], prefix: str) -> list[str]:
    return [n for n in names if n == prefix or n.startswith(prefix + ".")]


@pytest.mark.skipif(os.name != "posix", reason="aios run replaces itself with the program only on POSIX")
@pytest.mark.parametrize("entry", [ENTRY_POINT, "aios.cli:main"], ids=["aios command", "typer app"])
def test_aios_run_imports_no_other_subcommand_before_exec(tmp_path: Path, entry: str) -> None:
    marker = tmp_path / "ran"
    program = tmp_path / "tiny.py"
    program.write_text(f"open({str(marker)!r}, 'w').write('yes')\n", encoding="utf-8")
    seen = tmp_path / "modules.txt"
    cache = tmp_path / "cache"
    for _ in range(2):  # the first run fills the cache of adapter modules; the second uses it
        proc = subprocess.run(
            [sys.executable, "-c", _OBSERVE, str(seen), str(program), entry],
            env=_child_env(cache),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proc.returncode == 0, proc.stderr
        assert marker.read_text() == "yes"  # the exec happened and the program ran
    assert list(cache.glob("aios/run-adapters-*.marshal"))
    names = seen.read_text().splitlines()
    assert "aios.runner.start" in names  # observed on the run path, not before it
    plain = entry == ENTRY_POINT  # the command users type takes the plain path
    heavy = {
        prefix: _loaded(names, prefix) for prefix in (*_HEAVY, *(_NOT_ON_THE_PLAIN_PATH if plain else ()))
    }
    assert {p: found for p, found in heavy.items() if found} == {}
    assert ("typer" in names) is not plain


def test_import_aios_loads_only_its_version_until_a_name_is_used() -> None:
    code = (
        "import sys, aios\n"
        "print(sorted(n for n in sys.modules if n.startswith('aios')))\n"
        "aios.patch, aios.agent, aios.ConfigError, aios.get_kernel\n"
        "print('aios.runtime' in sys.modules, 'aios.adapters.patching' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_child_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first == "['aios', 'aios._version']"
    assert second == "True True"


def test_unknown_public_name_is_an_attribute_error() -> None:
    import aios

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        aios.nope  # noqa: B018
    assert {"patch", "agent", "boot"} <= set(dir(aios))
    # Subpackages an eager import used to load stay reachable as attributes.
    assert callable(aios.runtime.current)


@pytest.mark.skipif(os.name != "posix", reason="aios run replaces itself with the program only on POSIX")
def test_the_programs_process_loads_aios_only_when_it_imports_a_framework(tmp_path: Path) -> None:
    program = tmp_path / "uses_openai.py"
    program.write_text(_FIRST_LINE, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "aios", "run", "--quiet", str(program)],
        env=_child_env(tmp_path / "cache"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    before, after = (json.loads(line) for line in proc.stdout.splitlines())
    early = {prefix: _loaded(before, prefix) for prefix in _NOT_BEFORE_A_FRAMEWORK}
    assert {p: found for p, found in early.items() if found} == {}
    assert "sitecustomize" in before  # the bootstrap did run
    # The framework's import loaded aios and patched, as the program's own process.
    assert {"aios.runner.child", "aios.adapters.openai_sdk"} <= set(after)


@pytest.mark.skipif(os.name != "posix", reason="aios run replaces itself with the program only on POSIX")
def test_a_run_without_calls_loads_no_json_from_start_to_its_summary(tmp_path: Path) -> None:
    # Python's own import log, in the command, its watcher and the program (the variable reaches
    # them): none of them, up to the program's one-line summary at exit, needs json, re or enum.
    program = tmp_path / "tiny.py"
    program.write_text("x = sum(range(1000))\n", encoding="utf-8")
    environ = {**_child_env(tmp_path / "cache"), "PYTHONPROFILEIMPORTTIME": "1"}
    for _ in range(2):  # the first run fills the cache of adapter modules
        proc = subprocess.run(
            [sys.executable, "-m", "aios", "run", str(program)],
            env=environ,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    assert {"aios.runner.start", "aios.runner.root_exit"} <= set(imported)  # both processes logged
    assert {"json", "re", "enum"}.isdisjoint(imported)
    assert "aios run: no LLM or tool calls (policy fifo)" in proc.stderr.splitlines()
