"""Admission state shared by every process of a kernel, on a Redis or Valkey server.

Imported only when ``redis_url`` is set: the kernel needs no Redis client otherwise.
"""

from aios.kernel.shared.core import SharedCore
from aios.kernel.shared.ledger import SharedLedger
from aios.kernel.shared.state import SharedClock, SharedState

__all__ = ["SharedClock", "SharedCore", "SharedLedger", "SharedState"]
