"""Unmodified agents of each framework call a tool marked ``confirm``: deny, allow, a Python approver.

A refused call must read to the model like a tool that failed, and the agent must finish.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from aios.sim.process import SimServer
from compat_tests.access.confirm import check_allow, check_deny, check_first_only, run_confirm

PROGRAMS = Path(__file__).parent / "programs"
FRAMEWORKS = {
    "langchain": ("lc_confirm.py", "langchain"),
    "autogen": ("autogen_confirm.py", "autogen_agentchat"),
    "openai-agents": ("oa_confirm.py", "agents"),
    "crewai": ("crewai_confirm.py", "crewai"),
}


def program(name: str) -> Path:
    script, module = FRAMEWORKS[name]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed in this environment")
    return PROGRAMS / script


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_deny_refuses_and_the_agent_carries_on(sim: SimServer, framework: str) -> None:
    check_deny(run_confirm(sim, program(framework), "deny"))


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_allow_runs_the_tool_once(sim: SimServer, framework: str) -> None:
    check_allow(run_confirm(sim, program(framework), "allow"))


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_python_approver_approves_one_and_refuses_the_next(sim: SimServer, framework: str) -> None:
    check_first_only(run_confirm(sim, program(framework), "python:access_approvers:first_only", runs=2))
