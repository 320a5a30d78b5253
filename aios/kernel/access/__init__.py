"""Access control: allowlists, budgets and caps, approval of marked tools, the audit log."""

from aios.kernel.access.approvers import ApprovalRequest, Decision
from aios.kernel.access.manager import AccessManager, Rule

__all__ = ["AccessManager", "ApprovalRequest", "Decision", "Rule"]
