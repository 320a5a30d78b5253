"""Connecting to the shared-state server from the command line: clients, reachability, messages.

Every message names the URL without its password, so a secret in ``redis://:pw@host`` never
reaches a terminal, a log or a report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aios.kernel.access.redact import redact_url

if TYPE_CHECKING:
    import redis

INSTALL_HINT = 'pip install "aios-kernel[redis]"'


def client(url: str, *, timeout: float = 2.0, decode: bool = True) -> redis.Redis:
    """A redis-py client for ``url`` that never waits longer than ``timeout`` on the network
    (a ``RedisCluster`` for a ``redis+cluster://`` URL: it serves the same commands)."""
    try:
        import redis  # noqa: F401
    except ImportError:
        raise RuntimeError(f"shared state needs the redis client library; {INSTALL_HINT}") from None
    from aios.kernel.shared.client import open_client

    conn: Any = open_client(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=decode
    )
    return cast("redis.Redis", conn)


def unreachable(url: str, exc: BaseException | str) -> str:
    """The one line a user sees when the server at ``url`` does not answer."""
    reason = exc if isinstance(exc, str) else (str(exc).strip() or type(exc).__name__)
    return (
        f"cannot reach Redis/Valkey at {redact_url(url)} ({reason}); start the server or fix the URL "
        "(--redis / AIOS_REDIS_URL / redis_url), or let `aios run --shared` start a private one"
    )


def check(url: str, *, timeout: float = 2.0) -> str | None:
    """``None`` when ``url`` answers ``PING``, else the message to show."""
    try:
        import redis
    except ImportError:
        return f"redis_url is set but the redis client library is missing; {INSTALL_HINT}"
    try:
        conn = client(url, timeout=timeout)
    except ValueError as exc:  # a malformed URL: redis-py explains which schemes it accepts
        return f"redis URL {redact_url(url)!r} is not valid: {exc}"
    except (redis.RedisError, OSError) as exc:  # a cluster client connects at once
        return unreachable(url, exc)
    try:
        conn.ping()
    except (redis.RedisError, OSError) as exc:
        return unreachable(url, exc)
    finally:
        conn.close()
    return None
