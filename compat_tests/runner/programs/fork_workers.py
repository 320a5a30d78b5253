"""Tool syscalls in fork-started pool workers and in an os.fork() child; all leave via os._exit."""

import multiprocessing
import os

from aios.runtime import kernel


def task(i: int) -> int:
    return kernel().run_tool("square", lambda x: x * x, i, agent="pool")


if __name__ == "__main__":
    kernel().run_tool("start", lambda: None, agent="parent")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(sum(pool.map(task, range(4))))
    pid = os.fork()
    if pid == 0:
        for i in range(2):
            kernel().run_tool("child", lambda x: x, i, agent="forked")
        os._exit(0)
    os.waitpid(pid, 0)
