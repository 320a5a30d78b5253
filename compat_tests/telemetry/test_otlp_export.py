"""``aios run --otel``: real programs against a real sim export GenAI spans to a real OTLP receiver."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from aios.sim.process import SimServer
from compat_tests.harness import Run, run_program, syscalls
from compat_tests.telemetry.otlp import OtlpReceiver, ReceivedSpan

HERE = Path(__file__).parent
LANGCHAIN = str(HERE / "programs" / "langchain_traced.py")
TRIAGE = str(HERE.parent / "openai_agents" / "programs" / "triage_handoff.py")
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.prompt", "gen_ai.completion")


def run_traced(sim: SimServer, rx: OtlpReceiver, program: str) -> Run:
    run = run_program(sim, [program], aios=True, aios_args=["--otel"], env=rx.env()).check()
    return run


def syscall_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.name.startswith(("chat ", "execute_tool "))]


def wait_for(rx: OtlpReceiver, n: int, timeout: float = 10.0) -> list[ReceivedSpan]:
    """The spans received, once at least ``n`` syscall spans arrived (exports are batched)."""
    deadline = time.monotonic() + timeout
    while len(syscall_spans(rx.received.spans)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(rx.received.spans)


def assert_no_content(spans: list[ReceivedSpan], secrets: tuple[str, ...]) -> None:
    for s in spans:
        assert not any(k in s.attributes for k in CONTENT_KEYS), s
        text = repr(s.attributes)
        assert not any(secret in text for secret in secrets), s


def test_langchain_program_with_its_own_provider(sim: SimServer) -> None:
    with OtlpReceiver() as rx:
        run = run_traced(sim, rx, LANGCHAIN)
        records = syscalls(run.report)
        spans = wait_for(rx, len(records))
    assert run.stdout.splitlines()[0].startswith("researcher 5")
    # One span per syscall: 2 LLM calls and the tools of each agent.
    assert len(records) == 7
    mine = syscall_spans(spans)
    assert Counter(s.name for s in mine) == {
        "chat gpt-4o-mini": 4,
        "execute_tool add": 1,
        "execute_tool multiply": 1,
        "execute_tool word_count": 1,
    }
    # The program's own provider was used: its resource, and nothing exported twice.
    assert {s.resource.get("service.name") for s in spans} == {"langchain-app"}
    assert len({s.span_id for s in spans}) == len(spans)
    by_id = {s.span_id: s for s in spans}
    for s in mine:
        # The named agent's run (create_agent(name=...)), inside the program's aios.agent scope.
        run = by_id[s.parent_span_id]
        assert run.name == f"invoke_agent {s.attributes['gen_ai.agent.name']}"
        assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
        agent_span = by_id[run.parent_span_id]
        assert agent_span.name == "invoke_agent support"
        assert agent_span.attributes["gen_ai.agent.name"] == "support"
        request = by_id[agent_span.parent_span_id]
        assert request.name == f"request {s.attributes['gen_ai.agent.name']}"
        assert s.trace_id == request.trace_id
    chats = [s for s in mine if s.name.startswith("chat")]
    for c in chats:
        a = c.attributes
        assert c.kind == "SPAN_KIND_CLIENT"
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.provider.name"] == "openai"
        assert a["gen_ai.request.model"] == "gpt-4o-mini"
        assert a["gen_ai.request.stream"] is False
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
        assert a["aios.group"] == "support"
        assert a["aios.framework"] == "langchain"
        assert a["aios.status"] == "done" and a["aios.attempts"] == 1
        assert a["aios.core"].startswith("openai@")
    assert sum(c.attributes["gen_ai.usage.output_tokens"] for c in chats) == sum(
        r["output_tokens"] for r in records if r["kind"] == "llm"
    )
    tools = [s for s in mine if s.name.startswith("execute_tool")]
    for t in tools:
        assert t.kind == "SPAN_KIND_INTERNAL"
        assert t.attributes["gen_ai.operation.name"] == "execute_tool"
        assert t.attributes["gen_ai.tool.name"] == t.name.split(" ", 1)[1]
        assert t.attributes["gen_ai.tool.call.id"]  # the id the model gave the call
    assert {t.attributes["gen_ai.agent.name"] for t in tools} == {"researcher", "writer"}
    assert_no_content(spans, ("What is (2 + 3) * 4?", "Count the words"))


def test_openai_agents_handoffs_export_through_aios_own_provider(sim: SimServer) -> None:
    with OtlpReceiver() as rx:
        run = run_traced(sim, rx, TRIAGE)
        records = syscalls(run.report)
        spans = wait_for(rx, len(records))
        deadline = time.monotonic() + 10
        while "gen_ai.client.token.usage" not in rx.received.metrics and time.monotonic() < deadline:
            time.sleep(0.05)
        received_metrics = dict(rx.received.metrics)
    mine = syscall_spans(spans)
    assert len(records) == 24  # 6 requests: triage, then the specialist's tool call and answer
    assert len(mine) == len(records)
    assert {s.resource.get("service.name") for s in spans} == {"triage_handoff"}
    chats = [s for s in mine if s.name.startswith("chat")]
    by_agent = Counter(s.attributes["gen_ai.agent.name"] for s in chats)
    assert by_agent == {"triage": 6, "billing": 6, "shipping": 6}
    by_id = {s.span_id: s for s in spans}
    # Each turn is an invoke_agent span of its agent; the turn's calls are its children.
    for s in mine:
        parent = by_id[s.parent_span_id]
        assert parent.name == f"invoke_agent {s.attributes['gen_ai.agent.name']}"
        assert parent.parent_span_id == ""
    tools = [s for s in mine if s.name.startswith("execute_tool")]
    assert Counter(s.name for s in tools) == {
        "execute_tool lookup_invoice": 3,
        "execute_tool track_parcel": 3,
    }
    assert all(t.attributes["gen_ai.tool.call.id"] for t in tools)
    for c in chats:
        assert c.attributes["gen_ai.provider.name"] == "openai"
        assert c.attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert c.attributes["gen_ai.response.model"] == "gpt-4o-mini"  # as the sim answered
        assert c.attributes["aios.framework"]  # the SDK adapter made the syscall
    assert_no_content(spans, ("Was invoice INV-1001 paid?", "Where is parcel PX-77?"))
    # The metrics arrive too: tokens by type match the report's totals.
    usage = received_metrics["gen_ai.client.token.usage"]
    by_type: Counter[str] = Counter()
    for attrs, point in usage:
        by_type[attrs["gen_ai.token.type"]] = max(by_type[attrs["gen_ai.token.type"]], int(point.sum))
    assert by_type["output"] == sum(r["output_tokens"] for r in records if r["kind"] == "llm")
    assert "gen_ai.client.operation.duration" in received_metrics
    assert "aios.queue.wait" in received_metrics


@pytest.mark.parametrize("value", ["bogus"])
def test_unknown_exporter_is_one_clear_error(sim: SimServer, value: str) -> None:
    run = run_program(
        sim,
        [TRIAGE],
        aios=True,
        aios_args=["--otel"],
        env={"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": value},
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"aios run: error: OTEL_TRACES_EXPORTER='{value}' is not an exporter aios can build; "
        "use otlp, console or none"
    )
    assert run.sim_stats["requests"] == 0


def test_content_is_exported_when_asked_for(sim: SimServer) -> None:
    with OtlpReceiver() as rx:
        env = {**rx.env(), "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
        run = run_program(sim, [TRIAGE], aios=True, aios_args=["--otel"], env=env).check()
        spans = wait_for(rx, len(syscalls(run.report)))
    mine = syscall_spans(spans)
    chats = [s for s in mine if s.name.startswith("chat")]
    tools = [s for s in mine if s.name.startswith("execute_tool")]
    questions = " ".join(s.attributes.get("gen_ai.input.messages", "") for s in chats)
    assert "Was invoice INV-1001 paid?" in questions and "Where is parcel PX-77?" in questions
    assert all(s.attributes.get("gen_ai.output.messages") for s in chats)
    assert all(s.attributes.get("gen_ai.tool.call.arguments") for s in tools)
    assert all("gen_ai.tool.call.result" in s.attributes for s in tools)
    assert not any("sim-key" in repr(s.attributes) for s in spans)
