"""Prints its arguments and its copy index; makes no LLM call."""

import os
import sys

print(os.environ["AIOS_BENCH_COPY"], *sys.argv[1:])
