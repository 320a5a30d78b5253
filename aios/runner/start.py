"""What ``aios run`` does once its arguments are parsed: check them, then become the program.

Free of typer: both the typer command (:mod:`aios.runner.cli`) and the ``aios`` entry point's
path for a plain ``aios run`` (:mod:`aios.runner.run_args`) end here. A mistake in the options
is a :class:`RunError`; each caller prints it as the same one line and exits with code 2.
"""

from __future__ import annotations

import os
import sys

from aios.runner import env, watcher
from aios.runner.launch import RunOptions, absolute, command, exec_program, program_env

TYPE_CHECKING = False  # typing and pathlib: annotations only (see aios.runner.launch)
if TYPE_CHECKING:
    from typing import NoReturn

    from aios.runner.launch import FileName


class RunError(Exception):
    """A user's mistake in ``aios run``'s options: one error line, exit code 2."""


def error_line(message: str) -> str:
    return f"aios run: error: {message}"


def say(line: str) -> None:
    """Write ``line`` to stderr exactly as ``typer.echo(line, err=True)`` would."""
    if "\x1b" in line:  # click strips styles off a stream that is not a terminal
        import typer

        typer.echo(line, err=True)
        return
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def start(
    args: list[str],
    *,
    script: str | None = None,
    module: str | None = None,
    policy: str | None = None,
    max_concurrency: int | None = None,
    report: FileName | None = None,
    config: FileName | None = None,
    frameworks: str | None = None,
    quiet: bool = False,
    otel: bool = False,
    top: bool = False,
    top_socket: bool = False,
    approve: str | None = None,
    audit: FileName | None = None,
    redis: str | None = None,
    shared: bool = False,
) -> NoReturn:
    """Check the options of ``aios run`` (the keywords are its options), then exec the program.

    ``args`` are the program's arguments after ``script`` (all of them after ``-m MODULE``).
    """
    args = list(args)
    if module is None and script is None:
        raise RunError(
            "give the program to run: `aios run SCRIPT [ARGS...]` or `aios run -m MODULE [ARGS...]`"
        )
    if module is not None and script is not None:
        args.insert(0, script)  # with -m, everything after the module belongs to the program
        script = None
    names = tuple(n.strip() for n in (frameworks or "").split(",") if n.strip())
    if redis is not None and shared:
        raise RunError("give either --redis URL (a server you run) or --shared (a private one), not both")
    opts = RunOptions(
        policy, max_concurrency, report, config, names, quiet, approve=approve, audit=audit, redis_url=redis
    )
    # With --shared, options are checked before the server starts, so a bad one leaves nothing
    # running; the new server has just answered PING.
    policy_name = _check(opts, ping=not shared)
    environ = program_env(opts)
    environ[env.POLICY] = policy_name  # the root's report names it without loading the config
    _live_options(environ, otel=otel, top=top, top_socket=top_socket)
    if shared:
        url, server = _start_shared()
        environ.update({"AIOS_REDIS_URL": url, env.SHARED_SERVER: server})
    watch_fd = watcher.start(
        environ[env.SPOOL],
        absolute(opts.report) if opts.report else None,
        policy_name,
        shared_server=environ.get(env.SHARED_SERVER),
    )
    if watch_fd is not None:
        environ[env.WATCH_FD] = str(watch_fd)
    exec_program(command(script, module, args), environ)


def _check(opts: RunOptions, *, ping: bool = True) -> str:
    """Reject bad options here, with exit code 2, rather than inside the program; return the
    policy the program's kernel will use."""
    from aios.runner.prelaunch import DEFAULT_POLICY, adapter_modules, config_given

    explicit = (opts.config, opts.policy, opts.max_concurrency, opts.approve, opts.redis_url)
    known = adapter_modules() if opts.frameworks else {}
    if all(n in known for n in opts.frameworks) and not config_given(explicit):
        return DEFAULT_POLICY  # no config and known adapters: nothing to check, no kernel to load
    import aios
    from aios.adapters.plugins import plugins
    from aios.config import load_config
    from aios.errors import ConfigError, UnknownFrameworkError
    from aios.kernel.policies import make_policy, policy_names

    # Plugins are loaded here only when needed: the program's process loads them anyway.
    if opts.frameworks or (opts.policy is not None and opts.policy not in policy_names()):
        registry = plugins().adapters  # also registers the plugins' policies
        unknown = [n for n in opts.frameworks if n not in registry]
        if unknown:
            try:
                aios.patch(*unknown)  # raises the standard message naming known and installed ones
            except UnknownFrameworkError as e:
                raise RunError(str(e)) from None
    overrides = {
        "policy": opts.policy,
        "max_concurrency": opts.max_concurrency,
        "approver": opts.approve,
        "redis_url": opts.redis_url,
    }
    try:
        config = None if opts.config is None else os.fspath(opts.config)
        cfg = load_config(config, overrides=overrides)
        make_policy(cfg.policy)
    except ConfigError as e:
        raise RunError(str(e)) from None
    if cfg.redis_url and ping:
        from aios.runner.redis_link import check

        problem = check(cfg.redis_url)
        if problem is not None:
            raise RunError(problem)
    return cfg.policy


def _start_shared() -> tuple[str, str]:
    """Start the run's private server: its URL, and ``PID:DIR`` for the root to stop it."""
    from aios.runner.redis_server import RedisServerError, start_server

    try:
        server = start_server()
    except RedisServerError as e:
        raise RunError(str(e)) from None
    # The server now belongs to the program this process becomes; the program's root stops it.
    import atexit

    atexit.unregister(server.stop)
    return server.url, f"{server.pid}:{server.directory}"


def _live_options(environ: dict[str, str], *, otel: bool, top: bool, top_socket: bool) -> None:
    """``--otel``, ``--top`` and ``--top-socket``: set what the program's bootstrap reads."""
    if not (otel or top or top_socket):
        return  # the live view's modules are not worth importing for nothing
    from aios.top.serve import SOCKET_ENV, VIEW_ENV

    if otel:
        from aios.errors import ConfigError

        try:  # checked here, with exit code 2, rather than at the program's first call
            from aios.telemetry.providers import check_env

            check_env()
        except ConfigError as e:
            raise RunError(str(e)) from None
        environ["AIOS_OTEL"] = "1"
    if top:
        environ[VIEW_ENV] = "1"
    if top_socket:
        path = os.path.join(environ[env.SPOOL], "top.sock")
        environ[SOCKET_ENV] = path
        say(f"aios run: live view: aios top --socket {path}")
