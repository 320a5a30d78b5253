"""SimProvider in process (no HTTP): policy, modes, routing and determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aios.sim import SimConfig, SimProvider, SimResult

H = {"authorization": "Bearer k"}


async def call(sim: SimProvider, path: str, body: Any, method: str = "POST") -> SimResult:
    return await sim.handle(method, path, body, H)


def chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **extra}


def tool(name: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "parameters": {"type": "object", "properties": props or {}}},
    }


async def test_handle_accepts_bytes_and_dicts() -> None:
    sim = SimProvider()
    as_dict = await call(sim, "/v1/chat/completions", chat("hi"))
    as_bytes = await call(sim, "/v1/chat/completions", json.dumps(chat("hi")).encode())
    assert as_dict.status == as_bytes.status == 200
    assert as_dict.json is not None and as_bytes.json is not None
    assert (
        as_dict.json["choices"][0]["message"]["content"] == as_bytes.json["choices"][0]["message"]["content"]
    )
    assert as_dict.headers["content-type"] == "application/json"


async def test_same_seed_same_replies_and_ids_other_seed_differs() -> None:
    def run(seed: int) -> Any:
        return SimProvider(SimConfig(seed=seed))

    a, b, c = run(1), run(1), run(2)
    ra = await call(a, "/v1/chat/completions", chat("Tell me about Lisbon"))
    rb = await call(b, "/v1/chat/completions", chat("Tell me about Lisbon"))
    rc = await call(c, "/v1/chat/completions", chat("Tell me about Lisbon"))
    assert ra.json == rb.json | {"created": ra.json["created"]}  # type: ignore[operator,index]
    assert (
        ra.json["choices"][0]["message"]["content"]  # type: ignore[index]
        != rc.json["choices"][0]["message"]["content"]
    )  # type: ignore[index]


async def test_unknown_path_and_wrong_method() -> None:
    sim = SimProvider()
    missing = await call(sim, "/v1/nope", {})
    assert missing.status == 404 and "error" in (missing.json or {})
    wrong = await sim.handle("GET", "/v1/chat/completions", None, {})
    assert wrong.status == 405
    anth = await sim.handle("GET", "/v1/nope", None, {"anthropic-version": "2023-06-01"})
    assert anth.json is not None and anth.json["type"] == "error"
    assert sim.stats()["by_status"] == {"404": 2, "405": 1}


async def test_bad_json_is_400_never_500() -> None:
    sim = SimProvider()
    for body in (b"{", b"[]", b"null", b"\xff\xfe"):
        result = await call(sim, "/v1/chat/completions", body)
        assert result.status == 400, body
    result = await call(sim, "/v1/messages", b"{")
    assert result.json is not None and result.json["error"]["type"] == "invalid_request_error"


async def test_tool_rounds_are_bounded_and_tools_not_repeated() -> None:
    sim = SimProvider(SimConfig(max_tool_rounds=2))
    tools = [tool("a"), tool("b"), tool("c")]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    rounds = 0
    for _ in range(6):
        result = await call(
            sim,
            "/v1/chat/completions",
            {"model": "m", "messages": messages, "tools": tools, "parallel_tool_calls": False},
        )
        message = result.json["choices"][0]["message"]  # type: ignore[index]
        if not message.get("tool_calls"):
            break
        rounds += 1
        messages.append(message)
        for tc in message["tool_calls"]:
            messages.append({"role": "tool", "tool_call_id": tc["id"], "content": "done"})
    assert rounds == 2
    names = [tc["function"]["name"] for m in messages for tc in m.get("tool_calls", [])]
    assert names == ["a", "b"]


async def test_handoff_taken_once() -> None:
    sim = SimProvider()
    tools = [tool("lookup"), tool("transfer_to_billing")]
    first = await call(sim, "/v1/chat/completions", {**chat("refund please"), "tools": tools})
    calls = first.json["choices"][0]["message"]["tool_calls"]  # type: ignore[index]
    assert [c["function"]["name"] for c in calls] == ["transfer_to_billing"]
    history = [
        {"role": "user", "content": "refund please"},
        first.json["choices"][0]["message"],  # type: ignore[index]
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "transferred"},
    ]
    second = await call(
        sim,
        "/v1/chat/completions",
        {"model": "m", "messages": history, "tools": [tool("refund"), tool("transfer_to_triage")]},
    )
    names = [c["function"]["name"] for c in second.json["choices"][0]["message"]["tool_calls"]]  # type: ignore[index]
    assert names == ["refund"]


async def test_react_prompt_gets_react_answers() -> None:
    system = (
        "You ONLY have access to the following tools:\n\n"
        'Tool Name: multiply\nTool Arguments: {\n  "properties": {"a": {"type": "integer"},'
        ' "b": {"type": "integer"}},\n  "type": "object"\n}\nTool Description: multiply\n\n'
        "Use the following format:\nThought: you should always think\nAction: the action to take, "
        "only one name of [multiply]\nAction Input: the input\nObservation: the result of the "
        "action\n\nThought: I now know the final answer\nFinal Answer: the final answer"
    )
    sim = SimProvider()
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": "What is 6 times 7?"},
    ]
    first = await call(
        sim, "/v1/chat/completions", {"model": "m", "messages": messages, "stop": ["\nObservation:"]}
    )
    text = first.json["choices"][0]["message"]["content"]  # type: ignore[index]
    assert "Action: multiply" in text
    assert json.loads(text.split("Action Input:")[1]) == {"a": 6, "b": 7}
    messages.append({"role": "assistant", "content": text + "\nObservation: 42"})
    second = await call(sim, "/v1/chat/completions", {"model": "m", "messages": messages})
    final = second.json["choices"][0]["message"]["content"]  # type: ignore[index]
    assert "Final Answer:" in final and "42" in final and "Action:" not in final


async def test_echo_mode() -> None:
    sim = SimProvider(SimConfig(mode="echo"))
    result = await call(sim, "/v1/chat/completions", chat("repeat after me"))
    assert result.json["choices"][0]["message"]["content"] == "repeat after me"  # type: ignore[index]
    anth = await call(
        sim,
        "/v1/messages",
        {"model": "c", "max_tokens": 50, "messages": [{"role": "user", "content": "ping"}]},
    )
    assert anth.json["content"][0]["text"] == "ping"  # type: ignore[index]


async def test_scripted_mode(script_file: Path) -> None:
    sim = SimProvider(SimConfig(mode="scripted", script=script_file))
    keyed = await call(sim, "/v1/chat/completions", chat("say the magic word"))
    assert keyed.json["choices"][0]["message"]["content"] == "keyed reply"  # type: ignore[index]
    first = await call(sim, "/v1/chat/completions", chat("one"))
    assert first.json["choices"][0]["message"]["content"] == "first scripted"  # type: ignore[index]
    second = await call(sim, "/v1/responses", {"model": "m", "input": "two"})
    call_item = second.json["output"][0]  # type: ignore[index]
    assert call_item["type"] == "function_call" and json.loads(call_item["arguments"]) == {"a": 1, "b": 2}
    third = await call(
        sim, "/v1/messages", {"model": "c", "max_tokens": 9, "messages": [{"role": "user", "content": "3"}]}
    )
    assert third.status == 503
    exhausted = await call(sim, "/v1/chat/completions", chat("four"))
    assert exhausted.status == 500 and "exhausted" in exhausted.json["error"]["message"]  # type: ignore[index]
    sim.reset()
    again = await call(sim, "/v1/chat/completions", chat("one"))
    assert again.json["choices"][0]["message"]["content"] == "first scripted"  # type: ignore[index]


def test_scripted_mode_needs_a_valid_script(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="script"):
        SimConfig(mode="scripted")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        SimProvider(SimConfig(mode="scripted", script=bad))


async def test_stream_result_is_sse_bytes() -> None:
    sim = SimProvider()
    result = await call(sim, "/v1/chat/completions", chat("hello", stream=True))
    assert result.status == 200 and result.stream is not None
    assert sim.stats()["in_flight"] == 1  # held until the stream is consumed
    data = b"".join([chunk async for chunk in result.stream])
    assert data.startswith(b"data: {") and data.endswith(b"data: [DONE]\n\n")
    assert sim.stats()["in_flight"] == 0


async def test_stats_and_reset() -> None:
    sim = SimProvider()
    await call(sim, "/v1/chat/completions", chat("x"))
    await call(
        sim, "/v1/messages", {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "y"}]}
    )
    stats = sim.stats()
    assert stats["requests"] == 2 and stats["by_status"] == {"200": 2}
    assert stats["by_endpoint"] == {"POST /v1/chat/completions": 1, "POST /v1/messages": 1}
    assert stats["input_tokens"] > 0 and stats["output_tokens"] > 0
    sim.reset()
    stats = sim.stats()
    assert stats["requests"] == 0 and stats["by_status"] == {} and stats["output_tokens"] == 0


async def test_configure_changes_limits_at_run_time() -> None:
    sim = SimProvider()
    sim.configure({"rpm": 1})
    assert (await call(sim, "/v1/chat/completions", chat("a"))).status == 200
    assert (await call(sim, "/v1/chat/completions", chat("b"))).status == 429
    with pytest.raises(ValueError, match="fault"):
        sim.configure({"faults": "nonsense=1"})
