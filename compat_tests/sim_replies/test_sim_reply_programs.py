"""Framework programs that need the sim to answer like a model: pick the relevant tool, embed
text, name the next speaker, delegate to one coworker at a time. Each finishes in a few
requests, plainly and under ``aios run`` alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios.sim.process import SimServer
from compat_tests.harness import Run, calls_by_agent, llm_calls, run_program, syscalls, tools_by_agent

PROGRAMS = Path(__file__).parent / "programs"
CHAT = "POST /v1/chat/completions"
EMBED = "POST /v1/embeddings"


def both(sim: SimServer, program: str, tmp_path: Path) -> tuple[Run, Run]:
    # crewai keeps knowledge and memory under CREWAI_STORAGE_DIR: one fresh folder per run.
    runs = []
    for aios, folder in ((False, "plain"), (True, "aios")):
        env = {"CREWAI_STORAGE_DIR": str(tmp_path / folder)}
        runs.append(run_program(sim, [str(PROGRAMS / program)], aios=aios, env=env).check())
    plain, under = runs
    assert under.stdout == plain.stdout
    assert under.sim_stats["by_endpoint"] == plain.sim_stats["by_endpoint"]
    assert under.report is not None, under.stderr
    # Every generation and embeddings request is one LLM syscall.
    endpoints = under.sim_stats["by_endpoint"]
    assert llm_calls(under.report) == sum(
        endpoints.get(e, 0) for e in (CHAT, EMBED, "POST /v1/responses")
    )
    embeddings = [r for r in syscalls(under.report) if r.get("operation") == "embeddings"]
    assert len(embeddings) == endpoints.get(EMBED, 0)
    assert {r["status"] for r in syscalls(under.report)} == {"done"}
    return plain, under


def test_selector_group_chat_rotates_speakers_in_one_request_per_turn(sim: SimServer, tmp_path: Path) -> None:
    pytest.importorskip("autogen_agentchat")
    plain, _ = both(sim, "selector_team.py", tmp_path)
    speakers = ["user", "planner", "researcher", "writer", "planner", "researcher", "writer"]
    assert plain.stdout.splitlines()[0] == f"speakers: {speakers}"
    # Six turns: one selection and one answer each, no retried selections.
    assert plain.sim_stats["by_endpoint"] == {CHAT: 12}


def test_agent_with_three_tools_calls_only_the_relevant_one(sim: SimServer, tmp_path: Path) -> None:
    pytest.importorskip("agents")
    plain, under = both(sim, "contact_tools.py", tmp_path)
    assert plain.stdout.splitlines()[0] == "tools: ['get_contact_info']"
    assert "+1 555 0100" in plain.stdout
    assert plain.sim_stats["requests"] == 2
    assert tools_by_agent(under.report) == {"assistant": {"get_contact_info": 1}}


def test_langchain_retriever_returns_the_nearest_document(sim: SimServer, tmp_path: Path) -> None:
    pytest.importorskip("langchain_openai")
    plain, _ = both(sim, "retriever.py", tmp_path)
    lines = plain.stdout.splitlines()
    assert lines[0].endswith(
        "-> Tides are caused by the gravitational pull of the moon and the sun on the oceans."
    )
    assert lines[1].endswith(
        "-> Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar."
    )
    assert lines[2].endswith(
        "-> Volcanoes erupt when molten rock called magma rises to the surface of the earth."
    )
    # One batch for the documents, one per query (four), one chat answer.
    assert plain.sim_stats["by_endpoint"] == {EMBED: 5, CHAT: 1}


def test_crewai_knowledge_source_is_embedded_and_searched(sim: SimServer, tmp_path: Path) -> None:
    pytest.importorskip("crewai")
    pytest.importorskip("chromadb")
    plain, _ = both(sim, "knowledge_crew.py", tmp_path)
    assert "Failed to upsert" not in plain.stdout + plain.stderr
    assert plain.stdout.splitlines()[-2] == "Clerk: True"
    assert "cafeteria serves lunch" in plain.stdout.splitlines()[-1]
    assert plain.sim_stats["by_endpoint"][EMBED] >= 2
    assert plain.sim_stats["by_status"] == {"200": plain.sim_stats["requests"]}
    assert plain.sim_stats["requests"] <= 8


def test_hierarchical_crew_delegates_one_task_at_a_time(sim: SimServer, tmp_path: Path) -> None:
    pytest.importorskip("crewai")
    plain, under = both(sim, "hierarchical_crew.py", tmp_path)
    assert "Executor is already running" not in plain.stdout
    assert plain.sim_stats["by_endpoint"] == {CHAT: 6}
    assert under.report is not None
    # The manager delegates each task once, to the coworker the task names, who answers once.
    assert calls_by_agent(under.report) == {"Crew Manager": 4, "Researcher": 1, "Writer": 1}
    assert plain.stdout.count("Crew Manager: ") == 2


def test_langgraph_supervisor_routes_each_worker_then_finishes(sim: SimServer, tmp_path: Path) -> None:
    pytest.importorskip("langgraph")
    plain, _ = both(sim, "supervisor_graph.py", tmp_path)
    assert plain.stdout.splitlines() == ["turns: ['researcher', 'coder']"]
    # Three routing decisions (researcher, coder, FINISH) and one reply per worker.
    assert plain.sim_stats["by_endpoint"] == {CHAT: 5}
