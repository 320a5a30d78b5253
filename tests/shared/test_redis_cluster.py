"""The shared state on a real Redis Cluster: three Valkey nodes in cluster mode on 127.0.0.1.

Kernels reach it with a ``redis+cluster://`` URL. The cores used here are chosen so that their
keys, the budget ledger and the wake-up subscription live on different nodes: every script must
keep to one slot, and wake-ups must cross the cluster bus.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aios
from aios.config import KernelConfig
from aios.errors import ConfigError
from aios.kernel.failures import Usage
from aios.kernel.kernel import Kernel
from aios.kernel.shared.client import open_client
from aios.kernel.syscall import Status
from aios.runner.redis_server import LocalCluster, free_port, start_cluster
from aios.sim.process import SimServer
from tests.kernel.shared_kernels import acquire_in_thread, llm, race_for_a_token_budget
from tests.shared.conftest import run_aios


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with start_cluster(3) as c:
        yield c


@pytest.fixture
def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def core_elsewhere(url: str, prefix: str) -> str:
    """A core name whose keys live on another node than the wake-up pattern and the ledger."""
    conn: Any = open_client(url)
    try:
        avoid = {
            conn.get_node_from_key(f"{{{prefix}:core:*}}:wake").name,
            conn.get_node_from_key(f"{{{prefix}:budget}}:lines").name,
        }
        for i in range(1000):
            name = f"core{i}"
            if conn.get_node_from_key(f"{{{prefix}:core:{name}}}:state").name not in avoid:
                return name
    finally:
        conn.close()
    raise AssertionError("no core name maps to a third node")


def one_slot(url: str, prefix: str, **extra: Any) -> dict[str, Any]:
    name = core_elsewhere(url, prefix)
    return {
        "redis_url": url,
        "redis_prefix": prefix,
        "cores": [{"name": name, "api": "openai", "max_concurrency": 1, "learn_limits": False}],
        "routes": [{"match": "*", "core": name}],
        **extra,
    }


def test_two_kernels_share_one_concurrency_limit_through_a_cluster(
    cluster: LocalCluster, prefix: str, kernels: Any
) -> None:
    # A short lease: the heartbeat (one script per node, no pipeline on a cluster) must renew it.
    cfg = one_slot(cluster.url, prefix, lease_ttl_s=1.0)
    a, b = kernels(**cfg), kernels(**cfg)
    assert a.shared is not None and a.shared.cluster
    held = a.acquire(llm(a))
    sc = llm(b)
    order: list[str] = []
    t = acquire_in_thread(b, sc, order, "b")
    time.sleep(2.5)  # more than two lease lifetimes: only renewals keep the slot the holder's
    assert sc.status is Status.QUEUED and order == []
    released = time.monotonic()
    held.succeed()
    t.join(5)
    # Woken through the cluster's pub/sub, well before the 1 s re-check of an expiring lease.
    assert order == ["b"] and time.monotonic() - released < 0.9


def test_the_waiting_order_is_global_on_a_cluster(cluster: LocalCluster, prefix: str, kernels: Any) -> None:
    cfg = one_slot(cluster.url, prefix, policy="priority", aging_rate=0.0)
    a, b = kernels(**cfg), kernels(**cfg)
    held = a.acquire(llm(a))
    order: list[str] = []
    low = llm(a, "low", priority=0)
    t1 = acquire_in_thread(a, low, order, "a-low")
    time.sleep(0.2)
    t2 = acquire_in_thread(b, llm(b, "high", priority=5), order, "b-high")
    time.sleep(0.2)
    held.succeed()
    t1.join(5)
    t2.join(5)
    assert order == ["b-high", "a-low"]


def test_a_token_budget_is_one_budget_across_kernels_on_a_cluster(
    cluster: LocalCluster, prefix: str, kernels: Any
) -> None:
    cfg = {
        "redis_url": cluster.url,
        "redis_prefix": prefix,
        "agents": {"a": {"token_budget": 300}},
        "max_concurrency": 64,
    }
    ks = [kernels(**cfg), kernels(**cfg)]
    outcomes = race_for_a_token_budget(ks, 20)
    assert outcomes.count("done") == 10 and outcomes.count("BudgetExceeded") == 10, outcomes
    assert ks[1].scheduler.ledger.line("agent:a:tokens") == (300.0, 0.0)


def test_the_cluster_report_and_top_read_a_cluster(cluster: LocalCluster, prefix: str, kernels: Any) -> None:
    cfg = one_slot(cluster.url, prefix)
    k = kernels(**cfg)
    from aios.runner.cluster_report import recorder_for

    recorder = recorder_for(k.config)
    assert recorder is not None
    k.add_observer(recorder)
    try:
        for _ in range(3):
            k.acquire(llm(k, "reporter")).succeed(usage=Usage(5, 7))
    finally:
        k.remove_observer(recorder)
        recorder.close()
    report = aios.cluster_report(cluster.url, prefix)
    assert report["agents"]["reporter"]["llm_calls"] == 3
    assert report["agents"]["reporter"]["input_tokens"] == 15
    from aios.kernel.shared.state import read_cores

    conn: Any = open_client(cluster.url, decode_responses=True)
    try:
        assert cfg["cores"][0]["name"] in read_cores(conn, prefix)
    finally:
        conn.close()


def test_a_plain_url_to_a_cluster_node_names_the_cluster_scheme(cluster: LocalCluster) -> None:
    plain = cluster.url.replace("redis+cluster://", "redis://")
    with pytest.raises(ConfigError) as info:
        Kernel(KernelConfig(redis_url=plain))
    message = str(info.value)
    assert "redis+cluster://" in message and "\n" not in message


def test_a_cluster_url_that_does_not_answer_names_it() -> None:
    url = f"redis+cluster://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ConfigError) as info:
        Kernel(KernelConfig(redis_url=url))
    message = str(info.value)
    assert url in message and "\n" not in message


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_aios_run_with_a_cluster_url_holds_one_limit_across_processes(
    cluster: LocalCluster, prefix: str, tmp_path: Path
) -> None:
    with SimServer("--profile", "api", "--latency", "ttft=0.3") as sim:
        config = tmp_path / "aios.toml"
        config.write_text(
            f'[[cores]]\nname = "sim"\napi = "openai"\nbase_url = "{sim.openai_base_url}"\n'
            "max_concurrency = 2\n"
        )
        proc = run_aios(
            ["run", "-q", "--frameworks", "openai", "--config", str(config), "--redis", cluster.url,
             "-m", "aios.bench.shared_workers", "--processes", "3", "--agents", "2"],
            sim=sim,
            env={"AIOS_REDIS_PREFIX": prefix},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["completed"] == 6 and out["errors"] == [], out
        stats = sim.stats()
    assert stats["requests"] == 12 and stats["max_in_flight"] <= 2, stats
    report = run_aios(["report", "--redis", cluster.url, "--prefix", prefix, "--json"])
    assert report.returncode == 0, report.stderr[-2000:]
    totals = json.loads(report.stdout)
    assert sum(a["llm_calls"] for a in totals["agents"].values()) == 12


@pytest.mark.parametrize(
    "args", [["top", "--once"], ["report"], ["run", "-c", "print('never')"]], ids=["top", "report", "run"]
)
def test_commands_name_an_unreachable_cluster_in_one_line(args: list[str]) -> None:
    url = f"redis+cluster://127.0.0.1:{free_port()}"
    proc = run_aios([args[0], "--redis", url, *args[1:]], timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "never" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and url in lines[0], proc.stderr


@pytest.mark.parametrize("behaviour", ["local", "fail"])
def test_a_node_lost_mid_run_is_the_configured_behaviour_without_a_hang(behaviour: str, kernels: Any) -> None:
    with start_cluster(3) as own:  # its own cluster: a node of it is killed
        cfg = one_slot(own.url, "down", redis_unavailable=behaviour)
        core_name = cfg["cores"][0]["name"]
        k = kernels(**cfg)
        k.acquire(llm(k)).succeed()
        conn: Any = open_client(own.url)
        port = conn.get_node_from_key(f"{{down:core:{core_name}}}:state").port
        conn.close()
        victim = next(server for server, p in own.nodes if p == port)
        victim.process.kill()
        victim.process.wait()
        started = time.monotonic()
        if behaviour == "local":
            k.acquire(llm(k)).succeed()  # per-process limits from now on
            assert k.shared is not None and k.shared.degraded
        else:
            with pytest.raises(aios.AiosError, match="unreachable"):
                k.acquire(llm(k))
        assert time.monotonic() - started < 5.0
