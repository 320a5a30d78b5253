"""The test matrix. crewai pins openai<3, so the suite runs in two environments:

- ``crewai``: openai 2.x, the openai-agents that resolves beside crewai, every framework;
- ``latest``: openai 3.x, the newest openai-agents, every framework but crewai.

Run everything with ``nox``; one environment with ``nox -s crewai`` or ``nox -s latest``.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "crewai", "latest"]
nox.options.reuse_existing_virtualenvs = True

TELEMETRY_OFF = {
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "DO_NOT_TRACK": "1",
}
COMMON_EXTRAS = "dev,openai,anthropic,langchain,autogen,openai-agents,plot"
PLUGINS = [p for p in ("plugins/aios-pydantic-ai",) if os.path.isdir(p)]


def _pytest(session: nox.Session) -> None:
    args = session.posargs or ["tests", "compat_tests", "-q", "-p", "no:cacheprovider"]
    # pytest's exit code 5 (no tests collected) is a failure here, like any other non-zero.
    session.run("python", "-m", "pytest", *args, env=TELEMETRY_OFF, success_codes=[0])


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5")
    session.run("ruff", "check", "aios", "tests", "compat_tests", "benchmarks", "plugins", "noxfile.py")


@nox.session
def crewai(session: nox.Session) -> None:
    session.install("-e", f".[{COMMON_EXTRAS},crewai]", "openai>=2,<3", *[f"-e{p}" for p in PLUGINS])
    _pytest(session)


@nox.session
def latest(session: nox.Session) -> None:
    session.install(
        "-e", f".[{COMMON_EXTRAS}]", "openai>=3", "openai-agents>=0.24", *[f"-e{p}" for p in PLUGINS]
    )
    _pytest(session)
