"""``invoke_agent {name}`` spans around the runs of framework agents, with their calls inside.

Real langchain, autogen-agentchat and crewai programs talk HTTP to a real sim; the spans come
from the SDK's in-memory exporter. crewai is not installed in every test environment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import aios
from aios.kernel.kernel import Kernel
from aios.sim.process import SimServer

from .conftest import Pipeline
from .test_otel_spans import finished

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as server:
        yield server


@pytest.fixture
def traced(pipeline: Pipeline, sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kernel]:
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    aios.shutdown()
    k = aios.boot(otel=True)
    pipeline.spans.clear()  # type: ignore[attr-defined]
    yield k
    aios.unpatch()
    aios.shutdown()


def spans_of(pipeline: Pipeline) -> tuple[list[Any], dict[int, Any]]:
    spans = finished(pipeline, syscalls_only=False)
    return spans, {s.context.span_id: s for s in spans}


def agent_of(span: Any, by_id: dict[int, Any]) -> Any:
    """The nearest ``invoke_agent`` span above ``span``."""
    parent = by_id.get(span.parent.span_id) if span.parent is not None else None
    while parent is not None and not parent.name.startswith("invoke_agent "):
        parent = by_id.get(parent.parent.span_id) if parent.parent is not None else None
    return parent


def ancestors(span: Any, by_id: dict[int, Any]) -> list[Any]:
    out = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        out.append(span)
    return out


def syscall_spans(spans: list[Any]) -> list[Any]:
    return [s for s in spans if "aios.policy" in s.attributes]


def check_agent_span(span: Any, name: str) -> None:
    assert span.name == f"invoke_agent {name}"
    assert span.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert span.attributes["gen_ai.agent.name"] == name


def test_langchain_named_agents_are_runs(traced: Kernel, pipeline: Pipeline) -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    aios.patch("openai", "langchain")

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    model = ChatOpenAI(model=MODEL)
    researcher = create_agent(model, tools=[add], name="researcher")
    writer = create_agent(model, tools=[], name="writer")
    with aios.agent("support"):
        researcher.invoke({"messages": [{"role": "user", "content": "What is 2 + 3?"}]})
    writer.invoke({"messages": [{"role": "user", "content": "Say hi."}]})
    spans, by_id = spans_of(pipeline)
    runs = [s for s in spans if s.name.startswith("invoke_agent")]
    assert Counter(s.name for s in runs) == {
        "invoke_agent support": 1,
        "invoke_agent researcher": 1,
        "invoke_agent writer": 1,
    }
    [support] = [s for s in runs if s.name == "invoke_agent support"]
    [research] = [s for s in runs if s.name == "invoke_agent researcher"]
    check_agent_span(research, "researcher")
    assert research.parent.span_id == support.context.span_id
    calls = syscall_spans(spans)
    assert Counter(s.name for s in calls) == {f"chat {MODEL}": 3, "execute_tool add": 1}
    for call in calls:
        run = agent_of(call, by_id)
        assert run.name == f"invoke_agent {call.attributes['gen_ai.agent.name']}"
        assert call.context.trace_id == run.context.trace_id


async def test_autogen_team_and_agent_runs(traced: Kernel, pipeline: Pipeline, sim: SimServer) -> None:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    aios.patch("openai", "autogen")

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    client = OpenAIChatCompletionClient(
        model="gpt-4o-mini-2024-07-18", base_url=sim.openai_base_url, api_key="sim"
    )
    try:
        team = RoundRobinGroupChat(
            [
                AssistantAgent("alice", model_client=client),
                AssistantAgent("bob", model_client=client, tools=[add]),
            ],
            termination_condition=MaxMessageTermination(5),
        )
        await team.run(task="talk")
    finally:
        await client.close()
    spans, by_id = spans_of(pipeline)
    [team_run] = [s for s in spans if s.name == "invoke_agent RoundRobinGroupChat"]
    check_agent_span(team_run, "RoundRobinGroupChat")
    turns = [s for s in spans if s.name in ("invoke_agent alice", "invoke_agent bob")]
    assert len(turns) >= 4  # one per turn: the stream of a turn is not a second run
    for turn in turns:
        # autogen traces its own message passing: a turn may sit below the turn whose message
        # started it, and all of them inside the team's run.
        assert team_run in ancestors(turn, by_id)
    calls = syscall_spans(spans)
    assert {s.name for s in calls} >= {"chat gpt-4o-mini-2024-07-18", "execute_tool add"}
    for call in calls:
        assert agent_of(call, by_id).name == f"invoke_agent {call.attributes['gen_ai.agent.name']}"


def test_crewai_crew_and_agent_runs(traced: Kernel, pipeline: Pipeline) -> None:
    pytest.importorskip("crewai")
    from crewai import Agent, Crew, Process, Task
    from crewai.tools import tool

    aios.patch("openai", "crewai")

    @tool("word_count")
    def word_count(text: str) -> str:
        """Count the words in a text."""
        return str(len(text.split()))

    researcher = Agent(
        role="Researcher", goal="Find facts", backstory="Careful.", llm=MODEL, tools=[word_count]
    )
    writer = Agent(role="Writer", goal="Write summaries", backstory="Concise.", llm=MODEL)
    tasks = [
        Task(
            description="Count the words in 'the quick brown fox'",
            expected_output="a number",
            agent=researcher,
        ),
        Task(description="Summarise the research", expected_output="one sentence", agent=writer),
    ]
    Crew(name="newsroom", agents=[researcher, writer], tasks=tasks, process=Process.sequential).kickoff()
    spans, by_id = spans_of(pipeline)
    [crew] = [s for s in spans if s.name == "invoke_agent newsroom"]
    check_agent_span(crew, "newsroom")
    runs = [s for s in spans if s.name in ("invoke_agent Researcher", "invoke_agent Writer")]
    assert sorted(s.name for s in runs) == ["invoke_agent Researcher", "invoke_agent Writer"]
    assert all(agent_of(r, by_id) is crew for r in runs)
    calls = syscall_spans(spans)
    assert Counter(s.name for s in calls)["execute_tool word_count"] == 1
    assert any(s.name.startswith("chat ") for s in calls)
    for call in calls:
        assert agent_of(call, by_id).name == f"invoke_agent {call.attributes['gen_ai.agent.name']}"
