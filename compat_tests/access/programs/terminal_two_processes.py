"""A program and a subprocess it starts call a langchain tool marked ``confirm`` at the same time."""

import os
import subprocess
import sys
import tempfile
import time

from langchain_core.tools import tool

import aios

RAN = []


@tool
def delete_file(path: str) -> str:
    """Delete the file at a path."""
    RAN.append(path)
    return f"deleted {path}"


child = None
if sys.argv[1:2] == ["child"]:
    name = "beta"
    open(sys.argv[2], "w").close()  # ready: both processes ask from here on
else:
    name = "alpha"
    ready = os.path.join(tempfile.mkdtemp(), "ready")
    child = subprocess.Popen([sys.executable, __file__, "child", ready])
    while not os.path.exists(ready):
        time.sleep(0.01)
with aios.agent(name):
    print(f"{name}: {delete_file.invoke({'path': f'/tmp/{name}.txt'})}", flush=True)
if child is not None:
    child.wait()
print(f"ran[{name}]={RAN}", flush=True)
