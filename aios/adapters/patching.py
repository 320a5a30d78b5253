"""``aios.patch()``, ``aios.unpatch()`` and ``aios.patched()``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aios.adapters.base import Adapter
from aios.adapters.plugins import plugins
from aios.errors import AdapterError, UnknownFrameworkError

if TYPE_CHECKING:
    from aios.kernel.kernel import Kernel

log = logging.getLogger("aios.adapters")


def _disabled() -> set[str]:
    from aios.runtime import checked_config

    # A bad configuration is patch()'s own error: found at the first call, it would fail them all.
    return set(checked_config().disable_adapters)


def _select(names: tuple[str, ...]) -> list[Adapter]:
    registry = plugins().adapters
    unknown = [n for n in names if n not in registry]
    if unknown:
        installed = sorted(n for n, a in registry.items() if a.is_installed())
        raise UnknownFrameworkError(
            f"no aios adapter named {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(sorted(registry))}; installed here: {', '.join(installed) or 'none'}"
        )
    return [registry[n] for n in names]


def patch(*names: str, kernel: Kernel | None = None) -> list[str]:
    """Send the calls of these frameworks through the kernel (none named: every installed one).

    ``kernel`` is the kernel their calls go to (default: the process's, ``aios.get_kernel()``).

    Returns the names patched or waiting for their framework's import. With no names, an
    adapter that fails is logged by name with the reason and the others still patch; a named
    one that fails raises :class:`aios.AdapterError`.
    """
    explicit = bool(names)
    disabled = _disabled()
    if explicit:
        chosen = _select(names)
    else:
        chosen = [
            a for n, a in plugins().adapters.items() if n not in disabled and a.is_installed()
        ]
    done: list[str] = []
    for adapter in chosen:
        try:
            adapter.patch(kernel)
        except AdapterError:
            if explicit:
                raise
            log.warning("aios: %s; other frameworks are patched", adapter.error)
            continue
        done.append(adapter.name)
    return done


def unpatch(*names: str) -> list[str]:
    """Restore the original classes of these frameworks (none named: all)."""
    chosen = _select(names) if names else list(plugins().adapters.values())
    undone = []
    for adapter in chosen:
        if adapter.requested or adapter.patched:
            adapter.unpatch()
            undone.append(adapter.name)
    return undone


@contextmanager
def patched(*names: str, kernel: Kernel | None = None) -> Iterator[list[str]]:
    """Patch for the duration of a ``with`` block, then restore what this block patched."""
    before = {n for n, a in plugins().adapters.items() if a.requested}
    done = patch(*names, kernel=kernel)
    try:
        yield done
    finally:
        fresh = [n for n in done if n not in before]
        if fresh:
            unpatch(*fresh)
