"""Imported by Python at start-up in every copy ``aios bench`` runs (see ``aios.bench.probe``).

It takes its own directory off ``sys.path``, runs the ``sitecustomize`` that comes next (aios's
bootstrap in the aios and observe modes, the program's own if any), timing it, then installs the
request counter. Nothing here may stop the program.
"""

import os
import sys
import time
import traceback


def _chain_next() -> float:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    this = sys.modules.pop("sitecustomize", None)
    start = time.perf_counter()
    try:
        import sitecustomize  # noqa: F401 - the next one on the path, now that ours is off it
    except ModuleNotFoundError as exc:
        if exc.name != "sitecustomize":
            traceback.print_exc()
    except Exception:
        traceback.print_exc()
    elapsed = time.perf_counter() - start
    if "sitecustomize" not in sys.modules and this is not None:
        sys.modules["sitecustomize"] = this
    return elapsed


def _start_probe(boot_s: float) -> None:
    try:
        from aios.bench import probe
    except ImportError:
        return
    try:
        probe.install()
        if os.environ.get("AIOS_BOOTSTRAP"):
            probe.record_boot(boot_s)
    except Exception:
        traceback.print_exc()


_start_probe(_chain_next())
