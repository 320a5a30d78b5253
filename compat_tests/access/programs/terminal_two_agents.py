"""Two agents in two threads call a langchain tool marked ``confirm`` at the same moment."""

import threading

from langchain_core.tools import tool

import aios

RAN = []
barrier = threading.Barrier(2)


@tool
def delete_file(path: str) -> str:
    """Delete the file at a path."""
    RAN.append(path)
    return f"deleted {path}"


def agent(name: str, path: str) -> None:
    with aios.agent(name):
        barrier.wait()
        print(f"{name}: {delete_file.invoke({'path': path})}", flush=True)


threads = [
    threading.Thread(target=agent, args=("alpha", "/tmp/alpha.txt")),
    threading.Thread(target=agent, args=("beta", "/tmp/beta.txt")),
]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"ran={sorted(RAN)}", flush=True)
