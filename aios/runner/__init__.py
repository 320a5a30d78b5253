"""``aios run``: start an unmodified Python program with every installed adapter patched.

How it works (the ``opentelemetry-instrument`` recipe): the runner validates its options, puts
them in ``AIOS_*`` environment variables, prepends :data:`BOOTSTRAP_DIR` (a directory holding
``sitecustomize.py``) to ``PYTHONPATH`` and replaces itself with ``python SCRIPT ARGS`` (or
``python -m MODULE ARGS``) via ``exec``. Python imports ``sitecustomize`` at start-up, before the
program's first line, in that process and in every Python subprocess it starts; the bootstrap
patches the adapters there (:mod:`aios.runner.child`).

Reports: each Python process has its own kernel. Every process appends each syscall to a
spool directory as it ends (:mod:`aios.runner.spool`) and, at a normal exit, leaves its whole
report there too; the program's own process (the "root") merges the spool into its report when
it exits, writes ``--report PATH`` and removes the spool. Calls still running at that moment
are reported ``cancelled`` as unfinished at exit. Processes that end with ``os._exit`` (e.g.
``multiprocessing`` workers started by fork) or are killed count with the calls they ended. If
the root itself cannot finish (``os._exit``, a kill), a watcher process started before the
``exec`` writes the report and removes the spool (:mod:`aios.runner.watcher`). A subprocess
that outlives the root writes ``PATH.<pid>.json`` beside the report.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not loaded when the program's process finishes its report
if TYPE_CHECKING:
    from pathlib import Path

    #: The directory put first on ``PYTHONPATH``; it holds only ``sitecustomize.py``.
    BOOTSTRAP_DIR: Path


def __getattr__(name: str) -> Path:
    # Made on first use: the root's exit (aios.runner.root_exit) needs no pathlib.
    if name != "BOOTSTRAP_DIR":
        raise AttributeError(f"module 'aios.runner' has no attribute {name!r}")
    from pathlib import Path

    value = Path(__file__).resolve().parent / "bootstrap"
    globals()[name] = value
    return value
