"""How a waiting caller is woken: a thread blocked in sync code, or a task on any event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Protocol


class Waiter(Protocol):
    def wake(self, error: BaseException | None) -> None:
        """Called once, from any thread, when the syscall was admitted (``None``) or ended."""
        ...


class ThreadWaiter:
    __slots__ = ("_error", "_event")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._error: BaseException | None = None

    def wake(self, error: BaseException | None) -> None:
        self._error = error
        self._event.set()

    def wait(self) -> BaseException | None:
        """Block until woken; returns the error the syscall ended with, if any."""
        self._event.wait()
        return self._error


class LoopWaiter:
    """Wakes a future that belongs to the caller's own event loop, from any thread."""

    __slots__ = ("future", "loop", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        #: The thread running ``loop`` (waiters are made by a task on it).
        self.thread = threading.get_ident()

    def wake(self, error: BaseException | None) -> None:
        try:
            if threading.get_ident() == self.thread:
                # Woken from the loop's own thread (a call of another task ended): no need to
                # write to the loop's self-pipe, a system call per wake-up.
                self.loop.call_soon(self._settle, error)
            else:
                self.loop.call_soon_threadsafe(self._settle, error)
        except RuntimeError:
            # The caller's loop is closed: nobody is left to wake.
            pass

    def _settle(self, error: BaseException | None) -> None:
        if self.future.done():
            return
        if error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(error)
