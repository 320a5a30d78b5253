"""The environment variables through which ``aios run`` talks to the processes it starts."""

from __future__ import annotations

#: Set to the bootstrap directory in every process started under ``aios run``.
BOOTSTRAP = "AIOS_BOOTSTRAP"
#: Where the merged report goes (absolute path); unset for no report file.
REPORT = "AIOS_REPORT"
#: ``1``: no summary table at exit.
QUIET = "AIOS_QUIET"
#: Comma-separated adapter names to patch; unset: every installed adapter.
FRAMEWORKS = "AIOS_RUN_FRAMEWORKS"
#: ``1`` in the program's own process only; the bootstrap removes it so subprocesses are children.
ROOT = "AIOS_RUN_ROOT"
#: Directory where subprocesses leave their reports for the root to merge.
SPOOL = "AIOS_RUN_SPOOL"
#: The program's end of the watcher's pipe (a descriptor number); see :mod:`aios.runner.watcher`.
WATCH_FD = "AIOS_RUN_WATCH_FD"
#: The id of this run, shared by every process it starts (per-run caps, the audit log).
RUN_ID = "AIOS_RUN_ID"
#: ``PID:DIR`` of the private Redis-compatible server of ``aios run --shared``; the root stops it.
SHARED_SERVER = "AIOS_RUN_SHARED_SERVER"
#: Comma-separated modules whose first import loads aios and patches (the lazy bootstrap).
TRIGGERS = "AIOS_RUN_TRIGGERS"
#: The policy ``aios run`` checked: what the program's own process reports when it made no call.
POLICY = "AIOS_RUN_POLICY"
#: The plugin group's entry points as ``aios run`` found them (see ``aios.adapters.plugins``).
ENTRY_POINTS = "AIOS_RUN_ENTRY_POINTS"
