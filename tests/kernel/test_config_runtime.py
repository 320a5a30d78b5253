"""Configuration sources and errors, the boot/kernel/shutdown lifecycle, ``aios.agent``, the API."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import aios
from aios import runtime
from aios.config import KernelConfig, load_config
from aios.errors import ConfigError, KernelError
from aios.kernel.context import current_agent
from aios.kernel.failures import Failure, classify_generic
from aios.kernel.lease import Lease

from .conftest import MakeKernel


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    import os

    for key in list(os.environ):
        if key.startswith("AIOS_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_kernel() -> Iterator[None]:
    aios.shutdown()
    yield
    aios.shutdown()


# -- sources -------------------------------------------------------------------------------------------


def test_defaults_without_any_file(clean_env: Path) -> None:
    cfg = load_config()
    assert cfg == KernelConfig()
    assert cfg.policy == "fifo" and cfg.retry.max_retries == 6


def test_aios_toml(clean_env: Path) -> None:
    (clean_env / "aios.toml").write_text(
        'policy = "fair"\nmax_concurrency = 3\n[agents.planner]\nweight = 2.0\n'
        '[[cores]]\nname = "local"\napi = "openai"\nbase_url = "http://localhost:8000/v1"\nrpm = 60\n'
    )
    cfg = load_config()
    assert (cfg.policy, cfg.max_concurrency) == ("fair", 3)
    assert cfg.agents["planner"].weight == 2.0
    assert cfg.cores[0].rpm == 60


def test_pyproject_tool_aios(clean_env: Path) -> None:
    (clean_env / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.aios]\npolicy = "las"\n')
    assert load_config().policy == "las"


def test_pyproject_without_tool_aios_is_ignored(clean_env: Path) -> None:
    (clean_env / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config() == KernelConfig()


def test_aios_config_env_and_overrides(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = clean_env / "elsewhere.toml"
    path.write_text('policy = "priority"\naging_rate = 2.0\n[retry]\nmax_retries = 4\nbase_delay = 1.0\n')
    (clean_env / "aios.toml").write_text('policy = "fair"\n')  # AIOS_CONFIG wins over this
    monkeypatch.setenv("AIOS_CONFIG", str(path))
    monkeypatch.setenv("AIOS_MAX_CONCURRENCY", "7")
    monkeypatch.setenv("AIOS_RETRY__MAX_RETRIES", "2")
    monkeypatch.setenv("AIOS_DISABLE_ADAPTERS", "crewai, autogen")
    cfg = load_config()
    assert (cfg.policy, cfg.aging_rate, cfg.max_concurrency) == ("priority", 2.0, 7)
    assert (cfg.retry.max_retries, cfg.retry.base_delay) == (2, 1.0)  # nested merge keeps base_delay
    assert cfg.disable_adapters == ["crewai", "autogen"]
    assert load_config(overrides={"policy": "fifo", "max_concurrency": None}).policy == "fifo"


def test_aios_config_pointing_nowhere(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_CONFIG", str(clean_env / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml.*not a file"):
        load_config()


def test_invalid_toml(clean_env: Path) -> None:
    (clean_env / "aios.toml").write_text("policy = \n")
    with pytest.raises(ConfigError, match=r"aios\.toml is not valid TOML"):
        load_config()


# -- errors name the key, the value and what is allowed --------------------------------------------------


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("AIOS_MAX_CONCURRENCY", "-1", r"`max_concurrency` = -1: Input should be greater than 0"),
        ("AIOS_RETRY__MAX_RETRIES", "lots", r"`retry.max_retries` = 'lots': Input should be a valid integer"),
        ("AIOS_RETRY__MAX_RETIRES", "2", r"`retry.max_retires` = 2: is not a known key"),
        ("AIOS_AGENTS", '{"a": {"priority": 1e400}}', r"`agents.a.priority`"),
    ],
)
def test_bad_env_values(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config()
    assert "AIOS_* environment" in str(info.value)


def test_unknown_aios_variables_warn_once_and_are_ignored(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from aios import config

    monkeypatch.setattr(config, "_warned_env", set())
    monkeypatch.setenv("AIOS_DEBUG", "1")  # another tool's variable
    monkeypatch.setenv("AIOS_POLCY", "fair")  # a typo
    monkeypatch.setenv("AIOS_MAX_CONCURRENCY", "3")
    with caplog.at_level("WARNING", logger="aios.config"):
        first = load_config()
        second = load_config()
    assert first == second and (first.policy, first.max_concurrency) == ("fifo", 3)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages  # once per name, not once per load
    assert any("AIOS_DEBUG" in m and "ignoring" in m and "did you mean" not in m for m in messages)
    assert any("AIOS_POLCY" in m and "did you mean AIOS_POLICY?" in m for m in messages)


def test_unrelated_aios_variable_does_not_break_the_kernel(
    no_kernel: None, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOS_DEBUG", "1")
    k = aios.get_kernel()
    assert k.running and k.run_tool("t", lambda: 41) == 41


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("AIOS_POLICY", "nope", "'nope' is not a known scheduling policy"),
        ("AIOS_MAX_CONCURRENCY", "0", "`max_concurrency` = 0"),
    ],
)
def test_patch_raises_the_config_error_itself(
    no_kernel: None, clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    try:
        with pytest.raises(aios.ConfigError, match=expected):
            aios.patch()
    finally:
        aios.unpatch()
    assert runtime.current() is None  # found without booting a kernel


def test_priorities_are_bounded_in_the_config(clean_env: Path) -> None:
    with pytest.raises(ConfigError, match=r"`default_priority` = 10000000000: Input should be less"):
        load_config(overrides={"default_priority": 10**10})
    with pytest.raises(ConfigError, match=r"`agents.a.priority`"):
        load_config(overrides={"agents": {"a": {"priority": -(10**400)}}})


def test_bad_core_api_names_the_choices(clean_env: Path) -> None:
    (clean_env / "aios.toml").write_text('[[cores]]\nname = "x"\napi = "gemini"\n')
    with pytest.raises(ConfigError, match=r"`cores.0.api` = 'gemini': .*must be one of openai.chat"):
        load_config()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"cores": [{"name": "a"}, {"name": "a"}]}, r"`cores\[\*\].name` = 'a' appears more than once"),
        (
            {"cores": [{"name": "a", "fallbacks": ["b"]}]},
            r"`cores.a.fallbacks` = 'b' is not a core; known cores: \['a'\]",
        ),
        (
            {"cores": [{"name": "a"}], "routes": [{"match": "gpt-*", "core": "z"}]},
            r"`routes\[0\].core` = 'z' .*not defined in `cores`; known cores: \['a'\]",
        ),
    ],
)
def test_cross_key_errors_surface_as_config_errors(
    clean_env: Path, overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(overrides=overrides)
    assert "(top level)" not in str(info.value)  # not a dump of the whole configuration


def test_unknown_policy_fails_at_boot(no_kernel: None, clean_env: Path) -> None:
    with pytest.raises(ConfigError, match="'nope' is not a known scheduling policy"):
        aios.boot(policy="nope")


# -- lifecycle -----------------------------------------------------------------------------------------


def test_boot_kernel_shutdown(no_kernel: None, clean_env: Path) -> None:
    assert runtime.current() is None
    k = aios.boot(policy="round-robin", max_concurrency=2)
    assert aios.get_kernel() is k and runtime.current() is k
    assert k.policy.name == "round-robin" and k.config.max_concurrency == 2
    with pytest.raises(KernelError, match="already running"):
        aios.boot()
    aios.shutdown()
    assert not k.running and runtime.current() is None
    aios.shutdown()  # twice is fine
    k2 = aios.get_kernel()  # boots a default kernel on first use
    assert k2 is not k and k2.running and k2.policy.name == "fifo"
    aios.shutdown()
    k3 = aios.boot(KernelConfig(policy="fair"), max_concurrency=1)
    assert (k3.policy.name, k3.config.max_concurrency) == ("fair", 1)


def test_kernel_thread_stops_on_shutdown(no_kernel: None, clean_env: Path) -> None:
    k = aios.boot()
    k.shutdown()
    assert not k._thread.is_alive()


# -- aios.agent ------------------------------------------------------------------------------------------


def test_agent_context_manager_nests() -> None:
    assert current_agent() is None
    with aios.agent("outer", priority=3, group="crew") as ident:
        assert ident.name == "outer" and current_agent() == ident
        with aios.agent("inner"):
            assert current_agent().name == "inner"  # type: ignore[union-attr]
        assert current_agent() == ident
    assert current_agent() is None


async def test_agent_async_context_manager_and_tasks() -> None:
    async def who() -> str | None:
        await asyncio.sleep(0)
        a = current_agent()
        return None if a is None else a.name

    async with aios.agent("alpha"):
        inside = asyncio.create_task(who())
    outside = asyncio.create_task(who())
    assert (await inside, await outside) == ("alpha", None)


async def test_agent_as_decorator() -> None:
    @aios.agent("sync-worker", priority=1)
    def sync_fn() -> tuple[str, int | None]:
        a = current_agent()
        assert a is not None
        return a.name, a.priority

    @aios.agent("async-worker")
    async def async_fn() -> str:
        a = current_agent()
        assert a is not None
        return a.name

    assert sync_fn() == ("sync-worker", 1)
    assert await async_fn() == "async-worker"
    assert sync_fn.__name__ == "sync_fn" and current_agent() is None


def test_agent_identity_reaches_syscalls(make_kernel: object) -> None:
    from aios.kernel.kernel import Kernel

    k = Kernel(KernelConfig.model_validate({"agents": {"vip": {"priority": 9}}}))
    try:
        with aios.agent("vip", group="team"):
            sc = k.llm_syscall(api="openai", model="m")
        assert (sc.agent, sc.priority, sc.group) == ("vip", 9, "team")
        with aios.agent("vip", priority=2):
            assert k.llm_syscall(api="openai", model="m").priority == 2
        assert k.llm_syscall(api="openai", model="m").agent == "main"  # under pytest
    finally:
        k.shutdown()


@pytest.mark.parametrize("priority", [10**400, -(10**10), 10**9 + 1], ids=["huge", "low", "just-above"])
def test_agent_priority_out_of_range_is_refused_up_front(priority: int) -> None:
    with pytest.raises(ValueError, match=r"agent priority must be from -10\*\*9 to 10\*\*9"):
        aios.agent("x", priority=priority)


@pytest.mark.parametrize("bad", ["", "   "])
def test_agent_needs_a_name(bad: str) -> None:
    with pytest.raises(ValueError, match="non-empty name"):
        aios.agent(bad)
    with pytest.raises(TypeError, match="priority must be an int"):
        aios.agent("x", priority="high")  # type: ignore[arg-type]


# -- public API ------------------------------------------------------------------------------------------


def test_public_api_is_sorted_and_resolves() -> None:
    assert aios.__all__ == sorted(aios.__all__)
    assert len(set(aios.__all__)) == len(aios.__all__)
    for name in aios.__all__:
        assert getattr(aios, name) is not None, name
    kernel_pkg = importlib.import_module("aios.kernel")
    assert aios.kernel is kernel_pkg  # the package, not an accessor shadowing it
    assert kernel_pkg.__all__ == sorted(kernel_pkg.__all__)
    for name in kernel_pkg.__all__:
        getattr(kernel_pkg, name)


def test_error_hierarchy() -> None:
    assert issubclass(aios.AccessDenied, aios.AdmissionError)
    assert issubclass(aios.BudgetExceeded, aios.AdmissionError)
    assert issubclass(aios.AdmissionError, aios.KernelError)
    assert issubclass(aios.KernelShutdown, aios.KernelError)
    assert issubclass(aios.ConfigError, ValueError) and issubclass(aios.ConfigError, aios.AiosError)
    assert issubclass(aios.ToolTimeout, TimeoutError)


# -- retries ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "attempts"),
    [
        (ConnectionError("refused"), 3),  # the endpoint is down: as many tries as the SDK makes
        (TimeoutError("slow"), 3),
        ("rate_limit", 7),  # the provider answered: the kernel's own retry budget
    ],
)
def test_network_failures_are_retried_like_the_sdks(
    make_kernel: MakeKernel, failure: BaseException | str, attempts: int
) -> None:
    k = make_kernel(retry={"base_delay": 0.001, "max_delay": 0.002})
    calls = 0

    def perform(lease: Lease) -> None:
        nonlocal calls
        calls += 1
        raise failure if isinstance(failure, BaseException) else RuntimeError("429")

    def classify(exc: BaseException) -> Failure:
        return Failure(True, "rate_limit", 429) if failure == "rate_limit" else classify_generic(exc)

    sc = k.llm_syscall(api="openai", model="m")
    with pytest.raises((ConnectionError, TimeoutError, RuntimeError)) as info:
        k.call(sc, perform, classify=classify)
    assert calls == attempts and sc.retries == attempts - 1
    key = "retry.max_retries" if failure == "rate_limit" else "retry.max_network_retries"
    assert any(key in note for note in info.value.__notes__)


def test_max_retries_below_the_network_limit_still_wins(make_kernel: MakeKernel) -> None:
    k = make_kernel(retry={"max_retries": 1, "base_delay": 0.001})
    calls = 0

    def perform(lease: Lease) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        k.call(k.llm_syscall(api="openai", model="m"), perform)
    assert calls == 2
