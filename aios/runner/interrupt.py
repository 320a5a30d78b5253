"""Exit work that leaves a Ctrl-C'd program's exit status as it was.

A Python program ended by an unhandled ``KeyboardInterrupt`` exits by SIGINT (status 130 in a
shell), which CPython decides after the ``atexit`` handlers ran, from a flag it set when the
exception escaped. Running the source of a string (``exec``/``eval`` of text: what
``dataclasses`` and ``namedtuple`` do, so many imports) resets that flag, and the program would
exit 1 instead. The same mechanism sets the flag again when such code ends by
``KeyboardInterrupt``; :func:`keeping_interrupt` uses it after aios' exit work, only when the
program really was ended by one (``sys.last_value``, set when its traceback was printed).
"""

from __future__ import annotations

import sys


def ended_by_interrupt() -> bool:
    """Whether the program's main code ended with an unhandled ``KeyboardInterrupt``."""
    return isinstance(getattr(sys, "last_value", None), KeyboardInterrupt)


class _Keeping:
    # A plain class rather than contextlib's decorator: this runs at exit, where every import
    # counts (aios.runner.root_exit).
    def __enter__(self) -> None:
        self.interrupted = ended_by_interrupt()

    def __exit__(self, *exc: object) -> None:
        if self.interrupted:
            try:
                exec("raise KeyboardInterrupt")  # sets CPython's flag, see above
            except KeyboardInterrupt:
                pass


def keeping_interrupt() -> _Keeping:
    """Run exit work; if the program was ended by Ctrl-C, it still exits by SIGINT after it."""
    return _Keeping()
