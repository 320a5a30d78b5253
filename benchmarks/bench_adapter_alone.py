"""CPU of the SDK adapters and the kernel alone, per gated call: the SDK's own work is taken out
by answering the wrapped ``request`` with a prebuilt result and HTTP response.

``bench_adapter_overhead.py`` times whole SDK calls, where the SDK's own 1-3 ms of CPU and a
loaded machine's noise hide a few tens of µs; this times only what aios adds to one call:
reading the request, the syscall (admission, accounting), the one-attempt options, and reading
usage and rate-limit headers from the answer (for a stream: watching its bytes to the end). It
calls the adapter's private wrappers, so it follows the adapter's internals. The plain side
does what the SDK's ``request`` does before its first attempt and that aios does in its stead
when it gates the call: make the idempotency key. Prints the minimum over rounds, in µs.

    python benchmarks/bench_adapter_alone.py [--case openai-sync] [--calls 2000] [--rounds 9]
    python benchmarks/bench_adapter_alone.py --compare BEFORE_TREE AFTER_TREE [--pairs 3]

``--compare`` runs every case in fresh processes with each source tree first on ``PYTHONPATH``,
alternating the trees ``--pairs`` times, and prints the median of each tree and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("OTEL_SDK_DISABLED", "true")

from bench_adapter_overhead import CANNED, MESSAGES  # this folder is first on sys.path
from tree_compare import compare_trees

# A limit far above what the rounds send: no call waits for the bucket (a wait's timer wake-ups
# would be counted as CPU), yet the kernel learns and charges it as it would any limit.
OPENAI_HEADERS = {
    "content-type": "application/json",
    "x-ratelimit-limit-requests": "100000000",
    "x-ratelimit-remaining-requests": "99999999",
    "x-request-id": "req-1",
    "openai-processing-ms": "5",
}
ANTHROPIC_HEADERS = {
    "content-type": "application/json",
    "anthropic-ratelimit-requests-limit": "100000000",
    "anthropic-ratelimit-requests-remaining": "99999999",
    "request-id": "req-1",
}
ANTHROPIC_CANNED = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "Short."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 2},
}
SSE = b"".join(
    b"data: " + json.dumps(chunk).encode() + b"\n\n"
    for chunk in (
        {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Short."}}]},
        {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
         "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}},
    )
) + b"data: [DONE]\n\n"
#: A longer answer as OpenAI streams it with ``include_usage``: 40 content chunks, each read from
#: the socket on its own and carrying ``"usage":null``, then the usage chunk and ``[DONE]``.
_HEAD = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini", "usage": None}
SSE_40 = [
    b"data: " + json.dumps({**_HEAD, "choices": [{"index": 0, "delta": {"content": f" word{i}"}}]},
                           separators=(",", ":")).encode() + b"\n\n"
    for i in range(40)
] + [
    b"data: " + json.dumps({**_HEAD, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 40,
                            "total_tokens": 45}}, separators=(",", ":")).encode() + b"\n\n",
    b"data: [DONE]\n\n",
]
CASES = ("openai-sync", "openai-async", "openai-stream", "openai-stream-40", "anthropic-sync")


def measure(case: str, calls: int, rounds: int) -> float:
    """µs of CPU aios adds per call of ``case`` (min over rounds of gated minus plain)."""
    import aios
    from aios.adapters import _stainless
    from aios.adapters.plugins import plugins

    vendor = case.split("-", 1)[0]
    sdk: Any = __import__(vendor)
    http = getattr(sdk._base_client, "httpx2", None) or sdk._base_client.httpx
    body: dict[str, Any]
    canned: dict[str, Any]
    if vendor == "openai":
        cast_to: Any = sdk.types.chat.ChatCompletion
        url, canned, headers = "/chat/completions", CANNED, OPENAI_HEADERS
        body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 16}
        client = sdk.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
        if case == "openai-async":
            client = sdk.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    else:
        cast_to = sdk.types.Message
        url, canned, headers = "/v1/messages", ANTHROPIC_CANNED, ANTHROPIC_HEADERS
        body = {"model": "claude-haiku-4-5", "messages": MESSAGES, "max_tokens": 16}
        client = sdk.Anthropic(base_url="http://127.0.0.1:9", api_key="k")
    stream = case.startswith("openai-stream")
    chunks = SSE_40 if case == "openai-stream-40" else [SSE]
    if stream:
        body = {**body, "stream": True}
    result = cast_to.model_validate(canned)
    response = http.Response(200, content=json.dumps(canned).encode(), headers=headers)
    response.read()
    sse_headers = {**headers, "content-type": "text/event-stream"}

    class Body(http.SyncByteStream):  # type: ignore[misc,name-defined]
        def __iter__(self) -> Iterator[bytes]:
            yield from chunks

    def before_first_attempt(options: Any) -> None:
        if options.idempotency_key is None:  # the SDK's ``request`` makes it, unless aios did
            options.idempotency_key = client._idempotency_key()

    def answer(_cast_to: Any, options: Any, **kw: Any) -> Any:
        before_first_attempt(options)
        answered = response
        if stream:  # an open body the caller reads to its end and closes, as ``Stream`` does
            answered = http.Response(200, stream=Body(), headers=sse_headers)
        attempt = _stainless._attempt.get()
        if attempt is not None:  # what the wrapped ``_process_response`` records
            attempt.response = answered
        if stream:
            return answered
        return result

    async def aanswer(_cast_to: Any, options: Any, **kw: Any) -> Any:
        return answer(_cast_to, options, **kw)

    def consume(got: Any) -> None:
        if stream:
            for _ in got.iter_bytes():
                pass
            got.close()

    aios.boot()
    adapter: Any = plugins().adapters[vendor]
    from_sdk = sdk._models.FinalRequestOptions

    def one_round(gated: bool) -> float:
        # A fresh options object per call, as the SDK makes one per request (not timed).
        opts = [from_sdk.construct(method="post", url=url, json_data=body) for _ in range(calls)]
        if case == "openai-async":

            async def run() -> float:
                started = time.process_time()
                for o in opts:
                    if gated:
                        await adapter._arequest(aanswer, client, (cast_to, o), {})
                    else:
                        await aanswer(cast_to, o)
                return time.process_time() - started

            spent = asyncio.run(run())
        else:
            started = time.process_time()
            for o in opts:
                if gated:
                    consume(adapter._request(answer, client, (cast_to, o), {}))
                else:
                    consume(answer(cast_to, o))
            spent = time.process_time() - started
        return spent / calls * 1e6

    one_round(True)
    one_round(False)
    gated = min(one_round(True) for _ in range(rounds))
    plain = min(one_round(False) for _ in range(rounds))
    aios.shutdown()
    return gated - plain


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--case", choices=CASES, default="openai-sync")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    if args.compare:
        import openai

        common = ["--calls", str(args.calls), "--rounds", str(args.rounds)]
        compare_trees(
            __file__, {case: ["--case", case, *common] for case in CASES}, *args.compare,
            pairs=args.pairs, title=f"python {sys.version.split()[0]}, openai {openai.__version__}",
            header="case",
        )
        return
    run: Callable[[str, int, int], float] = measure
    print(f"{run(args.case, args.calls, args.rounds):.1f}")


if __name__ == "__main__":
    main()
