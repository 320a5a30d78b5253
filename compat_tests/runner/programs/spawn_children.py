"""Runs two tool calls itself, then two Python subprocesses that make their own."""

import os
import subprocess
import sys

from aios.runtime import kernel

here = os.path.dirname(os.path.abspath(__file__))
probe = os.path.join(here, "kernel_probe.py")
for i in range(2):
    kernel().run_tool("add", lambda a, b: a + b, i, 1, agent="parent")
for name, n in (("kid-a", 1), ("kid-b", 3)):
    out = subprocess.run([sys.executable, probe, name, str(n)], check=True, capture_output=True, text=True)
    print(out.stdout.strip())
gone = subprocess.run([sys.executable, probe, "kid-gone", "2", "exit"], capture_output=True, text=True)
print("os._exit child:", gone.returncode)
