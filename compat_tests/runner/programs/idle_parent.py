"""Uses no framework itself; starts Python subprocesses that may: a driver script.

argv: N — the kernel probe child makes N tool calls (0: a child that never loads aios either).
Prints which of aios, pydantic and rich this process had loaded when its work was done.
"""

import json
import subprocess
import sys
from pathlib import Path

n = int(sys.argv[1])
here = Path(__file__).parent
if n:
    child = [sys.executable, str(here / "kernel_probe.py"), "kid", str(n)]
else:
    child = [sys.executable, "-c", "pass", "--api-key", "sk-not-for-reports"]
subprocess.run(child, check=True, stdout=subprocess.DEVNULL)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"aios", "pydantic", "rich"})))
