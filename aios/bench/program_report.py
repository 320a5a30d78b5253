"""The figures of ``aios bench SCRIPT``: per mode and round, ratios, a verdict, files and plots."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from statistics import mean
from typing import Any

from aios.bench.metrics import ratio
from aios.bench.program import Batch, Plan
from aios.kernel.access.prices import PriceTable
from aios.kernel.accounting import percentile

#: USD per million (input, output) tokens by model name. Empty until aios has a price table:
#: ``cost_usd`` then reports ``None`` and the tables show tokens only.
#: The prices aios ships (the access manager's table); a model it does not know has no cost.
PRICES = PriceTable({})

OBSERVE_NOTE = (
    "“without aios” ran the program under aios in observe mode: every call was recorded, none was "
    "delayed, retried or refused, and the SDKs kept their own retries."
)

COLUMNS = (
    ("label", "mode", "{}"),
    ("round", "round", "{}"),
    ("success_pct", "success %", "{:.0f}"),
    ("mean_completion_s", "mean s", "{:.2f}"),
    ("p50_completion_s", "p50 s", "{:.2f}"),
    ("p95_completion_s", "p95 s", "{:.2f}"),
    ("p99_completion_s", "p99 s", "{:.2f}"),
    ("makespan_s", "makespan s", "{:.2f}"),
    ("all_done_s", "all succeed s", "{:.2f}"),
    ("rate_limited_429", "429s", "{}"),
    ("server_5xx", "5xx", "{}"),
    ("wasted_requests", "wasted req", "{}"),
    ("requests", "requests", "{}"),
    ("llm_calls", "LLM calls", "{}"),
    ("tokens", "tokens", "{}"),
    ("cost_usd", "cost $", "{:.4f}"),
)


def cost_usd(tokens_by_model: Mapping[str, list[int]]) -> float | None:
    """The price of these tokens, or ``None`` when a model's price is unknown."""
    total = 0.0
    for model, (inp, out) in tokens_by_model.items():
        price = PRICES.lookup(model)
        if price is None:
            return None
        total += price.cost(inp, out)
    return total


def _sum(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def summarize(batches: list[Batch], labels: Mapping[str, str]) -> dict[str, Any]:
    """One mode's round: its main batch and the re-runs of its copies that failed on an LLM error."""
    main = batches[0]
    copies = [c.to_dict() for c in main.copies]
    ok = sorted(c["wall_s"] for c in copies if c["ok"])
    failed = [c for c in copies if not c["ok"]]
    tokens_by_model: dict[str, list[int]] = {}
    for c in copies:
        for model, (i, o) in c["tokens_by_model"].items():
            acc = tokens_by_model.setdefault(model, [0, 0])
            acc[0] += i
            acc[1] += o
    statuses: dict[str, int] = {}
    for c in copies:
        for status, n in c["by_status"].items():
            statuses[status] = statuses.get(status, 0) + n
    ins = _sum([c["input_tokens"] for c in copies])
    outs = _sum([c["output_tokens"] for c in copies])
    # A user re-runs the copies that failed on an LLM error until they succeed; the time until
    # every copy has succeeded adds those re-runs. A copy that fails on its own never gets there.
    all_done = main.makespan_s + sum(b.makespan_s for b in batches[1:])
    latest = {c.copy: c.ok for b in batches for c in b.copies}  # batches in attempt order
    still_failed = [copy for copy, ok in latest.items() if not ok]
    boots = [c["aios_boot_s"] for c in copies if c["aios_boot_s"] is not None]
    return {
        "mode": main.mode,
        "label": labels[main.mode],
        "round": main.round + 1,
        "copies": len(copies),
        "succeeded": len(ok),
        "failed": len(failed),
        "failed_llm": sum(1 for c in failed if c["cause"] == "llm"),
        "failed_program": sum(1 for c in failed if c["cause"] == "program"),
        "failed_timeout": sum(1 for c in failed if c["cause"] == "timeout"),
        "errors": sorted({_error_name(c["error"]) for c in failed if c["error"]}),
        "llm_errors": sorted({_error_name(c["error"]) for c in failed if c["error"] and c["cause"] == "llm"}),
        "success_pct": 100.0 * len(ok) / max(1, len(copies)),
        "mean_completion_s": mean(ok) if ok else None,
        "p50_completion_s": percentile(ok, 50) if ok else None,
        "p95_completion_s": percentile(ok, 95) if ok else None,
        "p99_completion_s": percentile(ok, 99) if ok else None,
        "completion_times": ok,
        "makespan_s": main.makespan_s,
        "all_done_s": all_done if not still_failed else None,
        "all_done_at_least_s": all_done,
        "rerun_rounds": len(batches) - 1,
        "requests": sum(c["requests"] for c in copies),
        "by_status": statuses,
        "rate_limited_429": statuses.get("429", 0),
        "server_5xx": sum(n for s, n in statuses.items() if s[:1] == "5"),
        "wasted_requests": sum(n for s, n in statuses.items() if not s.startswith("2")),
        "llm_calls": _sum([c["llm_calls"] for c in copies]),
        "input_tokens": ins,
        "output_tokens": outs,
        "tokens": None if ins is None or outs is None else ins + outs,
        "cost_usd": None if ins is None else cost_usd(tokens_by_model),
        "aios_boot_s_mean": mean(boots) if boots else None,
        "sim": main.to_dict()["sim"],
        "batches": [b.to_dict() for b in batches],
    }


def _error_name(line: str) -> str:
    """``openai.RateLimitError: Error code: 429 ...`` -> ``RateLimitError``."""
    return line.split(":", 1)[0].strip().rsplit(".", 1)[-1]


def _median(runs: list[dict[str, Any]], mode: str, key: str) -> float | None:
    values: list[float] = sorted(r[key] for r in runs if r["mode"] == mode and r.get(key) is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def ratios(runs: list[dict[str, Any]], modes: list[str]) -> dict[str, dict[str, float | None]]:
    """Each mode against "without aios" (medians over rounds): below 1 is better for times."""
    out: dict[str, dict[str, float | None]] = {}
    for mode in modes:
        if mode == "without":
            continue
        out[f"{mode}_vs_without"] = {
            key: ratio(_median(runs, mode, key), _median(runs, "without", key))
            for key in (
                "success_pct",
                "mean_completion_s",
                "p95_completion_s",
                "makespan_s",
                "all_done_at_least_s",
                "requests",
                "rate_limited_429",
                "tokens",
            )
        }
    return out


def build(plan: Plan, batches: list[Batch]) -> dict[str, Any]:
    labels = {m.key: m.label for m in plan.modes}
    groups: dict[tuple[str, int], list[Batch]] = {}
    for b in batches:
        groups.setdefault((b.mode, b.round), []).append(b)
    runs = [summarize(sorted(g, key=lambda b: b.attempt), labels) for g in groups.values()]
    modes = [m.key for m in plan.modes]
    result: dict[str, Any] = {
        "program": plan.program.describe(),
        "config": {
            "copies": plan.copies,
            "repeat": plan.repeat,
            "reruns": plan.reruns,
            "provider": "sim" if plan.sim is not None else "env",
            "sim_args": list(plan.sim.args) if plan.sim is not None else None,
            "modes": [
                {
                    "key": m.key,
                    "label": m.label,
                    "kind": m.kind,
                    "config": str(m.config) if m.config else None,
                }
                for m in plan.modes
            ],
        },
        "note": OBSERVE_NOTE,
        "runs": runs,
        "ratios": ratios(runs, modes),
    }
    result["observe_overhead"] = observe_overhead(runs)
    result["verdict"] = verdict(result)
    return result


def observe_overhead(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """What observe mode costs: aios's start-up per process, and against ``plain`` when run."""
    boot = [
        r["aios_boot_s_mean"] for r in runs if r["mode"] == "without" and r["aios_boot_s_mean"] is not None
    ]
    return {
        "startup_s_per_process": mean(boot) if boot else None,
        "mean_completion_vs_plain": ratio(
            _median(runs, "without", "mean_completion_s"), _median(runs, "plain", "mean_completion_s")
        ),
        "requests_vs_plain": ratio(_median(runs, "without", "requests"), _median(runs, "plain", "requests")),
    }


def _totals(runs: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    mine = [r for r in runs if r["mode"] == mode]
    errors = sorted({e for r in mine for e in r["llm_errors"]})
    done = [r["all_done_s"] for r in mine]
    return {
        "copies": sum(r["copies"] for r in mine),
        "succeeded": sum(r["succeeded"] for r in mine),
        "failed_llm": sum(r["failed_llm"] for r in mine),
        "failed_program": sum(r["failed_program"] for r in mine),
        "failed_timeout": sum(r["failed_timeout"] for r in mine),
        "makespan_s": _median(runs, mode, "makespan_s"),
        "all_done_s": None if any(d is None for d in done) else _median(runs, mode, "all_done_s"),
        "429": sum(r["rate_limited_429"] for r in mine),
        "errors": errors,
    }


def _failures(t: dict[str, Any]) -> str:
    parts = []
    if t["failed_llm"]:
        errs = ", ".join(e for e in t["errors"] if e) or "an LLM error"
        parts.append(f"{t['failed_llm']} failed on an LLM call ({errs})")
    if t["failed_program"]:
        parts.append(f"{t['failed_program']} failed on their own (not an LLM error)")
    if t["failed_timeout"]:
        parts.append(f"{t['failed_timeout']} ran out of time")
    return "; ".join(parts)


def verdict(result: Mapping[str, Any]) -> str:
    """One plain-language paragraph comparing with and without aios."""
    runs = result["runs"]
    w, o = _totals(runs, "with"), _totals(runs, "without")
    rounds = result["config"]["repeat"]
    per = f" over {rounds} rounds" if rounds > 1 else ""
    sentences = []
    for label, t in (("With aios", w), ("Without aios", o)):
        if t["succeeded"] == t["copies"]:
            s = f"{label} all {t['copies']} copies{per} succeeded in {t['makespan_s']:.1f} s"
        else:
            s = f"{label} {t['succeeded']} of {t['copies']} copies{per} succeeded; {_failures(t)}"
        s += f", and the provider answered {t['429']} request{'' if t['429'] == 1 else 's'} with 429."
        sentences.append(s)
    if o["all_done_s"] is not None and w["all_done_s"] is not None and o["succeeded"] < o["copies"]:
        sentences.append(
            f"Re-running the failed copies until all succeeded took {o['all_done_s']:.1f} s without aios, "
            f"against {w['all_done_s']:.1f} s with it."
        )
    if w["failed_program"] and o["failed_program"]:
        sentences.append(
            "Copies that failed on their own failed in both modes: that is the program, not the provider."
        )
    speed = result["ratios"].get("with_vs_without", {}).get("makespan_s")
    if speed is not None and w["succeeded"] == w["copies"] and o["succeeded"] == o["copies"]:
        sentences.append(
            f"Both got every copy through; with aios the makespan was {speed:.2f}x that without."
        )
    sentences.append(OBSERVE_NOTE)
    return " ".join(sentences)


def _cell(value: Any, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def markdown(result: Mapping[str, Any]) -> str:
    cfg = result["config"]
    provider = (
        f"sim `{' '.join(cfg['sim_args'])}`" if cfg["provider"] == "sim" else "the program's own provider"
    )
    lines = [
        f"### aios bench `{result['program']}`",
        "",
        f"{cfg['copies']} copies at once, {cfg['repeat']} round(s), {provider}; failed copies re-run up to "
        f"{cfg['reruns']} times when an LLM call failed.",
        "",
        "| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for run in result["runs"]:
        cells = [_cell(run.get(k), f) for k, _, f in COLUMNS]
        if run["all_done_s"] is None:
            cells[[k for k, _, _ in COLUMNS].index("all_done_s")] = "never"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| ratio (median over rounds) | value |", "|---|---|"]
    for name, values in result["ratios"].items():
        for key, value in values.items():
            lines.append(f"| {name}: {key} | {_cell(value, '{:.3f}')} |")
    over = result["observe_overhead"]
    lines += [
        "",
        f"Observe mode: aios start-up {_cell(over['startup_s_per_process'], '{:.3f}')} s per process "
        "(importing aios and patching the installed frameworks, which imports them)"
        + (
            f", mean completion {over['mean_completion_vs_plain']:.3f}x that of the plain program."
            if over["mean_completion_vs_plain"] is not None
            else "."
        ),
        "",
        result["verdict"],
        "",
    ]
    return "\n".join(lines)


def plots(result: Mapping[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    runs = result["runs"]
    multi = result["config"]["repeat"] > 1

    def label(run: Mapping[str, Any]) -> str:
        return f"{run['label']} (round {run['round']})" if multi else str(run["label"])

    fig, ax = plt.subplots(figsize=(6, 4))
    for run in runs:
        times = run["completion_times"]
        xs = [0.0, *times]
        ax.step(xs, list(range(len(xs))), where="post", label=label(run))
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("copies succeeded")
    ax.set_title("successes over time")
    ax.legend()
    written.append(_save(fig, out / "successes-over-time.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for run in runs:
        times = run["completion_times"]
        if times:
            ys = [(i + 1) / run["copies"] for i in range(len(times))]
            ax.step(times, ys, where="post", label=label(run))
    ax.set_xlabel("completion time (s)")
    ax.set_ylabel("fraction of copies succeeded")
    ax.set_title("completion time CDF")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    written.append(_save(fig, out / "completion-cdf.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(result: Mapping[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (out / "results.md").write_text(markdown(result), encoding="utf-8")
    return out / "results.json"
