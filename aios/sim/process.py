"""``SimServer``: run the sim in a subprocess for tests and benchmarks (sync context manager)."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Any

import httpx

START_TIMEOUT = 20.0


class SimServerError(RuntimeError):
    pass


class SimServer:
    """``with SimServer("--rpm", "60") as sim: ...`` — ``sim.url`` is ``http://127.0.0.1:PORT``."""

    def __init__(
        self,
        *args: str | Sequence[str],
        start_timeout: float = START_TIMEOUT,
        env: dict[str, str] | None = None,
    ) -> None:
        # Both SimServer("--rpm", "60") and SimServer(["--rpm", "60"]) read naturally.
        self.args = [str(a) for arg in args for a in ([arg] if isinstance(arg, str) else arg)]
        self.start_timeout = start_timeout
        self.extra_env = env or {}
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._client: httpx.Client | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> SimServer:
        if self._proc is not None:
            raise SimServerError("SimServer already started; use one instance per process.")
        # stderr goes to a file, not a pipe: a chatty server must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        cmd = [sys.executable, "-m", "aios.sim", "--port", "0", *self.args]
        self._proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env},
        )
        line = self._first_line()
        prefix = "listening on "
        if not line.startswith(prefix):
            self.stop()
            raise SimServerError(f"sim did not start: first line was {line!r}")
        self.url = line[len(prefix) :].strip()
        self._client = httpx.Client(base_url=self.url, timeout=10.0)
        return self

    def _first_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self._proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.start_timeout
        try:
            while time.monotonic() < deadline:
                if sel.select(timeout=0.1):
                    line = self._proc.stdout.readline().decode(errors="replace")
                    if line:
                        return line
                if self._proc.poll() is not None:
                    break
        finally:
            sel.close()
        code = self._proc.poll()
        err = self._stderr_text()
        self.stop()
        why = (
            f"exited with code {code}"
            if code is not None
            else (f"did not start within {self.start_timeout:.0f} s")
        )
        raise SimServerError(f"sim server {why}. stderr:\n{err}")

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def stop(self, timeout: float = 5.0) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- conveniences -----------------------------------------------------------------------
    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def stderr(self) -> str:
        return self._stderr_text()

    def _http(self) -> httpx.Client:
        if self._client is None:
            raise SimServerError("SimServer is not running.")
        return self._client

    def stats(self) -> dict[str, Any]:
        response = self._http().get("/sim/stats")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def reset(self) -> None:
        self._http().post("/sim/reset").raise_for_status()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings of the running sim (e.g. ``rpm=60, faults="500=1"``); resets stats."""
        response = self._http().post("/sim/config", json=changes)
        if response.status_code != 200:
            raise SimServerError(f"sim rejected configuration {changes!r}: {response.text}")
        data: dict[str, Any] = response.json()
        return data

    def env(self) -> dict[str, str]:
        return {
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_BASE": self.openai_base_url,
            "OPENAI_API_KEY": "sim-key",
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "ANTHROPIC_API_KEY": "sim-key",
        }
