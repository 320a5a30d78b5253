"""The watcher: finishes the run's report when the program cannot (``os._exit``, a kill, a crash).

``aios run`` replaces itself with the program (``exec``), so no parent is left to clean up after
it. Before the ``exec`` it forks a small detached process that holds the read end of a pipe
whose write end only the program's own process keeps open (the bootstrap makes it
non-inheritable, and forked children close it). The pipe reads end-of-file when that process is
gone, however it ended. If the program finished the report itself, the spool is gone and the
watcher just leaves; otherwise it merges the records every process spooled, writes the report
and removes the spool. POSIX only (elsewhere the runner has no ``exec`` and no watcher).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # pathlib and shutil load in the watcher, not in `aios run`
if TYPE_CHECKING:
    from aios.runner.launch import FileName


def start(
    spool: FileName, report: FileName | None, policy: str, shared_server: str | None = None
) -> int | None:
    """Fork the watcher; return the pipe end the program must hold, or ``None`` (no fork here)."""
    if not hasattr(os, "fork"):
        return None
    root = os.getpid()  # the program's pid too: exec keeps it
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
    except OSError:  # no process to spare: the program still runs, as before the watcher
        os.close(read_end)
        os.close(write_end)
        return None
    if child == 0:
        try:
            os.close(write_end)
            os.setsid()  # off the terminal: a Ctrl-C for the program is not for us
            if os.fork() == 0:  # the program must not find us among its children (os.wait())
                _watch(read_end, spool, report, policy, root, shared_server)
        finally:
            os._exit(0)
    os.close(read_end)
    os.waitpid(child, 0)
    os.set_inheritable(write_end, True)  # through the exec, into the program
    return write_end


def _watch(
    read_end: int,
    spool: FileName,
    report: FileName | None,
    policy: str,
    root: int,
    shared_server: str | None = None,
) -> None:
    try:  # the functions ``signal`` wraps: its enums (``enum``) would cost the program CPU time
        from _signal import SIG_IGN, SIGINT
        from _signal import signal as set_handler
    except ImportError:
        from signal import SIG_IGN, SIGINT
        from signal import signal as set_handler
    set_handler(SIGINT, SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # never keep the program's output pipes open after it ended
    os.closerange(3, read_end)
    os.closerange(read_end + 1, 65536)
    while True:
        try:
            if not os.read(read_end, 4096):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    finish(spool, report, policy=policy, root=root)
    if shared_server:
        # The program died before it could stop `aios run --shared`'s server: remove what is left.
        from aios.runner.redis_server import clean_up_after

        clean_up_after(shared_server)


def finish(spool: FileName, report: FileName | None, *, policy: str, root: int) -> None:
    """Merge what is left in ``spool`` into ``report`` (if given), then remove the spool."""
    if not os.path.isdir(spool):
        return  # the program wrote the report and cleaned up itself
    # Imported here, in the watcher, after the program ended: `aios run` must not pay for them.
    import shutil
    from pathlib import Path

    from aios.runner.report import merge, records_report, write_json
    from aios.runner.spool import spooled_reports

    try:
        parts = spooled_reports(Path(spool), root_pid=root, policy=policy)
        if not any(p.get("processes", [{}])[0].get("pid") == root for p in parts):
            parts.insert(0, records_report([], pid=root, root=True, policy=policy))
        if report is not None and Path(report).parent.is_dir():  # never re-create a removed folder
            write_json(Path(report), merge(parts))
    finally:
        shutil.rmtree(spool, ignore_errors=True)
