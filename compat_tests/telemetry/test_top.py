"""``aios top --socket`` in a pseudo-terminal, attached to a running multi-agent program."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from aios.sim.process import SimServer
from compat_tests.harness import aios_command, program_env

PROGRAM = str(Path(__file__).parent / "programs" / "agents_then_wait.py")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def _read_until(stream: object, pattern: str, timeout: float) -> str:
    """Lines of a pipe until one contains ``pattern``."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            break
        seen.append(line)
        if pattern in line:
            return line
    raise AssertionError(f"{pattern!r} not seen in: {''.join(seen)!r}")


def _spawn_in_pty(argv: list[str], env: dict[str, str], cols: int = 80, rows: int = 60) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty, so Ctrl-C there is SIGINT
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execve(argv[0], argv, env)
    return pid, fd


def _screen_until(fd: int, ok: object, timeout: float) -> str:
    """Read the terminal until the last whole frame satisfies ``ok``; return that frame."""
    buf = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                buf += os.read(fd, 65536).decode(errors="replace")
            except OSError:
                break
        frames = ANSI.sub("", buf).split("aios top  policy")
        for frame in frames[-3:-1]:  # whole frames: another one started after them
            if ok(frame):  # type: ignore[operator]
                return frame
    raise AssertionError(f"no frame matched; the screen showed:\n{ANSI.sub('', buf)[-3000:]}")


def _row(frame: str, first: str) -> list[str]:
    for line in frame.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            return cells
    return []


def test_top_in_a_terminal_shows_agents_and_cores_and_exits_on_ctrl_c(sim: SimServer, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    env = program_env(sim)
    cmd = aios_command([PROGRAM, str(gate)], None, ["--top-socket", "--max-concurrency", "2"])
    prog = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        socket_line = _read_until(prog.stderr, "aios top --socket", 60)
        path = socket_line.strip().rsplit(" ", 1)[1]
        _read_until(prog.stdout, "all calls done", 60)
        top_env = {**env, "COLUMNS": "80", "LINES": "60", "TERM": "xterm-256color"}
        top_env.pop("NO_COLOR", None)
        pid, fd = _spawn_in_pty(
            [sys.executable, "-m", "aios", "top", "--socket", path, "--interval", "0.2"], top_env
        )
        try:

            def complete(frame: str) -> bool:
                return bool(_row(frame, "alpha") and _row(frame, "gamma") and "done 6" in frame)

            frame = _screen_until(fd, complete, 60)
            assert _row(frame, "alpha")[1:3] == ["2", "0"]  # llm calls, tool calls
            assert _row(frame, "beta")[1:3] == ["3", "0"]
            assert _row(frame, "gamma")[1:3] == ["1", "0"]
            assert "running 0  queued 0  done 6  failed 0" in frame
            core = next(line for line in frame.splitlines() if "openai@" in line)
            assert core.split()[1:3] == ["0/2", "0"]  # nothing in flight of 2 slots, empty queue
            assert max(len(line) for line in frame.splitlines()) <= 80
            os.write(fd, b"\x03")  # Ctrl-C
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                try:
                    select.select([fd], [], [], 0.1)
                    os.read(fd, 65536)  # keep the pty drained
                except OSError:
                    time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError("aios top did not exit on Ctrl-C")
            assert os.waitstatus_to_exitcode(status) == 0
        finally:
            os.close(fd)
    finally:
        gate.touch()
        prog.wait(60)
    assert prog.returncode == 0


def test_run_with_top_draws_the_view_on_stderr_and_keeps_stdout(sim: SimServer, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()  # the program ends as soon as its calls are done
    env = {**program_env(sim), "COLUMNS": "80"}
    cmd = aios_command([PROGRAM, str(gate)], None, ["--top", "--max-concurrency", "2"])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "all calls done\n"
    # Not a terminal: the view's last frame is printed once, at exit, with the final counts.
    frame = ANSI.sub("", proc.stderr).split("aios top  policy")[-1]
    assert _row(frame, "alpha")[1:3] == ["2", "0"]
    assert _row(frame, "beta")[1:3] == ["3", "0"]
    assert _row(frame, "gamma")[1:3] == ["1", "0"]
    assert "done 6" in frame
