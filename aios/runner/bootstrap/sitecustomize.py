"""Imported by Python at start-up in every process started under ``aios run``.

Kept tiny and defensive: it removes its own directory from ``sys.path``, runs the
``sitecustomize`` that would have run without aios (if any), then patches the adapters. Nothing
here may stop the program: an interpreter without aios installed is left alone.
"""

import os
import sys
import traceback


def _chain_previous() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    this = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401 - the program's own, now that ours is off the path
    except ModuleNotFoundError as exc:
        if exc.name != "sitecustomize":
            traceback.print_exc()
    except Exception:
        # The same courtesy site.py gives a failing sitecustomize: report and go on.
        traceback.print_exc()
    if "sitecustomize" not in sys.modules and this is not None:
        sys.modules["sitecustomize"] = this


def _start_aios() -> None:
    try:
        from aios.runner.child import start
    except ImportError:
        return  # another interpreter without aios: run the program untouched
    start()


_chain_previous()
_start_aios()
