"""The test matrix. crewai pins openai<3, so the suite runs in two environments:

- ``crewai``: openai 2.x, the openai-agents that resolves beside crewai, every framework;
- ``latest``: openai 3.x, the newest openai-agents, every framework but crewai, plus the
  third-party plugin under ``plugins/`` (pydantic-ai needs openai 3).

Everything that touches a framework or an SDK runs in both. The kernel (which imports no
framework), the shared-state mechanics and the benchmark harness do not depend on those versions,
so they run once, in ``crewai``: running them twice only made the suite longer.

Run everything with ``nox``; one environment with ``nox -s crewai`` or ``nox -s latest``.
"""

from __future__ import annotations

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
COMMON_EXTRAS = "dev,openai,anthropic,langchain,autogen,openai-agents,plot,otel,redis"
PLUGIN = "plugins/aios-pydantic-ai"
SUITES = ["tests", "compat_tests"]
#: The parts of the suite whose outcome depends on the framework and SDK versions.
VERSIONED = [
    "tests/adapters", "tests/runner", "tests/sim", "tests/telemetry", "tests/top",
    "compat_tests",
]  # fmt: skip


#: Two pytest workers (pytest-xdist). Most tests start one subprocess and wait for it (framework
#: imports, a paced sim), so a single pytest process kept 0.76 of the 2 cores busy on average.
#: A file stays whole on one worker, so its module-scoped sims and servers start once.
WORKERS = ["-n", "2", "--dist", "loadfile"]


def _pytest(session: nox.Session, *paths: str) -> None:
    args = session.posargs or [*paths, *WORKERS, "-q", "-p", "no:cacheprovider"]
    # pytest's exit code 5 (no tests collected) is a failure here, like any other non-zero.
    session.run("python", "-m", "pytest", *args, env=TELEMETRY_OFF, success_codes=[0])


@nox.session
def lint(session: nox.Session) -> None:
    # mypy must see the package's dependencies and the frameworks the adapters type against.
    session.install("-e", f".[{COMMON_EXTRAS}]")
    session.run("ruff", "check", "aios", "tests", "compat_tests", "benchmarks", "plugins", "noxfile.py")
    session.run("mypy", "--strict", "aios")


@nox.session
def crewai(session: nox.Session) -> None:
    session.install("-e", f".[{COMMON_EXTRAS},crewai]", "openai>=2,<3")
    _pytest(session, *SUITES)


@nox.session
def latest(session: nox.Session) -> None:
    session.install("-e", f".[{COMMON_EXTRAS}]", "openai>=3", "openai-agents>=0.24", "-e", PLUGIN)
    _pytest(session, *VERSIONED, f"{PLUGIN}/tests")
