"""An approver a program's config names as ``python:access_approvers:first_only``."""

from aios.kernel.access import ApprovalRequest

_asked: list[ApprovalRequest] = []


def first_only(request: ApprovalRequest) -> bool:
    """Approves the first call it is asked about, refuses every later one."""
    _asked.append(request)
    return len(_asked) == 1
