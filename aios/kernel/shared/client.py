"""The redis-py client for a shared-state URL: one server, or a Redis Cluster.

``redis://``, ``rediss://`` and ``unix://`` name one server (redis-py's own schemes).
``redis+cluster://host:port`` and ``rediss+cluster://host:port`` name a Redis Cluster by any of
its nodes: the client discovers the others and sends each command to the node of its keys'
slot. Every script of the shared state touches the keys of one hash tag (one core, the budget
ledger, the report), so each one runs on a single node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis
    import redis.cluster

    Client = redis.Redis | redis.cluster.RedisCluster

#: Schemes that name a Redis Cluster, and the redis-py scheme each stands for.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def cluster_url(url: str) -> str | None:
    """The plain ``redis://``/``rediss://`` form of a cluster URL; ``None`` for one server."""
    scheme, sep, rest = url.partition("://")
    plain = CLUSTER_SCHEMES.get(scheme.lower()) if sep else None
    return f"{plain}://{rest}" if plain is not None else None


def is_cluster(client: Any) -> bool:
    import redis.cluster

    return isinstance(client, redis.cluster.RedisCluster)


def open_client(url: str, **options: Any) -> Client:
    """A client for ``url`` (``options`` are redis-py's, e.g. ``socket_timeout``).

    Raises ``ValueError`` for a URL redis-py cannot use, and redis-py's connection errors when a
    cluster's nodes do not answer (a cluster client connects at once, to learn the slots).
    """
    import redis
    import redis.cluster

    plain = cluster_url(url)
    if plain is None:
        return redis.Redis.from_url(url, **options)
    options.pop("health_check_interval", None)  # per node in a cluster: redis-py manages them
    try:
        return redis.cluster.RedisCluster.from_url(plain, **options)
    except redis.exceptions.RedisClusterException as exc:
        # e.g. the node is not in cluster mode, or no node answered: one line, not a traceback.
        raise redis.ConnectionError(str(exc)) from None
