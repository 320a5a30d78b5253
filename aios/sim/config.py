"""Configuration of the simulated provider (one pydantic model, validated once at start)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Profile = Literal["instant", "api", "server"]
Mode = Literal["auto", "echo", "scripted"]

PROFILES: tuple[str, ...] = ("instant", "api", "server")
MODES: tuple[str, ...] = ("auto", "echo", "scripted")
FAULT_KINDS: tuple[str, ...] = ("429", "500", "529", "stall", "disconnect", "stream_error")


class Faults(BaseModel):
    """Probability per request of each injected fault (drawn from the seeded generator).

    ``disconnect`` and ``stream_error`` only apply to streamed responses: the first drops the
    connection mid-stream, the second sends the provider's in-stream error event after a 200.
    ``stall`` holds the request for ``stall_seconds`` of real time so client timeouts fire.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    rate_429: float = Field(0.0, ge=0, le=1, alias="429")
    rate_500: float = Field(0.0, ge=0, le=1, alias="500")
    rate_529: float = Field(0.0, ge=0, le=1, alias="529")
    stall: float = Field(0.0, ge=0, le=1)
    disconnect: float = Field(0.0, ge=0, le=1)
    stream_error: float = Field(0.0, ge=0, le=1)
    stall_seconds: float = Field(30.0, ge=0)

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Parse ``"429=0.1,500=0.02,stall=0.01"``; raises ValueError naming a bad entry."""
        values: dict[str, float] = {}
        for raw in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, value = raw.partition("=")
            key = key.strip()
            if not sep or key not in (*FAULT_KINDS, "stall_seconds"):
                raise ValueError(
                    f"bad fault entry {raw!r}: expected KIND=RATE with KIND one of "
                    f"{', '.join(FAULT_KINDS)} (or stall_seconds=S)"
                )
            try:
                values[key] = float(value)
            except ValueError:
                raise ValueError(f"bad fault rate in {raw!r}: {value!r} is not a number") from None
        return cls.model_validate(values)

    @property
    def any(self) -> bool:
        return any(
            (self.rate_429, self.rate_500, self.rate_529, self.stall, self.disconnect, self.stream_error)
        )


class SimConfig(BaseModel):
    """Everything that shapes the sim's behaviour. Times are simulated seconds unless said.

    Profile defaults (``api``: ttft 0.5 s, 0.015 s/token ≈ 65 tok/s, the order of magnitude
    public latency trackers report for GPT-4o/Claude Sonnet class models; ``server``: one
    vLLM-like server, 0.025 s per decode step at batch 1 growing by ``batch_slowdown`` per
    extra sequence, prefill 0.2 ms/token, as measured for 7-8B models on one A100) are
    starting points, all overridable.
    """

    model_config = ConfigDict(extra="forbid")

    profile: Profile = "instant"
    mode: Mode = "auto"
    script: Path | None = None
    seed: int = 0
    time_scale: float = Field(1.0, gt=0)

    # Rate limits (None = unlimited). OpenAI paths use rpm/tpm; Anthropic paths use rpm plus
    # input_tpm/output_tpm (falling back to tpm). Buckets are kept per API key.
    rpm: int | None = Field(None, gt=0)
    tpm: int | None = Field(None, gt=0)
    input_tpm: int | None = Field(None, gt=0)
    output_tpm: int | None = Field(None, gt=0)
    # Lifetime token budget per key; beyond it OpenAI answers insufficient_quota and
    # Anthropic its non-retryable spend-limit 429.
    budget_tokens: int | None = Field(None, gt=0)
    # What an OpenAI bucket charges for output when the request sets no max_tokens.
    default_max_tokens: int = Field(1024, gt=0)

    # api profile
    ttft: float = Field(0.5, ge=0)
    ttft_per_input_token: float = Field(0.00002, ge=0)
    decode_per_token: float = Field(0.015, ge=0)
    # server profile
    slots: int = Field(8, gt=0)
    kv_budget: int = Field(65536, gt=0)
    step_time: float = Field(0.025, ge=0)
    batch_slowdown: float = Field(0.08, ge=0)
    prefill_per_token: float = Field(0.0002, ge=0)

    # Reply shaping
    max_tool_rounds: int = Field(3, ge=0)
    answer_words_min: int = Field(8, ge=1)
    answer_words_max: int = Field(24, ge=1)

    faults: Faults = Field(default_factory=Faults)

    @model_validator(mode="after")
    def _check(self) -> SimConfig:
        if self.mode == "scripted" and self.script is None:
            raise ValueError("mode 'scripted' needs a script path (--script PATH)")
        if self.answer_words_max < self.answer_words_min:
            raise ValueError("answer_words_max must be >= answer_words_min")
        return self
