"""``aios run``: start an unmodified Python program with every installed adapter patched.

How it works (the ``opentelemetry-instrument`` recipe): the runner validates its options, puts
them in ``AIOS_*`` environment variables, prepends :data:`BOOTSTRAP_DIR` (a directory holding
``sitecustomize.py``) to ``PYTHONPATH`` and replaces itself with ``python SCRIPT ARGS`` (or
``python -m MODULE ARGS``) via ``exec``. Python imports ``sitecustomize`` at start-up, before the
program's first line, in that process and in every Python subprocess it starts; the bootstrap
patches the adapters there (:mod:`aios.runner.child`).

Reports: each Python process has its own kernel. A subprocess writes its report into a spool
directory at exit; the program's own process (the "root") merges the spool into its report
when it exits and writes ``--report PATH``. A subprocess that outlives the root writes
``PATH.<pid>.json`` beside the report instead. Processes that end with ``os._exit`` (e.g.
``multiprocessing`` workers started by fork/forkserver) or crash leave no report.
"""

from __future__ import annotations

from pathlib import Path

#: The directory put first on ``PYTHONPATH``; it holds only ``sitecustomize.py``.
BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"
