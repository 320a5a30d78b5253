"""``aios run`` hands the plugin group's entry points to the processes it starts, so they need
not read every installed package's metadata again; any other interpreter or path scans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aios.adapters.plugins import RUN_ENTRY_POINTS, Plugins


@pytest.fixture
def probe_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real installed distribution with one ``aios`` entry point (a plugin with no hooks)."""
    site = tmp_path / "site"
    meta = site / "aios_probe_plugin-1.0.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: aios-probe-plugin\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text("[aios]\nprobe = aios_probe_plugin\n")
    (site / "aios_probe_plugin.py").write_text('"""A plugin that registers nothing."""\n')
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(RUN_ENTRY_POINTS, raising=False)
    monkeypatch.delenv("AIOS_NO_ENTRY_POINTS", raising=False)
    return site


def _loaded(monkeypatch: pytest.MonkeyPatch, given: dict[str, object] | None) -> list[tuple[str, str]]:
    if given is not None:
        monkeypatch.setenv(RUN_ENTRY_POINTS, json.dumps(given))
    manager = Plugins(builtins=())
    manager.load()
    assert manager.errors == {}
    return manager.entry_points


def test_the_group_is_scanned_without_the_list(probe_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ("probe", "aios_probe_plugin") in _loaded(monkeypatch, None)


def test_the_list_from_aios_run_is_used_as_given(probe_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/the/path")
    same = {"python": sys.executable, "pythonpath": "/the/path", "entry_points": []}
    assert _loaded(monkeypatch, same) == []  # not scanned: the probe stays unloaded
    listed = {**same, "entry_points": [["probe", "aios_probe_plugin"]]}
    assert _loaded(monkeypatch, listed) == [("probe", "aios_probe_plugin")]


def test_another_interpreter_or_path_scans(probe_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/the/path")
    other_python = {"python": "/other/python", "pythonpath": "/the/path", "entry_points": []}
    assert ("probe", "aios_probe_plugin") in _loaded(monkeypatch, other_python)
    other_path = {"python": sys.executable, "pythonpath": "/elsewhere", "entry_points": []}
    assert ("probe", "aios_probe_plugin") in _loaded(monkeypatch, other_path)
    assert ("probe", "aios_probe_plugin") in _loaded(monkeypatch, {"not": "ours"})


def test_aios_run_passes_what_it_found(probe_site: Path, tmp_path: Path) -> None:
    # In a fresh interpreter: this one's registry was loaded before the probe was installed.
    code = (
        "import json, shutil\n"
        "from aios.runner import env\n"
        "from aios.runner.launch import RunOptions, program_env\n"
        "out = program_env(RunOptions())\n"
        "shutil.rmtree(out[env.SPOOL])\n"
        "print(json.dumps([out['PYTHONPATH'], json.loads(out[env.ENTRY_POINTS])]))\n"
    )
    repo = str(Path(__file__).resolve().parents[2])
    environ = {
        "PYTHONPATH": os.pathsep.join([repo, str(probe_site)]),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": os.environ.get("PATH", ""),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    pythonpath, given = json.loads(proc.stdout)
    assert given["python"] == sys.executable and given["pythonpath"] == pythonpath
    assert ["probe", "aios_probe_plugin"] in given["entry_points"]
