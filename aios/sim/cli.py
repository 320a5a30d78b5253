"""``aios sim``: run the simulated provider over HTTP.

Binds the socket itself (so ``--port 0`` can report the port it got), prints
``listening on http://HOST:PORT`` as the first stdout line, and stops on SIGINT/SIGTERM.
Only loopback hosts are accepted unless ``--allow-remote`` is given: the sim has no
authentication and accepts any API key.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from .config import MODES, PROFILES, Faults, SimConfig


def _fail(option: str, message: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint=f"'{option}'")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_config(
    *,
    profile: str,
    mode: str,
    script: Path | None,
    seed: int,
    time_scale: float,
    rpm: int | None,
    tpm: int | None,
    input_tpm: int | None,
    output_tpm: int | None,
    budget_tokens: int | None,
    latency: str | None,
    slots: int | None,
    kv_budget: int | None,
    faults: str | None,
) -> SimConfig:
    if profile not in PROFILES:
        raise _fail("--profile", f"{profile!r} is not one of {', '.join(PROFILES)}.")
    if mode not in MODES:
        raise _fail("--mode", f"{mode!r} is not one of {', '.join(MODES)}.")
    values: dict[str, object] = {
        "profile": profile,
        "mode": mode,
        "script": script,
        "seed": seed,
        "time_scale": time_scale,
    }
    for name, value in (
        ("rpm", rpm),
        ("tpm", tpm),
        ("input_tpm", input_tpm),
        ("output_tpm", output_tpm),
        ("budget_tokens", budget_tokens),
        ("slots", slots),
        ("kv_budget", kv_budget),
    ):
        if value is not None:
            values[name] = value
    if latency:
        values.update(_latency(latency))
    if faults:
        try:
            values["faults"] = Faults.parse(faults)
        except (ValueError, ValidationError) as exc:
            raise _fail("--faults", str(exc)) from None
    try:
        return SimConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "config"
        option = "--" + field.replace("_", "-")
        message = first["msg"]
        if field == "script" or (field == "config" and mode == "scripted"):
            option = "--script"
        elif field in _LATENCY_KEYS:  # these have no option of their own
            option, message = "--latency", f"{field}: {message}"
        raise _fail(option, message) from None


_LATENCY_KEYS = (
    "ttft",
    "ttft_per_input_token",
    "decode_per_token",
    "step_time",
    "batch_slowdown",
    "prefill_per_token",
)


def _latency(spec: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for raw in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = raw.partition("=")
        if not sep or key.strip() not in _LATENCY_KEYS:
            raise _fail(
                "--latency",
                f"bad entry {raw!r}: expected KEY=SECONDS with KEY one of {', '.join(_LATENCY_KEYS)}.",
            )
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise _fail("--latency", f"{value!r} in {raw!r} is not a number.") from None
    return out


def sim(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback only by default).")] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
    profile: Annotated[str, typer.Option(help="instant | api | server")] = "instant",
    mode: Annotated[str, typer.Option(help="auto | echo | scripted")] = "auto",
    script: Annotated[Path | None, typer.Option(help="JSONL replies for --mode scripted.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for replies, ids and faults.")] = 0,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    rpm: Annotated[int | None, typer.Option(help="Requests per minute per API key.")] = None,
    tpm: Annotated[int | None, typer.Option(help="Tokens per minute per API key.")] = None,
    input_tpm: Annotated[int | None, typer.Option(help="Anthropic input tokens/min.")] = None,
    output_tpm: Annotated[int | None, typer.Option(help="Anthropic output tokens/min.")] = None,
    budget_tokens: Annotated[int | None, typer.Option(help="Lifetime tokens per key.")] = None,
    latency: Annotated[
        str | None, typer.Option(help="Overrides, e.g. 'ttft=0.3,decode_per_token=0.01,step_time=0.02'.")
    ] = None,
    slots: Annotated[int | None, typer.Option(help="server profile: parallel slots.")] = None,
    kv_budget: Annotated[int | None, typer.Option(help="server profile: KV tokens.")] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            help="Rates, e.g. '429=0.05,500=0.01,529=0.01,stall=0,disconnect=0.01,"
            "stream_error=0.01,stall_seconds=30'."
        ),
    ] = None,
    allow_remote: Annotated[bool, typer.Option(help="Allow a non-loopback --host.")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run the simulated OpenAI/Anthropic-compatible LLM server."""
    if not allow_remote and not _is_loopback(host):
        raise _fail(
            "--host",
            f"{host!r} is not a loopback address; the sim has no "
            "authentication. Pass --allow-remote to bind it anyway.",
        )
    config = build_config(
        profile=profile,
        mode=mode,
        script=script,
        seed=seed,
        time_scale=time_scale,
        rpm=rpm,
        tpm=tpm,
        input_tpm=input_tpm,
        output_tpm=output_tpm,
        budget_tokens=budget_tokens,
        latency=latency,
        slots=slots,
        kv_budget=kv_budget,
        faults=faults,
    )
    serve(config, host, port, log_level)


def serve(config: SimConfig, host: str, port: int, log_level: str = "warning") -> None:
    import uvicorn

    from .script import ScriptError
    from .server import create_app

    try:
        app = create_app(config=config)
    except ScriptError as exc:
        raise _fail("--script", str(exc)) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:  # OverflowError: a port beyond 65535
        reason = getattr(exc, "strerror", None) or str(exc)
        sock.close()
        raise _fail("--port", f"cannot bind {host}:{port}: {reason}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    sys.stdout.write(f"listening on http://{shown}:{bound}\n")
    sys.stdout.flush()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            loop="auto",
            http="auto",
            timeout_graceful_shutdown=2,
            backlog=2048,
        )
    )
    # uvicorn handles SIGINT/SIGTERM with a graceful shutdown, then re-raises the signal
    # through the previous handler; a recording handler makes that a clean exit (status 0)
    # and covers a signal that arrives before uvicorn takes over.
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stopping.append(signum))
    if not stopping:
        server.run(sockets=[sock])
    sock.close()
