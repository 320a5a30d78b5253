"""Approvers: who says yes or no before a tool marked ``confirm`` runs.

``terminal`` asks the person at the terminal, ``deny`` and ``allow`` answer at once, and
``python:module:function`` calls the user's own function (sync or async) with an
:class:`ApprovalRequest`; it returns ``True``/``False`` or a :class:`Decision`. No answer within
``approval_timeout`` seconds is a refusal, and so is an approver that raises.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import json
import os
import select
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO, Union

from aios.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What an approver is asked about: one call of a ``confirm`` tool."""

    agent: str
    tool: str
    #: The tool's input as the framework passed it (a dict, a JSON string, or text).
    arguments: Any
    group: str | None = None
    framework: str = ""
    #: The syscall id, as in the report and the audit log.
    syscall_id: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    approved: bool
    #: Why (shown to the model on a refusal).
    reason: str = ""
    #: Who decided, for the audit log (defaults to the approver's name).
    by: str = ""


ApproverResult = Union[bool, Decision, Awaitable[Union[bool, Decision]]]  # noqa: UP007 - runtime alias
Approver = Callable[[ApprovalRequest], ApproverResult]


def _deny(request: ApprovalRequest) -> Decision:
    return Decision(
        False,
        f"tool {request.tool!r} needs approval and the approver is `deny` (set `approver` in the "
        "aios config, AIOS_APPROVER or `aios run --approve` to allow it)",
        "deny",
    )


def _allow(request: ApprovalRequest) -> Decision:
    return Decision(True, "approved by the `allow` approver", "allow")


def format_arguments(arguments: Any, *, max_chars: int = 2000, max_lines: int = 40) -> str:
    """Pretty JSON of a tool's arguments, cut to a size a person can read in a prompt."""
    value = arguments
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    lines = text.splitlines()
    cut = len(lines) > max_lines
    text = "\n".join(lines[:max_lines])
    if len(text) > max_chars:
        text, cut = text[:max_chars], True
    return text + ("\n… (truncated)" if cut else "")


class TerminalApprover:
    """Asks at the terminal. One prompt at a time, whichever agent, thread or process asks: the
    processes of one program share its terminal, so they also take turns (a lock file per TTY)."""

    name = "terminal"

    def __init__(self, *, timeout: float, stdin: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.timeout = timeout
        self._in = stdin or sys.stdin
        self._out = stderr or sys.stderr
        self._lock = threading.Lock()

    def __call__(self, request: ApprovalRequest) -> Decision:
        deadline = _now() + self.timeout
        # Prompts of concurrent agents queue here; the time spent queued counts against the timeout.
        if not self._lock.acquire(timeout=self.timeout):
            return Decision(False, f"no answer within {self.timeout:g}s (`approval_timeout`)", "terminal")
        turn = _TerminalTurn(self._in)
        try:
            if not turn.take(deadline):
                return Decision(False, f"no answer within {self.timeout:g}s (`approval_timeout`)", "terminal")
            who = f"agent {request.agent!r}" + (f" (group {request.group!r})" if request.group else "")
            args = format_arguments(request.arguments)
            self._out.write(
                f"\naios: {who} wants to run tool {request.tool!r} with arguments:\n"
                + "".join(f"  {line}\n" for line in args.splitlines())
                + f"aios: allow {request.tool!r}? [y/N] "
            )
            self._out.flush()
            answer = self._read_line(deadline)
        finally:
            turn.give_back()
            self._lock.release()
        if answer is None:
            self._out.write("\naios: no answer, refused\n")
            self._out.flush()
            return Decision(False, f"no answer within {self.timeout:g}s (`approval_timeout`)", "terminal")
        if answer.strip().lower() in ("y", "yes"):
            return Decision(True, "approved at the terminal", "terminal")
        return Decision(False, "the user refused it at the terminal", "terminal")

    def _read_line(self, deadline: float) -> str | None:
        """One line from the terminal, or ``None`` at the deadline or end of input."""
        fd = self._in.fileno()
        buf = b""
        while b"\n" not in buf:
            left = deadline - _now()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1024)
            if not chunk:
                return None if not buf else buf.decode(errors="replace")
            buf += chunk
        return buf.split(b"\n", 1)[0].decode(errors="replace")


class _TerminalTurn:
    """An exclusive lock on a lock file named after the terminal, held while one prompt is shown.

    Not the terminal itself: processes started by the program inherit its open terminal, and a
    lock on a shared open file would not keep them apart.
    """

    def __init__(self, stream: TextIO) -> None:
        self._fd: int | None = None
        self._path: str | None = None
        try:
            import fcntl  # noqa: F401 - POSIX only; elsewhere the threads' lock is all there is

            name = os.ttyname(stream.fileno())
        except (ImportError, OSError, ValueError, AttributeError):
            return
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        self._path = os.path.join(tempfile.gettempdir(), f"aios-approval-{os.getuid()}-{digest}.lock")

    def take(self, deadline: float) -> bool:
        if self._path is None:
            return True
        import fcntl

        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if _now() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)

    def give_back(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _now() -> float:
    return time.monotonic()


def _load_python(spec: str) -> Approver:
    _, module_name, attr = spec.split(":", 2)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"`approver` = {spec!r}: module {module_name!r} cannot be imported ({exc}); "
            "fix the name or put the module on PYTHONPATH"
        ) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(
            f"`approver` = {spec!r}: {module_name!r} has no callable {attr!r}; "
            "it must be a function taking an aios ApprovalRequest"
        )
    return fn  # type: ignore[no-any-return]


def make_approver(spec: str | None, *, timeout: float) -> tuple[str, Approver]:
    """The approver named by ``spec``; ``None`` picks ``terminal`` when interactive, else ``deny``."""
    if spec is None:
        spec = "terminal" if _interactive() else "deny"
    if spec == "terminal":
        return spec, TerminalApprover(timeout=timeout)
    if spec == "deny":
        return spec, _deny
    if spec == "allow":
        return spec, _allow
    return spec, _load_python(spec)


def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# -- calling an approver, with its timeout ------------------------------------------------------------
def _decision(result: Any, by: str) -> Decision:
    if isinstance(result, Decision):
        return result if result.by else Decision(result.approved, result.reason, by)
    if isinstance(result, bool):
        return Decision(result, "approved" if result else f"refused by the approver {by!r}", by)
    return Decision(False, f"the approver {by!r} returned {result!r}, not True/False or a Decision", by)


def _timed_out(by: str, timeout: float) -> Decision:
    return Decision(False, f"the approver {by!r} gave no answer within {timeout:g}s (`approval_timeout`)", by)


def _failed(by: str, exc: BaseException) -> Decision:
    return Decision(False, f"the approver {by!r} failed: {type(exc).__name__}: {exc}", by)


def ask(approver: Approver, by: str, request: ApprovalRequest, timeout: float) -> Decision:
    """Ask from synchronous code: the approver runs in a helper thread, so a hang is cut off."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            result = approver(request)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
            box["result"] = result
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="aios-approver", daemon=True).start()
    if not done.wait(timeout):
        return _timed_out(by, timeout)
    if "error" in box:
        return _failed(by, box["error"])
    return _decision(box["result"], by)


async def aask(approver: Approver, by: str, request: ApprovalRequest, timeout: float) -> Decision:
    """Ask from a coroutine: an async approver runs on this loop, a sync one in a thread."""
    try:
        if inspect.iscoroutinefunction(approver) or inspect.iscoroutinefunction(
            getattr(approver, "__call__", None)  # noqa: B004 - an object with an async __call__
        ):
            result: Any = await asyncio.wait_for(approver(request), timeout)  # type: ignore[arg-type]
        else:
            result = await asyncio.wait_for(asyncio.to_thread(approver, request), timeout)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(_await(result), timeout)
    except TimeoutError:
        return _timed_out(by, timeout)
    except Exception as exc:
        return _failed(by, exc)
    return _decision(result, by)


async def _await(aw: Awaitable[Any]) -> Any:
    return await aw
