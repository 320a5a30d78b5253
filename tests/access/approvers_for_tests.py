"""Approvers named by ``python:tests.access.approvers_for_tests:<name>`` in the tests."""

from __future__ import annotations

import asyncio
import threading

from aios.kernel.access import ApprovalRequest, Decision

seen: list[ApprovalRequest] = []
_lock = threading.Lock()
_count = 0


def first_only(request: ApprovalRequest) -> bool:
    """Approves the first call it is asked about and refuses every later one."""
    global _count
    with _lock:
        seen.append(request)
        _count += 1
        return _count == 1


async def async_policy(request: ApprovalRequest) -> Decision:
    await asyncio.sleep(0)
    seen.append(request)
    if isinstance(request.arguments, dict) and request.arguments.get("path", "").startswith("/tmp/"):
        return Decision(True, "scratch files may go", "policy-engine")
    return Decision(False, "only files under /tmp/ may be deleted")


def hangs(request: ApprovalRequest) -> bool:
    threading.Event().wait(2)
    return True


async def ahangs(request: ApprovalRequest) -> bool:
    await asyncio.sleep(2)
    return True


def raises(request: ApprovalRequest) -> bool:
    raise RuntimeError("the approval service is down")


def reset() -> None:
    global _count
    with _lock:
        _count = 0
        seen.clear()
