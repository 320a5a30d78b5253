"""The plugin manager: built-in plugins first, then the entry-point group ``aios``."""

from __future__ import annotations

import contextvars
import functools
import importlib
import importlib.metadata
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from aios.adapters import hookspecs
from aios.adapters.base import Adapter
from aios.kernel.policies import Policy, register_policy

if TYPE_CHECKING:
    from aios.kernel.kernel import Kernel

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


#: Hooks whose failure must refuse the call rather than be skipped: a broken access rule that
#: was ignored would let through what it exists to stop.
_FAIL_CLOSED = frozenset({"aios_access_rule"})

class NamedObserver:
    """A plugin's syscall observer, carrying the plugin's name for the kernel's error reports."""

    __slots__ = ("observer", "on_finish", "on_submit", "plugin_name")

    def __init__(self, plugin_name: str, observer: Any) -> None:
        self.plugin_name = plugin_name
        self.observer = observer
        # Bound once: the kernel calls these on every syscall.
        self.on_submit = getattr(observer, "on_submit", None)
        self.on_finish = getattr(observer, "on_finish", None)

    def __repr__(self) -> str:
        return f"<aios observer of plugin {self.plugin_name!r}: {self.observer!r}>"


#: The plugin being registered (its historic hooks run inside ``pm.register``).
_registering: contextvars.ContextVar[str] = contextvars.ContextVar("aios_registering", default="?")


class Plugins:
    """Loads plugins once; keeps the adapters they register and the errors of those that failed.

    Hooks are called through pluggy (``pm.hook.*``). The registration hooks are historic and
    are called before any plugin is registered, so each plugin is asked alone as it registers:
    a plugin that fails (cannot be imported, a hook with wrong arguments, a misspelled
    ``aios_*`` hook, an exception in a hook) is reported by its name and unregistered; the
    others keep working.
    """

    def __init__(self, builtins: Iterable[str] = DEFAULT_PLUGINS, *, entry_points: bool = True):
        self.pm = pluggy.PluginManager("aios")
        self.pm.add_hookspecs(hookspecs)
        self.adapters: dict[str, Adapter] = {}
        self.errors: dict[str, str] = {}
        #: The plugins that failed while the built-ins and entry points were loaded (``errors``
        #: also gains those that fail later, registered at run time or failing in a hook).
        self.load_errors: dict[str, str] = {}
        #: ``(name, value)`` of each entry point of the group, once loaded.
        self.entry_points: list[tuple[str, str]] = []
        self._builtins = tuple(builtins)
        self._entry_points = entry_points
        self._loaded = False
        self._ready = False
        self._lock = threading.RLock()

    def load(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            hook = self.pm.hook
            hook.aios_register_adapters.call_historic(kwargs={"register": self._register_adapter})
            hook.aios_register_policies.call_historic(kwargs={"register": self._register_policy})
            for module_name in self._builtins:
                self._add(module_name, functools.partial(importlib.import_module, module_name))
            if self._entry_points and not os.environ.get("AIOS_NO_ENTRY_POINTS"):
                found = _entry_points()
                self.entry_points = [(ep.name, ep.value) for ep in found]
                for ep in found:
                    self._add(ep.name, ep.load, origin=f" from {ep.value}")
            self._check_pending()
            self.load_errors = dict(self.errors)
            self._ready = True

    def register(self, plugin: Any, name: str | None = None) -> None:
        """Register a plugin object at run time (tests, embedding applications)."""
        with self._lock:
            self.load()
            self._add(name or self.pm.get_canonical_name(plugin), lambda: plugin)
            self._check_pending()

    def _add(self, name: str, load: Callable[[], Any], origin: str = "") -> None:
        try:
            plugin = load()
        except Exception as exc:
            self._fail(name, f"could not be loaded{origin}: {exc!r}")
            return
        token = _registering.set(name)
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy's validation, or the plugin's own registration hooks
            self._fail(name, f"failed to register: {exc}")
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            return
        finally:
            _registering.reset(token)
        self._guard_calls(name, plugin)

    def _guard_calls(self, name: str, plugin: Any) -> None:
        """Make the plugin's non-historic hooks report their exceptions instead of raising."""
        for caller in self.pm.get_hookcallers(plugin) or ():
            if caller.is_historic():
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    # pluggy calls ``impl.function``; replacing it keeps pm.hook.* as the way in.
                    impl.function = self._guarded(name, caller.name, impl.function)  # type: ignore[misc]

    def _guarded(self, plugin: str, hook: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = function(*args, **kwargs)
            except Exception as exc:
                if hook in _FAIL_CLOSED:
                    raise  # the access manager refuses the call with this error
                self._fail(plugin, f"failed in {hook}: {exc!r}")
                return None
            if hook == "aios_syscall_observer" and result is not None:
                return NamedObserver(plugin, result)
            return result

        return call

    def _check_pending(self) -> None:
        """Report and drop plugins with an ``aios_*`` hook that no spec defines (a misspelling)."""
        while True:
            try:
                self.pm.check_pending()
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
                self._fail(name, f"is not loaded: {exc}")
                self.pm.unregister(exc.plugin)
                continue
            return

    def _fail(self, plugin: str, reason: str) -> None:
        self.errors[plugin] = reason
        log.warning("aios plugin %r %s; the other plugins keep working", plugin, reason)

    def _register_adapter(self, adapter: Adapter) -> None:
        plugin = _registering.get()
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

    @staticmethod
    def _register_policy(cls: type[Policy]) -> None:
        register_policy(cls, source=f"plugin {_registering.get()!r}")

    def observers(self, kernel: Kernel) -> list[Any]:
        """Each plugin's observer for ``kernel`` (a failing plugin is reported and left out)."""
        self.load()
        return [o for o in self.pm.hook.aios_syscall_observer(kernel=kernel) if o is not None]


#: Set by ``aios run`` for the processes it starts: the group's entry points as it found them,
#: so that each process need not read every installed package's metadata again. Used only by
#: the same interpreter with the same ``PYTHONPATH``; otherwise the group is scanned.
RUN_ENTRY_POINTS = "AIOS_RUN_ENTRY_POINTS"


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    raw = os.environ.get(RUN_ENTRY_POINTS)
    if raw:
        try:
            given = json.loads(raw)
            if given["python"] == sys.executable and given["pythonpath"] == os.environ.get("PYTHONPATH"):
                return [
                    importlib.metadata.EntryPoint(name=str(n), value=str(v), group=ENTRY_POINT_GROUP)
                    for n, v in given["entry_points"]
                ]
        except (ValueError, TypeError, KeyError):
            pass  # not ours to read: scan as without it
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


_plugins: Plugins | None = None
_plugins_lock = threading.Lock()


def plugins() -> Plugins:
    """The process-wide plugin manager, loaded on first use."""
    global _plugins
    if _plugins is not None and _plugins._ready:
        return _plugins
    with _plugins_lock:
        if _plugins is None:
            _plugins = Plugins()
    _plugins.load()
    return _plugins
