"""What a scheduling policy is: it orders queued syscalls; admission decides whether one may start."""

from __future__ import annotations

import bisect
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from aios.kernel.syscall import Syscall


@dataclass(frozen=True)
class PolicyOptions:
    """Knobs shared by the built-in policies (from the kernel config)."""

    #: Priority units a queued syscall gains per second of waiting (``priority``).
    aging_rate: float = 1.0
    #: Per-agent weights (``fair``): an agent of weight 2 is owed twice the tokens.
    weights: dict[str, float] = field(default_factory=dict)
    #: Cost of an input and an output token in the virtual token counter (``fair``).
    input_token_weight: float = 1.0
    output_token_weight: float = 2.0
    #: Attained service in seconds where the second level of ``las`` starts; each next
    #: level starts at twice the previous threshold. ``0`` makes it pure least-attained-service.
    las_first_level_s: float = 10.0
    #: Seconds ``las`` keeps a finished call's slot for the same agent's next call, so an agent
    #: that is ahead keeps going instead of losing its slot while it handles the reply.
    las_hold_s: float = 0.05


class Policy(ABC):
    """Orders queued syscalls. Methods are called with the scheduler's lock held."""

    name: ClassVar[str]

    def __init__(self, options: PolicyOptions | None = None) -> None:
        self.options = options or PolicyOptions()
        #: With a shared state: the rank of the call admitted last on a shared core by any
        #: process (None before the first). A policy whose ranks are a virtual time (``fair``'s
        #: counters, ``round-robin``'s turns) starts an agent that is new here from it, as it
        #: starts one from its own agents' progress; otherwise an agent of a process that had
        #: served nothing would rank ahead of every agent of the others until it caught up.
        self.shared_floor: Callable[[], float | None] | None = None

    def _shared_floor(self) -> float | None:
        return None if self.shared_floor is None else self.shared_floor()

    @abstractmethod
    def push(self, sc: Syscall) -> None:
        """Add a syscall (new, or re-queued for a retry)."""

    @abstractmethod
    def remove(self, sc: Syscall) -> None:
        """Take out a syscall that is queued (it was admitted or cancelled)."""

    @abstractmethod
    def ordered(self) -> Iterator[Syscall]:
        """Queued syscalls, the one to run first first. Consumers usually stop after a few."""

    @abstractmethod
    def __len__(self) -> int: ...

    def on_dispatch(self, sc: Syscall, now: float) -> None:  # noqa: B027 - optional hook
        """A syscall was admitted (it was removed just before)."""

    def on_finish(self, sc: Syscall, now: float) -> None:  # noqa: B027 - optional hook
        """A running syscall ended (or gave back its slot before a retry)."""

    def rank(self, sc: Syscall) -> float:
        """Where ``sc`` stands among the waiting calls of *other processes* sharing a core (lower
        goes first). Within a process ``ordered`` decides; across processes only the first
        waiting calls compare their ranks, so a rank must agree with ``ordered``. The default
        is first come, first served (times are on the clock every process shares)."""
        return sc.created_at

    def hold_after(self, sc: Syscall, now: float) -> float:
        """Seconds to keep the slot ``sc`` just gave back for its agent's next call (0: none)."""
        return 0.0

    def describe(self) -> dict[str, Any]:
        """Policy state for ``Kernel.stats()``."""
        return {"name": self.name, "queued": len(self)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} queued={len(self)}>"


class SortedQueue:
    """Syscalls kept sorted by a key fixed while they are queued (appends are O(1) in the usual case).

    Taking the first syscall, the usual removal, is O(1) too: the head only moves forward, and
    the lists are compacted once the dead head outweighs the rest (deleting index 0 of a list of
    100,000 queued calls would move all the others, on every admission).
    """

    __slots__ = ("_head", "_items", "_key", "_keys")

    def __init__(self, key: Callable[[Syscall], Any]) -> None:
        self._key = key
        self._keys: list[Any] = []
        self._items: list[Syscall | None] = []
        #: Entries before it were removed (their keys stay, still sorted, for bisect's ``lo``).
        self._head = 0

    def push(self, sc: Syscall) -> None:
        k = (self._key(sc), sc.seq)
        keys = self._keys
        if len(keys) == self._head or k >= keys[-1]:
            keys.append(k)
            self._items.append(sc)
        else:
            i = bisect.bisect_right(keys, k, self._head)
            keys.insert(i, k)
            self._items.insert(i, sc)

    def remove(self, sc: Syscall) -> bool:
        keys, items, head = self._keys, self._items, self._head
        if head < len(items) and items[head] is sc:  # the first one, the usual removal
            i = head
        else:
            i = self._find(sc)
            if i < 0:
                return False
        if i == head:
            items[i] = None
            self._head = head = head + 1
            if head == len(items):
                keys.clear()
                items.clear()
                self._head = 0
            elif head > 64 and 2 * head > len(items):
                del keys[:head]
                del items[:head]
                self._head = 0
        else:
            del keys[i]
            del items[i]
        return True

    def _find(self, sc: Syscall) -> int:
        """Where ``sc`` is, or -1."""
        k = (self._key(sc), sc.seq)
        keys, items = self._keys, self._items
        i = bisect.bisect_left(keys, k, self._head)
        while i < len(items) and keys[i] == k:
            if items[i] is sc:
                return i
            i += 1
        return -1

    def first(self) -> Syscall | None:
        return self._items[self._head] if len(self._items) > self._head else None

    def __iter__(self) -> Iterator[Syscall]:
        return itertools.islice(self._items, self._head, None)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._items) - self._head

    def __bool__(self) -> bool:
        return len(self._items) > self._head


def by_seq(sc: Syscall) -> int:
    return sc.seq


T = TypeVar("T")


def lazy_sorted(items: Iterable[T], key: Callable[[T], Any]) -> Iterator[T]:
    """Yield the smallest item in O(n); sort the rest only if the consumer asks for more."""
    pool = list(items)
    if not pool:
        return
    head = min(pool, key=key)
    yield head
    pool.remove(head)
    pool.sort(key=key)
    yield from pool


class KeyedPolicy(Policy):
    """A single queue in the order of ``sort_key`` (fixed while queued), then submission order."""

    def __init__(self, options: PolicyOptions | None = None) -> None:
        super().__init__(options)
        self._q = SortedQueue(self.sort_key)

    def sort_key(self, sc: Syscall) -> Any:
        return 0

    def push(self, sc: Syscall) -> None:
        self._q.push(sc)

    def remove(self, sc: Syscall) -> None:
        self._q.remove(sc)

    def ordered(self) -> Iterator[Syscall]:
        return iter(self._q)

    def __len__(self) -> int:
        return len(self._q)


class AgentQueues(Policy):
    """Shared machinery of the policies that pick an agent first, then its oldest syscall."""

    def __init__(self, options: PolicyOptions | None = None) -> None:
        super().__init__(options)
        self.queues: dict[str, SortedQueue] = {}
        self._count = 0

    def key_of(self, sc: Syscall) -> str:
        return sc.agent

    def push(self, sc: Syscall) -> None:
        k = self.key_of(sc)
        q = self.queues.get(k)
        if q is None:
            self.on_active(k)
            q = self.queues[k] = SortedQueue(by_seq)
        q.push(sc)
        self._count += 1

    def remove(self, sc: Syscall) -> None:
        k = self.key_of(sc)
        q = self.queues.get(k)
        if q is not None and q.remove(sc):
            self._count -= 1
            if not q:
                del self.queues[k]
                self.on_idle(k)

    def on_active(self, key: str) -> None:
        """``key`` had nothing queued and now has."""

    def on_idle(self, key: str) -> None:
        """``key`` has nothing queued any more."""

    def __len__(self) -> int:
        return self._count

    def ordered_keys(self) -> Iterator[str]:
        """Agents with queued work, the one to serve first first (or override ``ordered``)."""
        raise NotImplementedError(f"{type(self).__name__} must define ordered_keys() or ordered()")

    def ordered(self) -> Iterator[Syscall]:
        for k in self.ordered_keys():
            q = self.queues.get(k)
            if q is not None:
                yield from q
