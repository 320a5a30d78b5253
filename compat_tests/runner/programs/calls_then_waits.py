"""Makes N tool syscalls, says ``ready``, then waits to be killed."""

import sys
import time

from aios.runtime import kernel

for i in range(int(sys.argv[1])):
    kernel().run_tool("step", lambda x: x, i, agent="worker")
print("ready", flush=True)
time.sleep(120)
