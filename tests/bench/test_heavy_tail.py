"""The heavy-tailed workload: the same plan for the same seed, and a tail that is actually heavy."""

from __future__ import annotations

from itertools import pairwise
from statistics import mean, median, quantiles

from aios.bench.heavy_tail import OUTPUT_CAP, STEPS_CAP, plan, top_share
from aios.bench.scenarios import SCENARIOS
from aios.bench.workloads import UNNAMED, WORKLOADS


def test_plans_are_deterministic_under_a_seed() -> None:
    first = [plan(i, seed=11) for i in range(200)]
    assert first == [plan(i, seed=11) for i in range(200)]
    assert first != [plan(i, seed=12) for i in range(200)]
    assert all(1 <= len(p) <= STEPS_CAP and all(1 <= t <= OUTPUT_CAP for t in p) for p in first)


def test_steps_match_the_published_quantiles() -> None:
    steps = [len(plan(i)) for i in range(4000)]
    q = quantiles(steps, n=10)
    assert median(steps) == 2  # 1 + the published p50 of 1 tool-initiated step
    assert 17 <= q[8] <= 25  # published p90: 1 + 20
    assert 6 <= mean(steps) <= 12  # published mean: 1 + 7.8


def test_work_per_agent_is_heavy_tailed() -> None:
    work = [sum(plan(i)) for i in range(4000)]
    # A tenth of the agents hold most of the work; a light tail (e.g. exponential) gives ~0.33.
    assert top_share(work, 0.1) >= 0.5
    assert mean(work) >= 3 * median(work)
    assert top_share([1.0] * 100, 0.1) == 0.1


def test_the_scenario_runs_it_with_every_policy_and_without_aios() -> None:
    sc = SCENARIOS["heavy-tail"]
    assert sc.modes == ("default", "aios:fifo", "aios:las", "aios:fair")
    assert sc.frameworks == ("openai-heavy-tail",)
    assert "openai-heavy-tail" in WORKLOADS and "openai-heavy-tail" in UNNAMED
    assert "--slots" in sc.sim_args and "echo" in sc.sim_args


def test_the_idealised_server_model_bounds_the_orders() -> None:
    from aios.bench.heavy_tail import model_completions

    work = sum(sum(plan(i)) for i in range(32))
    runs = {o: model_completions(32, 2, o) for o in ("fifo", "las", "srpt")}
    for times in runs.values():
        assert len(times) == 32
        assert times[-1] >= work / 2  # two slots cannot beat half the total work
    # The oracle order is the best for the mean, and strictly better than sending everything.
    assert mean(runs["srpt"]) < mean(runs["las"]) and mean(runs["srpt"]) < mean(runs["fifo"])


def test_the_server_alone_already_serves_a_batch_in_rounds_of_one_call() -> None:
    """Why ``las`` gains nothing here: every call sent at once is least attained service in calls."""
    from aios.bench.heavy_tail import model_completions

    for seed in (7, 8, 9, 10):
        fifo = mean(model_completions(32, 2, "fifo", seed))
        assert abs(mean(model_completions(32, 2, "las-calls", seed)) / fifo - 1) < 0.02, seed


def test_the_steps_have_a_decreasing_hazard() -> None:
    """So the best order that knows no lengths is least attained service (the Gittins index)."""
    from aios.bench.heavy_tail import steps_hazard

    h = steps_hazard(samples=8000)
    assert all(a > b for a, b in pairwise(h)), h
    assert 0.35 < h[0] < 0.55  # P(steps = 1): lognormal(ln 2, 1.83) below 1.5


def test_even_the_oracle_order_stays_above_half_of_the_batch_mean() -> None:
    from aios.bench.heavy_tail import order_ratios

    ratios = order_ratios(seeds=tuple(range(1, 11)))
    assert 0.5 < ratios["srpt"][0] < 0.8
    assert abs(ratios["las-calls"][0] - 1) < 0.02


def test_with_arrivals_spread_out_las_gains_a_little_and_costs_the_tail() -> None:
    from aios.bench.heavy_tail import model_completions, order_ratios

    times = model_completions(64, 2, "fifo", 3, load=0.9)
    assert len(times) == 64 and min(times) > 0
    ratios = order_ratios(128, 2, tuple(range(1, 6)), load=0.9)
    assert ratios["las"][0] < 0.98  # new short agents pass old long ones...
    assert ratios["las"][1] > 1.1  # ...which the longest pay for
    assert ratios["srpt"][0] > 0.5  # and not even the oracle halves the mean
