"""Ends the way argv[1] says: a number, ``msg:TEXT`` (SystemExit with a message) or ``raise``."""

import sys

how = sys.argv[1]
print("started", flush=True)
if how.startswith("msg:"):
    sys.exit(how[4:])
if how == "raise":

    def inner() -> None:
        raise ValueError("boom from the program")

    inner()
sys.exit(int(how))
