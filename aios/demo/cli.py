"""The ``aios demo`` command."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from aios.config import CoreConfig, KernelConfig
from aios.demo.inproc import ENDPOINT, AgentState, run_agent
from aios.kernel.kernel import Kernel
from aios.sim import SimConfig, SimProvider

DEFAULT_OUT = Path("aios-demo")


def _live_table(states: list[AgentState], kernel: Kernel, started: float) -> Table:
    snap = kernel.stats()
    core: dict[str, Any] = next(iter(c for name, c in snap["cores"].items() if name == "sim"), {})
    title = (
        f"aios demo — {time.monotonic() - started:5.1f}s — queued {snap['queued']}, "
        f"running {snap['running']}, slots {core.get('in_use', 0)}/{core.get('max_concurrency')}"
    )
    table = Table(title=title, expand=False)
    for col in ("agent", "state", "LLM calls", "tool calls"):
        table.add_column(col)
    for s in states:
        style = "green" if s.state == "done" else ("yellow" if s.state == "queued" else "")
        table.add_row(s.name, s.state, str(s.llm_calls), str(s.tool_calls), style=style)
    return table


def _summary(kernel: Kernel, provider: SimProvider, elapsed: float) -> Table:
    report = kernel.report()
    table = Table(title=f"per-agent summary (policy {report['policy']}, {elapsed:.1f}s)")
    for col in ("agent", "LLM", "tools", "tokens in", "tokens out", "wait p50 s", "wait p95 s", "errors"):
        table.add_column(col, justify="right" if col != "agent" else "left")
    for name, a in report["agents"].items():
        table.add_row(
            name,
            str(a["llm_calls"]),
            str(a["tool_calls"]),
            str(a["input_tokens"]),
            str(a["output_tokens"]),
            f"{a['waiting_p50_s']:.2f}",
            f"{a['waiting_p95_s']:.2f}",
            str(a["errors"]),
        )
    sim = provider.stats()
    table.caption = (
        f"sim: {sim['requests']} requests, {sim['rate_limited']} rate-limited, "
        f"max in flight {sim['max_in_flight']}"
    )
    return table


async def _run(agents: int, policy: str, rpm: int, tpm: int, slots: int, console: Console) -> None:
    # One simulated minute lasts six real seconds, so the quota bites within a short demo.
    scale = 10.0
    provider = SimProvider(SimConfig(profile="api", rpm=rpm, tpm=tpm, time_scale=scale, seed=7))
    config = KernelConfig(
        policy=policy,
        cores=[
            CoreConfig(
                name="sim",
                api="openai",
                base_url=ENDPOINT,
                rpm=rpm,
                tpm=tpm,
                rate_window_s=60 / scale,
                max_concurrency=slots,
            )
        ],
    )
    kernel = Kernel(config)
    states = [AgentState(f"agent-{i:02d}") for i in range(agents)]
    started = time.monotonic()
    try:
        with Live(_live_table(states, kernel, started), console=console, refresh_per_second=8) as live:
            tasks = [
                asyncio.create_task(
                    run_agent(kernel, provider, s, f"Agent {i} researches topic {i} and reports 3 facts.")
                )
                for i, s in enumerate(states)
            ]
            while not all(t.done() for t in tasks):
                live.update(_live_table(states, kernel, started))
                await asyncio.sleep(0.1)
            live.update(_live_table(states, kernel, started))
            await asyncio.gather(*tasks)
        console.print(_summary(kernel, provider, time.monotonic() - started))
    finally:
        kernel.shutdown()


def demo(
    agents: int = typer.Option(16, min=1, max=500, help="How many concurrent agents."),
    policy: str = typer.Option("fair", help="Scheduling policy: fifo, priority, round-robin, fair, las."),
    rpm: int = typer.Option(4, min=1, help="Requests per second the simulated API allows (its burst too)."),
    out: Path = typer.Option(DEFAULT_OUT, help="Where the comparison plots are written."),
    kernel_only: bool = typer.Option(
        False, "--kernel", help="Framework-free demo: agents call the kernel and the in-process sim directly."
    ),
    tpm: int = typer.Option(3_000, min=1, help="--kernel: the sim's tokens per (simulated) minute."),
    slots: int = typer.Option(8, min=1, help="--kernel: concurrent calls the kernel allows."),
) -> None:
    """Real framework agents on the embedded sim, without and then with aios (no key needed)."""
    console = Console()
    if kernel_only:
        asyncio.run(_run(agents, policy, rpm * 60, tpm, slots, console))
        return
    from aios.demo.frameworks import installed_frameworks, run_demo

    if not installed_frameworks():
        typer.echo(
            "aios demo: error: no agent framework is installed; install them with "
            "pip install 'aios-kernel[all]', or run `aios demo --kernel` for the framework-free demo",
            err=True,
        )
        raise typer.Exit(1)
    run_demo(agents=agents, rpm=rpm, policy=policy, out=out, console=console)
