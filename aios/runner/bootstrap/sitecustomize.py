"""Imported by Python at start-up in every process started under ``aios run``.

Kept tiny and defensive: it removes its own directory from ``sys.path``, runs the
``sitecustomize`` that would have run without aios (if any), then arranges the patching.
Nothing here may stop the program: an interpreter without aios installed is left alone.

Start-up cost matters because every Python subprocess pays it again, so nothing of aios is
imported here. ``aios run`` lists the modules that matter (``AIOS_RUN_TRIGGERS``: each
adapter's framework module, and ``aios`` itself); the first time the program imports one of
them, aios loads and patches every installed adapter, exactly as an eager start would have. A
process that never imports one costs a few hundred microseconds and leaves a minimal report.
The program's own process (the root) waits the same way; at exit, if it never loaded aios, it
finishes the run's report with :mod:`aios.runner.root_exit`, which loads aios' report modules
only when something needs them. Only the standard library is used, and of it only modules
``site`` has already loaded.
"""

import atexit
import os
import sys
from _thread import get_ident

# ``typing`` is not loaded at start-up, so its flag is spelled out; mypy honours the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from importlib.abc import Loader as _LoaderBase
    from importlib.machinery import ModuleSpec
    from types import ModuleType
else:
    _LoaderBase = object  # importlib.abc is not loaded at start-up either

_TRIGGERS = "AIOS_RUN_TRIGGERS"
_ROOT = "AIOS_RUN_ROOT"
_WATCH_FD = "AIOS_RUN_WATCH_FD"
#: Set when the root has work from start to exit: the live view (``--top``, ``--top-socket``)
#: and the private server it stops (``--shared``). Such a root loads aios at start.
_EAGER_ROOT = ("AIOS_RUN_TOP", "AIOS_RUN_TOP_SOCKET", "AIOS_RUN_SHARED_SERVER")


def _chain_previous() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    this = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401 - the program's own, now that ours is off the path
    except ModuleNotFoundError as exc:
        if exc.name != "sitecustomize":
            _print_exc()
    except Exception:
        # The same courtesy site.py gives a failing sitecustomize: report and go on.
        _print_exc()
    if "sitecustomize" not in sys.modules and this is not None:
        sys.modules["sitecustomize"] = this


def _print_exc() -> None:
    import traceback  # only on failure: it costs more than the rest of this module

    traceback.print_exc()


def _start_aios(root: bool | None = None, watch_fd: int | None = None, lazy: bool = False) -> object:
    try:
        from aios.runner.child import start
    except ImportError:
        return None  # another interpreter without aios: run the program untouched
    if root is None:
        return start()
    return start(root=root, watch_fd=watch_fd, exit_handler=not lazy)


class _ChainedLoader(_LoaderBase):
    """The real loader, then the hook once the module has fully executed."""

    def __init__(self, loader: "_LoaderBase", on_loaded: "Callable[[str], None]") -> None:
        self.loader = loader
        self.on_loaded = on_loaded

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        create = getattr(self.loader, "create_module", None)
        module: ModuleType | None = create(spec) if create is not None else None
        return module

    def exec_module(self, module: "ModuleType") -> None:
        # The module sees its own loader, not this one (importlib.resources and friends use it).
        module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self.loader
        self.loader.exec_module(module)
        self.on_loaded(module.__name__)


class _Lazy:
    """Waits for the first trigger import; until then the process carries no aios at all."""

    def __init__(self, triggers: "Iterable[str]", root: bool, watch_fd: int | None = None) -> None:
        self.triggers = frozenset(triggers)
        self.root = root
        #: The root's end of the watcher's pipe, until aios (which then holds it) loads.
        self.watch_fd = watch_fd
        #: aios' ``ProcessState`` once loaded: its ``finish`` runs from our exit handler.
        self.state: object = None
        self.fired = False
        self._looking: set[tuple[int, str]] = set()

    def install(self) -> None:
        atexit.register(self.at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.forked)
        sys.meta_path.insert(0, self)
        if any(name in sys.modules for name in self.triggers):
            self.fire()

    # -- the finder ------------------------------------------------------------------------------
    def find_spec(
        self, fullname: str, path: "Sequence[str] | None" = None, target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        if fullname not in self.triggers or self.fired:
            return None
        key = (get_ident(), fullname)
        if key in self._looking:
            return None
        self._looking.add(key)
        try:
            spec = self._find_elsewhere(fullname, path, target)
        finally:
            self._looking.discard(key)
        if spec is None or spec.loader is None:
            return None if spec is None else spec
        spec.loader = _ChainedLoader(spec.loader, self.fire)
        return spec

    def _find_elsewhere(
        self, fullname: str, path: "Sequence[str] | None", target: "ModuleType | None"
    ) -> "ModuleSpec | None":
        # What the import system would find without us (importlib.util would cost an import).
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: ModuleSpec | None = find(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def invalidate_caches(self) -> None:
        pass

    # -- the moment ------------------------------------------------------------------------------
    def _initializing(self, done: str | None) -> bool:
        # A framework that imports another one (openai-agents imports openai) is half-built
        # when the inner import ends; patching then would find it incomplete. Its own import
        # ends later and fires again.
        for name in self.triggers:
            if name == done:
                continue  # the import system clears the flag of the one just executed after us
            module = sys.modules.get(name)
            spec = getattr(module, "__spec__", None)
            if spec is not None and getattr(spec, "_initializing", False):
                return True
        return False

    def fire(self, done: str | None = None) -> None:
        if self.fired or self._initializing(done):
            return
        self._stop()
        watch_fd, self.watch_fd = self.watch_fd, None
        try:
            self.state = _start_aios(root=self.root, watch_fd=watch_fd, lazy=True)
        except Exception as exc:
            print(f"aios run: adapters not patched, the program runs without aios: {exc!r}", file=sys.stderr)

    def _stop(self) -> None:
        self.fired = True
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass

    def forked(self) -> None:
        self.root = False
        if self.watch_fd is not None:
            # Only the root's end tells the watcher the program is gone.
            try:
                os.close(self.watch_fd)
            except OSError:
                pass
            self.watch_fd = None

    def at_exit(self) -> None:
        if self.fired:
            finish = getattr(self.state, "finish", None)  # aios loaded: it reports
            if finish is not None:
                finish()
            return
        self._stop()
        if self.root:
            _finish_idle_root()
            return
        try:
            _idle_report(self.pid_report())
        except Exception as exc:
            print(f"aios run: could not write the report: {exc!r}", file=sys.stderr)

    def pid_report(self) -> tuple[int, dict[str, object]]:
        pid = os.getpid()
        return pid, {
            "processes": [
                {"pid": pid, "root": False, "argv": list(sys.argv), "llm_calls": 0, "tool_calls": 0}
            ]
        }


def _finish_idle_root() -> None:
    try:
        from aios.runner.root_exit import finish_idle_root
    except ImportError:
        return  # another interpreter without aios: no report
    finish_idle_root()


def _take_watch_fd() -> int | None:
    """The root's end of the watcher's pipe, which its subprocesses must not inherit."""
    raw = os.environ.pop(_WATCH_FD, None)
    if raw is None or not raw.isdigit():
        return None
    fd = int(raw)
    try:
        os.set_inheritable(fd, False)
    except OSError:
        return None
    return fd


def _idle_report(pid_report: tuple[int, dict[str, object]]) -> None:
    """A process that made no call: its line in the run's process list, without loading aios."""
    pid, report = pid_report
    spool = os.environ.get("AIOS_RUN_SPOOL")
    target = os.environ.get("AIOS_REPORT")
    if spool and os.path.isdir(spool):
        path = os.path.join(spool, f"{pid}.json")
    elif target:
        path = f"{target}.{pid}.json"
    else:
        return
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{pid}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(_json(report))
    os.replace(tmp, path)


def _json(value: object) -> str:
    """Enough JSON for the idle report (the json module would cost more than this whole file)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json(str(k))}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    out: list[str] = []
    for ch in text:
        if ch in '"\\' or ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _arrange() -> None:
    raw = os.environ.get(_TRIGGERS)
    if raw is None:
        _start_aios()  # started without the list (an older runner): patch now
        return
    root = os.environ.pop(_ROOT, None) == "1"
    if root and any(os.environ.get(name) for name in _EAGER_ROOT):
        _start_aios(root=True)
        return
    _Lazy([n for n in raw.split(",") if n], root, _take_watch_fd() if root else None).install()


_chain_previous()
_arrange()
