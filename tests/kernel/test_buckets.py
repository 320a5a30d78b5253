"""Rate buckets, core admission and limits learned from provider headers, on a manual clock."""

from __future__ import annotations

import math

import pytest

from aios.kernel.buckets import TokenBucket
from aios.kernel.clock import ManualClock
from aios.kernel.cores import Core, CoreSpec
from aios.kernel.syscall import Kind, Syscall


def sc(est_in: int = 0, est_out: int = 0) -> Syscall:
    return Syscall(
        kind=Kind.LLM, agent="a", created_at=0.0, est_input_tokens=est_in, est_output_tokens=est_out
    )


# -- TokenBucket ------------------------------------------------------------------------------------


def test_bucket_refills_continuously() -> None:
    clock = ManualClock()
    b = TokenBucket(60, period=60.0, now=clock.now())  # one unit a second
    assert b.rate == 1.0
    b.take(60, clock.now())
    assert b.available(clock.now()) == 0
    clock.advance(0.5)
    assert b.available(clock.now()) == pytest.approx(0.5)
    clock.advance(10)
    assert b.available(clock.now()) == pytest.approx(10.5)
    clock.advance(1000)
    assert b.available(clock.now()) == 60  # never above capacity


def test_bucket_time_until() -> None:
    clock = ManualClock(100.0)
    b = TokenBucket(120, period=60.0, now=clock.now())  # two units a second
    assert b.time_until(120, clock.now()) == 0
    b.take(100, clock.now())
    assert b.time_until(20, clock.now()) == 0
    assert b.time_until(21, clock.now()) > 0
    assert b.time_until(30, clock.now()) == pytest.approx(5.0)
    clock.advance(5.0)
    assert b.time_until(30, clock.now()) == 0


def test_bucket_oversized_request_waits_for_a_full_bucket_only() -> None:
    b = TokenBucket(100, period=10.0, now=0.0)
    assert b.time_until(500, 0.0) == 0  # more than capacity: admitted when the bucket is full
    b.take(500, 0.0)
    assert b.available(0.0) == -400  # it can go negative like the provider's counter
    assert b.time_until(500, 0.0) == pytest.approx(50.0)  # back to full: 500 units at 10/s


def test_bucket_give_is_capped_and_resize_keeps_used() -> None:
    b = TokenBucket(100, now=0.0)
    b.take(30, 0.0)
    b.give(50, 0.0)
    assert b.available(0.0) == 100
    b.take(40, 0.0)
    b.resize(200, 0.0)
    assert (b.capacity, b.available(0.0)) == (200, 160)
    b.observe_remaining(150, 0.0)  # the provider says fewer are left: trust it
    assert b.available(0.0) == 150
    b.observe_remaining(190, 0.0)  # more left than we think: keep ours
    assert b.available(0.0) == 150


@pytest.mark.parametrize("bad", [0, -1])
def test_bucket_rejects_bad_shapes(bad: float) -> None:
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(bad)
    with pytest.raises(ValueError, match="period"):
        TokenBucket(10, period=bad)


def test_manual_clock_cannot_go_back() -> None:
    clock = ManualClock(5.0)
    assert clock.advance(1.5) == 6.5
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)


# -- Core admission ------------------------------------------------------------------------------------


def test_core_slots() -> None:
    core = Core(CoreSpec("c", api="openai", max_concurrency=2, learn_limits=False))
    a, b, c = sc(), sc(), sc()
    core.reserve(a, 0.0)
    assert core.wait_for(b, 0.0) == 0
    core.reserve(b, 0.0)
    assert core.open_until(0.0) == math.inf  # only a release can open it
    assert core.wait_for(c, 0.0) == math.inf
    core.release(a, 0.0, ran=True, usage_known=False)
    assert core.wait_for(c, 0.0) == 0
    assert core.in_use == 1


def test_core_request_and_token_buckets_pace_admission() -> None:
    clock = ManualClock()
    core = Core(CoreSpec("c", api="openai", rpm=60, tpm=600, rate_margin_s=0.0), now=clock.now())
    big = sc(est_in=500, est_out=100)
    core.reserve(big, clock.now())
    nxt = sc(est_in=50, est_out=10)
    # In flight, the charge holds the tokens and nothing refills: only the answer tells more.
    assert core.wait_for(nxt, clock.now()) == math.inf
    core.learn({}, clock.now(), big)  # the provider answered
    # tokens: 0 left, 60 needed at 10/s -> 6 s; requests: 59 left.
    assert core.wait_for(nxt, clock.now()) == pytest.approx(6.0)
    clock.advance(6.0)
    assert core.wait_for(nxt, clock.now()) == 0


def test_core_admission_waits_for_a_margin_of_extra_refill() -> None:
    core = Core(CoreSpec("c", api="openai", tpm=600, rate_margin_s=0.5), now=0.0)  # 10 tokens/s
    first = sc(est_in=600)
    core.reserve(first, 0.0)
    core.learn({}, 0.0, first)
    # 60 tokens need 6 s, plus 0.5 s of refill (5 tokens) as the configured margin.
    assert core.wait_for(sc(est_in=60), 0.0) == pytest.approx(6.5)


def test_core_charges_rate_buckets_when_the_provider_answers_not_when_admitted() -> None:
    """A call admitted holds its charge as in flight until the provider answers it: however late
    the calls reach the provider, our bucket sits full like the provider's until they have, and
    no refill is credited that the provider would not give."""
    clock = ManualClock()
    core = Core(CoreSpec("c", api="openai", rpm=5, rate_window_s=1.0))
    calls = [sc() for _ in range(5)]
    for call in calls:
        assert core.wait_for(call, clock.now()) == 0
        core.reserve(call, clock.now())
    assert core.wait_for(sc(), clock.now()) == math.inf  # five in flight fill the burst
    clock.advance(1.0)  # the callers' loop was busy: none has reached the provider yet
    assert core.wait_for(sc(), clock.now()) == math.inf
    for call in calls:  # all five arrive together now, and are answered
        core.learn({}, clock.now(), call)
    assert core.pending["requests"] == 0
    assert core.wait_for(sc(), clock.now()) == pytest.approx(clock.now() + 0.2)
    core.release(calls[0], clock.now(), ran=True, usage_known=False)  # charged once, not twice
    assert core.wait_for(sc(), clock.now()) == pytest.approx(clock.now() + 0.2)
    never_sent = sc()
    clock.advance(0.2)
    core.reserve(never_sent, clock.now())
    core.release(never_sent, clock.now(), ran=False, usage_known=False)
    assert core.pending["requests"] == 0 and core.in_use == 4
    clock.advance(0.01)
    assert core.wait_for(sc(), clock.now()) == 0  # the refund left the one refilled request


def test_core_cooldown() -> None:
    core = Core(CoreSpec("c", api="openai"))
    core.pause(5.0)
    core.pause(3.0)  # an earlier end never shortens a pause
    assert core.open_until(1.0) == 5.0
    assert core.wait_for(sc(), 1.0) == 5.0
    assert core.open_until(5.0) == 0
    assert core.paused == 1


def test_core_release_refunds_or_settles() -> None:
    # Anthropic settles its estimate with the real usage; OpenAI keeps the input + max_tokens charge.
    core = Core(CoreSpec("c", api="anthropic", rpm=10, tpm=1000, input_tpm=1000, output_tpm=1000))
    never_ran = sc(est_in=100, est_out=200)
    core.reserve(never_ran, 0.0)
    core.release(never_ran, 0.0, ran=False, usage_known=False)
    assert {n: b.available(0.0) for n, b in core.buckets.items()} == {
        "requests": 10,
        "tokens": 1000,
        "input_tokens": 1000,
        "output_tokens": 1000,
    }
    ran = sc(est_in=100, est_out=200)
    core.reserve(ran, 0.0)
    ran.input_tokens, ran.output_tokens = 120, 30  # real usage: more input, less output
    core.release(ran, 0.0, ran=True, usage_known=True)
    assert {n: b.available(0.0) for n, b in core.buckets.items()} == {
        "requests": 9,
        "tokens": 850,
        "input_tokens": 880,
        "output_tokens": 970,
    }
    unknown = sc(est_in=100, est_out=200)
    core.reserve(unknown, 0.0)
    core.release(unknown, 0.0, ran=True, usage_known=False)  # the estimate stands
    assert core.buckets["tokens"].available(0.0) == 550
    assert core.in_use == 0
    openai = Core(CoreSpec("o", api="openai", tpm=1000))
    used = sc(est_in=100, est_out=200)
    openai.reserve(used, 0.0)
    used.input_tokens, used.output_tokens = 120, 30
    openai.release(used, 0.0, ran=True, usage_known=True)
    assert openai.buckets["tokens"].available(0.0) == 1000 - 300  # used less: the charge stands


# -- learning limits from headers -----------------------------------------------------------------------


def test_learn_openai_headers() -> None:
    core = Core(CoreSpec("c", api="openai"))
    core.learn(
        {
            "X-RateLimit-Limit-Requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "29000",
            "x-ratelimit-reset-tokens": "2s",
        },
        0.0,
    )
    assert core.learned == {"requests", "tokens"}
    assert core.buckets["requests"].capacity == 500
    assert core.buckets["requests"].available(0.0) == 499
    assert core.buckets["tokens"].available(0.0) == 29000
    # A later response with a bigger limit resizes; the used part is kept.
    core.learn({"x-ratelimit-limit-tokens": "60000"}, 0.0)
    assert core.buckets["tokens"].capacity == 60000
    assert core.buckets["tokens"].available(0.0) == 59000
    assert core.describe(0.0)["buckets"]["tokens"]["learned"] is True


def test_learn_anthropic_headers() -> None:
    core = Core(CoreSpec("c", api="anthropic", rate_margin_s=0.0))
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "10",
        "anthropic-ratelimit-requests-reset": "2026-11-01T00:00:01Z",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "39000",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "8000",
        "anthropic-ratelimit-tokens-limit": "48000",
        "anthropic-ratelimit-tokens-remaining": "47000",
    }
    core.learn(headers, 0.0)
    assert core.learned == {"requests", "input_tokens", "output_tokens", "tokens"}
    assert core.buckets["requests"].available(0.0) == 10
    assert core.buckets["input_tokens"].available(0.0) == 39000
    # With 10 requests left at 50/min, the 11th waits 60/50 s for one more.
    for _ in range(10):
        core.reserve(sc(), 0.0)
        core.release(sc(), 0.0, ran=True, usage_known=False)
    assert core.wait_for(sc(), 0.0) == pytest.approx(60 / 50)


def test_learn_keeps_configured_limits_and_can_be_off() -> None:
    core = Core(CoreSpec("c", api="openai", rpm=10))
    core.learn({"x-ratelimit-limit-requests": "500", "x-ratelimit-limit-tokens": "1000"}, 0.0)
    assert core.buckets["requests"].capacity == 10  # configured wins
    assert core.buckets["tokens"].capacity == 1000
    off = Core(CoreSpec("c", api="openai", learn_limits=False))
    off.learn({"x-ratelimit-limit-requests": "500"}, 0.0)
    assert off.buckets == {}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "json"},
        {"x-ratelimit-limit-requests": "n/a"},
        {"x-ratelimit-limit-requests": "0"},
    ],
)
def test_learn_ignores_unusable_headers(headers: dict[str, str]) -> None:
    core = Core(CoreSpec("c", api="openai"))
    core.learn(headers, 0.0)
    assert core.buckets == {}


# -- slow start ------------------------------------------------------------------------------------


def test_slow_start_admits_one_call_until_the_provider_states_its_limits() -> None:
    core = Core(CoreSpec("c", api="openai", max_concurrency=8))
    first, second = sc(), sc()
    assert core.try_admit(first, 0.0) == 0
    assert core.try_admit(second, 0.0) == math.inf  # limits unknown: one call probes them
    core.learn({"x-ratelimit-limit-requests": "20", "x-ratelimit-remaining-requests": "19"}, 0.1)
    assert not core.probing
    assert core.try_admit(second, 0.1) == 0  # learned: the bucket now decides
    assert set(core.buckets) == {"requests"}


def test_slow_start_ends_when_a_call_ran_without_rate_headers() -> None:
    core = Core(CoreSpec("c", api="openai", max_concurrency=8))
    first, second, third = sc(), sc(), sc()
    assert core.try_admit(first, 0.0) == 0
    core.release(first, 0.5, ran=True, usage_known=False)  # a provider that sends no limits
    assert core.try_admit(second, 0.5) == 0
    assert core.try_admit(third, 0.5) == 0


@pytest.mark.parametrize(
    "spec",
    [
        CoreSpec("c", api="openai", rpm=10),  # configured limits: nothing to probe
        CoreSpec("c", api="openai", learn_limits=False),
        CoreSpec("tool:x", api="tool"),
    ],
)
def test_no_slow_start_when_limits_are_known_or_never_learned(spec: CoreSpec) -> None:
    core = Core(spec)
    assert not core.probing
    assert core.try_admit(sc(), 0.0) == 0
    assert core.try_admit(sc(), 0.0) == 0


def test_a_call_given_back_unsent_keeps_the_core_probing() -> None:
    core = Core(CoreSpec("c", api="openai"))
    first = sc()
    assert core.try_admit(first, 0.0) == 0
    core.release(first, 0.0, ran=False, usage_known=False)  # cancelled before it was sent
    assert core.probing


def limits(remaining: int) -> dict[str, str]:
    return {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": str(remaining)}


def test_remaining_counts_lower_our_bucket_only_beyond_what_we_can_explain() -> None:
    """The provider's remaining count (rounded down, taken when it admitted the call, before our
    later calls in flight) lowers our bucket only when another client must have used the key."""
    core = Core(CoreSpec("c", api="openai", rpm=10, rate_window_s=1.0))  # 10 a second
    calls = [sc() for _ in range(4)]
    for call in calls:
        core.reserve(call, 0.0)
    # The answer to the first: 9.3 left at the provider, reported as 9; three still in flight.
    core.learn(limits(9), 0.0, calls[0])
    assert core.buckets["requests"].available(0.0) == 9  # ours: 10 - 1 answered
    assert core.pending["requests"] == 3
    # A stale answer (sent before the others arrived) saying 9 again changes nothing either.
    core.learn(limits(9), 0.0, calls[1])
    assert core.buckets["requests"].available(0.0) == 8
    # Someone else spent the key: 2 left where we can explain at least 8 - 2 in flight.
    core.learn(limits(2), 0.0, calls[2])
    assert core.buckets["requests"].available(0.0) == 2
    # The refill since the call was admitted is allowed for: 0.5 s = 5 requests here.
    later = Core(CoreSpec("c", api="openai", rpm=10, rate_window_s=1.0))
    slow = sc()
    later.try_admit(slow, 0.0)
    later.buckets["requests"].take(6, 0.0)  # 4 left, and 1 in flight
    slow.attempt_started_at = 0.0
    # Ours: 4 + 5 refilled - 1 answered = 8. The provider said 3 when it admitted the call, at
    # most 0.5 s ago: with 1 of rounding and up to 5 refilled since, 9 is possible.
    later.learn(limits(3), 0.5, slow)
    assert later.buckets["requests"].available(0.5) == pytest.approx(8)
    later.learn(limits(3), 0.5)  # no call to allow refill for: 8 > 3 + 1
    assert later.buckets["requests"].available(0.5) == 3


def test_a_rejection_is_not_charged_and_its_remaining_count_stands() -> None:
    core = Core(CoreSpec("c", api="openai", rpm=10, rate_window_s=1.0))
    rejected, other = sc(), sc()
    core.reserve(rejected, 0.0)
    core.reserve(other, 0.0)
    # Another client spent the key: the provider had none left and asks to retry in 100 ms.
    core.learn({**limits(0), "retry-after-ms": "100", "retry-after": "1"}, 0.0, rejected)
    assert rejected.pending_charges is None and rejected.charged is None
    assert core.buckets["requests"].available(0.0) == 0
    assert core.pending["requests"] == 1  # the other call is still on its way
    core.release(rejected, 0.0, ran=True, usage_known=False)  # nothing left to settle
    assert core.buckets["requests"].available(0.0) == 0
    # 1 for the call in flight, 1 for the next, and room for the client we do not see.
    assert core.wait_for(sc(), 0.0) == pytest.approx(0.2 + 0.25)


def test_other_clients_seen_on_the_key_earn_them_a_margin() -> None:
    """Alone on a key, a call goes the moment its unit has refilled; once the provider has shown
    other clients (a rejection), calls leave them a quarter second of refill, or every client
    would send at that same moment and all but one be rejected."""
    core = Core(CoreSpec("c", api="openai", rpm=10, rate_window_s=1.0))
    first = sc()
    core.reserve(first, 0.0)
    core.learn(limits(9), 0.0, first)  # answered: 9 left for us; no sign of anyone else
    assert not core.contended
    core.buckets["requests"].take(9, 0.0)
    assert core.wait_for(sc(), 0.0) == pytest.approx(0.1)
    rejected = sc()
    core.reserve(rejected, 0.1)
    core.learn({**limits(0), "retry-after-ms": "100"}, 0.1, rejected)
    assert core.contended and core.describe(0.1)["contended"]
    assert core.wait_for(sc(), 0.1) == pytest.approx(0.1 + 0.1 + 0.25)
