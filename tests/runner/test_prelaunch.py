"""What ``aios run`` decides before the exec without the kernel: the cached adapter modules,
whether there is config to check, and typer's converters built only when a value needs one."""

from __future__ import annotations

import marshal
import os
import sys
from importlib import import_module
from pathlib import Path

import pytest
import typer

from aios.adapters.plugins import plugins
from aios.cli import _build
from aios.config import KernelConfig
from aios.runner import prelaunch
from aios.runner.prelaunch import DEFAULT_POLICY, adapter_modules, config_given, trigger_modules

try:  # typer vendors click from 0.2x on
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException  # type: ignore[no-redef]


def test_default_policy_is_the_configs() -> None:
    assert KernelConfig.model_fields["policy"].default == DEFAULT_POLICY


def test_adapter_modules_are_cached_and_refreshed_when_packages_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expected = {name: a.module.split(".", 1)[0] for name, a in plugins().adapters.items()}
    assert adapter_modules() == expected
    [file] = (tmp_path / "cache" / "aios").glob("run-adapters-*.marshal")
    # The next run reads the file: what it holds is what comes back.
    data = marshal.loads(file.read_bytes())
    data["adapters"]["edited"] = "from_the_cache"
    file.write_bytes(marshal.dumps(data))
    assert adapter_modules()["edited"] == "from_the_cache"
    assert "from_the_cache" in trigger_modules()
    # A package installed on sys.path (its metadata folder appears): asked again.
    site = tmp_path / "site"
    (site / "newpkg-1.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert adapter_modules() == expected


def test_a_plugin_failing_after_loading_does_not_stop_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hook that failed at run time (or a plugin a program registered itself) says nothing of
    # what the next `aios run` loads: the cache is written all the same.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(plugins().errors, "flaky-observer", "failed in aios_syscall_observer")
    adapter_modules()
    assert len(list((tmp_path / "cache" / "aios").glob("run-adapters-*.marshal"))) == 1


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder would go
    assert trigger_modules(("openai",)) == ["aios", "openai"]


def test_config_is_checked_whenever_there_is_any(tmp_path: Path) -> None:
    none: tuple[object | None, ...] = (None, None)
    assert not config_given(none, environ={"HOME": "/x"}, cwd=tmp_path)
    assert config_given((None, "fair"), environ={}, cwd=tmp_path)
    assert config_given(none, environ={"AIOS_MAX_CONCURRENCY": "0"}, cwd=tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert not config_given(none, environ={}, cwd=tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.aios]\npolicy = 'fair'\n")
    assert config_given(none, environ={}, cwd=tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "aios.toml").write_text("")
    assert config_given(none, environ={}, cwd=other)


def _untuned(name: str) -> typer.main.TyperCommand:
    from aios.cli import _LAZY

    module, function, settings = _LAZY[name]
    single = typer.Typer(add_completion=False)
    single.command(name, context_settings=settings or None)(getattr(import_module(module), function))
    command: typer.main.TyperCommand = typer.main.get_command(single)
    return command


def _parse(command: object, args: list[str]) -> object:
    try:
        with command.make_context("run", list(args)) as ctx:  # type: ignore[attr-defined]
            return ctx.params
    except ClickException as e:
        return ("error", type(e).__name__, e.format_message())


@pytest.mark.parametrize(
    "args",
    [
        ["app.py", "a", "-b"],
        ["-m", "pkg.mod", "x"],
        ["--policy", "fair", "--max-concurrency", "3", "--report", "r.json", "app.py"],
        ["--max-concurrency", "0", "app.py"],
        ["--max-concurrency", "lots", "app.py"],
        ["--config", "c.toml", "--frameworks", "openai,langchain", "--quiet", "app.py"],
        ["--approve", "deny", "--audit", "a.log", "--redis", "redis://127.0.0.1:1", "app.py"],
        ["--report"],
    ],
)
def test_values_and_errors_are_typers_own(args: list[str]) -> None:
    tuned = _parse(_build("run"), args)
    assert tuned == _parse(_untuned("run"), args)


def test_help_is_typers_own() -> None:
    tuned, untuned = _build("run"), _untuned("run")
    with tuned.make_context("run", ["x"]) as a, untuned.make_context("run", ["x"]) as b:
        assert tuned.get_help(a) == untuned.get_help(b)


def test_options_left_out_build_no_converter() -> None:
    pytest.importorskip("typer._coercion", reason="typer before 0.2x converts without pydantic anyway")
    command = _build("run")
    with command.make_context("run", ["app.py"]) as ctx:
        assert ctx.params["script"] == "app.py" and ctx.params["report"] is None
    built = [p.name for p in command.params if type(p._runtime_param).__name__ != "_OnDemand"]  # type: ignore[attr-defined]
    assert built == []
    with command.make_context("run", ["--max-concurrency", "2", "app.py"]) as ctx:
        assert ctx.params["max_concurrency"] == 2
    built = [p.name for p in command.params if type(p._runtime_param).__name__ != "_OnDemand"]  # type: ignore[attr-defined]
    assert built == ["max_concurrency"]  # typer's own converter, once a value needed it


def test_no_cache_without_a_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    monkeypatch.setattr(os.path, "expanduser", lambda p: p)  # no home directory to fall back on
    assert prelaunch._cache_file(["k"]) is None
