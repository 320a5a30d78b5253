"""The exit of the program's own process when it never loaded aios (it used no framework).

The root merges the run's reports, writes ``--report`` and prints the summary. When nothing in
the run made a call and no report file is wanted, that is: remove the spool and, unless
``--quiet``, say so in one line; done here with the standard library, so a program that uses
no framework never pays for the kernel, pydantic or rich. Anything more (a report to write, a
process that made calls) goes through the same code as a root that loaded aios.
"""

from __future__ import annotations

import os
import sys

from aios.runner import env
from aios.runner.interrupt import keeping_interrupt


def finish_idle_root() -> None:
    """The root's exit work, for a root without a kernel. Never raises."""
    with keeping_interrupt():
        try:
            if not _finish_light():
                from aios.runner.child import KernelTracker, ProcessState

                ProcessState(KernelTracker(), root=True).finish()
        except Exception as exc:  # the program's exit code matters more than our report
            print(f"aios run: could not write the report: {exc!r}", file=sys.stderr)


def _finish_light() -> bool:
    """Finish without aios' report modules if nothing needs them; whether it did."""
    if os.environ.get(env.REPORT):
        return False
    quiet = os.environ.get(env.QUIET) == "1"
    line = f"aios run: no LLM or tool calls (policy {os.environ.get(env.POLICY)})"
    if not quiet and not (env.POLICY in os.environ and _plain(line)):
        return False  # rich prints it (markup, wrapping)
    spool = os.environ.get(env.SPOOL)
    if spool and os.path.isdir(spool):
        if not quiet and _calls_in(spool):
            return False  # the summary table
        _remove(spool)
    if not quiet:
        print(line, file=sys.stderr)
    return True


def _plain(line: str) -> bool:
    """Whether rich would print ``line`` as is: no markup, and no wrapping at its width."""
    if "[" in line:
        return False
    try:
        width = os.get_terminal_size(sys.stderr.fileno()).columns if sys.stderr.isatty() else 80
    except (OSError, ValueError, AttributeError):
        return False
    return len(line) < width


def _calls_in(spool: str) -> bool:
    """Whether any process of the run ended a call (its records or its exit report show one)."""
    for name in os.listdir(spool):
        path = os.path.join(spool, name)
        try:
            if name.endswith(".jsonl") and os.path.getsize(path) > 0:
                return True
            if name.endswith(".json") and not name.startswith("."):
                import json  # only for a report to read: most runs have none

                with open(path, encoding="utf-8") as f:
                    if json.load(f).get("agents"):
                        return True
        except (OSError, ValueError, AttributeError):
            return True  # unreadable: let the full merge decide
    return False


def _remove(spool: str) -> None:
    # A flat directory of report files; shutil (with its compression modules) only if not.
    try:
        for name in os.listdir(spool):
            os.unlink(os.path.join(spool, name))
        os.rmdir(spool)
    except OSError:
        import shutil

        shutil.rmtree(spool, ignore_errors=True)
