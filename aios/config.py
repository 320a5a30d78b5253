"""Kernel configuration: ``aios.toml``, ``[tool.aios]`` in pyproject.toml, or ``$AIOS_CONFIG``,
with ``AIOS_*`` environment overrides, validated with pydantic.

Environment overrides name a top-level key in upper case (``AIOS_POLICY=fair``,
``AIOS_MAX_CONCURRENCY=4``); nested keys join with a double underscore
(``AIOS_RETRY__MAX_RETRIES=2``). Values are parsed as JSON when they can be, else taken as text.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from aios.errors import ConfigError

log = logging.getLogger("aios.config")

#: Bounds of a priority: scores stay exact as floats, whatever the aging adds.
PRIORITY_LIMIT = 10**9

API_KINDS = ("openai.chat", "openai.responses", "openai", "anthropic.messages", "anthropic", "sim")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CoreConfig(_Strict):
    """An LLM endpoint and its limits."""

    name: str = Field(min_length=1)
    #: The API kind; ``openai`` covers every OpenAI endpoint of the host, likewise ``anthropic``.
    api: str = "openai"
    #: The base URL callers use for this endpoint; ``None`` matches any host of the API kind.
    base_url: str | None = None
    max_concurrency: PositiveInt | None = None
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None
    input_tpm: PositiveInt | None = None
    output_tpm: PositiveInt | None = None
    #: The window the rate limits are stated for: providers state them per minute; a
    #: time-scaled simulator or a per-second quota states a shorter one.
    rate_window_s: float = Field(default=60.0, gt=0)
    #: Seconds of refill a call waits for beyond its own charge: only for a provider that counts
    #: differently from a continuously refilling bucket. Delays between admission and the
    #: provider need none: a call's charge enters our bucket only once the provider answered.
    rate_margin_s: float = Field(default=0.0, ge=0)
    #: Core names to use, in order, when this one is cooling down or failing.
    fallbacks: list[str] = Field(default_factory=list)
    #: Redirect: send calls routed here to another base URL, model or key of the same API kind.
    target_base_url: str | None = None
    target_model: str | None = None
    target_api_key_env: str | None = None
    learn_limits: bool = True

    @field_validator("api")
    @classmethod
    def _known_api(cls, v: str) -> str:
        if v not in API_KINDS:
            raise ValueError(f"must be one of {', '.join(API_KINDS)}")
        return v


class RouteConfig(_Strict):
    """Calls whose model name matches ``match`` (a glob, e.g. ``gpt-4o*``) go to ``core``."""

    match: str = Field(min_length=1)
    core: str = Field(min_length=1)


class ToolConfig(_Strict):
    concurrency: PositiveInt | None = None
    timeout: float | None = Field(default=None, gt=0)
    #: Ask the approver before each call of this tool (``[tools."delete_*"] confirm = true``).
    confirm: bool = False


class PriceConfig(_Strict):
    """USD per million tokens of the models a ``[prices."<glob>"]`` entry matches."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    #: Prompt tokens served from the provider's cache; ``None``: priced as ``input``.
    cached_input: float | None = Field(default=None, ge=0)


class AgentConfig(_Strict):
    priority: int | None = Field(default=None, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    weight: float = Field(default=1.0, gt=0)
    #: Globs of model names this agent may call; ``None`` allows all.
    allowed_models: list[str] | None = None
    #: Globs of tool names this agent may run; ``None`` allows all.
    allowed_tools: list[str] | None = None
    #: Total tokens (input + output) this agent may use; ``None`` is unlimited.
    token_budget: PositiveInt | None = None
    #: Dollars this agent may spend (priced by the ``prices`` table); ``None`` is unlimited.
    cost_budget_usd: float | None = Field(default=None, gt=0)
    #: LLM and tool calls this agent may make in one run; ``None`` is unlimited.
    max_llm_calls: PositiveInt | None = None
    max_tool_calls: PositiveInt | None = None


class RetryConfig(_Strict):
    max_retries: int = Field(default=6, ge=0, le=100)
    #: Retries after a connection failure or a timeout, at most (the SDKs' own default is 2): an
    #: endpoint that is down fails the program about as fast as without aios. Rate limits and
    #: overload, which the provider says when to retry, keep ``max_retries``.
    max_network_retries: int = Field(default=2, ge=0, le=100)
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=8.0, gt=0)


class KernelConfig(_Strict):
    """Everything the kernel reads at boot. See README "Configuration" for each key."""

    policy: str = "fifo"
    #: Default concurrency limit of each LLM endpoint not configured in ``cores``.
    max_concurrency: PositiveInt | None = None
    #: The output allowance charged at admission when a call sets no ``max_tokens``.
    default_max_tokens: PositiveInt = 1024
    aging_rate: float = Field(default=1.0, ge=0)
    las_first_level_s: float = Field(default=10.0, ge=0)
    #: Seconds ``las`` keeps a finished call's slot for the same agent's next call.
    las_hold_s: float = Field(default=0.05, ge=0, le=5)
    default_priority: int = Field(default=0, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    cores: list[CoreConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    tools: dict[str, ToolConfig] = Field(default_factory=dict)
    default_tool: ToolConfig = ToolConfig()
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    retry: RetryConfig = RetryConfig()
    #: How many syscall records the report keeps (the totals always count all).
    keep_syscalls: PositiveInt | None = 200_000
    #: Adapters to leave unpatched (also ``AIOS_DISABLE_ADAPTERS=a,b``).
    disable_adapters: list[str] = Field(default_factory=list)
    #: Share admission state (slots, rate buckets, cool-downs, budgets, waiting order) with every
    #: process using the same Redis/Valkey URL and prefix (``redis://``, ``rediss://``, ``unix://``;
    #: a Redis Cluster: ``redis+cluster://`` or ``rediss+cluster://``).
    redis_url: str | None = None
    redis_prefix: str = Field(default="aios", min_length=1)
    #: When the shared state becomes unreachable mid-run: fall back to per-process limits
    #: (``local``, with one warning) or fail the calls that need it (``fail``).
    redis_unavailable: Literal["local", "fail"] = "local"
    #: Seconds a crashed process keeps its slots and reservations (renewed every third of it).
    lease_ttl_s: float = Field(default=6.0, gt=0.5, le=60)
    #: Record every call but never delay, retry or refuse one (``AIOS_OBSERVE=1``): how
    #: ``aios bench`` measures a program "without aios" the same way it measures it with.
    observe: bool = False
    #: Export OpenTelemetry GenAI spans and metrics (also ``AIOS_OTEL=1``, ``aios run --otel``);
    #: needs the ``aios-kernel[otel]`` extra and reads the standard ``OTEL_*`` variables.
    otel: bool = False
    #: Also export what the calls said: LLM messages and tool arguments/results on the spans
    #: (``AIOS_OTEL_CAPTURE_CONTENT=1``; unset, the standard
    #: ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` turns it on). Off by default:
    #: contents may hold personal data.
    otel_capture_content: bool = False
    # -- access control (see aios/kernel/access) --
    #: Who approves ``confirm`` tools: ``terminal``, ``deny``, ``allow`` or
    #: ``python:module:function``; ``None``: ``terminal`` when interactive, else ``deny``.
    approver: str | None = None
    #: Seconds an approver may take; no answer in time is a refusal.
    approval_timeout: float = Field(default=300.0, gt=0)
    #: Dollars all agents together may spend; ``None`` is unlimited.
    cost_budget_usd: float | None = Field(default=None, gt=0)
    #: LLM and tool calls one run (one ``aios run``, one ``aios.agent`` scope) may make.
    max_llm_calls: PositiveInt | None = None
    max_tool_calls: PositiveInt | None = None
    #: Prices by model glob, over the shipped table (``[prices."gpt-4o*"] input = 2.5 ...``).
    prices: dict[str, PriceConfig] = Field(default_factory=dict)
    #: A JSON-lines file that receives one line per access decision and per finished syscall.
    audit_log: str | None = None
    #: Also write tool arguments into the audit log (they may hold personal data).
    audit_arguments: bool = False

    @field_validator("approver")
    @classmethod
    def _known_approver(cls, v: str | None) -> str | None:
        if v is None or v in ("terminal", "deny", "allow"):
            return v
        parts = v.split(":")
        if len(parts) == 3 and parts[0] == "python" and parts[1] and parts[2]:
            return v
        raise ValueError("must be terminal, deny, allow or python:module:function")

    @model_validator(mode="after")
    def _cross_check(self) -> KernelConfig:
        # ValueError (not ConfigError): pydantic turns it into a ValidationError entry, which
        # ``load_config`` formats; each message names the key, the value and what is allowed.
        names = [c.name for c in self.cores]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"`cores[*].name` = {dupes[0]!r} appears more than once; core names must be unique"
            )
        known = set(names)
        for core in self.cores:
            for fb in core.fallbacks:
                if fb not in known:
                    raise ValueError(
                        f"`cores.{core.name}.fallbacks` = {fb!r} is not a core; known cores: {sorted(known)}"
                    )
        for i, route in enumerate(self.routes):
            if route.core not in known:
                raise ValueError(
                    f"`routes[{i}].core` = {route.core!r} (for models {route.match!r}) is not "
                    f"defined in `cores`; known cores: {sorted(known)}"
                )
        return self


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        if not e["loc"] and e["type"] == "value_error":
            # A check across keys: its message names the key and value itself.
            lines.append(f"  {e['msg'].removeprefix('Value error, ')}")
            continue
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        value = e.get("input")
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "is not a known key (check its spelling; see README 'Configuration')"
        lines.append(f"  `{key}` = {value!r}: {msg}")
    return f"invalid aios configuration from {source}:\n" + "\n".join(lines)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    # Variables that steer the runner or plugin loading, not the kernel.
    skip = {
        "AIOS_CONFIG",
        "AIOS_DISABLE_ADAPTERS",
        "AIOS_BOOTSTRAP",
        "AIOS_REPORT",
        "AIOS_QUIET",
        "AIOS_NO_ENTRY_POINTS",
    }
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith("AIOS_") or key in skip or key.startswith(("AIOS_RUN_", "AIOS_BENCH_")):
            continue
        path = key[5:].lower().split("__")
        if path[0] not in KernelConfig.model_fields:
            _warn_unknown_env(key)
            continue
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    if "AIOS_DISABLE_ADAPTERS" in environ:
        names = [n.strip() for n in environ["AIOS_DISABLE_ADAPTERS"].split(",") if n.strip()]
        out["disable_adapters"] = names
    return out


_warned_env: set[str] = set()


def _warn_unknown_env(key: str) -> None:
    # Other tools use the AIOS_ prefix too: a name that is no config key is theirs or a typo,
    # so it is ignored, and said once per process rather than failing every call.
    if key in _warned_env:
        return
    _warned_env.add(key)
    close = difflib.get_close_matches(key[5:].lower(), list(KernelConfig.model_fields), n=1, cutoff=0.75)
    hint = f" (did you mean AIOS_{close[0].upper()}?)" if close else ""
    log.warning("aios: ignoring environment variable %s: it names no config key%s", key, hint)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(merged.get(k), dict):
            merged[k] = _merge(merged[k], v)
        else:
            merged[k] = v
    return merged


#: Values of the standard content-capture variable that turn capture on (the GenAI
#: instrumentations' ``true``, and the span modes of the newer ones).
_CAPTURE_ON = frozenset({"true", "1", "span_only", "span_and_event"})


def _standard_capture(environ: Mapping[str, str]) -> bool:
    raw = environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
    return raw.strip().lower() in _CAPTURE_ON


def find_config_file(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    if environ.get("AIOS_CONFIG"):
        path = Path(environ["AIOS_CONFIG"])
        if not path.is_file():
            raise ConfigError(
                f"AIOS_CONFIG names {str(path)!r}, which is not a file; fix the path or unset it"
            )
        return path
    cwd = cwd or Path.cwd()
    for candidate in (cwd / "aios.toml", cwd / "pyproject.toml"):
        if candidate.is_file():
            if candidate.name == "pyproject.toml" and "aios" not in _read_toml(candidate).get("tool", {}):
                continue
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None


def load_config(
    path: Path | str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> KernelConfig:
    """Read the config file (if any), apply environment and explicit overrides, validate."""
    environ = os.environ if environ is None else environ
    file = Path(path) if path is not None else find_config_file(cwd, environ)
    data: dict[str, Any] = {}
    source = "defaults"
    if file is not None:
        if not file.is_file():
            raise ConfigError(f"config file {str(file)!r} does not exist")
        raw = _read_toml(file)
        if file.name == "pyproject.toml":
            raw = raw.get("tool", {}).get("aios", {})
        elif "tool" in raw and "aios" in raw["tool"]:
            raw = raw["tool"]["aios"]
        data = raw
        source = str(file)
    env = _env_overrides(environ)
    if env:
        data = _merge(data, env)
        source += " + AIOS_* environment"
    if overrides:
        data = _merge(data, {k: v for k, v in overrides.items() if v is not None})
        source += " + command-line options"
    if "otel_capture_content" not in data and _standard_capture(environ):
        data = {**data, "otel_capture_content": True}  # the setting of ours, when given, wins
    try:
        return KernelConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_errors(e, source)) from None
