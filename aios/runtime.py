"""The one kernel of this process: booted on first use, shut down at exit, reset after fork."""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import Any

from aios.config import KernelConfig, load_config
from aios.errors import KernelError
from aios.kernel.kernel import Kernel
from aios.kernel.policies import make_policy

_lock = threading.Lock()
_kernel: Kernel | None = None


def boot(config: KernelConfig | None = None, **overrides: Any) -> Kernel:
    """Start the kernel with ``config`` (default: the config file and ``AIOS_*`` environment).

    Keyword overrides set top-level config keys (``boot(policy="fair", max_concurrency=4)``).
    Booting while a kernel runs is an error: call ``aios.shutdown()`` first.
    """
    global _kernel
    with _lock:
        if _kernel is not None and _kernel.running:
            raise KernelError(
                "the aios kernel is already running; call aios.shutdown() before booting another"
            )
        if config is None:
            config = load_config(overrides=overrides)
        elif overrides:
            config = KernelConfig.model_validate({**config.model_dump(), **overrides})
        _kernel = _start(config)
        return _kernel


def _start(config: KernelConfig) -> Kernel:
    from aios.adapters.plugins import plugins  # the kernel itself never imports adapters

    k = Kernel(config)
    if config.otel:
        from aios.telemetry.otel import attach  # imports opentelemetry only when enabled

        attach(k)
    for observer in plugins().observers(k):
        k.add_observer(observer)
    rules = plugins().pm.hook.aios_access_rule
    if rules.get_hookimpls():  # no per-call cost for the usual case of no rule plugins
        k.access.add_rule(lambda sc: _first_refusal(rules(syscall=sc)))
    if config.redis_url:
        from aios.runner.cluster_report import recorder_for

        recorder = recorder_for(config)
        if recorder is not None:
            k.add_observer(recorder)
    return k


def _first_refusal(reasons: list[str | None]) -> str | None:
    """Of the ``aios_access_rule`` answers of every plugin, the first refusal."""
    found = [r for r in reasons if r]
    return str(found[0]) if found else None


def get_kernel() -> Kernel:
    """The running kernel, booted from the configuration on first use."""
    k = _kernel
    if k is not None and k.running:
        return k
    with _lock:
        if _kernel is None or not _kernel.running:
            return _boot_default()
        return _kernel


#: The short name adapters import; the public one is ``aios.get_kernel`` (``aios.kernel`` is
#: the package).
kernel = get_kernel


def checked_config(path: Path | str | None = None) -> KernelConfig:
    """The configuration the kernel would boot with (from ``path`` if given), checked as booting
    checks it.

    Raises :class:`aios.ConfigError` for any bad key or value, the policy name included (plugins
    are loaded first, since they may register policies).
    """
    from aios.adapters.plugins import plugins  # the kernel itself never imports adapters

    plugins()
    config = load_config(path)
    make_policy(config.policy)
    return config


def _boot_default() -> Kernel:
    global _kernel
    _kernel = _start(load_config())
    return _kernel


def current() -> Kernel | None:
    """The running kernel, or ``None`` (never boots one)."""
    k = _kernel
    return k if k is not None and k.running else None


def shutdown() -> None:
    """Stop the kernel: queued calls are cancelled and every waiter is woken. Safe to call twice."""
    global _kernel
    with _lock:
        k, _kernel = _kernel, None
    if k is not None:
        k.shutdown()


def _forget_after_fork() -> None:
    # The child has no kernel thread; it boots its own kernel on first use.
    global _kernel, _lock
    _kernel = None
    _lock = threading.Lock()


atexit.register(shutdown)
os.register_at_fork(after_in_child=_forget_after_fork)
