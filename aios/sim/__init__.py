"""The simulated OpenAI/Anthropic-compatible provider (in process, or over HTTP).

Names load lazily so ``python -m aios.sim`` does not pay for httpx (SimServer) at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import SimConfig
    from .process import SimServer
    from .provider import SimProvider
    from .result import SimResult

__all__ = ["SimConfig", "SimProvider", "SimResult", "SimServer"]

_HOMES = {
    "SimConfig": "config",
    "SimProvider": "provider",
    "SimResult": "result",
    "SimServer": "process",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'aios.sim' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
