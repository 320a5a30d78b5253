"""Build the program's environment and replace this process with it (``exec``).

Imported by ``aios run`` before the program starts: only modules Python has loaded at start-up,
since each one more is time the program waits for on every run.
"""

from __future__ import annotations

import os
import sys

from aios.runner import env
from aios.runner.prelaunch import registry_facts, trigger_modules

TYPE_CHECKING = False  # typing, collections.abc and pathlib: annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn, TypeAlias

    #: A file name as the typer command (``Path``) or the plain parse (``str``) gives it.
    FileName: TypeAlias = "str | os.PathLike[str]"

#: ``aios.runner.BOOTSTRAP_DIR`` as text (that attribute would import pathlib).
_BOOTSTRAP = os.path.join(os.path.dirname(os.path.realpath(__file__)), "bootstrap")


class RunOptions:
    """The options of one ``aios run``, as far as the program's environment carries them.

    A plain class, not a dataclass: ``dataclasses`` (with ``inspect``) would be most of the
    command's imports before the program starts.
    """

    __slots__ = (
        "approve",
        "audit",
        "config",
        "frameworks",
        "max_concurrency",
        "policy",
        "quiet",
        "redis_url",
        "report",
    )

    def __init__(
        self,
        policy: str | None = None,
        max_concurrency: int | None = None,
        report: FileName | None = None,
        config: FileName | None = None,
        frameworks: tuple[str, ...] = (),
        quiet: bool = False,
        approve: str | None = None,
        audit: FileName | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.policy = policy
        self.max_concurrency = max_concurrency
        self.report = report
        self.config = config
        self.frameworks = frameworks
        self.quiet = quiet
        #: ``--approve``: the approver of ``confirm`` tools for this run.
        self.approve = approve
        #: ``--audit``: the audit log file for this run.
        self.audit = audit
        #: The shared-state server every process of the run uses (``--redis`` or ``--shared``).
        self.redis_url = redis_url

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"RunOptions({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunOptions):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)


def absolute(path: FileName) -> str:
    """``Path(path).resolve()`` as text (``Path.resolve`` is ``os.path.realpath``)."""
    return os.path.realpath(path)


def program_env(opts: RunOptions, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) plus what the bootstrap and the config layer read."""
    out = dict(os.environ if base is None else base)
    old = out.get("PYTHONPATH")
    out["PYTHONPATH"] = os.pathsep.join([_BOOTSTRAP, *([old] if old else [])])
    out[env.BOOTSTRAP] = _BOOTSTRAP
    out[env.ROOT] = "1"
    out[env.SPOOL] = _spool_dir()
    if opts.policy is not None:
        out["AIOS_POLICY"] = opts.policy
    if opts.max_concurrency is not None:
        out["AIOS_MAX_CONCURRENCY"] = str(opts.max_concurrency)
    if opts.config is not None:
        out["AIOS_CONFIG"] = absolute(opts.config)
    if opts.report is not None:
        out[env.REPORT] = absolute(opts.report)
    else:
        out.pop(env.REPORT, None)
    if opts.frameworks:
        out[env.FRAMEWORKS] = ",".join(opts.frameworks)
    else:
        out.pop(env.FRAMEWORKS, None)
    out[env.QUIET] = "1" if opts.quiet else "0"
    # One run id for the program and its subprocesses: the per-run caps count them together.
    out[env.RUN_ID] = os.urandom(6).hex()  # what uuid4().hex[:12] was: 48 random bits
    if opts.approve is not None:
        out["AIOS_APPROVER"] = opts.approve
    if opts.audit is not None:
        out["AIOS_AUDIT_LOG"] = absolute(opts.audit)
    if opts.redis_url is not None:
        out["AIOS_REDIS_URL"] = opts.redis_url
    out.pop(env.SHARED_SERVER, None)  # only `aios run --shared` sets it, for its own server
    adapters, found_entry_points = registry_facts()  # one look at the cache for both
    out[env.TRIGGERS] = ",".join(trigger_modules(opts.frameworks, adapters))
    # What every process would find scanning the plugin group (aios.adapters.plugins).
    found = {"python": sys.executable, "pythonpath": out["PYTHONPATH"], "entry_points": found_entry_points}
    out[env.ENTRY_POINTS] = dumps(found)
    return out


def dumps(value: object) -> str:
    """``json.dumps(value)``, without importing ``json`` (and ``re``, ``enum``) when the text in
    ``value`` needs no escaping: printable ASCII without quotes or backslashes, as paths and
    entry points usually are."""
    if isinstance(value, str):
        if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
            return f'"{value}"'
    elif isinstance(value, list | tuple):
        return "[" + ", ".join(map(dumps, value)) + "]"
    elif isinstance(value, dict) and all(type(k) is str for k in value):
        return "{" + ", ".join(f"{dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"
    import json

    return json.dumps(value)


def _spool_dir() -> str:
    """A new private folder, where ``tempfile.mkdtemp(prefix="aios-run-")`` would make it.

    ``tempfile`` (with ``random``, ``shutil`` and its compression modules) is imported only
    if the usual place does not do: no writable ``$TMPDIR`` (or ``$TEMP``, ``$TMP``, ``/tmp``).
    """
    if os.name == "posix":
        named = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
        folder = os.path.abspath(next((d for d in named if d), "/tmp"))
        for _ in range(3):
            path = os.path.join(folder, "aios-run-" + os.urandom(6).hex())
            try:
                os.mkdir(path, 0o700)
                return path
            except FileExistsError:
                continue
            except OSError:
                break
    import tempfile

    return tempfile.mkdtemp(prefix="aios-run-")


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
    import shutil
    import subprocess

    try:
        code = subprocess.call(argv, env=environ)
    except KeyboardInterrupt:
        code = 130
    if environ.get(env.SPOOL):  # the program merged it unless it crashed: never leave it behind
        shutil.rmtree(environ[env.SPOOL], ignore_errors=True)
    raise SystemExit(code)
