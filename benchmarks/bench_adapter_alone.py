"""CPU of the openai SDK adapter and the kernel alone, per gated call: the SDK's own work is
taken out by answering the wrapped ``request`` with a prebuilt result and HTTP response.

``bench_adapter_overhead.py`` times whole SDK calls, where the SDK's own 1-3 ms of CPU and a
loaded machine's noise hide a few tens of µs; this times only what aios adds to one
``chat.completions.create``: reading the request, the syscall (admission, accounting), the
one-attempt options, and reading usage and rate-limit headers from the answer. It calls the
adapter's private wrapper, so it follows the adapter's internals (the same in every tree
since the SDK adapter moved to ``_stainless``). Prints the minimum over rounds, in µs.

    python benchmarks/bench_adapter_alone.py [--calls 2000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import openai
from bench_adapter_overhead import CANNED, MESSAGES  # this folder is first on sys.path
from openai import _base_client
from openai._models import FinalRequestOptions
from openai.types.chat import ChatCompletion

import aios
from aios.adapters import _stainless
from aios.adapters.plugins import plugins

HEADERS = {
    "content-type": "application/json",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-request-id": "req-1",
    "openai-processing-ms": "5",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    http = getattr(_base_client, "httpx2", None) or _base_client.httpx
    result = ChatCompletion.model_validate(CANNED)
    response = http.Response(200, content=json.dumps(CANNED).encode(), headers=HEADERS)
    response.read()
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")

    def answer(cast_to: Any, options: Any, **kw: Any) -> Any:
        attempt = _stainless._attempt.get()
        if attempt is not None:  # what the wrapped ``_process_response`` records
            attempt.response = response
        return result

    aios.boot()
    adapter: Any = plugins().adapters["openai"]

    def one_round(gated: bool) -> float:
        # A fresh options object per call, as the SDK makes one per request (not timed).
        opts = [
            FinalRequestOptions.construct(
                method="post",
                url="/chat/completions",
                json_data={"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 16},
            )
            for _ in range(args.calls)
        ]
        started = time.process_time()
        for o in opts:
            if gated:
                adapter._request(answer, client, (ChatCompletion, o), {})
            else:
                answer(ChatCompletion, o)
        return (time.process_time() - started) / args.calls * 1e6

    one_round(True)
    gated = min(one_round(True) for _ in range(args.rounds))
    plain = min(one_round(False) for _ in range(args.rounds))
    print(f"{gated - plain:.1f}")
    aios.shutdown()


if __name__ == "__main__":
    main()
