"""What ``aios run`` works out before it becomes the program, without loading the kernel.

The ``aios`` command pays its imports on every run, before the program's first line: the
plugin registry (adapters, wrapt, the kernel, an entry-point scan) and the pydantic config
models cost more than the rest of the command. So:

- the adapters' framework modules (what the lazy bootstrap waits for) come from a small cache
  file, rebuilt through the registry whenever the installed packages or aios' own adapters may
  have changed (a package's metadata folder on ``sys.path`` or an adapter file changed since);
- the configuration is validated only when there is any: a ``--config``/option, an ``AIOS_*``
  variable, an ``aios.toml`` or a pyproject mentioning aios. Without one the program's kernel
  boots with the defaults, which need no check.

The cache file is in ``marshal``'s format, which Python has loaded at start-up (``json`` with
``re`` and ``enum`` would be most of the command's imports); it lives in the user's own cache
folder, like the ``.pyc`` files Python writes in the same format.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

from aios._version import __version__

TYPE_CHECKING = False  # typing, collections.abc and pathlib: annotations only (see launch)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

#: The policy of a kernel booted from the defaults (``KernelConfig.policy``; a test keeps them equal).
DEFAULT_POLICY = "fifo"

#: Bumped when the cache file's content changes shape.
_FORMAT = 3
_ADAPTERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "adapters")


def config_given(
    explicit: Sequence[object | None],
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> bool:
    """Whether anything could make the program's config differ from the defaults.

    Errs on the side of checking: any ``AIOS_*`` variable, and any pyproject that mentions aios.
    """
    environ = os.environ if environ is None else environ
    if any(v is not None for v in explicit) or any(k.startswith("AIOS_") for k in environ):
        return True
    folder = os.getcwd() if cwd is None else os.fspath(cwd)
    if os.path.exists(os.path.join(folder, "aios.toml")):
        return True
    try:
        with open(os.path.join(folder, "pyproject.toml"), "rb") as f:
            return b"aios" in f.read()
    except OSError:
        return False


def adapter_modules() -> dict[str, str]:
    """Adapter name -> the top-level module of its framework, for every registered adapter."""
    return registry_facts()[0]


def entry_points() -> list[list[str]]:
    """``[name, value]`` of each entry point of the plugin group, as the registry found them."""
    return registry_facts()[1]


def registry_facts() -> tuple[dict[str, str], list[list[str]]]:
    """:func:`adapter_modules` and :func:`entry_points` from one look at the cache."""
    facts = _registry_facts()
    adapters = {str(k): str(v) for k, v in facts["adapters"].items()}
    return adapters, [[str(n), str(v)] for n, v in facts["entry_points"]]


def _registry_facts() -> dict[str, Any]:
    key = _cache_key()
    path = _cache_file(key)
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = marshal.load(f)
            if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("adapters"), dict):
                return data
        except (OSError, ValueError, EOFError, TypeError):
            pass  # unreadable, or written by another Python: ask the registry
    from aios.adapters.plugins import plugins

    registry = plugins()
    found = {
        "key": key,
        "adapters": {name: a.module.split(".", 1)[0] for name, a in registry.adapters.items()},
        "entry_points": [list(ep) for ep in registry.entry_points],
    }
    if path is not None and not registry.load_errors:  # a failing plugin may work next time
        _write(path, found)
    return found


def trigger_modules(frameworks: Sequence[str] = (), adapters: Mapping[str, str] | None = None) -> list[str]:
    """The top-level modules whose first import makes a process load aios and patch.

    Each adapter's framework module (only the chosen adapters' when ``frameworks`` is given)
    and ``aios`` itself, so a program that boots a kernel of its own is reported too.
    ``adapters``: :func:`adapter_modules`, if the caller has it already.
    """
    adapters = adapter_modules() if adapters is None else adapters
    chosen = [adapters[n] for n in frameworks if n in adapters] if frameworks else adapters.values()
    return sorted({"aios", *chosen})


def _cache_key() -> list[object]:
    # What decides the registry's answer: the interpreter, aios' own adapters, and the package
    # metadata entry points are read from (a *.dist-info or *.egg-info folder on sys.path,
    # renamed or rewritten when a package is installed, upgraded or removed).
    stamps: list[object] = []
    for entry in sys.path:
        try:
            with os.scandir(entry or os.curdir) as found:
                meta = [e for e in found if e.name.endswith((".dist-info", ".egg-info"))]
            if meta:  # a folder without packages (the working directory) changes nothing
                stamps.append([entry, sorted([e.name, e.stat().st_mtime_ns] for e in meta)])
        except OSError:
            continue
    try:
        for file in sorted(os.scandir(_ADAPTERS_DIR), key=lambda e: e.name):
            if file.name.endswith(".py"):
                st = file.stat()
                stamps.append([file.name, st.st_mtime_ns, st.st_size])
    except OSError:
        pass
    return [_FORMAT, sys.executable, __version__, bool(os.environ.get("AIOS_NO_ENTRY_POINTS")), stamps]


def _cache_file(key: list[object]) -> str | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    # One file per key (sys.path starts with the working directory): runs from several
    # directories do not evict each other. The file holds the whole key, so a clash is a miss.
    tag = zlib.crc32(repr(key).encode())  # repr escapes what UTF-8 cannot encode (surrogates)
    return os.path.join(base, "aios", f"run-adapters-{tag:08x}.marshal")


def _write(path: str, data: dict[str, Any]) -> None:
    try:
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            marshal.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        pass  # no cache: the next run asks the registry again
