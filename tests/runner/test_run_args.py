"""The plain ``aios run`` command line, parsed without typer (``aios.runner.run_args``).

The quick parse must give the runner exactly what the typer command gives it, for every
command line it takes, and leave every other one to typer, whose output then is unchanged.
Its table of options must be the typer command's, option for option.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import typing
from pathlib import Path, PurePath
from typing import Any

import pytest
from typer.testing import CliRunner

import aios.runner.cli as run_cli
from aios.cli import _build, app
from aios.runner.run_args import COUNT, FLAG, OPTIONS, PATH, TEXT, parse

#: Command lines (after ``aios run``) the quick parse must take.
PLAIN: list[list[str]] = [
    ["p.py"],
    ["p.py", "a", "--help", "-q", "--policy", "x"],
    ["-q", "p.py", "--", "x"],
    [
        "--max-concurrency",
        "03",
        "--report",
        "out/r.json",
        "--config=c.toml",
        "--frameworks",
        "openai, crewai",
        "p.py",
    ],
    ["-m", "pkg.mod", "a", "-m", "b"],
    ["-m", "pkg.mod"],
    ["-m", "pkg.mod", "-q"],
    [
        "--quiet",
        "--otel",
        "--top",
        "--top-socket",
        "--shared",
        "--approve",
        "deny",
        "--audit",
        "a.jsonl",
        "p.py",
    ],
    ["--policy=fair", "--redis", "redis://127.0.0.1:1/0", "p.py", "--redis", "y"],
    ["--max-concurrency=1", "./dir/p.py"],
    [""],
]

#: Command lines the quick parse must leave to typer (help, mistakes, forms it does not read).
LEFT_TO_TYPER: list[list[str]] = [
    [],
    ["--help"],
    ["-q", "--help"],
    ["--policy", "fifo"],
    ["--policy"],
    ["--quiet=1", "p.py"],
    ["--max-concurrency", "0", "p.py"],
    ["--max-concurrency", "x", "p.py"],
    ["--max-concurrency", "-1", "p.py"],
    ["--max-concurrency", "\u0661", "p.py"],  # a digit, not an ASCII one
    ["-qm", "mod"],
    ["-mmod"],
    ["--", "p.py"],
    ["-", "p.py"],
    ["--bogus", "p.py"],
    ["--pol", "fifo", "p.py"],
    ["-q", "-q", "p.py"],
    ["--quiet", "-q", "p.py"],
    ["--report", "-", "p.py"],
    ["--report", "", "p.py"],
    ["--policy", "--quiet", "p.py"],
]


def _comparable(params: dict[str, Any]) -> dict[str, Any]:
    # typer makes a path a Path, the quick parse keeps its text; the runner takes both alike.
    return {
        k: str(Path(v)) if isinstance(v, str | PurePath) and k in _PATHS else v for k, v in params.items()
    }


_PATHS = {name for name, kind in OPTIONS.values() if kind == PATH}


def _typer_parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], dict[str, Any]]:
    """What the typer command hands the runner for ``aios run ARGV`` (the runner not started)."""
    seen: list[tuple[list[str], dict[str, Any]]] = []

    def record(args: list[str], **params: Any) -> None:
        seen.append((args, params))

    monkeypatch.setattr(run_cli, "start", record)
    result = CliRunner().invoke(app, ["run", *argv])
    assert result.exit_code == 0, result.output
    [call] = seen
    return call


def test_the_table_is_the_typer_commands_options() -> None:
    command = _build("run")
    settings = command.context_settings
    # The quick parse stops at the program and takes every later word as the program's.
    assert settings.get("allow_interspersed_args") is False
    assert settings.get("ignore_unknown_options") and settings.get("allow_extra_args")
    hints = typing.get_type_hints(run_cli.run)
    declared = inspect.signature(run_cli.run).parameters
    table: dict[str, tuple[str, str]] = {}
    arguments = []
    for param in command.params:
        if param.param_type_name == "argument":
            arguments.append(param.name)
            continue
        info = declared[param.name].default
        assert not param.multiple and param.nargs == 1 and not param.count and param.envvar is None
        assert info.callback is None and info.parser is None and info.max is None, param.name
        if param.is_flag:
            kind, default = FLAG, False
            assert hints[param.name] is bool and not param.secondary_opts
        else:
            kind = {str | None: TEXT, Path | None: PATH, int | None: COUNT}[hints[param.name]]
            default = None
            assert info.min == (1 if kind == COUNT else None), param.name
        assert param.default == default, param.name
        for flag in [*param.opts, *param.secondary_opts]:
            table[flag] = (str(param.name), kind)
    assert arguments == ["script"]
    assert table == OPTIONS


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_command_lines_parse_as_typer_parses_them(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = parse(argv)
    assert quick is not None, "the quick parse must take this command line"
    args, params = _typer_parse(argv, monkeypatch)
    assert (quick[0], _comparable(quick[1])) == (args, _comparable(params))


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_other_command_lines_are_left_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


# -- the real command, both ways ---------------------------------------------------------------

#: Runs the ``aios`` command as the installed script does: the entry point in pyproject (with
#: the quick path) or the typer app alone, under the same name so typer's usage lines match.
_DRIVER = """
import sys
which = sys.argv[1]
sys.argv = ["aios", *sys.argv[2:]]
if which == "typer":
    from aios.cli import main
else:
    import importlib, tomllib
    with open(which, "rb") as f:
        module, name = tomllib.load(f)["project"]["scripts"]["aios"].split(":")
    main = getattr(importlib.import_module(module), name)
sys.exit(main())
"""

_PYPROJECT = str(Path(__file__).resolve().parents[2] / "pyproject.toml")

_SHOW = """
import json, os, sys
skip = {"AIOS_RUN_SPOOL", "AIOS_RUN_ID", "AIOS_RUN_WATCH_FD"}
seen = {k: v for k, v in os.environ.items() if k.startswith("AIOS_") and k not in skip}
print(json.dumps({"argv": sys.argv, "env": seen, "spool": os.path.isdir(os.environ["AIOS_RUN_SPOOL"])}))
"""


def _aios(
    which: str, argv: list[str], cwd: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    root = str(Path(__file__).resolve().parents[2])
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    environ.update(extra or {})
    environ["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
    environ["XDG_CACHE_HOME"] = str(cwd / "cache")
    return subprocess.run(
        [sys.executable, "-c", _DRIVER, which, *argv],
        env=environ,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.skipif(os.name != "posix", reason="aios run replaces itself with the program only on POSIX")
@pytest.mark.parametrize(
    "argv",
    [
        ["-q", "show.py", "a", "--help"],
        ["--report", "r.json", "--max-concurrency", "2", "--frameworks", "openai", "show.py", "-q"],
        ["--quiet", "--config=aios.toml", "--policy", "fair", "-m", "show", "x"],
    ],
    ids=" ".join,
)
def test_the_program_gets_the_same_run_either_way(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "show.py").write_text(_SHOW, encoding="utf-8")
    (tmp_path / "aios.toml").write_text('policy = "las"\n', encoding="utf-8")
    assert parse(argv) is not None
    quick, full = (_aios(which, ["run", *argv], tmp_path) for which in (_PYPROJECT, "typer"))
    assert quick.returncode == full.returncode == 0, quick.stderr + full.stderr
    assert (quick.stderr, json.loads(quick.stdout)) == (full.stderr, json.loads(full.stdout))
    assert json.loads(quick.stdout)["spool"] is True  # the program ran under aios run


@pytest.mark.parametrize(
    "argv",
    [
        # Left to typer by the quick parse: its own messages and usage lines.
        [],
        ["--help"],
        ["--max-concurrency", "0", "show.py"],
        ["--quiet=1", "show.py"],
        ["--policy"],
        ["-q"],
        # Taken by the quick parse, refused by the runner: its one error line.
        ["--policy", "nope", "show.py"],
        ["--frameworks", "openai,nosuch", "show.py"],
        ["--redis", "redis://127.0.0.1:1/0", "--shared", "show.py"],
        ["--config", "missing.toml", "show.py"],
    ],
    ids=lambda argv: " ".join(argv) or "nothing",
)
def test_mistakes_print_the_same_either_way(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "show.py").write_text(_SHOW, encoding="utf-8")
    quick, full = (_aios(which, ["run", *argv], tmp_path) for which in (_PYPROJECT, "typer"))
    assert (quick.returncode, quick.stdout, quick.stderr) == (full.returncode, full.stdout, full.stderr)
    assert quick.returncode in (0, 2) and (quick.stdout + quick.stderr).strip()
    if parse(argv) is not None:
        assert quick.returncode == 2 and quick.stderr.startswith("aios run: error: ")
        assert quick.stderr.count("\n") == 1  # one line, no traceback


def test_a_shell_completion_request_is_typers(tmp_path: Path) -> None:
    # click answers `_AIOS_COMPLETE=...` before it parses anything: the program must not run.
    (tmp_path / "show.py").write_text(_SHOW, encoding="utf-8")
    request = {"_AIOS_COMPLETE": "bash_complete", "COMP_WORDS": "aios run --po", "COMP_CWORD": "2"}
    quick, full = (_aios(which, ["run", "show.py"], tmp_path, request) for which in (_PYPROJECT, "typer"))
    assert (quick.returncode, quick.stdout, quick.stderr) == (full.returncode, full.stdout, full.stderr)
    assert '"argv"' not in quick.stdout
    plain = _aios(_PYPROJECT, ["run", "show.py"], tmp_path, {"_AIOS_COMPLETE": ""})  # empty: no request
    assert plain.returncode == 0 and '"argv"' in plain.stdout
