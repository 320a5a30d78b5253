"""The crewai adapter: agents' roles as identity, crews as groups, tools as tool syscalls.

Real crews run in-process against a sim; nothing of crewai is mocked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("crewai")

import aios
from aios.adapters.plugins import plugins
from aios.sim.process import SimServer


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as server:
        yield server


@pytest.fixture
def crewai_env(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    sim.reset()
    return sim


@pytest.fixture
def kernel(crewai_env: SimServer) -> Iterator[aios.Kernel]:  # type: ignore[name-defined]
    aios.shutdown()
    k = aios.boot()
    aios.patch("crewai")
    try:
        yield k
    finally:
        aios.unpatch("crewai")
        aios.shutdown()


def _word_count_tool() -> Any:
    from crewai.tools import tool

    @tool("word_count")
    def word_count(text: str) -> str:
        """Count the words in a text."""
        return str(len(text.split()))

    return word_count


def _two_agent_crew(name: str = "newsroom", *, text_only: bool = False) -> Any:
    from crewai import Agent, Crew, Process, Task

    llm: Any = "gpt-4o-mini"
    if text_only:
        llm = _text_only_llm()
    researcher = Agent(
        role="Researcher", goal="Find facts", backstory="Careful.", llm=llm, tools=[_word_count_tool()]
    )
    writer = Agent(role="Writer", goal="Write summaries", backstory="Concise.", llm=llm)
    tasks = [
        Task(description="Count the words in 'the quick brown fox'", expected_output="a number",
             agent=researcher),
        Task(description="Summarise the research", expected_output="one sentence", agent=writer),
    ]
    return Crew(name=name, agents=[researcher, writer], tasks=tasks, process=Process.sequential)


def _text_only_llm() -> Any:
    from crewai.llms.providers.openai.completion import OpenAICompletion

    class TextOnly(OpenAICompletion):
        """An OpenAI model driven through crewai's ReAct text path (no native function calling)."""

        def supports_function_calling(self) -> bool:
            return False

    return TextOnly(model="gpt-4o-mini")


def _records(k: Any, kind: str) -> list[dict[str, Any]]:
    return [r for r in k.report()["syscalls"] if r["kind"] == kind]


def _check_two_agent_attribution(k: Any, sim: SimServer, group: str) -> None:
    llm = _records(k, "llm")
    tools = _records(k, "tool")
    assert {r["agent"] for r in llm} == {"Researcher", "Writer"}
    assert {r["group"] for r in llm + tools} == {group}
    assert {r["framework"] for r in llm + tools} == {"crewai"}
    assert [(r["agent"], r["tool"]) for r in tools] == [("Researcher", "word_count")]
    assert all(r["status"] == "done" for r in llm + tools)
    # One logical LLM call is exactly one syscall: the sim saw as many requests as were scheduled.
    assert len(llm) == sim.stats()["requests"]
    assert k.report()["groups"][group] == ["Researcher", "Writer"]


def test_sequential_crew_native_tools_attributed_to_roles(kernel: Any, crewai_env: SimServer) -> None:
    out = _two_agent_crew().kickoff()
    assert [t.agent for t in out.tasks_output] == ["Researcher", "Writer"]
    _check_two_agent_attribution(kernel, crewai_env, "newsroom")


def test_react_text_path_runs_tool_once_as_syscall(kernel: Any, crewai_env: SimServer) -> None:
    out = _two_agent_crew("react-room", text_only=True).kickoff()
    assert len(out.tasks_output) == 2
    _check_two_agent_attribution(kernel, crewai_env, "react-room")


async def test_kickoff_async_and_akickoff_keep_identity(kernel: Any, crewai_env: SimServer) -> None:
    await _two_agent_crew("async-room").kickoff_async()
    _check_two_agent_attribution(kernel, crewai_env, "async-room")


async def test_akickoff_keeps_identity(kernel: Any, crewai_env: SimServer) -> None:
    await _two_agent_crew("akick-room").akickoff()
    _check_two_agent_attribution(kernel, crewai_env, "akick-room")


def test_sync_and_async_kickoff_make_the_same_syscalls(kernel: Any, crewai_env: SimServer) -> None:
    import asyncio

    _two_agent_crew("parity").kickoff()
    sync = Counter((r["kind"], r["agent"], r["tool"]) for r in kernel.report()["syscalls"])
    aios.shutdown()
    k2 = aios.boot()
    asyncio.run(_two_agent_crew("parity").akickoff())
    assert Counter((r["kind"], r["agent"], r["tool"]) for r in k2.report()["syscalls"]) == sync


def test_standalone_agent_kickoff_is_attributed(kernel: Any, crewai_env: SimServer) -> None:
    from crewai import Agent

    agent = Agent(role="Solo", goal="Answer", backstory="Alone.", llm="gpt-4o-mini",
                  tools=[_word_count_tool()])
    agent.kickoff("Count the words in 'one two'")
    records = kernel.report()["syscalls"]
    assert records and {r["agent"] for r in records} == {"Solo"}
    assert [r["tool"] for r in records if r["kind"] == "tool"] == ["word_count"]


def test_hierarchical_crew_runs_with_manager_identity(kernel: Any, crewai_env: SimServer) -> None:
    from crewai import Agent, Crew, Process, Task

    analyst = Agent(role="Analyst", goal="Analyse", backstory="Sharp.", llm="gpt-4o-mini")
    editor = Agent(role="Editor", goal="Edit", backstory="Picky.", llm="gpt-4o-mini")
    crew = Crew(name="hier", agents=[analyst, editor],
                tasks=[Task(description="Write an analysed, edited note", expected_output="a note")],
                process=Process.hierarchical, manager_llm="gpt-4o-mini")
    out = crew.kickoff()
    assert out.raw
    llm = _records(kernel, "llm")
    # The manager delegates to a coworker (the sim picks the first one its tool lists), whose
    # calls are its own.
    assert {"Crew Manager", "Analyst"} <= {r["agent"] for r in llm}
    assert {r["group"] for r in llm} == {"hier"}
    # Delegation hands work to another agent; it is not a tool syscall of its own.
    assert not [r for r in _records(kernel, "tool") if "coworker" in r["tool"].lower()]
    assert len(llm) == crewai_env.stats()["requests"]


def test_delegated_work_is_attributed_to_the_coworker(kernel: Any, crewai_env: SimServer) -> None:
    from crewai import Agent, Crew, Task
    from crewai.tools.agent_tools.agent_tools import AgentTools

    analyst = Agent(role="Analyst", goal="Analyse", backstory="Sharp.", llm="gpt-4o-mini",
                    tools=[_word_count_tool()])
    Crew(name="team", agents=[analyst], tasks=[Task(description="d", expected_output="e", agent=analyst)])
    delegate = next(t for t in AgentTools(agents=[analyst]).tools() if "Delegate" in t.name)
    manager = aios.agent("Boss")
    with manager:
        delegate.run(task="Count the words in 'a b'", context="none", coworker="Analyst")
    records = kernel.report()["syscalls"]
    assert records and {r["agent"] for r in records} == {"Analyst"}
    assert [r["tool"] for r in records if r["kind"] == "tool"] == ["word_count"]


def test_provider_call_makes_the_syscall_when_no_sdk_adapter_gates_it(
    kernel: Any, crewai_env: SimServer
) -> None:
    from crewai import LLM

    if any(a.distribution == "openai" and a.patched for a in plugins().adapters.values()):
        pytest.fail("this test expects only crewai patched")
    llm = LLM(model="gpt-4o-mini")
    with aios.agent("caller"):
        llm.call("Say hello")
    (record,) = kernel.report()["syscalls"]
    assert (record["kind"], record["agent"], record["framework"]) == ("llm", "caller", "crewai")
    assert crewai_env.stats()["requests"] == 1


async def test_provider_acall_makes_one_syscall(kernel: Any, crewai_env: SimServer) -> None:
    from crewai import LLM

    llm = LLM(model="gpt-4o-mini")
    async with aios.agent("caller"):
        await llm.acall("Say hello")
    (record,) = kernel.report()["syscalls"]
    assert (record["kind"], record["agent"]) == ("llm", "caller")
    assert crewai_env.stats()["requests"] == 1


def test_sdk_backed_provider_leaves_the_syscall_to_the_sdk_adapter(
    kernel: Any, crewai_env: SimServer
) -> None:
    sdk = [a for a in plugins().adapters.values() if a.distribution == "openai"]
    if not sdk:
        pytest.skip("the openai SDK adapter is not registered in this checkout")
    aios.patch(sdk[0].name)
    try:
        _two_agent_crew("sdk-gated").kickoff()
        llm = _records(kernel, "llm")
        assert {r["agent"] for r in llm} == {"Researcher", "Writer"}
        assert len(llm) == crewai_env.stats()["requests"]
    finally:
        aios.unpatch(sdk[0].name)


# -- the adapter contract ---------------------------------------------------------------------------
def _targets() -> list[tuple[Any, str]]:
    from crewai.agent.core import Agent
    from crewai.llm import LLM
    from crewai.llms.providers.openai.completion import OpenAICompletion
    from crewai.tools.base_tool import BaseTool, Tool
    from crewai.tools.structured_tool import CrewStructuredTool

    return [
        *[(Agent, m) for m in ("execute_task", "aexecute_task", "kickoff", "kickoff_async", "akickoff")],
        *[(c, m) for c in (BaseTool, Tool) for m in ("run", "arun")],
        (CrewStructuredTool, "invoke"),
        (CrewStructuredTool, "ainvoke"),
        *[(c, m) for c in (OpenAICompletion, LLM) for m in ("call", "acall")],
    ]


def test_patch_twice_is_a_no_op_and_unpatch_restores_by_identity() -> None:
    import wrapt

    adapter = plugins().adapters["crewai"]
    targets = _targets()
    before = [owner.__dict__[name] for owner, name in targets]
    aios.patch("crewai")
    try:
        wrapped = [owner.__dict__[name] for owner, name in targets]
        assert all(isinstance(w, wrapt.FunctionWrapper) for w in wrapped)
        aios.patch("crewai")
        assert [owner.__dict__[name] for owner, name in targets] == wrapped
        assert all(a is b for a, b in zip([o.__dict__[n] for o, n in targets], wrapped, strict=True))
        assert adapter.patched
    finally:
        aios.unpatch("crewai")
    assert not adapter.patched
    after = [owner.__dict__[name] for owner, name in targets]
    assert all(a is b for a, b in zip(after, before, strict=True))


def test_anthropic_provider_is_wrapped_when_imported() -> None:
    pytest.importorskip("anthropic")
    from crewai.llms.providers.anthropic.completion import AnthropicCompletion

    original = AnthropicCompletion.__dict__["call"]
    aios.patch("crewai")
    try:
        assert AnthropicCompletion.__dict__["call"] is not original
    finally:
        aios.unpatch("crewai")
    assert AnthropicCompletion.__dict__["call"] is original


def test_patch_before_import(sim: SimServer) -> None:
    program = textwrap.dedent(
        """
        import sys
        import aios, wrapt
        assert "crewai" not in sys.modules
        aios.patch("crewai")
        from crewai import Agent, Crew, Task
        from crewai.llms.providers.openai.completion import OpenAICompletion
        assert isinstance(Agent.__dict__["execute_task"], wrapt.FunctionWrapper)
        assert isinstance(OpenAICompletion.__dict__["call"], wrapt.FunctionWrapper)
        a = Agent(role="Early", goal="g", backstory="b", llm="gpt-4o-mini")
        Crew(name="c", agents=[a], tasks=[Task(description="d", expected_output="e", agent=a)]).kickoff()
        print(sorted({r["agent"] for r in aios.get_kernel().report()["syscalls"]}))
        """
    )
    env = {**os.environ, **sim.env(), "CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true"}
    proc = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "['Early']"
