"""The ``aios run`` and ``aios plugins`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from aios.runner import env, watcher
from aios.runner.launch import RunOptions, command, exec_program, program_env


def _fail(message: str) -> typer.Exit:
    typer.echo(f"aios run: error: {message}", err=True)
    return typer.Exit(2)


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
                raise _fail(str(e)) from None
    overrides = {
        "policy": opts.policy,
        "max_concurrency": opts.max_concurrency,
        "approver": opts.approve,
        "redis_url": opts.redis_url,
    }
    try:
        cfg = load_config(opts.config, overrides=overrides)
        make_policy(cfg.policy)
    except ConfigError as e:
        raise _fail(str(e)) from None
    if cfg.redis_url and ping:
        from aios.runner.redis_link import check

        problem = check(cfg.redis_url)
        if problem is not None:
            raise _fail(problem)
    return cfg.policy


def _start_shared() -> tuple[str, str]:
    """Start the run's private server: its URL, and ``PID:DIR`` for the root to stop it."""
    from aios.runner.redis_server import RedisServerError, start_server

    try:
        server = start_server()
    except RedisServerError as e:
        raise _fail(str(e)) from None
    # The server now belongs to the program this process becomes; the program's root stops it.
    import atexit

    atexit.unregister(server.stop)
    return server.url, f"{server.pid}:{server.directory}"


def run(
    ctx: typer.Context,
    script: str | None = typer.Argument(None, help="The program (a .py file), then its arguments."),
    module: str | None = typer.Option(None, "-m", help="Run a module as `python -m MODULE` does."),
    policy: str | None = typer.Option(None, "--policy", help="Scheduling policy (fifo, fair, ...)."),
    max_concurrency: int | None = typer.Option(
        None, "--max-concurrency", min=1, help="At most N calls in flight per LLM endpoint."
    ),
    report: Path | None = typer.Option(None, "--report", help="Write the kernel report JSON here at exit."),
    config: Path | None = typer.Option(None, "--config", help="aios config file (TOML)."),
    frameworks: str | None = typer.Option(
        None, "--frameworks", help="Comma-separated adapters to patch (default: every installed one)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary table at exit."),
    otel: bool = typer.Option(
        False, "--otel", help="Export OpenTelemetry GenAI spans and metrics (standard OTEL_* variables)."
    ),
    top: bool = typer.Option(False, "--top", help="Show the live `aios top` view on stderr."),
    top_socket: bool = typer.Option(
        False, "--top-socket", help="Serve the live view on a Unix socket for `aios top --socket`."
    ),
    approve: str | None = typer.Option(
        None, "--approve", help="Who approves `confirm` tools: terminal, deny, allow or python:MOD:FUNC."
    ),
    audit: Path | None = typer.Option(
        None, "--audit", help="Append one JSON line per access decision and finished call to this file."
    ),
    redis: str | None = typer.Option(
        None, "--redis", metavar="URL", help="Share the kernel state with every process on this Redis/Valkey."
    ),
    shared: bool = typer.Option(
        False, "--shared", help="Start a private Redis-compatible server for this run and share it."
    ),
) -> None:
    """Run a Python program with every LLM and tool call going through the aios kernel.

    `aios run app.py ARGS` or `aios run -m package.module ARGS`. The program runs as __main__ with
    its own argv, working directory and exit code; Python subprocesses it starts are covered too.
    """
    args = list(ctx.args)
    if module is None and script is None:
        raise _fail("give the program to run: `aios run SCRIPT [ARGS...]` or `aios run -m MODULE [ARGS...]`")
    if module is not None and script is not None:
        args.insert(0, script)  # with -m, everything after the module belongs to the program
        script = None
    names = tuple(n.strip() for n in (frameworks or "").split(",") if n.strip())
    if redis is not None and shared:
        raise _fail("give either --redis URL (a server you run) or --shared (a private one), not both")
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
    spool = Path(environ[env.SPOOL])
    watch_fd = watcher.start(
        spool,
        opts.report.resolve() if opts.report else None,
        policy_name,
        shared_server=environ.get(env.SHARED_SERVER),
    )
    if watch_fd is not None:
        environ[env.WATCH_FD] = str(watch_fd)
    exec_program(command(script, module, args), environ)


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
            raise _fail(str(e)) from None
        environ["AIOS_OTEL"] = "1"
    if top:
        environ[VIEW_ENV] = "1"
    if top_socket:
        path = str(Path(environ[env.SPOOL]) / "top.sock")
        environ[SOCKET_ENV] = path
        typer.echo(f"aios run: live view: aios top --socket {path}", err=True)


def report_command(
    redis: str | None = typer.Option(
        None, "--redis", metavar="URL", help="The shared-state server (default: AIOS_REDIS_URL / redis_url)."
    ),
    prefix: str | None = typer.Option(None, "--prefix", help="Key prefix (default: redis_prefix, aios)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Per-agent and per-core totals of every process that shared one kernel state on Redis/Valkey."""
    from aios.config import load_config
    from aios.errors import ConfigError
    from aios.runner.cluster_report import cluster_report

    def fail(message: str) -> typer.Exit:
        typer.echo(f"aios report: error: {message}", err=True)
        return typer.Exit(2)

    try:
        cfg = load_config(overrides={"redis_url": redis, "redis_prefix": prefix})
    except ConfigError as e:
        raise fail(str(e)) from None
    if not cfg.redis_url:
        raise fail("no server to read: give --redis URL (or set AIOS_REDIS_URL / redis_url in aios.toml)")
    try:
        data = cluster_report(cfg.redis_url, cfg.redis_prefix)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise fail(str(e)) from None
    if as_json:
        typer.echo(json.dumps({k: v for k, v in data.items() if k != "recent"}, indent=2))
        return
    from rich.console import Console

    from aios.runner.cluster_table import cluster_tables

    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    if not data["agents"]:
        console.print(
            f"no syscalls recorded at {data['url']} under prefix {data['prefix']!r}", highlight=False
        )
        return
    for table in cluster_tables(data):
        console.print(table)


def plugins_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the adapters: framework, installed version, supported range, and plugin errors."""
    from aios.runner.listing import adapter_rows, plugins_table

    rows, errors = adapter_rows()
    if as_json:
        typer.echo(json.dumps({"adapters": rows, "errors": errors}, indent=2))
        return
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # piped output keeps whole names rather than 80 columns
    console.print(plugins_table(rows))
    for plugin, reason in sorted(errors.items()):
        console.print(f"[red]plugin {plugin!r} failed:[/red] {reason}", highlight=False)
