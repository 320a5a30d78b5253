"""The hooks an aios plugin may implement. Every hook is named ``aios_*``.

A plugin is a module or object with functions marked ``@aios.adapters.hookimpl``, registered
through the entry-point group ``aios`` (or listed in ``DEFAULT_PLUGINS`` for the built-ins).
Hooks are called through pluggy, so an implementation takes only the arguments it names (a hook
may gain arguments without breaking it), and a misspelled ``aios_*`` hook is reported when the
plugins load. The registration hooks are historic: a plugin registered late is still asked.
An exception in any hook is reported with the plugin's name; the others keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from aios.adapters.base import Adapter
    from aios.kernel.kernel import Kernel
    from aios.kernel.policies import Policy
    from aios.kernel.syscall import Syscall

hookspec = pluggy.HookspecMarker("aios")
hookimpl = pluggy.HookimplMarker("aios")


@hookspec(historic=True)
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    """Register framework adapters.

    :param register: call it once for each :class:`aios.adapters.Adapter` instance the plugin
        provides. It checks the adapter (a unique ``name``, a ``distribution``, a valid
        ``supported`` range) and names the plugin in the error when something is wrong.
    """


@hookspec(historic=True)
def aios_register_policies(register: Callable[[type[Policy]], None]) -> None:
    """Register scheduling policies, selectable by their ``name`` in the config key ``policy``.

    :param register: call it with each :class:`aios.kernel.Policy` subclass.
    """


@hookspec
def aios_syscall_observer(kernel: Kernel) -> Any:
    """Return an object that sees every syscall of ``kernel``, or ``None``.

    The object may define ``on_submit(syscall)``, called before a syscall is queued (raise
    :class:`aios.AccessDenied` there to refuse it: quotas, access rules), and
    ``on_finish(syscall)``, called once when it ends done, failed or cancelled, with its timings,
    tokens and error (tracing, metrics). Together they bracket each syscall. Any other exception
    from either method is a bug of the plugin: it is logged once with the plugin's name, and
    the call goes on as if the observer were not there.

    :param kernel: the kernel being booted.
    """


@hookspec
def aios_access_rule(syscall: Syscall) -> str | None:
    """Decide whether a syscall may run: return why it is refused, or ``None`` to let it pass.

    Called once per syscall at admission, after the built-in rules (the allowlists of
    ``agents.<name>``), from the caller's thread. The syscall is not yet queued: read its
    ``kind``, ``agent``, ``group``, ``model``, ``tool`` and estimates, change nothing. A refusal
    fails the call with :class:`aios.AccessDenied` carrying the returned text (for a tool, the
    framework's tool-error result), so name the rule and how to lift it. An exception raised here
    refuses the call as well.

    :param syscall: the :class:`aios.kernel.Syscall` asking to run.
    """
