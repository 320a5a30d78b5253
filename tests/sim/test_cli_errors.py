"""``aios sim`` option errors name the option the user typed, in one line, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "option", "detail"),
    [
        (("--port", "99999"), "'--port'", "65535"),
        (("--port", "-1"), "'--port'", "0"),
        (("--latency", "ttft=-1"), "'--latency'", "ttft"),
        (("--latency", "decode_per_token=-0.5"), "'--latency'", "decode_per_token"),
    ],
)
def test_bad_option_is_one_error_naming_it(args: tuple[str, ...], option: str, detail: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aios.sim", *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and proc.stdout == ""
    text = " ".join(proc.stderr.replace("│", " ").split())
    assert "Traceback" not in text
    assert f"Invalid value for {option}" in text and detail in text, text
    assert "'--ttft'" not in text and "'--decode-per-token'" not in text  # no option of that name


def test_port_taken_is_one_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        argv = [sys.executable, "-m", "aios.sim", "--port", str(port)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    text = " ".join(proc.stderr.replace("│", " ").split())
    assert "Traceback" not in text and f"cannot bind 127.0.0.1:{port}" in text
