"""The adapter contract: patch a framework so its calls go through the kernel, and undo it exactly.

After OpenTelemetry's ``BaseInstrumentor``: public ``patch()``/``unpatch()`` that warn on
repetition and check the framework's version range; subclasses implement ``_patch()`` and
``_unpatch()`` and wrap with ``self.wrap(...)``, which records every original so that
``unpatch`` puts back the very same objects. Patching before the framework is imported waits for
its import (a post-import hook) and patches then.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import wrapt
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from aios.errors import AdapterError

log = logging.getLogger("aios.adapters")

_MISSING = object()


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


class Adapter(ABC):
    """One framework's interception. Subclasses set the class attributes and the two hooks."""

    #: The name users pass to ``aios.patch()``.
    name: ClassVar[str]
    #: The distribution whose version is checked (``pip show`` name).
    distribution: ClassVar[str]
    #: Supported versions as a pip specifier (``">=2,<4"``); the same range is the extra.
    supported: ClassVar[str]
    #: The module whose import triggers patching.
    module: ClassVar[str]

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._wanted = False
        self._applied = False
        self._hook_registered = False
        self._originals: list[tuple[Any, str, Any]] = []
        self.error: str | None = None

    # -- facts ------------------------------------------------------------------------------------
    def version(self) -> str | None:
        return installed_version(self.distribution)

    def is_installed(self) -> bool:
        return self.version() is not None

    def in_range(self) -> bool | None:
        """Whether the installed version is supported (``None`` if not installed or unparsable)."""
        v = self.version()
        if v is None:
            return None
        try:
            return Version(v) in SpecifierSet(self.supported)
        except (InvalidVersion, InvalidSpecifier):
            return None

    @property
    def patched(self) -> bool:
        """Whether the framework's classes are wrapped right now."""
        return self._applied

    @property
    def requested(self) -> bool:
        """Whether ``patch()`` was called (the import may still be pending)."""
        return self._wanted

    # -- public contract --------------------------------------------------------------------------
    def patch(self) -> None:
        """Patch now if the framework is imported, else as soon as it is. Idempotent."""
        with self._lock:
            if self._wanted:
                log.debug("aios adapter %r is already patched; nothing to do", self.name)
                return
            if self.in_range() is False:
                log.warning(
                    "aios adapter %r supports %s %s, but %s is installed; patching anyway, "
                    "but some calls may not be intercepted",
                    self.name,
                    self.distribution,
                    self.supported,
                    self.version(),
                )
            self._wanted = True
            self.error = None
            if not self._hook_registered:
                self._hook_registered = True
                # Calls the hook at once if the module is already imported.
                wrapt.register_post_import_hook(self._on_import, self.module)
            elif self.module in sys.modules:
                self._on_import(sys.modules[self.module])
            if self.error is not None:
                self._wanted = False
                raise AdapterError(
                    f"aios adapter {self.name!r} could not patch {self.distribution} "
                    f"{self.version()}: {self.error}"
                )

    def unpatch(self) -> None:
        """Put back every original object by identity. Idempotent."""
        with self._lock:
            self._wanted = False
            if not self._applied:
                return
            try:
                self._unpatch()
            finally:
                self._restore_all()
                self._applied = False

    def _on_import(self, _module: Any) -> None:
        with self._lock:
            if not self._wanted or self._applied:
                return
            try:
                self._patch()
            except Exception as exc:  # any framework surprise; the others keep working
                self._restore_all()
                self.error = f"{type(exc).__name__}: {exc}"
                # Raising here would break the program's own import: report and carry on.
                log.warning("aios adapter %r failed to patch: %s", self.name, self.error)
                return
            self._applied = True

    # -- for subclasses -----------------------------------------------------------------------------
    @abstractmethod
    def _patch(self) -> None:
        """Wrap the framework (the module is imported). Use ``self.wrap``."""

    def _unpatch(self) -> None:  # noqa: B027 - optional: ``wrap`` records are undone anyway
        """Undo anything not done through ``self.wrap``."""

    def wrap(self, target: str | Any, attribute: str, wrapper: Callable[..., Any]) -> None:
        """``wrapt.wrap_function_wrapper`` that remembers the original for ``unpatch``.

        :param target: a module name or object, e.g. ``"openai._base_client"``.
        :param attribute: a dotted attribute, e.g. ``"SyncAPIClient.request"``.
        """
        owner = importlib.import_module(target) if isinstance(target, str) else target
        *path, attr = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__.get(attr, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        if original is _MISSING:
            original = inspect.getattr_static(owner, attr, _MISSING)
            inherited = True
        else:
            inherited = False
        if original is _MISSING:
            raise AdapterError(f"{owner!r} has no attribute {attr!r} to wrap")
        wrapt.wrap_function_wrapper(owner, attr, wrapper)
        self._originals.append((owner, attr, _MISSING if inherited else original))

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        """Set ``owner.attribute = value``, remembering the original for ``unpatch``."""
        original = owner.__dict__.get(attribute, _MISSING)
        setattr(owner, attribute, value)
        self._originals.append((owner, attribute, original))

    def _restore_all(self) -> None:
        while self._originals:
            owner, attr, original = self._originals.pop()
            if original is _MISSING:
                try:
                    delattr(owner, attr)
                except AttributeError:
                    pass
            else:
                setattr(owner, attr, original)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "installed": self.version(),
            "supported": self.supported,
            "in_range": self.in_range(),
            "patched": self.patched,
            "requested": self.requested,
            "error": self.error,
        }

    def __repr__(self) -> str:
        state = "patched" if self.patched else ("pending import" if self._wanted else "unpatched")
        return f"<aios adapter {self.name} ({self.distribution} {self.supported}) {state}>"
