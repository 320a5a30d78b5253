"""The kernel: turns calls into syscalls, waits for admission, retries, ends and accounts for them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aios.config import KernelConfig
from aios.errors import AdmissionError, KernelShutdown, SyscallCancelled, ToolTimeout
from aios.kernel.access import AccessManager
from aios.kernel.access.redact import redact_url
from aios.kernel.accounting import Accounting
from aios.kernel.clock import Clock, MonotonicClock, reader
from aios.kernel.context import (
    INSIDE_SYSCALL,
    AgentIdentity,
    current_agent,
    process_agent_name,
    syscall_scope,
)
from aios.kernel.cores import AdmissionCore, CoreSpec
from aios.kernel.failures import Failure, Usage, backoff_delay, classify_generic
from aios.kernel.lease import Lease
from aios.kernel.ledger import Ledger, Metering
from aios.kernel.policies import PolicyOptions, make_policy
from aios.kernel.routing import Router
from aios.kernel.scheduler import MakeCore, Scheduler
from aios.kernel.syscall import CANCELLED, FAILED, KIND_VALUE, LLM, TOOL, Status, Syscall
from aios.kernel.waiters import LoopWaiter, ThreadWaiter

if TYPE_CHECKING:
    from aios.kernel.shared import SharedState

T = TypeVar("T")
#: Failures of the way to the provider rather than answers from it (see ``retry.max_network_retries``).
_NETWORK_REASONS = frozenset({"connection", "timeout"})
log = logging.getLogger("aios.kernel")
Classifier = Callable[[BaseException], Failure]
Outcome = Callable[[Any], tuple[Usage | None, Mapping[str, str] | None]]


class Kernel:
    """One per process (see ``aios.get_kernel()``); usable from any thread and any event loop."""

    def __init__(self, config: KernelConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or KernelConfig()
        self.shared: SharedState | None = None
        make_core: MakeCore | None = None
        ledger: Ledger | None = None
        if self.config.redis_url:
            from aios.kernel.shared import SharedCore, SharedLedger, SharedState

            state = self.shared = SharedState(
                self.config.redis_url,
                prefix=self.config.redis_prefix,
                lease_ttl_s=self.config.lease_ttl_s,
                on_unavailable=self.config.redis_unavailable,
                clock=clock,
            )
            clock = state.clock
            ledger = SharedLedger(state)

            def make_core(spec: CoreSpec, now: float) -> AdmissionCore:
                return SharedCore(spec, state, now)

        self.clock = clock or MonotonicClock()
        self._now = reader(self.clock)
        weights = {name: a.weight for name, a in self.config.agents.items()}
        options = PolicyOptions(
            aging_rate=self.config.aging_rate,
            weights=weights,
            las_first_level_s=self.config.las_first_level_s,
            las_hold_s=self.config.las_hold_s,
        )
        self.policy = make_policy(self.config.policy, options)
        self.accounting = Accounting(keep_syscalls=self.config.keep_syscalls)
        self.router = Router(self.config)
        #: Allowlists, plugin rules, approval, the audit log; and, as the metering, the budget
        #: lines of every syscall (tokens, dollars, calls per agent and per run).
        self.access = AccessManager(self.config)
        self.metering: Metering = self.access
        self.scheduler = Scheduler(
            self.policy,
            self.clock,
            on_final=self._on_final,
            arm_timer=self._arm_timer,
            measure=lambda sc, charge: self.metering.actual(sc, charge),
            ledger=ledger,
            make_core=make_core,
            immediate=self.config.observe,
        )
        for spec in self.router.specs.values():
            self.scheduler.add_core(spec)
        if self.shared is not None:
            self.policy.shared_floor = self._shared_floor
        self.observers: list[Any] = []
        self._observer_errors: set[tuple[int, str]] = set()
        self._rng = random.Random()
        self._default_identity: AgentIdentity | None = None
        self._loop = asyncio.new_event_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._thread = threading.Thread(target=self._run_loop, name="aios-kernel", daemon=True)
        self._thread.start()
        self._stopped = False
        if self.shared is not None:
            self.shared.subscribe(self.scheduler.poke)

    def _shared_floor(self) -> float | None:
        from aios.kernel.shared import SharedCore

        ranks = [
            c.served_rank
            for c in self.scheduler.cores.values()
            if isinstance(c, SharedCore) and c.served_rank is not None
        ]
        return max(ranks, default=None)

    # -- the kernel's own loop: timers ------------------------------------------------------------
    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def soon(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` soon in another thread: the kernel's own, or a new one
        once that has stopped (never in this one, which may hold a lock ``fn`` needs)."""
        call = functools.partial(fn, *args, **kwargs)
        try:
            self._loop.call_soon_threadsafe(call)
        except RuntimeError:  # the loop is closed: the kernel has shut down
            threading.Thread(target=call, name="aios-kernel-end", daemon=True).start()

    def _arm_timer(self, at: float) -> None:
        try:
            self._loop.call_soon_threadsafe(self._set_timer, at)
        except RuntimeError:
            pass  # the loop is closed: the kernel is shutting down

    def _set_timer(self, at: float) -> None:
        delay = max(0.0, at - self.clock.now())
        if self._timer is not None:
            if self._timer.when() <= self._loop.time() + delay:
                return
            self._timer.cancel()
        self._timer = self._loop.call_later(delay, self._fire_timer)

    def _fire_timer(self) -> None:
        self._timer = None
        self.scheduler.poke()

    def _on_final(self, sc: Syscall) -> None:
        self.access.finished(sc)  # prices the call and audits it before it is accounted
        self.accounting.record(sc)

    # -- building syscalls ------------------------------------------------------------------------
    def _identity(self, agent: AgentIdentity | str | None) -> AgentIdentity:
        if isinstance(agent, AgentIdentity):
            return agent
        if isinstance(agent, str):
            return AgentIdentity(agent)
        ident = current_agent()
        if ident is not None:
            return ident
        # The program's own identity, made once (it is immutable) while its name stays the same.
        name = process_agent_name()
        default = self._default_identity
        if default is None or default.name != name:
            default = self._default_identity = AgentIdentity(name)
        return default

    def _priority(self, ident: AgentIdentity) -> int:
        if ident.priority is not None:
            return ident.priority
        cfg = self.config.agents.get(ident.name)
        if cfg is not None and cfg.priority is not None:
            return cfg.priority
        return self.config.default_priority

    def llm_syscall(
        self,
        *,
        api: str,
        model: str | None,
        base_url: str | None = None,
        input_tokens: int = 0,
        max_tokens: int | None = None,
        stream: bool = False,
        framework: str = "",
        agent: AgentIdentity | str | None = None,
        group: str | None = None,
        operation: str = "chat",
    ) -> Syscall:
        """A new LLM syscall for a call to ``model`` at ``base_url`` (not yet submitted).

        ``operation`` ``embeddings``: the call generates no tokens, so none are charged for output.
        """
        ident = self._identity(agent)
        candidates = self.router.resolve(api, base_url, model)
        cores = self.scheduler.cores
        for name in candidates:
            if name not in cores:
                self.scheduler.add_core(self.router.specs[name])
        return Syscall(
            kind=LLM,
            agent=ident.name,
            created_at=self._now(),
            framework=framework or ident.framework or "",
            model=model,
            priority=self._priority(ident),
            group=group or ident.group,
            est_input_tokens=max(0, int(input_tokens)),
            est_output_tokens=0
            if operation == "embeddings"
            else int(max_tokens or self.config.default_max_tokens),
            candidates=candidates,
            stream=stream,
            operation=operation,
        )

    def tool_syscall(
        self,
        tool: str,
        *,
        framework: str = "",
        agent: AgentIdentity | str | None = None,
        group: str | None = None,
    ) -> Syscall:
        ident = self._identity(agent)
        spec = self.router.tool_core(tool)
        if spec.name not in self.scheduler.cores:
            self.scheduler.add_core(spec)
        return Syscall(
            kind=TOOL,
            agent=ident.name,
            created_at=self._now(),
            framework=framework or ident.framework or "",
            tool=tool,
            priority=self._priority(ident),
            group=group or ident.group,
            candidates=(spec.name,),
        )

    # -- admission ------------------------------------------------------------------------------
    def _check_access(self, sc: Syscall) -> None:
        self.access.admit(sc)

    def _first_submit(self, sc: Syscall) -> None:
        if sc.seq:
            return
        try:
            if not self.config.observe:  # observe mode refuses nothing
                self._check_access(sc)
                sc.charges = self.metering.charges(sc)
            for obs in self.observers:
                self._notify(obs, "on_submit", sc)
        except BaseException as exc:
            self._refused(sc, exc)
            raise

    def acquire(self, sc: Syscall) -> Lease:
        """Block this thread until ``sc`` may run (submitting it, or re-queuing it for a retry)."""
        if not sc.seq:
            self._first_submit(sc)
        try:
            waiter = self.scheduler.submit(sc, ThreadWaiter)
        except KernelShutdown as exc:
            self._finish(sc, CANCELLED, error=str(exc), ran=False)
            raise
        except AdmissionError:
            self._observe_final(sc)
            raise
        if waiter is not None:
            try:
                error = waiter.wait()  # type: ignore[attr-defined]
            except BaseException:
                self._finish(
                    sc, CANCELLED, error="the waiting thread was interrupted", ran=False
                )
                raise
            if error is not None:
                if isinstance(error, AdmissionError):
                    self._observe_final(sc)
                raise error
        self.access.admitted(sc)
        return Lease(self, sc)

    async def aacquire(self, sc: Syscall) -> Lease:
        """Wait, without blocking the caller's event loop, until ``sc`` may run."""
        if not sc.seq:
            self._first_submit(sc)
        try:
            waiter = self.scheduler.submit(sc, _loop_waiter)
        except KernelShutdown as exc:
            self._finish(sc, CANCELLED, error=str(exc), ran=False)
            raise
        except AdmissionError:
            self._observe_final(sc)
            raise
        if waiter is not None:
            try:
                await waiter.future  # type: ignore[attr-defined]
            except asyncio.CancelledError:
                self._finish(
                    sc, CANCELLED, error="the waiting task was cancelled", ran=False
                )
                raise
            except AdmissionError:
                self._observe_final(sc)
                raise
        self.access.admitted(sc)
        return Lease(self, sc)

    def _finish(
        self,
        sc: Syscall,
        status: Status,
        *,
        error: str | None = None,
        ran: bool = True,
        usage_known: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        wake_with = SyscallCancelled(error or "cancelled") if status is CANCELLED else None
        if (
            self.scheduler.finish(
                sc,
                status,
                error=error,
                ran=ran,
                usage_known=usage_known,
                wake_with=wake_with,
                headers=headers,
            )
            and self.observers
        ):
            self._observe_final(sc)

    def _observe_final(self, sc: Syscall) -> None:
        """Tell the observers that ``sc`` ended (once: callers only pass what they ended)."""
        for obs in self.observers:
            self._notify(obs, "on_finish", sc)

    def _notify(self, observer: Any, method: str, sc: Syscall) -> None:
        """Call one observer's hook. A refusal (``AdmissionError`` from ``on_submit``) stands; any
        other exception is the observer's bug: reported once by its name, and the call goes on."""
        hook = getattr(observer, method, None)
        if hook is None:
            return
        try:
            hook(sc)
        except Exception as exc:
            if method == "on_submit" and isinstance(exc, AdmissionError):
                raise
            key = (id(observer), method)
            if key not in self._observer_errors:
                self._observer_errors.add(key)
                name = getattr(observer, "plugin_name", None) or type(observer).__qualname__
                log.warning(
                    "aios observer %r failed in %s: %r; calls go on without its %s "
                    "(reported once)", name, method, exc, method
                )

    # -- gated calls with retries ---------------------------------------------------------------
    def _retry(self, lease: Lease, exc: Exception, classify: Classifier) -> bool:
        """Decide about a failed attempt: True to try again (already re-queued), else it ended."""
        sc = lease.syscall
        failure = classify(exc)
        if failure.headers:
            lease.observe(headers=failure.headers)
            sc.provider_synced = True
        retry = self.config.retry
        limit, key = retry.max_retries, "retry.max_retries"
        if failure.reason in _NETWORK_REASONS and retry.max_network_retries < limit:
            limit, key = retry.max_network_retries, "retry.max_network_retries"
        # Observe mode never retries: the caller's own retries (the SDK's) stay on instead.
        retryable = failure.retryable and not self.config.observe
        if retryable and sc.retries < limit and not self.scheduler.closed:
            if failure.retry_after is not None:
                delay = failure.retry_after
            else:
                delay = backoff_delay(
                    sc.retries + 1, base=retry.base_delay, cap=retry.max_delay, rng=self._rng
                )
            pause = self.clock.now() + delay if failure.pause_core else None
            self.scheduler.retry_later(sc, delay=delay, pause_core_until=pause)
            sc.retry_reasons.append(failure.reason)
            sc.avoid_core = sc.core_name
            return True
        if self.config.observe:
            pass  # the program sees its error exactly as it would without aios
        elif failure.reason == "quota":
            exc.add_note(
                "aios: not retried: the provider reports the account's quota or spend limit is "
                "exhausted; raise the limit with the provider, or route this model to another core."
            )
        elif failure.retryable:
            exc.add_note(f"aios: gave up after {sc.retries} retries (`{key}`).")
        lease.fail(exc)
        return False

    def call(
        self,
        sc: Syscall,
        perform: Callable[[Lease], T],
        *,
        classify: Classifier = classify_generic,
        outcome: Outcome | None = None,
        hold: bool = False,
    ) -> T:
        """Admit ``sc``, run ``perform`` in this thread, retry what is retryable, end the syscall.

        With ``hold=True`` (streams) a successful attempt leaves the lease running: ``perform``
        must hand it to whatever ends it (``lease.bind`` + ``succeed``/``fail``/``cancel``).
        """
        while True:
            lease = self.acquire(sc)
            try:
                # ``with syscall_scope(...)`` without the scope object (this runs on every call).
                inside = INSIDE_SYSCALL.set(KIND_VALUE[sc.kind])
                try:
                    result = perform(lease)
                finally:
                    INSIDE_SYSCALL.reset(inside)
            except Exception as exc:
                if self._retry(lease, exc, classify):
                    continue
                raise
            except BaseException:
                lease.cancel("the caller was interrupted during the call")
                raise
            if outcome is not None or not hold:  # else nothing to observe yet
                self._settle(lease, result, outcome, hold)
            return result

    async def acall(
        self,
        sc: Syscall,
        perform: Callable[[Lease], Awaitable[T]],
        *,
        classify: Classifier = classify_generic,
        outcome: Outcome | None = None,
        hold: bool = False,
    ) -> T:
        """``call`` for coroutines: waiting never blocks the caller's loop; cancelling it cancels."""
        while True:
            lease = await self.aacquire(sc)
            try:
                inside = INSIDE_SYSCALL.set(KIND_VALUE[sc.kind])
                try:
                    result = await perform(lease)
                finally:
                    INSIDE_SYSCALL.reset(inside)
            except Exception as exc:
                if self._retry(lease, exc, classify):
                    continue
                raise
            except BaseException:
                lease.cancel("the calling task was cancelled during the call")
                raise
            if outcome is not None or not hold:
                self._settle(lease, result, outcome, hold)
            return result

    @staticmethod
    def _settle(lease: Lease, result: Any, outcome: Outcome | None, hold: bool) -> None:
        usage, headers = outcome(result) if outcome is not None else (None, None)
        if hold:
            lease.observe(usage=usage, headers=headers)
        else:
            lease.succeed(usage=usage, headers=headers)

    # -- tools ------------------------------------------------------------------------------------
    def _tool_timeout(self, tool: str) -> float | None:
        cfg = self.config.tools.get(tool, self.config.default_tool)
        return cfg.timeout

    def approve(self, sc: Syscall, arguments: Any = None) -> None:
        """Before tool syscall ``sc`` is acquired: ask the approver if its tool is marked
        ``confirm``. A refusal ends ``sc`` as failed and raises :class:`ToolRefused`."""
        try:
            self.access.approve(sc, arguments)
        except Exception as exc:
            self._refused(sc, exc)
            raise
        except BaseException:
            self._finish(sc, CANCELLED, error="interrupted while waiting for approval", ran=False)
            raise

    async def aapprove(self, sc: Syscall, arguments: Any = None) -> None:
        try:
            await self.access.aapprove(sc, arguments)
        except Exception as exc:
            self._refused(sc, exc)
            raise
        except BaseException:
            self._finish(sc, CANCELLED, error="cancelled while waiting for approval", ran=False)
            raise

    def _refused(self, sc: Syscall, exc: BaseException) -> None:
        sc.queued_at = self.clock.now()  # it never queued: it waited for nothing
        self._finish(sc, FAILED, error=f"{type(exc).__name__}: {exc}", ran=False)

    def run_tool(
        self,
        tool: str,
        fn: Callable[..., T],
        /,
        *args: Any,
        framework: str = "",
        agent: AgentIdentity | str | None = None,
        group: str | None = None,
        arguments: Any = None,
        **kwargs: Any,
    ) -> T:
        """Run a sync tool once as a tool syscall (never retried: tools may have side effects).

        ``arguments`` (the tool's input, for the approver and the audit log) is not passed to
        ``fn``. A tool marked ``confirm`` the approver refuses raises :class:`ToolRefused`.
        """
        sc = self.tool_syscall(tool, framework=framework, agent=agent, group=group)
        self.approve(sc, arguments)
        lease = self.acquire(sc)
        timeout = self._tool_timeout(tool)
        try:
            with syscall_scope("tool"):
                if timeout is None:
                    result = fn(*args, **kwargs)
                else:
                    result = _run_with_timeout(tool, timeout, fn, args, kwargs)
        except Exception as exc:
            lease.fail(exc)
            raise
        except BaseException:
            lease.cancel("the caller was interrupted while the tool ran")
            raise
        lease.succeed()
        return result

    async def arun_tool(
        self,
        tool: str,
        fn: Callable[[], Awaitable[T]],
        /,
        *,
        framework: str = "",
        agent: AgentIdentity | str | None = None,
        group: str | None = None,
        arguments: Any = None,
    ) -> T:
        """Await an async tool once as a tool syscall (see ``run_tool`` for ``arguments``)."""
        sc = self.tool_syscall(tool, framework=framework, agent=agent, group=group)
        await self.aapprove(sc, arguments)
        lease = await self.aacquire(sc)
        timeout = self._tool_timeout(tool)
        try:
            with syscall_scope("tool"):
                if timeout is None:
                    result = await fn()
                else:
                    try:
                        result = await asyncio.wait_for(fn(), timeout)
                    except TimeoutError:
                        raise _tool_timeout_error(tool, timeout) from None
        except Exception as exc:
            lease.fail(exc)
            raise
        except BaseException:
            lease.cancel("the calling task was cancelled while the tool ran")
            raise
        lease.succeed()
        return result

    # -- observation ------------------------------------------------------------------------------
    def add_observer(self, observer: Any) -> None:
        self.observers.append(observer)

    def remove_observer(self, observer: Any) -> None:
        if observer in self.observers:
            self.observers.remove(observer)

    def stats(self) -> dict[str, Any]:
        snap = self.scheduler.snapshot()
        with self.scheduler.lock:
            snap["agents"] = {n: t.to_dict() for n, t in sorted(self.accounting.agents.items())}
            snap["by_status"] = dict(self.accounting.by_status)
        snap["policy_name"] = self.policy.name
        if self.shared is not None:
            snap["shared_state"] = self._shared_facts()
        return snap

    def _shared_facts(self) -> dict[str, Any]:
        assert self.shared is not None
        return {
            "url": redact_url(self.shared.url),
            "prefix": self.shared.prefix,
            "degraded": self.shared.degraded,
            "unavailable_errors": self.shared.unavailable_count,
        }

    def report(self) -> dict[str, Any]:
        with self.scheduler.lock:
            out = self.accounting.report()
        out["policy"] = self.policy.name
        if self.shared is not None:
            out["shared_state"] = self._shared_facts()
        return out

    def cancel_running(self, reason: str) -> int:
        """End every running syscall as cancelled with ``reason``; how many there were.

        For a process that is exiting: those calls reached the provider, and their callers will
        never report back, so the report would otherwise miss them.
        """
        with self.scheduler.lock:
            running = list(self.scheduler.running)
        for sc in running:
            self._finish(sc, CANCELLED, error=reason)
        return len(running)

    # -- lifetime -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return not self._stopped

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel everything queued, wake every waiter, stop the timer thread. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for sc in self.scheduler.close():
            for obs in self.observers:
                with contextlib.suppress(Exception):
                    self._notify(obs, "on_finish", sc)
        if self.shared is not None:
            self.shared.close()
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()
        self.access.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<aios Kernel {state} policy={self.policy.name} {self.scheduler!r}>"


def _loop_waiter() -> LoopWaiter:
    """A waiter woken on the calling task's loop (``submit`` makes it in the caller's thread)."""
    return LoopWaiter(asyncio.get_running_loop())


def _tool_timeout_error(tool: str, timeout: float) -> ToolTimeout:
    return ToolTimeout(
        f"tool {tool!r} ran longer than its timeout of {timeout:g}s; raise "
        f"`tools.{tool}.timeout` (or `default_tool.timeout`) in the aios config"
    )


def _run_with_timeout(
    tool: str,
    timeout: float,
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> T:
    """Run ``fn`` in a helper thread (with this context) and stop waiting after ``timeout``.

    Python cannot kill a thread: on timeout the tool keeps running in the background, and its
    result is dropped. It is never started a second time.
    """
    import contextvars

    ctx = contextvars.copy_context()
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["result"] = ctx.run(fn, *args, **kwargs)
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"aios-tool-{tool}", daemon=True).start()
    if not done.wait(timeout):
        raise _tool_timeout_error(tool, timeout)
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]

