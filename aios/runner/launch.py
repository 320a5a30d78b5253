"""Build the program's environment and replace this process with it (``exec``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from aios.runner import BOOTSTRAP_DIR, env
from aios.runner.prelaunch import entry_points, trigger_modules


@dataclass(frozen=True)
class RunOptions:
    policy: str | None = None
    max_concurrency: int | None = None
    report: Path | None = None
    config: Path | None = None
    frameworks: tuple[str, ...] = ()
    quiet: bool = False
    #: ``--approve``: the approver of ``confirm`` tools for this run.
    approve: str | None = None
    #: ``--audit``: the audit log file for this run.
    audit: Path | None = None
    #: The shared-state server every process of the run uses (``--redis`` or ``--shared``).
    redis_url: str | None = None


def program_env(opts: RunOptions, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) plus what the bootstrap and the config layer read."""
    out = dict(os.environ if base is None else base)
    old = out.get("PYTHONPATH")
    out["PYTHONPATH"] = os.pathsep.join([str(BOOTSTRAP_DIR), *([old] if old else [])])
    out[env.BOOTSTRAP] = str(BOOTSTRAP_DIR)
    out[env.ROOT] = "1"
    out[env.SPOOL] = tempfile.mkdtemp(prefix="aios-run-")
    if opts.policy is not None:
        out["AIOS_POLICY"] = opts.policy
    if opts.max_concurrency is not None:
        out["AIOS_MAX_CONCURRENCY"] = str(opts.max_concurrency)
    if opts.config is not None:
        out["AIOS_CONFIG"] = str(opts.config.resolve())
    if opts.report is not None:
        out[env.REPORT] = str(opts.report.resolve())
    else:
        out.pop(env.REPORT, None)
    if opts.frameworks:
        out[env.FRAMEWORKS] = ",".join(opts.frameworks)
    else:
        out.pop(env.FRAMEWORKS, None)
    out[env.QUIET] = "1" if opts.quiet else "0"
    # One run id for the program and its subprocesses: the per-run caps count them together.
    out[env.RUN_ID] = uuid.uuid4().hex[:12]
    if opts.approve is not None:
        out["AIOS_APPROVER"] = opts.approve
    if opts.audit is not None:
        out["AIOS_AUDIT_LOG"] = str(opts.audit.resolve())
    if opts.redis_url is not None:
        out["AIOS_REDIS_URL"] = opts.redis_url
    out.pop(env.SHARED_SERVER, None)  # only `aios run --shared` sets it, for its own server
    out[env.TRIGGERS] = ",".join(trigger_modules(opts.frameworks))
    # What every process would find scanning the plugin group (aios.adapters.plugins).
    found = {"python": sys.executable, "pythonpath": out["PYTHONPATH"], "entry_points": entry_points()}
    out[env.ENTRY_POINTS] = json.dumps(found)
    return out


def command(script: str | None, module: str | None, args: Sequence[str]) -> list[str]:
    """``python SCRIPT ARGS`` or ``python -m MODULE ARGS`` with this interpreter."""
    target = ["-m", module] if module is not None else [str(script)]
    return [sys.executable, *target, *args]


def exec_program(argv: list[str], environ: dict[str, str]) -> NoReturn:
    """Become the program: same pid, so signals, exit codes and the terminal are its own."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(argv[0], argv, environ)
    # No exec on Windows: run it as a child and hand its exit code on.
    try:
        code = subprocess.call(argv, env=environ)
    except KeyboardInterrupt:
        code = 130
    if environ.get(env.SPOOL):  # the program merged it unless it crashed: never leave it behind
        shutil.rmtree(environ[env.SPOOL], ignore_errors=True)
    raise SystemExit(code)
