"""The environment ``aios run`` hands to the program, and the command it becomes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from aios.config import load_config
from aios.runner import BOOTSTRAP_DIR, env
from aios.runner.launch import RunOptions, command, dumps, program_env


def _env(opts: RunOptions, base: dict[str, str]) -> dict[str, str]:
    out = program_env(opts, base)
    shutil.rmtree(out[env.SPOOL], ignore_errors=True)
    return out


def test_bootstrap_dir_first_on_pythonpath_and_existing_kept() -> None:
    out = _env(RunOptions(), {"PYTHONPATH": "/x:/y"})
    assert out["PYTHONPATH"].split(":") == [str(BOOTSTRAP_DIR), "/x", "/y"]
    assert (BOOTSTRAP_DIR / "sitecustomize.py").is_file()
    assert out[env.ROOT] == "1"
    assert out[env.QUIET] == "0"
    assert env.REPORT not in out and env.FRAMEWORKS not in out


def test_options_become_env_the_config_layer_reads(tmp_path: Path) -> None:
    cfg = tmp_path / "aios.toml"
    cfg.write_text("policy = 'fifo'\n")
    opts = RunOptions(
        policy="fair",
        max_concurrency=3,
        report=Path("r.json"),
        config=cfg,
        frameworks=("openai",),
        quiet=True,
    )
    out = _env(opts, {env.REPORT: "/stale", "HOME_OF": "kept"})
    assert out[env.REPORT] == str(Path("r.json").resolve())
    assert out[env.FRAMEWORKS] == "openai" and out[env.QUIET] == "1" and out["HOME_OF"] == "kept"
    assert out["AIOS_CONFIG"] == str(cfg.resolve())
    loaded = load_config(environ=out)
    assert (loaded.policy, loaded.max_concurrency) == ("fair", 3)  # runner keys are not config keys


def test_command_for_script_and_module() -> None:
    assert command("app.py", None, ["-v"]) == [sys.executable, "app.py", "-v"]
    assert command(None, "pkg.mod", ["a"]) == [sys.executable, "-m", "pkg.mod", "a"]


@pytest.mark.parametrize(
    "value",
    [
        {"python": "/usr/bin/python3", "pythonpath": "/a:/b", "entry_points": [["x", "m.n:Obj"], ["y", "z"]]},
        [],
        {},
        "",
        ("a", ["b", ("c",)]),
        'a "quoted" name',
        "back\\slash",
        "tab\there\nnewline",
        "é ü ∑",
        "\udc80undecodable",
        "\x7f",
        {"k": ["ok", 'not "ok"']},
        {"n": 1, "b": True, "z": None, "f": 1.5},
        {1: "a key that is no text"},
    ],
)
def test_dumps_writes_what_json_writes(value: object) -> None:
    assert dumps(value) == json.dumps(value)


def test_the_spool_is_a_private_folder_where_tempfile_would_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spools = []
    for tmpdir in (tmp_path / "tmp", tmp_path / "missing"):  # usable, then not: tempfile's choice
        (tmp_path / "tmp").mkdir(exist_ok=True)
        monkeypatch.setenv("TMPDIR", str(tmpdir))
        monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() caches its answer
        spool = program_env(RunOptions(), {})[env.SPOOL]
        spools.append(spool)
        assert os.path.dirname(spool) == tempfile.gettempdir()
        assert os.path.basename(spool).startswith("aios-run-") and os.listdir(spool) == []
        assert stat.S_IMODE(os.stat(spool).st_mode) == 0o700
        shutil.rmtree(spool)
    assert os.path.dirname(spools[0]) == str(tmp_path / "tmp")
