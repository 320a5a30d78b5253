"""The terminal approver, driven through a real pseudo-terminal, with two agents asking at once."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("langchain_core")

from compat_tests.harness import program_env

PROGRAMS = Path(__file__).parent / "programs"
CONFIG = Path(__file__).parent / "programs" / "aios.toml"
PROMPT = re.compile(r"aios: allow 'delete_file'\? \[y/N\] ")


class Terminal:
    """The controlling side of a pty the program runs on."""

    def __init__(self, argv: list[str]) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=program_env(None), start_new_session=True
        )
        os.close(slave)
        self.seen = ""

    def read_until(self, pattern: re.Pattern[str], start: int, timeout: float = 90) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = pattern.search(self.seen, start)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern.pattern!r} on the terminal; it shows:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the program closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the terminal closed before {pattern.pattern!r}:\n{self.seen}")
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def drain(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
            elif self.proc.poll() is not None:
                break
        return self.seen

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self.master)


@pytest.mark.parametrize("program", ["terminal_two_agents.py", "terminal_two_processes.py"])
def test_two_agents_are_asked_one_at_a_time(program: str) -> None:
    """Two threads of one program, or a program and its subprocess, ask at the same moment."""
    aios_run = [sys.executable, "-m", "aios", "run", "--quiet", "--approve", "terminal"]
    term = Terminal([*aios_run, "--config", str(CONFIG), str(PROGRAMS / program)])
    try:
        first = term.read_until(PROMPT, 0)
        block = term.seen[: first.end()]
        asker = re.findall(r"aios: agent '(alpha|beta)' wants to run tool 'delete_file'", block)
        assert len(asker) == 1, block  # one prompt on screen, the other agent waits its turn
        who = asker[0]
        other = "beta" if who == "alpha" else "alpha"
        assert f'"path": "/tmp/{who}.txt"' in block  # the arguments, as pretty JSON
        time.sleep(0.5)
        term.drain(timeout=0.5)
        assert len(PROMPT.findall(term.seen)) == 1, term.seen  # still only one: prompts never overlap
        term.type("y\n")
        second = term.read_until(PROMPT, first.end())
        assert (
            f"aios: agent '{other}' wants to run tool 'delete_file'" in term.seen[first.end() : second.end()]
        )
        term.type("n\n")
        out = term.drain()
        assert term.proc.wait(timeout=60) == 0, out
    finally:
        term.close()
    assert f"{who}: deleted /tmp/{who}.txt" in out
    assert f"{other}: Tool call refused by aios: the user refused it at the terminal" in out
    if program == "terminal_two_agents.py":
        assert f"ran=['/tmp/{who}.txt']" in out
    else:
        assert f"ran[{who}]=['/tmp/{who}.txt']" in out and f"ran[{other}]=[]" in out
