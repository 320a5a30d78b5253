"""The peer a user would put in front of unmodified agents instead of aios: a LiteLLM proxy.

``aios bench SCENARIO --modes default,aios,litellm`` runs the same agents as the ``default``
mode (framework defaults, untouched) with their base URL pointed at a LiteLLM proxy that the
bench starts on 127.0.0.1 in front of ``aios sim``. The proxy's config is generated from the
scenario: the provider's limits as the deployment's ``rpm``/``tpm`` (in real minutes, since the
sim runs with ``--time-scale``), the kernel's ``max_concurrency`` as ``max_parallel_requests``,
and the retry settings of LiteLLM's documentation for a proxy (``num_retries: 3``,
``allowed_fails: 3``, ``cooldown_time: 30``; routing ``usage-based-routing-v2``, the strategy
that checks a deployment's rpm/tpm before each call; the proxy honours ``Retry-After``).

Nothing leaves the machine: the model cost map, beta headers and other catalogues are read from
the package (``LITELLM_LOCAL_*``), no callbacks are configured, and the master key is random per
run and never written anywhere but the proxy's environment.

LiteLLM is a separate program with its own dependency pins (it conflicts with some framework
pins), so it may live in its own virtualenv: set ``BENCH_LITELLM`` to its ``litellm``
executable; otherwise the one beside this Python, then the one on ``PATH``, is used.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

#: The version the published figures were measured with (the ``litellm`` extra pins it).
LITELLM_VERSION = "1.108.7"
#: Not ``AIOS_*``: that prefix belongs to the kernel configuration, which rejects unknown keys.
ENV_EXECUTABLE = "BENCH_LITELLM"
START_TIMEOUT = 300.0
#: Retry settings from LiteLLM's proxy documentation (reliability and config pages).
NUM_RETRIES = 3
ALLOWED_FAILS = 3
COOLDOWN_TIME_S = 30
ROUTING_STRATEGY = "usage-based-routing-v2"
#: Catalogues LiteLLM would otherwise fetch from the internet at start-up.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "DO_NOT_TRACK": "1",
}
_ACCESS = re.compile(r'"(?:POST|GET) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


class LiteLLMMissing(RuntimeError):
    """LiteLLM's proxy is not installed where the bench looks for it."""


def find_executable() -> str:
    """The ``litellm`` command: ``$BENCH_LITELLM``, beside this Python, or on ``PATH``."""
    explicit = os.environ.get(ENV_EXECUTABLE)
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise LiteLLMMissing(f"{ENV_EXECUTABLE}={explicit} is not an executable `litellm` command")
        return explicit
    beside = Path(sys.executable).with_name("litellm")
    if os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("litellm")
    if found:
        return found
    raise LiteLLMMissing(
        "the litellm mode needs LiteLLM's proxy: pip install 'aios-kernel[litellm]' (or install "
        f"'litellm[proxy]=={LITELLM_VERSION}' in a virtualenv of its own and set "
        f"{ENV_EXECUTABLE} to its `litellm` executable)"
    )


def real_per_minute(per_window: float, window_s: float) -> int:
    """A limit per ``window_s`` real seconds as LiteLLM's per-minute figure."""
    return max(1, round(per_window * 60.0 / window_s))


def proxy_config(
    upstream: str, model: str, core: dict[str, Any], *, upstream_key: str = "sim-key"
) -> dict[str, Any]:
    """The proxy's config for one scenario (JSON is YAML, so the proxy reads it as is).

    ``core`` is the scenario's kernel core: its ``rpm``/``tpm`` per ``rate_window_s`` become
    LiteLLM's per-minute limits and ``max_concurrency`` its ``max_parallel_requests``.
    """
    params: dict[str, Any] = {"model": f"openai/{model}", "api_base": upstream, "api_key": upstream_key}
    window = float(core.get("rate_window_s", 60.0))
    if core.get("rpm"):
        params["rpm"] = real_per_minute(core["rpm"], window)
    if core.get("tpm"):
        params["tpm"] = real_per_minute(core["tpm"], window)
    if core.get("max_concurrency"):
        params["max_parallel_requests"] = int(core["max_concurrency"])
    return {
        "model_list": [{"model_name": model, "litellm_params": params}],
        "litellm_settings": {
            "num_retries": NUM_RETRIES,
            "request_timeout": 600,
            "drop_params": True,
            "callbacks": [],
            "success_callback": [],
            "failure_callback": [],
            "telemetry": False,
        },
        "router_settings": {
            "routing_strategy": ROUTING_STRATEGY,
            "num_retries": NUM_RETRIES,
            "allowed_fails": ALLOWED_FAILS,
            "cooldown_time": COOLDOWN_TIME_S,
        },
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiteLLMProxy:
    """``with LiteLLMProxy(config) as proxy:`` — agents use ``proxy.env()``; stops on exit."""

    def __init__(self, config: dict[str, Any], *, start_timeout: float = START_TIMEOUT) -> None:
        self.config = config
        self.start_timeout = start_timeout
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._key = "sk-" + secrets.token_hex(24)
        self._dir = tempfile.TemporaryDirectory(prefix="aios-bench-litellm-")
        self._log_path = Path(self._dir.name) / "proxy.log"
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self) -> LiteLLMProxy:
        exe = find_executable()
        cfg = Path(self._dir.name) / "config.yaml"
        cfg.write_text(json.dumps(self.config, indent=2), encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))},
            **OFFLINE_ENV,
            "LITELLM_MASTER_KEY": self._key,
            "PYTHONUNBUFFERED": "1",
        }
        self._log = self._log_path.open("wb")
        self._proc = subprocess.Popen(
            [exe, "--config", str(cfg), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self._dir.name,  # LiteLLM reads a .env from its working directory
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self._log_path.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"the LiteLLM proxy exited with {self._proc.returncode}:\n{tail}")
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1.0).status_code == 200:
                    self._log_offset = self._log_path.stat().st_size
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the LiteLLM proxy did not answer within {self.start_timeout:.0f} s")

    def env(self) -> dict[str, str]:
        """What the agents' SDKs read: the proxy as their provider, its key as theirs."""
        return {
            "OPENAI_BASE_URL": f"{self.url}/v1",
            "OPENAI_API_BASE": f"{self.url}/v1",
            "OPENAI_API_KEY": self._key,
        }

    def mark(self) -> None:
        """Start counting responses from here (between runs through the same proxy)."""
        self._log_offset = self._log_path.stat().st_size

    def responses(self) -> dict[str, int]:
        """Status codes of the chat calls the proxy answered since :meth:`mark`, from its access log."""
        with self._log_path.open("rb") as f:
            f.seek(self._log_offset)
            text = f.read().decode(errors="replace")
        counts: dict[str, int] = {}
        for m in _ACCESS.finditer(text):
            if m.group("path").rstrip("/").endswith("/chat/completions"):
                counts[m.group("status")] = counts.get(m.group("status"), 0) + 1
        return counts

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> LiteLLMProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


#: What LiteLLM can and cannot express of each scenario, printed beside its row.
NOTES: dict[str, str] = {
    "rate-limited": (
        "rpm/tpm are fixed per-minute windows (no burst size, no refill): the sim's 3 req/s with "
        "a burst of 3 becomes rpm 180, which a 32-agent burst does not reach; 429s are retried "
        "with Retry-After"
    ),
    "server": (
        "max_parallel_requests caps calls in flight (FIFO); no program-level order "
        "(least attained service per agent) exists in LiteLLM"
    ),
    "heavy-tail": (
        "max_parallel_requests caps calls in flight (FIFO); no program-level order "
        "(least attained service per agent) exists in LiteLLM"
    ),
    "overhead": "one extra HTTP hop through the proxy per call",
}


def peer_table(result: dict[str, Any]) -> str:
    """The side-by-side table of one scenario: every mode, the same columns, LiteLLM's limits noted."""
    ratios = result.get("ratios", {})
    hop = {
        "aios": ratios.get("added_ms_per_call"),
        "litellm": ratios.get("litellm_added_ms_per_call"),
        "default": 0.0 if "added_ms_per_call" in ratios else None,
    }
    lines = [
        f"#### {result['scenario']}: aios and LiteLLM side by side",
        "",
        "| mode | agents completed | 429s reaching agents | requests wasted | makespan s | "
        "all done s | added ms per call | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        all_done = f"{r['all_done_s']:.2f}"
        if r.get("all_done_complete") is False:
            all_done = "> " + all_done
        added = hop.get(r["mode"])
        note = NOTES.get(result["scenario"], "") if r["mode"] == "litellm" else ""
        lines.append(
            f"| {r['mode']} | {r['completed']} / {r['agents']} | {r.get('agent_429s', '—')} | "
            f"{r['wasted_requests']} | {r['makespan_s']:.2f} | {all_done} | "
            f"{'—' if added is None else f'{added:+.3f}'} | {note} |"
        )
    lines.append("")
    return "\n".join(lines)
