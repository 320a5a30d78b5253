"""Run as ``python -m pkg.main WORDS``: uses a relative import."""

import sys

from .helpers import shout

print(__name__, __package__, shout(" ".join(sys.argv[1:])))
