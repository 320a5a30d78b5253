"""Prints what a program sees of how it was started."""

import json
import os
import sys

print(
    json.dumps(
        {
            "name": __name__,
            "argv": sys.argv[1:],
            "argv0": os.path.basename(sys.argv[0]),
            "cwd": os.getcwd(),
            "path0": sys.path[0],
            "bootstrap_on_path": any("bootstrap" in p and "runner" in p for p in sys.path),
        },
        sort_keys=True,
    )
)
