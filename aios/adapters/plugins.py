"""The plugin manager: built-in plugins first, then the entry-point group ``aios``."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from aios.adapters import hookspecs
from aios.adapters.base import Adapter
from aios.kernel.policies import Policy, register_policy

log = logging.getLogger("aios.adapters")

#: The built-in adapters, registered through the same hooks a third-party plugin uses.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "aios.adapters.openai_sdk",
    "aios.adapters.anthropic_sdk",
    "aios.adapters.langchain",
    "aios.adapters.autogen",
    "aios.adapters.openai_agents",
    "aios.adapters.crewai",
)
ENTRY_POINT_GROUP = "aios"


class Plugins:
    """Loads plugins once; keeps the adapters they register and the errors of those that failed."""

    def __init__(self, builtins: Iterable[str] = DEFAULT_PLUGINS, *, entry_points: bool = True):
        self.pm = pluggy.PluginManager("aios")
        self.pm.add_hookspecs(hookspecs)
        self.adapters: dict[str, Adapter] = {}
        self.errors: dict[str, str] = {}
        self._builtins = tuple(builtins)
        self._entry_points = entry_points
        self._loaded = False
        self._lock = threading.RLock()

    def load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for module_name in self._builtins:
                self._register_module(module_name, module_name)
            if self._entry_points and not os.environ.get("AIOS_NO_ENTRY_POINTS"):
                for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                    try:
                        self.pm.register(ep.load(), name=ep.name)
                    except Exception as exc:
                        self._fail(ep.name, f"could not be loaded from {ep.value}: {exc!r}")
            self._collect()

    def _register_module(self, name: str, module_name: str) -> None:
        try:
            module = importlib.import_module(module_name)
            self.pm.register(module, name=name)
        except Exception as exc:
            self._fail(name, f"could not be imported: {exc!r}")

    def register(self, plugin: Any, name: str | None = None) -> None:
        """Register a plugin object at run time (tests, embedding applications)."""
        with self._lock:
            self.load()
            self.pm.register(plugin, name=name)
            self._collect(only=plugin)

    def _fail(self, plugin: str, reason: str) -> None:
        self.errors[plugin] = reason
        log.warning("aios plugin %r %s; the other plugins keep working", plugin, reason)

    def _collect(self, only: Any = None) -> None:
        for impl in self.pm.hook.aios_register_adapters.get_hookimpls():
            if only is not None and impl.plugin is not only:
                continue
            try:
                impl.function(register=self._adapter_registrar(impl.plugin_name))
            except Exception as exc:
                self._fail(impl.plugin_name, f"failed in aios_register_adapters: {exc!r}")
        for impl in self.pm.hook.aios_register_policies.get_hookimpls():
            if only is not None and impl.plugin is not only:
                continue
            try:
                impl.function(register=self._policy_registrar(impl.plugin_name))
            except Exception as exc:
                self._fail(impl.plugin_name, f"failed in aios_register_policies: {exc!r}")

    def _adapter_registrar(self, plugin: str) -> Any:
        def register(adapter: Adapter) -> None:
            if not isinstance(adapter, Adapter):
                raise TypeError(f"plugin {plugin!r} registered {adapter!r}, which is not an aios Adapter")
            for attr in ("name", "distribution", "supported", "module"):
                if not isinstance(getattr(adapter, attr, None), str):
                    raise TypeError(f"plugin {plugin!r}: adapter {adapter!r} needs a string {attr!r}")
            try:
                SpecifierSet(adapter.supported)
            except InvalidSpecifier:
                raise ValueError(
                    f"plugin {plugin!r}: adapter {adapter.name!r} has supported="
                    f"{adapter.supported!r}, which is not a pip version specifier like '>=1,<2'"
                ) from None
            existing = self.adapters.get(adapter.name)
            if existing is not None and existing is not adapter:
                raise ValueError(
                    f"plugin {plugin!r} registered adapter {adapter.name!r}, "
                    "which another plugin already provides"
                )
            self.adapters[adapter.name] = adapter

        return register

    @staticmethod
    def _policy_registrar(plugin: str) -> Any:
        def register(cls: type[Policy]) -> None:
            register_policy(cls, source=f"plugin {plugin!r}")

        return register

    def observers(self, kernel: Any) -> list[Any]:
        self.load()
        return [o for o in self.pm.hook.aios_syscall_observer(kernel=kernel) if o is not None]


_plugins: Plugins | None = None
_plugins_lock = threading.Lock()


def plugins() -> Plugins:
    """The process-wide plugin manager, loaded on first use."""
    global _plugins
    with _plugins_lock:
        if _plugins is None:
            _plugins = Plugins()
    _plugins.load()
    return _plugins
