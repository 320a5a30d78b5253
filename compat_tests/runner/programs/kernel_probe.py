"""A process that makes tool syscalls itself (a stand-in for a framework) and says what it saw.

argv: AGENT N [exit]  — runs N tool syscalls as AGENT; with ``exit`` it ends with os._exit(4).
"""

import json
import os
import sys

from aios.adapters import plugins
from aios.runtime import kernel

agent, n = sys.argv[1], int(sys.argv[2])
total = sum(kernel().run_tool("add", lambda a, b: a + b, i, 1, agent=agent) for i in range(n))
print(
    json.dumps(
        {
            "agent": agent,
            "total": total,
            "bootstrapped": "aios.runner.child" in sys.modules,
            "requested": sorted(name for name, a in plugins().adapters.items() if a.requested),
            "installed": sorted(name for name, a in plugins().adapters.items() if a.is_installed()),
        },
        sort_keys=True,
    ),
    flush=True,
)
if sys.argv[3:] == ["exit"]:
    os._exit(4)
