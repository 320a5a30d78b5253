"""The byte-stream watch of the SDK adapters: however a body is cut into chunks, it reads the
same usage, end and errors, and skips what carries none of them (content deltas, null usages)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aios.adapters._sdk_stream import StreamWatch
from aios.kernel.failures import Usage
from aios.kernel.kernel import Kernel


def _data(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _event(name: str, payload: Any) -> bytes:
    return b"event: " + name.encode() + b"\n" + _data(payload)


_CHUNK = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "usage": None}
#: OpenAI chat with ``include_usage``: null usages, then the usage chunk. A content delta quotes
#: the markers the watch looks for; JSON escapes them, so they must not count.
OPENAI = (
    _data({**_CHUNK, "choices": [{"delta": {"content": 'say "usage": {"prompt_tokens": 99}'}}]})
    + _data({**_CHUNK, "choices": [{"delta": {"content": 'an "error" or [DONE] event: x'}}]})
    + _data({**_CHUNK, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
    + b"data: [DONE]\n\n"
)
ANTHROPIC = (
    _event("message_start", {"type": "message_start", "message": {
        "model": "claude-haiku-4-5", "usage": {"input_tokens": 11, "output_tokens": 1}}})
    + _event("content_block_delta", {"type": "content_block_delta", "delta": {"text": "hi"}})
    + _event("message_delta", {"type": "message_delta", "usage": {"output_tokens": 4}})
    + _event("message_stop", {"type": "message_stop"})
)  # fmt: skip
RESPONSES = (
    _event("response.output_text.delta", {"type": "response.output_text.delta", "delta": "hi"})
    + _event("response.completed", {"type": "response.completed", "response": {
        "model": "gpt-4o-mini", "usage": {"input_tokens": 5, "output_tokens": 2}}})
)  # fmt: skip
ERROR = _data({**_CHUNK, "choices": [{"delta": {"content": "hi"}}]}) + _event(
    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)
BODIES = {
    "openai": (OPENAI, Usage(input_tokens=7, output_tokens=3), "gpt-4o-mini", None),
    "anthropic": (ANTHROPIC, Usage(input_tokens=11, output_tokens=4), "claude-haiku-4-5", None),
    "responses": (RESPONSES, Usage(input_tokens=5, output_tokens=2), "gpt-4o-mini", None),
    "error": (ERROR, None, None, "Overloaded"),
}


@st.composite
def cut(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    """One of the bodies, cut into chunks at arbitrary places (inside lines and markers too)."""
    name = draw(st.sampled_from(sorted(BODIES)))
    body = BODIES[name][0]
    points = sorted(draw(st.sets(st.integers(1, len(body) - 1), max_size=12)))
    edges = [0, *points, len(body)]
    return name, [body[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cut())
def test_any_cut_of_a_body_reads_the_same(kernel: Kernel, case: tuple[str, list[bytes]]) -> None:
    name, chunks = case
    _, usage, model, error = BODIES[name]
    sc = kernel.llm_syscall(api="openai.chat", model="m")
    lease = kernel.acquire(sc)
    watch = StreamWatch(lease, sse=True)
    assert b"".join(watch.feed(c) for c in chunks) == BODIES[name][0]  # passed on unchanged
    # The end marker went past before the bytes ended (a caller may close right after it).
    assert watch.complete is (error is None)
    watch.eof()
    watch.closed()
    assert watch.usage == usage
    if model is not None:
        assert sc.response_model == model
    if error is None:
        assert watch.error_event is None and sc.status == "done"
    else:
        assert error in (watch.error_event or "") and sc.status == "failed"
