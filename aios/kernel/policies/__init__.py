"""Scheduling policies and the registry the kernel picks them from by name."""

from __future__ import annotations

from aios.errors import ConfigError
from aios.kernel.policies.base import Policy, PolicyOptions
from aios.kernel.policies.fair import FairPolicy
from aios.kernel.policies.fifo import FifoPolicy
from aios.kernel.policies.las import LasPolicy
from aios.kernel.policies.priority import PriorityPolicy
from aios.kernel.policies.round_robin import RoundRobinPolicy

BUILTIN_POLICIES: tuple[type[Policy], ...] = (
    FifoPolicy,
    PriorityPolicy,
    RoundRobinPolicy,
    FairPolicy,
    LasPolicy,
)

_registry: dict[str, type[Policy]] = {cls.name: cls for cls in BUILTIN_POLICIES}


def register_policy(cls: type[Policy], *, source: str = "aios") -> None:
    """Make ``cls`` selectable by its ``name`` in the config ``policy`` key."""
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise TypeError(f"{source} registered {cls!r} as a policy; it must subclass aios Policy")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{source} registered policy {cls.__name__} without a `name` string")
    existing = _registry.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"{source} registered policy {name!r}, which {existing.__module__} already provides"
        )
    _registry[name] = cls


def policy_names() -> list[str]:
    return sorted(_registry)


def make_policy(name: str, options: PolicyOptions | None = None) -> Policy:
    cls = _registry.get(name)
    if cls is None:
        raise ConfigError(
            f"`policy` = {name!r} is not a known scheduling policy; "
            f"choose one of {', '.join(policy_names())}"
        )
    return cls(options)


__all__ = [
    "BUILTIN_POLICIES",
    "FairPolicy",
    "FifoPolicy",
    "LasPolicy",
    "Policy",
    "PolicyOptions",
    "PriorityPolicy",
    "RoundRobinPolicy",
    "make_policy",
    "policy_names",
    "register_policy",
]
