"""A Pydantic AI agent calls a tool marked ``confirm``: deny, allow, and a Python approver."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pydantic_ai")
pytest.importorskip("aios_pydantic_ai")

from aios.sim.process import SimServer
from compat_tests.access.confirm import check_allow, check_deny, check_first_only, run_confirm

PROGRAMS = Path(__file__).parent / "programs"
APPROVERS = Path(__file__).parents[3] / "compat_tests" / "access" / "programs" / "access_approvers.py"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as server:
        yield server


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The approver module sits beside the program, where `python:access_approvers:...` finds it.
    where = tmp_path_factory.mktemp("confirm")
    shutil.copy(PROGRAMS / "confirm_agent.py", where)
    shutil.copy(APPROVERS, where)
    return where / "confirm_agent.py"


def test_deny(sim: SimServer, program: Path) -> None:
    check_deny(run_confirm(sim, program, "deny"))


def test_allow(sim: SimServer, program: Path) -> None:
    check_allow(run_confirm(sim, program, "allow"))


def test_python_approver(sim: SimServer, program: Path) -> None:
    check_first_only(run_confirm(sim, program, "python:access_approvers:first_only", runs=2))
