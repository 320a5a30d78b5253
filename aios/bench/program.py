"""``aios bench SCRIPT``: run copies of the user's own program with and without aios, side by side.

Every copy is a separate, unmodified process. Each mode starts it the way ``aios run`` does
(the aios bootstrap on ``PYTHONPATH``, ``--report`` into a file per copy):

- ``without`` — aios in observe mode (``AIOS_OBSERVE=1``): it records every call but never
  delays, retries or refuses one, and the SDKs keep their own retries; so "without aios" is
  measured the same way as "with aios", even against a real provider;
- ``with`` — aios as configured (``--policy`` / ``--config``; with the embedded sim and no
  ``--config``, a core stating the sim's limits, as a user states their provider tier);
- any ``--mode NAME=CONFIG.toml``;
- ``plain`` (``--plain``) — no aios at all, to measure what observe mode costs.

All modes also carry the request probe (:mod:`aios.bench.probe`), which counts the program's
HTTP requests to the provider by status. The modes alternate within each round; the sim's
counters are reset before each batch, so each batch's requests and 429s can be checked against
the sim's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aios.bench import probe
from aios.runner.launch import RunOptions, program_env

TELEMETRY_OFF = {
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
}
ModeKind = Literal["plain", "observe", "aios"]
#: Error class names that mean an LLM call failed (the provider's answer, or no answer).
_LLM_ERROR = re.compile(
    r"(RateLimit|APIStatus|APIConnection|APITimeout|InternalServer|ServiceUnavailable|Overloaded|"
    r"APIError|Timeout)\w*"
)
#: What looks like an API key is masked in the error lines the results keep.
_KEY = re.compile(r"\b(sk|key|api)[-_][A-Za-z0-9_-]{8,}")
_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\w*)(?::|$)")


@dataclass(frozen=True)
class Program:
    """``python SCRIPT ARGS`` or ``python -m MODULE ARGS``; ``{copy}`` in ARGS is the copy index."""

    script: str | None
    module: str | None
    args: tuple[str, ...] = ()

    def argv(self, copy: int) -> list[str]:
        target = ["-m", self.module] if self.module is not None else [str(self.script)]
        return [sys.executable, *target, *(a.replace("{copy}", str(copy)) for a in self.args)]

    def describe(self) -> str:
        head = f"-m {self.module}" if self.module is not None else str(self.script)
        return " ".join([head, *self.args])


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    kind: ModeKind
    config: Path | None = None
    policy: str | None = None


@dataclass(frozen=True)
class SimSpec:
    """The embedded sim: its command-line options, and the limits a core states for aios."""

    args: tuple[str, ...]
    rpm: int | None = None
    tpm: int | None = None
    time_scale: float = 1.0

    def core(self, base_url: str, copies: int) -> dict[str, Any]:
        """The core each copy's kernel is told: its 1/``copies`` share of the sim's limits.

        Each copy is its own process with its own kernel, and the kernels share no state (until
        a shared store is configured), while the sim's limits hold for all copies together. So
        each kernel gets an equal share: whole requests per a longer window when the requests
        per window do not divide, which keeps the copies' combined rate equal to the sim's.
        """
        core: dict[str, Any] = {"name": "sim", "api": "openai", "base_url": base_url}
        window = 60.0 / self.time_scale
        if self.rpm is not None:
            rpm = max(1, self.rpm // copies)
            window = window * copies * rpm / self.rpm
            core["rpm"] = rpm
            if self.tpm is not None:
                core["tpm"] = max(1, self.tpm * rpm // self.rpm)
        elif self.tpm is not None:
            core["tpm"] = max(1, self.tpm // copies)
        if self.rpm is not None or self.tpm is not None:
            core["rate_window_s"] = window
        return core


@dataclass
class Plan:
    program: Program
    modes: list[Mode]
    copies: int
    repeat: int = 1
    #: Re-run rounds for copies that failed with an LLM error (a program failure is not re-run).
    reruns: int = 3
    timeout: float = 600.0
    #: ``None``: the program's own provider (``--provider env``).
    sim: SimSpec | None = None
    policy: str | None = None
    #: Where each copy's stdout, stderr, request counts and aios report go (``OUT/runs``).
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="aios-bench-")) / "runs")


@dataclass
class CopyResult:
    copy: int
    exit_code: int | None
    wall_s: float
    requests: int
    by_status: dict[str, int]
    boot_s: list[float]
    llm_calls: int | None
    input_tokens: int | None
    output_tokens: int | None
    tokens_by_model: dict[str, list[int]]
    llm_errors: list[str]
    error: str | None
    log: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def cause(self) -> str | None:
        """Why it failed: ``llm`` (an LLM call failed), ``timeout``, ``program``, or None."""
        if self.ok:
            return None
        if self.exit_code is None:
            return "timeout"
        if self.llm_errors or (self.error is not None and _LLM_ERROR.search(self.error)):
            return "llm"
        return "program"

    def to_dict(self) -> dict[str, Any]:
        return {
            "copy": self.copy,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "cause": self.cause,
            "error": self.error,
            "wall_s": self.wall_s,
            "requests": self.requests,
            "by_status": dict(self.by_status),
            "rate_limited_429": self.by_status.get("429", 0),
            "server_5xx": sum(n for s, n in self.by_status.items() if s[:1] == "5"),
            "llm_calls": self.llm_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens_by_model": self.tokens_by_model,
            "llm_errors": self.llm_errors,
            "aios_boot_s": max(self.boot_s) if self.boot_s else None,
            "log": self.log,
        }


@dataclass
class Batch:
    """Copies of one mode started together: the main run of a round, or a re-run."""

    mode: str
    round: int
    attempt: int
    copies: list[CopyResult]
    makespan_s: float
    sim_stats: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "round": self.round,
            "attempt": self.attempt,
            "makespan_s": self.makespan_s,
            "copies": [c.to_dict() for c in self.copies],
            "sim": _sim_counts(self.sim_stats),
        }


def _sim_counts(stats: dict[str, Any] | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "requests": stats.get("requests", 0),
        "rate_limited_429": stats.get("rate_limited", 0),
        "by_status": {str(k): v for k, v in stats.get("by_status", {}).items()},
        "input_tokens": stats.get("input_tokens", 0),
        "output_tokens": stats.get("output_tokens", 0),
    }


@dataclass
class Live:
    """What the progress display shows for one mode (updated while its copies run)."""

    mode: str
    label: str
    total: int
    running: int = 0
    done: int = 0
    failed: int = 0
    rate_limited: int = 0
    rounds_done: int = 0


Progress = Callable[[Live], None]


class Provider:
    """The sim the bench started, or nothing (the program's own configured provider)."""

    def __init__(self, spec: SimSpec | None) -> None:
        self.spec = spec
        self.sim: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Provider]:
        if self.spec is None:
            yield self
            return
        from aios.sim.process import SimServer

        with SimServer(list(self.spec.args)) as sim:
            self.sim = sim
            try:
                yield self
            finally:
                self.sim = None

    def env(self) -> dict[str, str]:
        return dict(self.sim.env()) if self.sim is not None else {}

    def probe_hosts(self) -> str:
        return self.sim.url.removeprefix("http://") if self.sim is not None else ""

    def reset(self) -> None:
        if self.sim is not None:
            self.sim.reset()

    def stats(self) -> dict[str, Any] | None:
        return self.sim.stats() if self.sim is not None else None


def _write_config(path: Path, data: dict[str, Any]) -> Path:
    """A TOML file for the modes the bench configures itself (flat keys and one core table)."""
    lines = []
    for key, value in data.items():
        if key != "cores":
            lines.append(f"{key} = {json.dumps(value)}")
    for core in data.get("cores", []):
        lines.append("[[cores]]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in core.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Bench:
    def __init__(self, plan: Plan, progress: Progress | None = None) -> None:
        self.plan = plan
        self.progress = progress
        self.provider = Provider(plan.sim)
        self.live = {m.key: Live(m.key, m.label, plan.copies) for m in plan.modes}
        self.extra_env: dict[str, dict[str, str]] = {}

    # -- the whole run ----------------------------------------------------------------------------
    def run(self) -> list[Batch]:
        batches: list[Batch] = []
        with self.provider.running():
            configs = self._configs()
            for rnd in range(self.plan.repeat):
                for mode in self.plan.modes:
                    batches.extend(self._mode_round(mode, rnd, configs[mode.key]))
                    self.live[mode.key].rounds_done = rnd + 1
                    self._show(mode.key)
        return batches

    def _configs(self) -> dict[str, Path | None]:
        out: dict[str, Path | None] = {}
        folder = self.plan.workdir / "configs"
        folder.mkdir(parents=True, exist_ok=True)
        for mode in self.plan.modes:
            if mode.kind == "observe":
                # The user's aios.toml must not steer the "without aios" run: only observe is set.
                out[mode.key] = _write_config(folder / "observe.toml", {"observe": True})
            elif mode.kind == "aios" and mode.config is None and self.provider.sim is not None:
                assert self.plan.sim is not None
                data: dict[str, Any] = {
                    "cores": [self.plan.sim.core(self.provider.sim.openai_base_url, self.plan.copies)]
                }
                if mode.policy is not None:
                    data["policy"] = mode.policy
                out[mode.key] = _write_config(folder / f"{mode.key}.toml", data)
            else:
                out[mode.key] = mode.config
                if mode.kind == "aios" and mode.config is not None and self.provider.sim is not None:
                    self._add_sim_core(mode)
        return out

    def _add_sim_core(self, mode: Mode) -> None:
        """A user's config that names no core gets the sim's (its port is only known now)."""
        from aios.config import load_config

        assert self.plan.sim is not None and mode.config is not None
        if not load_config(mode.config, environ={}).cores:
            core = self.plan.sim.core(self.provider.sim.openai_base_url, self.plan.copies)
            self.extra_env[mode.key] = {"AIOS_CORES": json.dumps([core])}

    def _mode_round(self, mode: Mode, rnd: int, config: Path | None) -> list[Batch]:
        live = self.live[mode.key]
        live.running = live.done = live.failed = live.rate_limited = 0
        batch = self._batch(mode, rnd, 0, list(range(self.plan.copies)), config)
        out = [batch]
        retry = [c.copy for c in batch.copies if c.cause == "llm"]
        for attempt in range(1, self.plan.reruns + 1):
            if not retry:
                break
            rerun = self._batch(mode, rnd, attempt, retry, config, counted=False)
            out.append(rerun)
            retry = [c.copy for c in rerun.copies if c.cause == "llm"]
        return out

    # -- one batch --------------------------------------------------------------------------------
    def _env(
        self, mode: Mode, config: Path | None, copy: int, probe_dir: Path, report: Path
    ) -> dict[str, str]:
        # With the sim, frameworks stay offline; with a real provider the program's own settings stand.
        offline = TELEMETRY_OFF if self.provider.spec is not None else {}
        base = {**os.environ, **offline, **self.provider.env()}
        if mode.kind == "plain":
            env = dict(base)
            for key in [k for k in env if k.startswith("AIOS_")]:
                del env[key]  # the program exactly as it is: no aios setting reaches it
        else:
            policy = mode.policy if mode.kind == "aios" else None
            env = program_env(RunOptions(policy=policy, report=report, config=config, quiet=True), base)
            if mode.kind == "observe":
                env["AIOS_OBSERVE"] = "1"
            else:
                env.pop("AIOS_OBSERVE", None)
        env.update(self.extra_env.get(mode.key, {}))
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join([str(probe.BOOT_DIR), *([old] if old else [])])
        env[probe.DIR_ENV] = str(probe_dir)
        hosts = self.provider.probe_hosts()
        if hosts:
            env[probe.HOSTS_ENV] = hosts
        env["AIOS_BENCH_COPY"] = str(copy)
        return env

    def _batch(
        self, mode: Mode, rnd: int, attempt: int, copies: list[int], config: Path | None, counted: bool = True
    ) -> Batch:
        live = self.live[mode.key]
        folder = self.plan.workdir / f"{mode.key}-round{rnd + 1}-attempt{attempt}"
        folder.mkdir(parents=True, exist_ok=True)
        self.provider.reset()
        procs: dict[int, subprocess.Popen[bytes]] = {}
        ended: dict[int, float] = {}
        dirs: dict[int, Path] = {}
        t0 = time.monotonic()
        for i in copies:
            dirs[i] = folder / f"copy{i}"
            probe_dir = dirs[i] / "probe"
            probe_dir.mkdir(parents=True, exist_ok=True)
            env = self._env(mode, config, i, probe_dir, dirs[i] / "report.json")
            with open(dirs[i] / "stdout.txt", "wb") as out, open(dirs[i] / "stderr.txt", "wb") as err:
                procs[i] = subprocess.Popen(
                    self.plan.program.argv(i),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    start_new_session=True,  # a copy that runs over its time is stopped with its children
                )
        lock = threading.Lock()

        def wait(i: int, proc: subprocess.Popen[bytes]) -> None:
            try:
                proc.wait(self.plan.timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                proc.returncode = None
            with lock:
                ended[i] = time.monotonic()

        waiters = [threading.Thread(target=wait, args=(i, p), daemon=True) for i, p in procs.items()]
        for w in waiters:
            w.start()
        if counted:
            live.running = len(copies)
        try:
            while any(w.is_alive() for w in waiters):
                time.sleep(0.25)
                if counted:
                    self._update_live(live, copies, procs, ended, dirs, lock)
        except BaseException:  # Ctrl-C: no copy may outlive the bench
            for proc in procs.values():
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
            raise
        if counted:
            self._update_live(live, copies, procs, ended, dirs, lock)
        makespan = max(ended.values()) - t0 if ended else 0.0
        stats = self.provider.stats()
        results = [self._collect(i, procs[i].returncode, ended[i] - t0, dirs[i]) for i in copies]
        return Batch(mode.key, rnd, attempt, results, makespan, stats)

    def _update_live(
        self,
        live: Live,
        copies: list[int],
        procs: dict[int, subprocess.Popen[bytes]],
        ended: dict[int, float],
        dirs: dict[int, Path],
        lock: threading.Lock,
    ) -> None:
        with lock:
            finished = [i for i in copies if i in ended]
        live.running = len(copies) - len(finished)
        live.done = sum(1 for i in finished if procs[i].returncode == 0)
        live.failed = len(finished) - live.done
        live.rate_limited = sum(
            probe.read_counts(dirs[i] / "probe")["by_status"].get("429", 0) for i in copies
        )
        self._show(live.mode)

    def _show(self, key: str) -> None:
        if self.progress is not None:
            self.progress(self.live[key])

    # -- one copy's figures -----------------------------------------------------------------------
    def _collect(self, copy: int, code: int | None, wall: float, folder: Path) -> CopyResult:
        counts = probe.read_counts(folder / "probe")
        report = _read_json(folder / "report.json")
        llm_calls = in_tok = out_tok = None
        by_model: dict[str, list[int]] = {}
        llm_errors: list[str] = []
        if report is not None:
            llm_calls = in_tok = out_tok = 0
            for rec in report.get("syscalls", []):
                if rec.get("kind") != "llm":
                    continue
                llm_calls += 1
                i, o = int(rec.get("input_tokens") or 0), int(rec.get("output_tokens") or 0)
                in_tok += i
                out_tok += o
                model = by_model.setdefault(str(rec.get("model") or "?"), [0, 0])
                model[0] += i
                model[1] += o
                if rec.get("status") == "failed" and rec.get("error"):
                    llm_errors.append(str(rec["error"]).split(":", 1)[0])
        return CopyResult(
            copy=copy,
            exit_code=code,
            wall_s=wall,
            requests=counts["requests"],
            by_status=counts["by_status"],
            boot_s=counts["boot_s"],
            llm_calls=llm_calls,
            input_tokens=in_tok,
            output_tokens=out_tok,
            tokens_by_model=by_model,
            llm_errors=sorted(set(llm_errors)),
            error=_last_error(folder / "stderr.txt") if code != 0 else None,
            log=str(folder.relative_to(self.plan.workdir.parent)),
        )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _last_error(path: Path) -> str | None:
    """The exception a failed copy ended with (the last ``SomeError: ...`` line of its stderr)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if _ERROR_LINE.match(line.strip()):
            return _KEY.sub(r"\1-***", line.strip())[:300]
    tail = [ln.strip() for ln in lines if ln.strip()]
    return _KEY.sub(r"\1-***", tail[-1])[:300] if tail else None
