"""Counting a program's HTTP requests to its LLM provider, from inside the program.

``aios bench`` starts every copy of the program with :data:`BOOT_DIR` first on ``PYTHONPATH``;
its ``sitecustomize`` calls :func:`install`, in every mode alike (with aios, observe, plain). The
probe wraps ``send`` of the httpx clients (``httpx`` and ``httpx2``, which the openai and
anthropic SDKs, langchain, crewai and litellm all send through) and appends one line per
response to ``$AIOS_BENCH_PROBE_DIR/<pid>.log``: the status code, or ``error`` when no response
came. A line is written as each response arrives, so the bench can show 429s live, and a process
that ends with ``os._exit`` still counts.

Which requests count: with the embedded sim, every request to the sim's ``host:port``
(``AIOS_BENCH_PROBE_HOSTS``), as the sim counts them; with a real provider, requests to a
generation endpoint (``AIOS_BENCH_PROBE_PATHS``), whatever the host.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The directory put first on ``PYTHONPATH`` of every copy; it holds only ``sitecustomize.py``.
BOOT_DIR = Path(__file__).resolve().parent / "probe_boot"
DIR_ENV = "AIOS_BENCH_PROBE_DIR"
HOSTS_ENV = "AIOS_BENCH_PROBE_HOSTS"
PATHS_ENV = "AIOS_BENCH_PROBE_PATHS"
#: Generation endpoints of the OpenAI and Anthropic APIs (URL path suffixes).
GENERATION_PATHS = ("/chat/completions", "/completions", "/responses", "/messages", "/embeddings")

_lock = threading.Lock()


class _Log:
    def __init__(self, path: Path, hosts: set[str], paths: tuple[str, ...]) -> None:
        self.path = path
        self.hosts = hosts
        self.paths = paths

    def counts(self, url: Any) -> bool:
        if self.hosts:
            port = url.port
            return f"{url.host}:{port}" in self.hosts if port else url.host in self.hosts
        return str(url.path).rstrip("/").endswith(self.paths)

    def write(self, line: str) -> None:
        # Opened per line (append mode): forks and threads never share a buffer, and the
        # bench reads complete lines while the program runs.
        with _lock, open(self.path.with_name(f"{os.getpid()}.log"), "a", encoding="ascii") as f:
            f.write(line + "\n")


def _sync_send(log: _Log) -> Callable[..., Any]:
    def send(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        request = args[0] if args else kwargs.get("request")
        if request is None or not log.counts(request.url):
            return wrapped(*args, **kwargs)
        try:
            response = wrapped(*args, **kwargs)
        except BaseException:
            log.write("error")
            raise
        log.write(str(response.status_code))
        return response

    return send


def _async_send(log: _Log) -> Callable[..., Any]:
    async def send(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        request = args[0] if args else kwargs.get("request")
        if request is None or not log.counts(request.url):
            return await wrapped(*args, **kwargs)
        try:
            response = await wrapped(*args, **kwargs)
        except BaseException:
            log.write("error")
            raise
        log.write(str(response.status_code))
        return response

    return send


def install() -> bool:
    """Wrap the httpx clients' ``send`` when the bench asked for it. Never raises."""
    folder = os.environ.get(DIR_ENV)
    if not folder:
        return False
    import wrapt

    hosts = {h for h in os.environ.get(HOSTS_ENV, "").split(",") if h}
    paths = tuple(p for p in os.environ.get(PATHS_ENV, "").split(",") if p) or GENERATION_PATHS
    log = _Log(Path(folder) / "probe.log", hosts, paths)
    installed = False
    for module in ("httpx", "httpx2"):
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        wrapt.wrap_function_wrapper(module, "Client.send", _sync_send(log))
        wrapt.wrap_function_wrapper(module, "AsyncClient.send", _async_send(log))
        installed = True
    return installed


def record_boot(seconds: float) -> None:
    """Note how long aios's own start-up took in this process (observe mode's fixed cost)."""
    folder = os.environ.get(DIR_ENV)
    if folder:
        _Log(Path(folder) / "probe.log", set(), ()).write(f"boot {seconds:.6f}")


def read_counts(folder: Path) -> dict[str, Any]:
    """Sum every process's log in ``folder``: requests, by status, and aios start-up seconds."""
    by_status: dict[str, int] = {}
    boot: list[float] = []
    for path in sorted(folder.glob("*.log")):
        try:
            lines = path.read_text(encoding="ascii").splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("boot "):
                boot.append(float(line.split()[1]))
            elif line:
                by_status[line] = by_status.get(line, 0) + 1
    return {"requests": sum(by_status.values()), "by_status": by_status, "boot_s": boot}
