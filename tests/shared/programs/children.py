"""A program that starts Python children every way there is; each makes one LLM call.

``python children.py OUT_DIR``: the root process and each child (subprocess, multiprocessing
spawn / fork / forkserver, os.fork) write OUT_DIR/<kind>.json with what they see of the kernel
configuration, then make one chat call named after their kind. Fork children leave through
``os._exit``, as multiprocessing's fork workers do.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path


def call_and_record(kind: str, out: str) -> None:
    from openai import OpenAI

    import aios

    seen = {
        "kind": kind,
        "pid": os.getpid(),
        "env_url": os.environ.get("AIOS_REDIS_URL"),
        "config_url": aios.load_config().redis_url,
        # Right after a fork the parent's kernel must be gone from this process.
        "kernel_before_call": aios.runtime.current() is not None,
    }
    with aios.agent(kind):
        OpenAI().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": kind}], max_tokens=8
        )
    seen["kernel_url"] = aios.get_kernel().config.redis_url
    Path(out, f"{kind}.json").write_text(json.dumps(seen))


def main() -> None:
    out = sys.argv[1]
    if len(sys.argv) > 2:  # the subprocess child
        call_and_record(sys.argv[2], out)
        return
    call_and_record("root", out)
    subprocess.run([sys.executable, __file__, out, "subprocess"], check=True)
    for method in ("spawn", "fork", "forkserver"):
        proc = multiprocessing.get_context(method).Process(target=call_and_record, args=(method, out))
        proc.start()
        proc.join()
        assert proc.exitcode == 0, (method, proc.exitcode)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            call_and_record("os.fork", out)
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


if __name__ == "__main__":
    main()
