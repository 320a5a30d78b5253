"""Makes a tool syscall from its own atexit handler: it must still be in the report."""

import atexit

from aios.runtime import kernel


def last_call() -> None:
    print("atexit result", kernel().run_tool("double", lambda x: 2 * x, 21, agent="late"))


atexit.register(last_call)
print("main done")
