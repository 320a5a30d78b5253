"""Framework adapters: the plugin hooks, the adapter contract, and patch/unpatch."""

from aios.adapters.base import Adapter
from aios.adapters.hookspecs import hookimpl, hookspec
from aios.adapters.patching import patch, patched, unpatch
from aios.adapters.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, plugins

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "Adapter",
    "hookimpl",
    "hookspec",
    "patch",
    "patched",
    "plugins",
    "unpatch",
]
